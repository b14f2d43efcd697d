//! The WebSocket to `/agent/stream`: connect with the Bearer key and protocol header,
//! and tell a rejected key apart from a network problem.
//!
//! The TCP connection and the TLS handshake are made here, with the agent's own rustls
//! configuration, and tungstenite only speaks WebSocket over the stream it is given: its
//! built-in TLS setup would link a second root-store loader and ring's complete default
//! provider, which the agent never uses.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError};

use super::url::HubUrl;
use crate::config::ApiKey;

/// An open agent link.
pub type Ws = WebSocketStream<HubStream>;

/// The connection under the WebSocket: plain TCP (`ws://`, `http://`) or TLS over TCP.
#[derive(Debug)]
pub enum HubStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for HubStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HubStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            HubStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for HubStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            HubStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            HubStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HubStream::Plain(s) => Pin::new(s).poll_flush(cx),
            HubStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HubStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            HubStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

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
    // tungstenite zero-fills its whole read buffer before every read, so it is kept
    // small (it grows for a larger frame).
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let attempt = async {
        let tcp = TcpStream::connect((url.host(), url.port()))
            .await
            .map_err(|e| ConnectError::Network(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| ConnectError::Network(e.to_string()))?;
        let stream = match tls {
            Some(cfg) if url.is_secure() => {
                let name = ServerName::try_from(url.host().to_owned()).map_err(|_| {
                    ConnectError::Network(format!("TLS: invalid server name {}", url.host()))
                })?;
                let tls = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ConnectError::Network(format!("TLS: {e}")))?;
                HubStream::Tls(Box::new(tls))
            }
            _ => HubStream::Plain(tcp),
        };
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map(|(ws, _response)| ws)
            .map_err(classify)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
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
