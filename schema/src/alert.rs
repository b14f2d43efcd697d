//! Alerting: rules, the events they raise, and the channels that deliver them
//! (`/api/alert-rules`, `/api/alert-events`, `/api/channels`, and the live `alert` frame).

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The metric of a rule that watches reachability instead of a value.
pub const OFFLINE_METRIC: &str = "offline";

/// Metrics computed from a sample besides the stored scalars: swap use in percent, the
/// hottest sensor, and CPU iowait/steal where the OS reports them. A filesystem is
/// watched with `disk_used_pct:<mount>` (for example `disk_used_pct:/var`).
pub const DERIVED_METRICS: [&str; 4] = [
    "swap_used_pct",
    "temp_max_c",
    "cpu_iowait_pct",
    "cpu_steal_pct",
];

/// Prefix of the per-filesystem metric.
pub const DISK_MOUNT_PREFIX: &str = "disk_used_pct:";

/// How a value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Comparator {
    /// Fires when the value is above the threshold.
    Gt,
    /// Fires when the value is at or above the threshold.
    Ge,
    /// Fires when the value is below the threshold.
    Lt,
    /// Fires when the value is at or below the threshold.
    Le,
}

impl Comparator {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// Whether the comparator fires on high values (`gt`, `ge`).
    pub fn is_upper(self) -> bool {
        matches!(self, Self::Gt | Self::Ge)
    }
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// Parses the stored spelling; unknown values read as `warning`.
    pub fn parse(s: &str) -> Self {
        match s {
            "info" => Self::Info,
            "critical" => Self::Critical,
            _ => Self::Warning,
        }
    }
}

/// A daily window in UTC (`HH:MM`, end exclusive, may wrap midnight) during which
/// notifications wait; the alert itself is still recorded and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuietHours {
    /// Start, `HH:MM` UTC.
    pub start: String,
    /// End, `HH:MM` UTC.
    pub end: String,
}

