//! ntfy: the text as the message body, title, priority and tags as headers.

use lunasentri_schema::alert::Severity;

use super::check;
use crate::alerts::notification::{Notification, Reason};

/// The public server, used when the channel names none.
pub const DEFAULT_SERVER: &str = "https://ntfy.sh";

pub async fn send(
    http: &reqwest::Client,
    server: Option<&str>,
    topic: &str,
    token: Option<&str>,
    n: &Notification,
) -> Result<(), String> {
    let server = server.unwrap_or(DEFAULT_SERVER).trim_end_matches('/');
    let priority = match (n.reason, n.event.severity) {
        (Reason::Resolved | Reason::Test, _) | (_, Severity::Info) => "default",
        (_, Severity::Warning) => "high",
        (_, Severity::Critical) => "urgent",
    };
    let tags = match n.reason {
        Reason::Resolved => "white_check_mark",
        Reason::Test => "test_tube",
        _ => "rotating_light",
    };
    let mut req = http
        .post(format!("{server}/{topic}"))
        .header("Title", &n.title)
        .header("Priority", priority)
        .header("Tags", tags)
        .body(n.text.clone());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    check(req.send().await).await
}
