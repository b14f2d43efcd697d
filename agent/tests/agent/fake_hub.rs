//! A fake hub for the agent's tests: a TCP listener on 127.0.0.1:0 that speaks just
//! enough WebSocket and HTTP to play the hub's side of protocol v1.

// tungstenite's handshake callback returns its own (large) error type.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lunasentri_schema::{AgentFrame, HubFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderMap, StatusCode};

/// How long any single expected event may take before the test fails.
pub const STEP: Duration = Duration::from_secs(10);

pub struct FakeHub {
    listener: TcpListener,
}

/// An accepted agent WebSocket and the headers of its upgrade request.
pub struct AgentConn {
    pub ws: WebSocketStream<TcpStream>,
    pub headers: HeaderMap,
}

/// One HTTP request received from the agent.
pub struct HttpRequest {
    pub head: String,
    pub body: Vec<u8>,
    pub stream: TcpStream,
}

impl FakeHub {
    pub async fn bind() -> Self {
        Self {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    /// The hub's base URL, as an operator would configure it.
    pub fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().unwrap())
    }

    async fn accept_tcp(&self) -> TcpStream {
        let (stream, _) = tokio::time::timeout(STEP, self.listener.accept())
            .await
            .expect("the agent did not connect in time")
            .unwrap();
        stream
    }

    /// Accepts the next agent connection and completes the upgrade. Connections that
    /// die during the handshake (an agent that exited meanwhile) are skipped.
    pub async fn accept_ws(&self) -> AgentConn {
        loop {
            let stream = self.accept_tcp().await;
            let mut headers = HeaderMap::new();
            let ws =
                tokio_tungstenite::accept_hdr_async(stream, |req: &Request, resp: Response| {
                    headers = req.headers().clone();
                    Ok(resp)
                });
            if let Ok(Ok(ws)) = tokio::time::timeout(STEP, ws).await {
                return AgentConn { ws, headers };
            }
        }
    }

    /// Accepts connections until one completes the upgrade and sends `hello`; a
    /// connection from an agent that exited meanwhile is skipped.
    pub async fn accept_hello(&self) -> (AgentConn, lunasentri_schema::Hello) {
        loop {
            let mut conn = self.accept_ws().await;
            if let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(STEP, conn.ws.next()).await
                && let Ok(AgentFrame::Hello(h)) = serde_json::from_str(&t)
            {
                return (conn, h);
            }
        }
    }

    /// Accepts the next connection and refuses the upgrade with `status`.
    pub async fn refuse_ws(&self, status: u16) -> HeaderMap {
        let stream = self.accept_tcp().await;
        let mut headers = HeaderMap::new();
        let _ = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, _resp: Response| {
            headers = req.headers().clone();
            let mut err =
                ErrorResponse::new(Some("{\"error\":{\"code\":\"unauthorized\"}}".into()));
            *err.status_mut() = StatusCode::from_u16(status).unwrap();
            Err(err)
        })
        .await;
        headers
    }

    /// Whether another connection arrives within `wait`.
    pub async fn connects_within(&self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.listener.accept())
            .await
            .is_ok()
    }

    /// Accepts the next plain HTTP request.
    pub async fn accept_http(&self) -> HttpRequest {
        let mut stream = self.accept_tcp().await;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            let n = tokio::time::timeout(STEP, stream.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed before the request was complete");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = tokio::time::timeout(STEP, stream.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed before the body was complete");
            buf.extend_from_slice(&chunk[..n]);
        }
        HttpRequest {
            head,
            body: buf[head_end..head_end + len].to_vec(),
            stream,
        }
    }
}

impl HttpRequest {
    /// Sends a JSON response and closes the connection.
    pub async fn respond(mut self, status: u16, body: &str) {
        let text = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(text.as_bytes()).await.unwrap();
        let _ = self.stream.shutdown().await;
    }

    /// A header's value, case-insensitively.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

impl AgentConn {
    /// The next agent frame (pings skipped); panics on close or after [`STEP`].
    pub async fn frame(&mut self) -> AgentFrame {
        loop {
            let msg = tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("no frame from the agent in time")
                .expect("the agent closed the connection")
                .unwrap();
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(_) => panic!("the agent closed the connection"),
                _ => continue,
            }
        }
    }

    /// Sends a hub frame.
    pub async fn send(&mut self, frame: &HubFrame) {
        self.ws
            .send(Message::Text(serde_json::to_string(frame).unwrap().into()))
            .await
            .unwrap();
    }
}
