//! Recognises an agent's WebSocket upgrade from the first bytes of a connection.

use lunasentri_schema::protocol::PROTOCOL_HEADER;

use crate::http::extract::bearer_value;

/// Largest request head looked at; anything longer goes to the HTTP server.
pub const MAX_HEAD: usize = 4096;

const PATH: &str = "/agent/stream";

/// What the bytes seen so far are.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// Could still become an agent upgrade: wait for more bytes.
    Incomplete,
    /// Anything else: the HTTP server answers it.
    Other,
    /// A complete, well-formed agent upgrade request.
    Agent(AgentHead),
}

/// The credentials an agent upgrade carries (not yet checked).
#[derive(Debug, PartialEq, Eq)]
pub struct AgentHead {
    pub key: Option<String>,
    pub protocol: Option<String>,
}

/// Classifies the start of a connection.
pub fn classify(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let complete = match req.parse(bytes) {
        Ok(status) => status.is_complete(),
        Err(_) => return Head::Other,
    };
    if req.method.is_some_and(|m| m != "GET") {
        return Head::Other;
    }
    match req.path {
        Some(p) if p.split('?').next() != Some(PATH) => return Head::Other,
        None if !PATH.starts_with(path_so_far(bytes)) => return Head::Other,
        _ => {}
    }
    if !complete {
        return if bytes.len() < MAX_HEAD {
            Head::Incomplete
        } else {
            Head::Other
        };
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let upgrade = header("upgrade").is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let version = header("sec-websocket-version").is_some_and(|v| v.trim() == "13");
    if !upgrade || !version || header("sec-websocket-key").is_none() {
        // Not a valid upgrade: actix-web's handler names what is missing.
        return Head::Other;
    }
    Head::Agent(AgentHead {
        key: header("authorization").and_then(bearer_value),
        protocol: header(PROTOCOL_HEADER).map(str::to_owned),
    })
}

/// The request target seen so far, while the request line is incomplete.
fn path_so_far(bytes: &[u8]) -> &str {
    let line = bytes.strip_prefix(b"GET ").unwrap_or(b"");
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    std::str::from_utf8(&line[..end]).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &str = "GET /agent/stream HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Authorization: Bearer lsk_abc\r\nX-LunaSentri-Protocol: 1\r\n\r\n";

    #[test]
    fn an_agent_upgrade_carries_its_key_and_protocol() {
        assert_eq!(
            classify(UPGRADE.as_bytes()),
            Head::Agent(AgentHead {
                key: Some("lsk_abc".into()),
                protocol: Some("1".into()),
            })
        );
    }

    #[test]
    fn every_prefix_of_an_agent_upgrade_waits_for_more() {
        for end in 0..UPGRADE.len() {
            assert_eq!(
                classify(&UPGRADE.as_bytes()[..end]),
                Head::Incomplete,
                "{end}"
            );
        }
    }

    #[test]
    fn other_requests_go_to_the_http_server_as_early_as_possible() {
        for start in [
            "POST /agent/stream HTTP/1.1\r\n",
            "GET /api/live HTTP/1.1\r\n",
            "GET /agent/streams",
            "GET /agent/metrics",
            "PRI * HTTP/2.0\r\n",
            "\x16\x03\x01",
        ] {
            assert_eq!(classify(start.as_bytes()), Head::Other, "{start:?}");
        }
    }

    #[test]
    fn an_upgrade_missing_websocket_headers_is_left_to_the_http_server() {
        let plain = UPGRADE.replace("Upgrade: websocket\r\n", "");
        assert_eq!(classify(plain.as_bytes()), Head::Other);
        let old = UPGRADE.replace("Version: 13", "Version: 8");
        assert_eq!(classify(old.as_bytes()), Head::Other);
    }

    #[test]
    fn a_head_longer_than_the_limit_is_left_to_the_http_server() {
        let long = format!(
            "GET /agent/stream HTTP/1.1\r\nX-Pad: {}",
            "a".repeat(MAX_HEAD)
        );
        assert_eq!(classify(long.as_bytes()), Head::Other);
    }

    #[test]
    fn a_query_string_does_not_hide_the_path() {
        let q = UPGRADE.replace("/agent/stream ", "/agent/stream?v=1 ");
        assert!(matches!(classify(q.as_bytes()), Head::Agent(_)));
    }
}
