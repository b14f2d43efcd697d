//! Opening lean WebSockets to the hub. Thousands of sockets live in one process, so
//! each gets a 4 KiB read buffer instead of tungstenite's 128 KiB default, no write
//! buffering (every frame goes out at once), and `TCP_NODELAY`. A dashboard that
//! plays a stalled browser also shrinks its kernel receive buffer so the hub feels
//! the stall within seconds.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

/// A client socket to the hub (plain TCP: loadgen measures on loopback or a LAN).
pub type Socket = WebSocketStream<TcpStream>;

/// Read buffer per connection.
const READ_BUFFER: usize = 4 * 1024;
/// How long a connect plus upgrade may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect to {0}: {1}")]
    Tcp(SocketAddr, std::io::Error),
    #[error("WebSocket upgrade: {0}")]
    Upgrade(String),
    #[error("hub refused the upgrade with HTTP {0}")]
    Refused(u16),
    #[error("connect timed out after {0:?}")]
    Timeout(Duration),
}

/// `ws://host:port` for an `http://host:port` hub URL.
pub fn ws_base(hub: &str) -> String {
    if let Some(rest) = hub.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = hub.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        hub.to_owned()
    }
}

/// The socket address of a hub URL (resolved once per run).
pub async fn resolve(hub: &str) -> Result<SocketAddr, String> {
    let rest = hub
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(hub)
        .split('/')
        .next()
        .unwrap_or_default();
    if hub.starts_with("https://") {
        return Err(format!(
            "{hub}: loadgen speaks plain HTTP only; measure the hub on its plain listener"
        ));
    }
    let with_port = if rest.contains(':') {
        rest.to_owned()
    } else {
        format!("{rest}:80")
    };
    tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("{hub}: cannot resolve {with_port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hub}: {with_port} resolves to nothing"))
}

/// Opens `url` on `addr` with extra request headers.
pub async fn connect(
    addr: SocketAddr,
    url: &str,
    headers: &[(&'static str, String)],
    recv_buffer: Option<u32>,
) -> Result<Socket, ConnectError> {
    let attempt = async {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| ConnectError::Tcp(addr, e))?;
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .map_err(|e| ConnectError::Tcp(addr, e))?;
        }
        let stream = socket
            .connect(addr)
            .await
            .map_err(|e| ConnectError::Tcp(addr, e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| ConnectError::Tcp(addr, e))?;
        let mut request = url
            .into_client_request()
            .map_err(|e| ConnectError::Upgrade(e.to_string()))?;
        for (name, value) in headers {
            let mut v =
                HeaderValue::from_str(value).map_err(|e| ConnectError::Upgrade(e.to_string()))?;
            v.set_sensitive(true);
            request.headers_mut().insert(*name, v);
        }
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(0)
            .max_message_size(Some(16 << 20))
            .max_frame_size(Some(16 << 20));
        match client_async_with_config(request, stream, Some(config)).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                Err(ConnectError::Refused(res.status().as_u16()))
            }
            Err(e) => Err(ConnectError::Upgrade(e.to_string())),
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| ConnectError::Timeout(CONNECT_TIMEOUT))?
}

/// Closes politely: sends a close frame and waits (briefly) for the hub's reply, so the
/// hub sees a clean close rather than a dropped connection.
pub async fn close(mut sock: Socket) {
    use futures_util::StreamExt;
    if sock.close(None).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = sock.next().await {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hub URLs map to WebSocket URLs scheme by scheme.
    #[test]
    fn ws_urls() {
        assert_eq!(ws_base("http://127.0.0.1:8080"), "ws://127.0.0.1:8080");
        assert_eq!(ws_base("https://hub.example.com"), "wss://hub.example.com");
    }
}
