//! Delivery to one channel: generic webhook, Slack/Discord chat webhooks, ntfy, email.
//! Each call is one attempt; retries live in [`super::deliver`]. Errors are for the
//! channel's owner and never contain a secret (request URLs are left out).

mod chat;
mod email;
mod ntfy;
mod webhook;

use std::time::Duration;

use lunasentri_schema::alert::ChannelConfig;

use super::notification::Notification;

/// Sends notifications; cheap to clone.
#[derive(Debug, Clone)]
pub struct Senders {
    http: reqwest::Client,
    timeout: Duration,
}

impl Senders {
    /// `timeout` bounds every attempt (connect, send and answer).
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("LunaSentri/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http, timeout }
    }

    /// One attempt to deliver `n` on `config`.
    pub async fn send(&self, config: &ChannelConfig, n: &Notification) -> Result<(), String> {
        match config {
            ChannelConfig::Webhook { url, secret } => {
                webhook::send(&self.http, url, secret.as_deref(), n).await
            }
            ChannelConfig::Slack { url } => {
                chat::send(&self.http, url, chat::Flavor::Slack, n).await
            }
            ChannelConfig::Discord { url } => {
                chat::send(&self.http, url, chat::Flavor::Discord, n).await
            }
            ChannelConfig::Ntfy {
                server,
                topic,
                token,
            } => ntfy::send(&self.http, server.as_deref(), topic, token.as_deref(), n).await,
            ChannelConfig::Email { .. } => email::send(config, n, self.timeout).await,
        }
    }
}

/// A POST's outcome as a sentence without the URL.
async fn check(res: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match res {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!(
            "the receiver answered HTTP {}",
            r.status().as_u16()
        )),
        Err(e) if e.is_timeout() => Err("the receiver did not answer in time".into()),
        Err(e) => Err(format!("request failed: {}", e.without_url())),
    }
}
