//! The WebSocket to `/agent/stream`: connect with the Bearer key and protocol header,
//! and tell a rejected key apart from a network problem.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::url::HubUrl;
use crate::config::ApiKey;

/// An open agent link.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The hub answered 401: the key is wrong, rotated or revoked.
    #[error("the hub rejected the API key (HTTP 401)")]
    Unauthorized,
    /// The hub (or a proxy in front of it) answered the upgrade with another status.
    #[error("the hub refused the WebSocket upgrade with HTTP {status}{}", if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    Refused { status: u16, message: String },
    /// The TCP or TLS connection could not be made.
    #[error("cannot reach the hub: {0}")]
    Network(String),
    /// Something answered, but not with a WebSocket.
    #[error("WebSocket handshake failed: {0}")]
    Protocol(String),
    #[error("no answer from the hub within {0:?}")]
    Timeout(Duration),
}

impl ConnectError {
    /// Whether the failure suggests WebSockets are blocked on the way to a hub that is
    /// otherwise reachable, so that HTTP posting may work.
    pub fn suggests_ws_blocked(&self) -> bool {
        matches!(
            self,
            ConnectError::Refused { .. } | ConnectError::Protocol(_)
        )
    }
}

/// Opens the agent link. `tls` is the client configuration for `wss://` hubs.
pub async fn connect(
    url: &HubUrl,
    key: &ApiKey,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
) -> Result<Ws, ConnectError> {
    let mut request = url
        .ws_url()
        .into_client_request()
        .map_err(|e| ConnectError::Protocol(e.to_string()))?;
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        .map_err(|_| ConnectError::Protocol("the API key cannot be sent in a header".into()))?;
    auth.set_sensitive(true);
    let headers = request.headers_mut();
    headers.insert("Authorization", auth);
    headers.insert(
        lunasentri_schema::protocol::PROTOCOL_HEADER,
        HeaderValue::from(lunasentri_schema::PROTOCOL_VERSION),
    );
    headers.insert(
        "User-Agent",
        HeaderValue::from_static(concat!("lunasentri-agent/", env!("CARGO_PKG_VERSION"))),
    );

    // The hub sends small frames (acks, config); anything large is a misbehaving peer.
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
        .write_buffer_size(0);
    let connector = match tls {
        Some(cfg) if url.is_secure() => Connector::Rustls(cfg),
        _ => Connector::Plain,
    };
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    );
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(e)) => Err(classify(e)),
    }
}

fn classify(e: WsError) -> ConnectError {
    match e {
        WsError::Http(resp) if resp.status().as_u16() == 401 => ConnectError::Unauthorized,
        WsError::Http(resp) => {
            let message = resp
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(&b[..b.len().min(300)])
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            ConnectError::Refused {
                status: resp.status().as_u16(),
                message,
            }
        }
        WsError::Io(e) => ConnectError::Network(e.to_string()),
        WsError::Tls(e) => ConnectError::Network(format!("TLS: {e}")),
        WsError::Url(e) => ConnectError::Protocol(e.to_string()),
        other @ (WsError::Protocol(_) | WsError::HttpFormat(_)) => {
            ConnectError::Protocol(other.to_string())
        }
        other => ConnectError::Network(other.to_string()),
    }
}

/// A text frame.
pub fn text(s: String) -> tungstenite::Message {
    tungstenite::Message::Text(s.into())
}
