//! What a session actor needs of its WebSocket, whichever library serves it: inbound
//! messages as one [`Inbound`] stream, outbound writes through [`Socket`].
//!
//! Two transports implement it: actix-ws (every socket upgraded by an actix-web
//! handler) and tokio-tungstenite (agent and dashboard sockets taken over before
//! actix-http's dispatcher, see `crate::server`), so a session's logic exists once.
//!
//! Text travels as tungstenite's [`Utf8Bytes`] (checked UTF-8, cheap to clone), the
//! type the common path reads and writes without another UTF-8 check; only the
//! actix-ws path converts.

use std::future::Future;

pub use tokio_tungstenite::tungstenite::Utf8Bytes;

use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// One inbound event of a session socket.
#[derive(Debug)]
pub enum Inbound {
    Text(Utf8Bytes),
    Binary,
    Ping(Bytes),
    Pong,
    Close,
    /// A message above the configured size limit.
    TooLarge,
    /// The connection broke (a lost peer, not bad input).
    Lost(String),
    /// The peer broke the WebSocket protocol.
    Protocol(String),
}

impl From<Result<AggregatedMessage, ProtocolError>> for Inbound {
    fn from(item: Result<AggregatedMessage, ProtocolError>) -> Self {
        match item {
            Ok(AggregatedMessage::Text(t)) => match Utf8Bytes::try_from(t.into_bytes()) {
                Ok(t) => Self::Text(t),
                Err(_) => Self::Protocol("text frame is not UTF-8".into()),
            },
            Ok(AggregatedMessage::Binary(_)) => Self::Binary,
            Ok(AggregatedMessage::Ping(p)) => Self::Ping(p),
            Ok(AggregatedMessage::Pong(_)) => Self::Pong,
            Ok(AggregatedMessage::Close(_)) => Self::Close,
            Err(ProtocolError::Overflow) => Self::TooLarge,
            Err(ProtocolError::Io(e)) => Self::Lost(e.to_string()),
            Err(e) => Self::Protocol(e.to_string()),
        }
    }
}

impl From<Result<Message, WsError>> for Inbound {
    fn from(item: Result<Message, WsError>) -> Self {
        match item {
            Ok(Message::Text(t)) => Self::Text(t),
            Ok(Message::Binary(_)) => Self::Binary,
            Ok(Message::Ping(p)) => Self::Ping(p),
            Ok(Message::Pong(_)) => Self::Pong,
            Ok(Message::Close(_)) => Self::Close,
            Ok(Message::Frame(_)) => Self::Protocol("unexpected raw frame".into()),
            Err(WsError::Capacity(CapacityError::MessageTooLong { .. })) => Self::TooLarge,
            Err(WsError::Io(e)) => Self::Lost(e.to_string()),
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Self::Close,
            Err(e) => Self::Protocol(e.to_string()),
        }
    }
}

/// The outbound half of a session socket. `Err` means the peer is gone.
pub trait Socket: 'static {
    fn text(&mut self, text: Utf8Bytes) -> impl Future<Output = Result<(), ()>>;
    fn ping(&mut self) -> impl Future<Output = Result<(), ()>>;
    fn pong(&mut self, payload: Bytes) -> impl Future<Output = Result<(), ()>>;
    fn close(self, code: u16, reason: String) -> impl Future<Output = ()>;
}

impl Socket for actix_ws::Session {
    async fn text(&mut self, text: Utf8Bytes) -> Result<(), ()> {
        let text = ByteString::try_from(Bytes::from(text)).map_err(drop)?;
        actix_ws::Session::text(self, text).await.map_err(drop)
    }

    async fn ping(&mut self) -> Result<(), ()> {
        actix_ws::Session::ping(self, b"").await.map_err(drop)
    }

    async fn pong(&mut self, payload: Bytes) -> Result<(), ()> {
        actix_ws::Session::pong(self, &payload).await.map_err(drop)
    }

    async fn close(self, code: u16, reason: String) {
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason),
        };
        let _ = actix_ws::Session::close(self, Some(reason)).await;
    }
}

/// The write half of a tokio-tungstenite socket.
pub type TungsteniteSink<S> = SplitSink<WebSocketStream<S>, Message>;

impl<S> Socket for TungsteniteSink<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    async fn text(&mut self, text: Utf8Bytes) -> Result<(), ()> {
        self.send(Message::Text(text)).await.map_err(drop)
    }

    async fn ping(&mut self) -> Result<(), ()> {
        self.send(Message::Ping(Bytes::new())).await.map_err(drop)
    }

    async fn pong(&mut self, _: Bytes) -> Result<(), ()> {
        // tungstenite answers pings itself while reading.
        Ok(())
    }

    async fn close(mut self, code: u16, reason: String) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = self.send(Message::Close(Some(frame))).await;
        let _ = SinkExt::close(&mut self).await;
    }
}
