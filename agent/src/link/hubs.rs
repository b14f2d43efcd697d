//! The hubs an agent may stream to, in the configured order, and which one the next
//! connection attempt goes to. One URL is the common case; several let the agent fail
//! over between the hubs of a cluster, which share one database and accept any agent.

use super::url::HubUrl;

/// The configured hubs and the one in use.
///
/// The first connection goes to the first hub. Every failed attempt and every dropped
/// connection moves on to the next hub, wrapping around, so a dead hub costs one
/// backoff step rather than a series of them. A working connection stays where it is:
/// there is no fail-back to the first hub, which would move every agent of a cluster
/// back in step after an outage.
#[derive(Debug, Clone)]
pub struct Hubs {
    urls: Vec<HubUrl>,
    current: usize,
}

impl Hubs {
    /// The list, positioned on its first hub. `urls` must not be empty (the config
    /// refuses an empty list before any link is built).
    pub fn new(urls: Vec<HubUrl>) -> Self {
        assert!(!urls.is_empty(), "a link needs at least one hub URL");
        Self { urls, current: 0 }
    }

    /// The hub the next connection attempt goes to.
    pub fn current(&self) -> &HubUrl {
        &self.urls[self.current]
    }

    /// Moves to the next hub in the list (after the last, the first) and returns it.
    /// With a single hub this is that hub again.
    pub fn advance(&mut self) -> &HubUrl {
        self.current = (self.current + 1) % self.urls.len();
        self.current()
    }

    /// Whether there is another hub to fail over to.
    pub fn has_alternatives(&self) -> bool {
        self.urls.len() > 1
    }

    /// Every configured hub, in order.
    pub fn all(&self) -> &[HubUrl] {
        &self.urls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hubs(urls: &[&str]) -> Hubs {
        Hubs::new(urls.iter().map(|u| HubUrl::parse(u).unwrap()).collect())
    }

    fn host(h: &HubUrl) -> String {
        h.host().to_owned()
    }

    /// Attempts start at the first hub and rotate through the list in order, wrapping.
    #[test]
    fn rotates_in_order_and_wraps() {
        let mut h = hubs(&["https://a", "https://b", "https://c"]);
        assert_eq!(host(h.current()), "a");
        let visited: Vec<String> = (0..7).map(|_| host(h.advance())).collect();
        assert_eq!(visited, ["b", "c", "a", "b", "c", "a", "b"]);
        assert_eq!(host(h.current()), "b", "advance leaves the new hub current");
        assert!(h.has_alternatives());
    }

    /// With one hub every attempt goes to it: the behaviour of a single `server.url`.
    #[test]
    fn single_hub_stays_put() {
        let mut h = hubs(&["https://only:8443"]);
        assert!(!h.has_alternatives());
        for _ in 0..3 {
            assert_eq!(h.advance().authority(), "only:8443");
        }
        assert_eq!(h.all().len(), 1);
    }

    /// Reading the current hub does not move the rotation; only `advance` does.
    #[test]
    fn current_is_stable_until_advanced() {
        let mut h = hubs(&["https://a", "https://b"]);
        assert_eq!(host(h.current()), "a");
        assert_eq!(host(h.current()), "a");
        h.advance();
        assert_eq!(host(h.current()), "b");
        assert_eq!(
            h.all().iter().map(host).collect::<Vec<_>>(),
            ["a", "b"],
            "the configured order is kept"
        );
    }

    /// An empty list is a programming error, caught before any link is built.
    #[test]
    #[should_panic(expected = "at least one hub URL")]
    fn empty_list_is_refused() {
        Hubs::new(Vec::new());
    }
}
