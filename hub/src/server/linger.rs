//! A lingering close for the sockets the hub serves itself.
//!
//! When the hub ends a WebSocket while its peer is still sending (a frame over the size
//! limit, a flood), closing the TCP socket with unread bytes makes the kernel answer
//! with a reset: the peer's send fails and the `error` frame and close frame just
//! written may be thrown away before it reads them. So the hub does what HTTP servers
//! do: once the WebSocket is dropped, it sends FIN and keeps reading, and discarding, for
//! a short while, until the peer closes too.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;

/// How long a closed socket is drained at most.
const LINGER: Duration = Duration::from_secs(2);
/// How much is read and discarded at most (a little over the largest frame allowed).
const LINGER_BYTES: usize = 2 << 20;

/// A TCP stream that lingers when dropped.
#[derive(Debug)]
pub struct Lingering(Option<TcpStream>);

impl Lingering {
    pub fn new(io: TcpStream) -> Self {
        Self(Some(io))
    }

    fn io(&mut self) -> Pin<&mut TcpStream> {
        // Only `drop` takes the stream out.
        Pin::new(self.0.as_mut().expect("stream present until dropped"))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(io) = self.0.take() else { return };
        // Outside a runtime (the process is exiting) the socket just closes.
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(linger(io));
        }
    }
}

/// Sends FIN, then reads until the peer closes, `LINGER` passes or `LINGER_BYTES` arrive.
async fn linger(mut io: TcpStream) {
    let _ = io.shutdown().await;
    let drain = async {
        let mut buf = [0u8; 8192];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io().poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(|io| io.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A peer still sending when the hub drops the socket gets everything the hub wrote
    /// and an orderly end of stream, not a reset.
    #[tokio::test]
    async fn a_dropped_socket_lets_the_sending_peer_finish_and_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (io, _) = listener.accept().await.unwrap();
            let mut io = Lingering::new(io);
            let mut head = [0u8; 16];
            io.read_exact(&mut head).await.unwrap();
            io.write_all(b"too large").await.unwrap();
            // Dropped with most of the peer's megabyte unread.
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(&vec![7u8; 1 << 20])
            .await
            .expect("the whole megabyte is accepted, no reset");
        server.await.unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("orderly end");
        assert_eq!(answer, b"too large");
    }
}
