//! The hub's address: parsed once from `server.url`, from which the WebSocket URL
//! (`/agent/stream`) and the HTTP endpoints (`/agent/metrics`, `/agent/health`) derive.

use std::fmt;
use std::net::IpAddr;

/// Path of the agent WebSocket below the hub's base URL.
pub const STREAM_PATH: &str = "/agent/stream";

/// A hub base URL such as `https://hub.example.com` or `http://127.0.0.1:8080/monitor`.
/// `ws://` and `wss://` URLs are accepted too, with or without `/agent/stream`.
#[derive(Clone, PartialEq, Eq)]
pub struct HubUrl {
    secure: bool,
    /// Host as written, without brackets for IPv6.
    host: String,
    port: u16,
    /// Path prefix without a trailing slash: `""` or `/monitor`.
    base_path: String,
}

impl HubUrl {
    /// Parses a base URL; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("`{text}` is not a URL; expected e.g. https://hub.example.com")
        })?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "https" | "wss" => true,
            "http" | "ws" => false,
            other => {
                return Err(format!(
                    "unsupported scheme `{other}`; use https, http, wss or ws"
                ));
            }
        };
        if rest.contains(['?', '#']) {
            return Err("the URL must not have a query or fragment".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("credentials in the URL are not supported; use the API key".into());
        }
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(format!("`{text}` has no host"));
        }
        let mut base_path = path.trim_end_matches('/').to_owned();
        if let Some(stripped) = base_path.strip_suffix(STREAM_PATH) {
            base_path = stripped.to_owned();
        }
        Ok(Self {
            secure,
            host: host.to_owned(),
            port: port.unwrap_or(if secure { 443 } else { 80 }),
            base_path,
        })
    }

    /// Whether the link is encrypted (https/wss).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether the host is this machine (`localhost`, 127.0.0.0/8, `::1`): plain
    /// transport is acceptable there.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Host name or address, without IPv6 brackets (for TLS server names and DNS).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` with brackets around IPv6 addresses.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Host header value: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                self.host.clone()
            }
        } else {
            self.authority()
        }
    }

    /// The WebSocket endpoint, `wss://host/agent/stream`.
    pub fn ws_url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!(
            "{scheme}://{}{}{STREAM_PATH}",
            self.host_header(),
            self.base_path
        )
    }

    /// The HTTP base, `https://host[/prefix]`.
    pub fn http_base(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}{}", self.host_header(), self.base_path)
    }

    /// Request path for an endpoint below the base: `/prefix/agent/metrics`.
    pub fn path(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.base_path)
    }
}

impl fmt::Debug for HubUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubUrl({})", self.http_base())
    }
}

impl fmt::Display for HubUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.http_base())
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("bad port `{p}`"))
    };
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed `[` in IPv6 address".to_owned())?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(port(p)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected `{after}` after the IPv6 address")),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Ok((host, Some(port(p)?))),
        None => Ok((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The WebSocket URL derives from the http(s) base and keeps any path prefix.
    #[test]
    fn derives_ws_url() {
        let u = HubUrl::parse("https://hub.example.com").unwrap();
        assert_eq!(u.ws_url(), "wss://hub.example.com/agent/stream");
        assert_eq!(u.port(), 443);
        let u = HubUrl::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(u.ws_url(), "ws://127.0.0.1:8080/agent/stream");
        assert_eq!(u.path("/agent/metrics"), "/agent/metrics");
        let u = HubUrl::parse("https://example.com:8443/monitor/").unwrap();
        assert_eq!(u.ws_url(), "wss://example.com:8443/monitor/agent/stream");
        assert_eq!(u.http_base(), "https://example.com:8443/monitor");
        assert_eq!(u.path("/agent/health"), "/monitor/agent/health");
    }

    /// ws/wss URLs are accepted, with or without the stream path.
    #[test]
    fn accepts_ws_urls() {
        let u = HubUrl::parse("wss://hub.example.com/agent/stream").unwrap();
        assert_eq!(u.http_base(), "https://hub.example.com");
        assert_eq!(u.ws_url(), "wss://hub.example.com/agent/stream");
        let u = HubUrl::parse("ws://[::1]:9000").unwrap();
        assert!(u.is_loopback() && !u.is_secure());
        assert_eq!(u.ws_url(), "ws://[::1]:9000/agent/stream");
        assert_eq!(u.host(), "::1");
    }

    /// Nonsense is refused with a reason.
    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "hub.example.com",
            "ftp://x",
            "https://",
            "https://h:0",
            "https://h:99999",
            "https://u:p@h",
            "https://h/?x=1",
            "https://[::1",
        ] {
            assert!(HubUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// Loopback detection covers names and both address families.
    #[test]
    fn loopback() {
        for u in ["http://localhost", "http://127.0.0.2:1", "http://[::1]"] {
            assert!(HubUrl::parse(u).unwrap().is_loopback(), "{u}");
        }
        for u in [
            "http://10.0.0.1",
            "http://hub.local",
            "http://localhost.evil.com",
        ] {
            assert!(!HubUrl::parse(u).unwrap().is_loopback(), "{u}");
        }
    }
}
