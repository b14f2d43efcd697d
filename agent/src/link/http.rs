//! A minimal HTTP/1.1 client for the hub's agent endpoints (`POST /agent/metrics`,
//! `GET /agent/health`), over the same TCP and rustls stack as the WebSocket.
//!
//! One request per connection (`Connection: close`), bodies of at most 1 MiB both ways:
//! that is all the agent needs, at a fraction of the size of a general HTTP client.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::url::HubUrl;
use crate::config::ApiKey;

/// Largest response the agent reads.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// A request could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS handshake with {0} failed: {1}")]
    Tls(String, std::io::Error),
    #[error("{0} is not a valid TLS server name")]
    ServerName(String),
    #[error("I/O error talking to the hub: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer from the hub within {0:?}")]
    Timeout(Duration),
    #[error("unreadable HTTP response: {0}")]
    BadResponse(&'static str),
}

/// Status and body of a response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends one request to `endpoint` below the hub's base URL with the Bearer key and the
/// protocol header, and reads the whole response.
pub async fn request(
    url: &HubUrl,
    tls: Option<&Arc<ClientConfig>>,
    key: &ApiKey,
    method: &str,
    endpoint: &str,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let work = async {
        let tcp = TcpStream::connect((url.host(), url.port()))
            .await
            .map_err(|e| HttpError::Connect(url.authority(), e))?;
        tcp.set_nodelay(true)?;
        let head = request_head(url, key, method, endpoint, body.map_or(0, <[u8]>::len));
        match (url.is_secure(), tls) {
            (true, Some(cfg)) => {
                let name = ServerName::try_from(url.host().to_owned())
                    .map_err(|_| HttpError::ServerName(url.host().to_owned()))?;
                let mut stream = tokio_rustls::TlsConnector::from(Arc::clone(cfg))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| HttpError::Tls(url.authority(), e))?;
                exchange(&mut stream, &head, body).await
            }
            _ => {
                let mut tcp = tcp;
                exchange(&mut tcp, &head, body).await
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

fn request_head(url: &HubUrl, key: &ApiKey, method: &str, endpoint: &str, len: usize) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lunasentri-agent/{version}\r\n\
         Authorization: Bearer {key}\r\n{proto}: {proto_version}\r\nAccept: application/json\r\n\
         Connection: close\r\n",
        path = url.path(endpoint),
        host = url.host_header(),
        version = env!("CARGO_PKG_VERSION"),
        key = key.expose(),
        proto = lunasentri_schema::protocol::PROTOCOL_HEADER,
        proto_version = lunasentri_schema::PROTOCOL_VERSION,
    );
    if method != "GET" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {len}\r\n"
        ));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

async fn exchange<S>(
    stream: &mut S,
    head: &[u8],
    body: Option<&[u8]>,
) -> Result<Response, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(head).await?;
    if let Some(body) = body {
        stream.write_all(body).await?;
    }
    stream.flush().await?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // Servers often close TLS without close_notify; what arrived is still valid.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::BadResponse("response larger than 1 MiB"));
        }
        if let Some(done) = complete(&buf)
            && done
        {
            break;
        }
    }
    parse_response(&buf)
}

/// Whether `buf` holds a complete response (headers and a framed body); `None` when
/// the headers are not complete yet or the body is delimited by the connection close.
fn complete(buf: &[u8]) -> Option<bool> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let body = &buf[head_end..];
    if header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Some(body.ends_with(b"0\r\n\r\n"));
    }
    let len: usize = header(head, "content-length")?.parse().ok()?;
    Some(body.len() >= len)
}

/// Parses a complete response.
pub fn parse_response(buf: &[u8]) -> Result<Response, HttpError> {
    let head_end = find(buf, b"\r\n\r\n").ok_or(HttpError::BadResponse("no end of headers"))? + 4;
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| HttpError::BadResponse("headers not UTF-8"))?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(HttpError::BadResponse("not an HTTP/1.x response"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::BadResponse("no status code"))?;
    let raw = &buf[head_end..];
    let body = if header(head, "transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(raw).ok_or(HttpError::BadResponse("bad chunked body"))?
    } else if let Some(len) = header(head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        raw.get(..len)
            .ok_or(HttpError::BadResponse("body shorter than Content-Length"))?
            .to_vec()
    } else {
        raw.to_vec()
    };
    Ok(Response { status, body })
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(raw, b"\r\n")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Content-Length and chunked bodies are both read correctly.
    #[test]
    fn parses_framed_bodies() {
        let r =
            parse_response(b"HTTP/1.1 202 Accepted\r\ncontent-length: 14\r\n\r\n{\"accepted\":3}")
                .unwrap();
        assert_eq!(r.status, 202);
        assert_eq!(r.body, b"{\"accepted\":3}");
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"{\"a\":1}");
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    /// Completion is detected from the framing, so no read waits for the server to close.
    #[test]
    fn detects_complete_responses() {
        assert_eq!(
            complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            Some(true)
        );
        assert_eq!(
            complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok"),
            Some(false)
        );
        assert_eq!(complete(b"HTTP/1.1 200 OK\r\nContent-"), None);
    }
}
