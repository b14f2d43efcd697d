//! Recognises a WebSocket upgrade to `/agent/stream` or `/api/live` from the first
//! bytes of a connection.

use crate::http::extract::Headers;

/// Largest request head looked at; anything longer goes to the HTTP server.
pub const MAX_HEAD: usize = 4096;

/// The sockets taken over, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Agent,
    Live,
}

const PATHS: [(&str, Kind); 2] = [("/agent/stream", Kind::Agent), ("/api/live", Kind::Live)];

/// What the bytes seen so far are.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// Could still become an upgrade taken over: wait for more bytes.
    Incomplete,
    /// Anything else: the HTTP server answers it.
    Other,
    /// A complete, well-formed upgrade request.
    Upgrade(UpgradeHead),
}

/// An upgrade request's path and headers (credentials not yet checked).
#[derive(Debug, PartialEq, Eq)]
pub struct UpgradeHead {
    pub kind: Kind,
    headers: Vec<(String, String)>,
}

impl Headers for UpgradeHead {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
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
    let kind = match req.path {
        Some(p) => match PATHS
            .iter()
            .find(|(path, _)| p.split('?').next() == Some(path))
        {
            Some((_, kind)) => Some(*kind),
            None => return Head::Other,
        },
        None if PATHS.iter().any(|(p, _)| p.starts_with(path_so_far(bytes))) => None,
        None => return Head::Other,
    };
    let Some(kind) = kind.filter(|_| complete) else {
        return if bytes.len() < MAX_HEAD {
            Head::Incomplete
        } else {
            Head::Other
        };
    };
    let head = UpgradeHead {
        kind,
        headers: req
            .headers
            .iter()
            .filter_map(|h| {
                Some((
                    h.name.to_owned(),
                    std::str::from_utf8(h.value).ok()?.to_owned(),
                ))
            })
            .collect(),
    };
    let upgrade = head
        .header("upgrade")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let version = head
        .header("sec-websocket-version")
        .is_some_and(|v| v.trim() == "13");
    let connection = head.header("connection").is_some_and(|v| {
        v.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    });
    if !upgrade || !version || !connection || head.header("sec-websocket-key").is_none() {
        // Not a valid upgrade: actix-web's handler names what is missing.
        return Head::Other;
    }
    Head::Upgrade(head)
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

    fn upgrade(text: &str) -> UpgradeHead {
        match classify(text.as_bytes()) {
            Head::Upgrade(head) => head,
            other => panic!("{other:?} for {text:?}"),
        }
    }

    #[test]
    fn an_agent_upgrade_carries_its_headers() {
        let head = upgrade(UPGRADE);
        assert_eq!(head.kind, Kind::Agent);
        assert_eq!(head.header("AUTHORIZATION"), Some("Bearer lsk_abc"));
        assert_eq!(head.header("x-lunasentri-protocol"), Some("1"));
        assert_eq!(head.header("cookie"), None);
    }

    #[test]
    fn a_dashboard_upgrade_is_recognised() {
        let live = UPGRADE.replace("/agent/stream", "/api/live");
        assert_eq!(upgrade(&live).kind, Kind::Live);
    }

    #[test]
    fn every_prefix_of_an_upgrade_waits_for_more() {
        let live = UPGRADE.replace("/agent/stream", "/api/live");
        for text in [UPGRADE, &live] {
            for end in 0..text.len() {
                assert_eq!(classify(&text.as_bytes()[..end]), Head::Incomplete, "{end}");
            }
        }
    }

    #[test]
    fn other_requests_go_to_the_http_server_as_early_as_possible() {
        for start in [
            "POST /agent/stream HTTP/1.1\r\n",
            "GET /api/machines HTTP/1.1\r\n",
            "GET /agent/streams",
            "GET /agent/metrics",
            "GET /api/lived",
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
        let kept = UPGRADE.replace("Connection: Upgrade", "Connection: keep-alive");
        assert_eq!(classify(kept.as_bytes()), Head::Other);
        let both = UPGRADE.replace("Connection: Upgrade", "Connection: keep-alive, Upgrade");
        assert_eq!(upgrade(&both).kind, Kind::Agent);
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
        assert_eq!(upgrade(&q).kind, Kind::Agent);
    }
}