/// An alert rule as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AlertRule {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Machines the rule watches; `null` means every machine of the rule's owner,
    /// including ones added later.
    pub machine_ids: Option<Vec<i64>>,
    /// A scalar of the sample (`cpu_pct`, `load1`, …), a derived metric
    /// (`swap_used_pct`, `temp_max_c`, …), `disk_used_pct:<mount>`, or `offline`.
    pub metric: String,
    pub comparator: Comparator,
    pub threshold: f64,
    /// The value must come back past this to resolve (hysteresis).
    pub clear_threshold: f64,
    /// Seconds the condition must hold before the alert fires.
    pub for_s: u32,
    /// Seconds between repeated notifications while firing; `null`: notify once.
    pub repeat_s: Option<u32>,
    pub severity: Severity,
    pub enabled: bool,
    pub quiet_hours: Option<QuietHours>,
    /// Channels notified on firing, repeat and resolve.
    pub channel_ids: Vec<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Body of `POST /api/alert-rules` and `PUT /api/alert-rules/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AlertRuleInput {
    pub name: String,
    /// `null` or omitted: all of your machines, including ones added later.
    #[serde(default)]
    pub machine_ids: Option<Vec<i64>>,
    pub metric: String,
    /// Required unless the metric is `offline`.
    #[serde(default)]
    pub comparator: Option<Comparator>,
    /// Required unless the metric is `offline`.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Defaults to the threshold.
    #[serde(default)]
    pub clear_threshold: Option<f64>,
    /// 0 to 86400 seconds; default 0.
    #[serde(default)]
    pub for_s: u32,
    /// 60 seconds to 7 days, or omitted for a single notification.
    #[serde(default)]
    pub repeat_s: Option<u32>,
    #[serde(default = "default_severity")]
    pub severity: Severity,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    #[serde(default)]
    pub channel_ids: Vec<i64>,
}

fn default_severity() -> Severity {
    Severity::Warning
}

fn default_true() -> bool {
    true
}

/// Whether an alert is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "firing" => Some(Self::Firing),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// One notification attempt series for an event on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Delivery {
    /// `None` once the channel is deleted.
    pub channel_id: Option<i64>,
    pub channel_name: String,
    /// `firing`, `repeat` or `resolved`.
    pub kind: String,
    /// `queued`, `sent`, `failed` or `dropped` (delivery queue full).
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub updated_at: i64,
}

/// One alert: from the moment a rule fired on a machine until it resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AlertEvent {
    pub id: i64,
    /// `None` once the rule is deleted.
    pub rule_id: Option<i64>,
    pub rule_name: String,
    pub user_id: i64,
    pub machine_id: i64,
    pub metric: String,
    pub comparator: Comparator,
    pub threshold: f64,
    pub severity: Severity,
    pub state: AlertState,
    /// The value that fired the alert (`None` for `offline`).
    pub value: Option<f64>,
    /// The value that resolved it (`None` while firing, and for `offline`).
    #[serde(default)]
    pub resolved_value: Option<f64>,
    /// Epoch milliseconds.
    pub started_at: i64,
    pub resolved_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub deliveries: Vec<Delivery>,
}

/// What kind of channel, with its settings. Secrets (`secret`, `token`, `password`,
/// and the tokens inside Slack/Discord URLs) are write-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum ChannelConfig {
    /// JSON POST; with a secret, `X-LunaSentri-Signature: sha256=<hex HMAC of the body>`.
    Webhook {
        url: String,
        #[serde(default)]
        secret: Option<String>,
    },
    /// A Slack incoming-webhook URL.
    Slack { url: String },
    /// A Discord webhook URL.
    Discord { url: String },
    /// An ntfy topic: `server` (default `https://ntfy.sh`), `topic`, optional access token.
    Ntfy {
        #[serde(default)]
        server: Option<String>,
        topic: String,
        #[serde(default)]
        token: Option<String>,
    },
    /// Mail over SMTP.
    Email {
        host: String,
        #[serde(default)]
        port: Option<u16>,
        /// `starttls` (default), `tls`, or `none` (only for a relay on loopback).
        #[serde(default)]
        tls: Option<String>,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        from: String,
        to: Vec<String>,
    },
}

impl ChannelConfig {
    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::Discord { .. } => "discord",
            Self::Ntfy { .. } => "ntfy",
            Self::Email { .. } => "email",
        }
    }
}

/// A channel as the API shows it: where it goes, never its secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Channel {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// `webhook`, `slack`, `discord`, `ntfy` or `email`.
    pub kind: String,
    /// Where notifications go, with secrets left out (scheme and host of a URL, the
    /// ntfy topic, the mail recipients).
    pub target: String,
    pub created_at: i64,
}

/// Body of `POST /api/channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateChannel {
    pub name: String,
    pub config: ChannelConfig,
}

/// Answer of `POST /api/channels/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChannelTestResult {
    pub ok: bool,
    pub attempts: i32,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal rule body parses with its defaults; unknown fields are refused.
    #[test]
    fn rule_input_defaults() {
        let r: AlertRuleInput = serde_json::from_str(
            r#"{"name":"cpu","metric":"cpu_pct","comparator":"gt","threshold":90}"#,
        )
        .unwrap();
        assert_eq!(r.severity, Severity::Warning);
        assert!(r.enabled);
        assert_eq!(r.machine_ids, None);
        assert_eq!(r.for_s, 0);
        assert!(
            serde_json::from_str::<AlertRuleInput>(r#"{"name":"x","metric":"cpu_pct","y":1}"#)
                .is_err()
        );
    }

    /// Channel configs are tagged by kind.
    #[test]
    fn channel_config_tagged() {
        let c: ChannelConfig = serde_json::from_str(r#"{"kind":"ntfy","topic":"ops"}"#).unwrap();
        assert_eq!(c.kind(), "ntfy");
        assert!(serde_json::from_str::<ChannelConfig>(r#"{"kind":"pager","url":"x"}"#).is_err());
    }
}
