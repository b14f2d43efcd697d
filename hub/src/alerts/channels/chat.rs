//! Slack- and Discord-compatible incoming webhooks: one text message.

use serde_json::json;

use super::check;
use crate::alerts::notification::Notification;

/// Discord refuses longer messages.
const DISCORD_MAX_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    Slack,
    Discord,
}

pub async fn send(
    http: &reqwest::Client,
    url: &str,
    flavor: Flavor,
    n: &Notification,
) -> Result<(), String> {
    let text = n.message();
    let body = match flavor {
        Flavor::Slack => json!({ "text": text }),
        Flavor::Discord => {
            json!({ "content": text.chars().take(DISCORD_MAX_CHARS).collect::<String>() })
        }
    };
    check(http.post(url).json(&body).send().await).await
}
