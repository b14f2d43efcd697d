//! `notification_channels`: where a user's alerts are delivered. `config` is the JSON
//! [`ChannelConfig`], secrets included; only [`ChannelRow::to_api`] leaves the hub.

use diesel::prelude::*;
use lunasentri_schema::alert::{Channel, ChannelConfig};

use super::DbConn;
use super::schema::notification_channels;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notification_channels)]
pub struct ChannelRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub kind: String,
    pub config: String,
    pub created_at: i64,
}

/// Scheme and host of a URL, never its path or query (where webhook tokens live).
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}")
}

/// Where a channel delivers, without secrets.
pub fn target(config: &ChannelConfig) -> String {
    match config {
        ChannelConfig::Webhook { url, .. }
        | ChannelConfig::Slack { url }
        | ChannelConfig::Discord { url } => url_origin(url),
        ChannelConfig::Ntfy { server, topic, .. } => format!(
            "{}/{topic}",
            url_origin(server.as_deref().unwrap_or("https://ntfy.sh"))
        ),
        ChannelConfig::Email { to, .. } => to.join(", "),
    }
}

impl ChannelRow {
    pub fn parsed(&self) -> Option<ChannelConfig> {
        serde_json::from_str(&self.config).ok()
    }

    /// The API view: name, kind and target, never a secret.
    pub fn to_api(&self) -> Channel {
        Channel {
            id: self.id,
            user_id: self.user_id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            target: self.parsed().map(|c| target(&c)).unwrap_or_default(),
            created_at: self.created_at,
        }
    }
}

pub fn insert(
    conn: &mut DbConn,
    user_id: i64,
    name: &str,
    config: &ChannelConfig,
    at: i64,
) -> QueryResult<ChannelRow> {
    let json = serde_json::to_string(config).unwrap_or_default();
    crate::on_backend!(conn, c => diesel::insert_into(notification_channels::table)
        .values((
            notification_channels::user_id.eq(user_id),
            notification_channels::name.eq(name),
            notification_channels::kind.eq(config.kind()),
            notification_channels::config.eq(&json),
            notification_channels::created_at.eq(at),
        ))
        .returning(ChannelRow::as_returning())
        .get_result(c))
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<ChannelRow>> {
    notification_channels::table
        .find(id)
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()
}

/// Channels of one user, or of everyone when `user` is `None`.
pub fn list(conn: &mut DbConn, user: Option<i64>) -> QueryResult<Vec<ChannelRow>> {
    let mut q = notification_channels::table
        .order(notification_channels::id)
        .select(ChannelRow::as_select())
        .into_boxed();
    if let Some(u) = user {
        q = q.filter(notification_channels::user_id.eq(u));
    }
    q.load(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(notification_channels::table.find(id)).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Targets keep the host and drop tokens, credentials and paths.
    #[test]
    fn targets_hide_secrets() {
        let slack = ChannelConfig::Slack {
            url: "https://hooks.slack.com/services/T0/B0/SECRET".into(),
        };
        assert_eq!(target(&slack), "https://hooks.slack.com");
        let hook = ChannelConfig::Webhook {
            url: "http://user:pw@10.0.0.1:8080/hook?token=abc".into(),
            secret: Some("s".into()),
        };
        assert_eq!(target(&hook), "http://10.0.0.1:8080");
        let ntfy = ChannelConfig::Ntfy {
            server: None,
            topic: "ops".into(),
            token: Some("tk".into()),
        };
        assert_eq!(target(&ntfy), "https://ntfy.sh/ops");
    }
}
