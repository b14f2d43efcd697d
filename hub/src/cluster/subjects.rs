//! The NATS subjects hubs share in cluster mode (`docs/architecture.md`, "Cluster mode").
//! Every subject starts with `lunasentri.{cluster}`, where the cluster id is stored in
//! the shared database: hubs on one database find each other, and several deployments
//! can share one NATS server without hearing each other.
//!
//! | subject (after the prefix) | payload                               | subscribed by            |
//! |----------------------------|---------------------------------------|--------------------------|
//! | `.live.{id}.sample`        | the live `sample` frame browsers get  | hubs with a browser watching `{id}` while its agent is elsewhere |
//! | `.status.{id}`             | the live `status` frame               | every hub                |
//! | `.alert.{id}`              | the live `alert` frame (rare)         | every hub                |
//! | `.control`                 | a [`super::control::Envelope`]        | every hub                |

/// Names the subjects of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

/// What a message received on one of the cluster's subjects carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sample(i64),
    Status(i64),
    Alert(i64),
    Control,
}

impl Subjects {
    /// The subjects of the cluster with this id (letters and digits only).
    pub fn new(cluster_id: &str) -> Self {
        Self {
            prefix: format!("lunasentri.{cluster_id}"),
        }
    }

    /// Every hub listens here for changes made through another hub.
    pub fn control(&self) -> String {
        format!("{}.control", self.prefix)
    }

    /// Every hub listens to every machine's status (rare, and shown on every dashboard).
    pub fn status_all(&self) -> String {
        format!("{}.status.*", self.prefix)
    }

    /// Every hub listens to every machine's alert frames (rare; produced by the hub
    /// holding the machine, or by an acknowledgement made through any hub).
    pub fn alert_all(&self) -> String {
        format!("{}.alert.*", self.prefix)
    }

    /// Where a machine's alert frames go.
    pub fn alert(&self, machine_id: i64) -> String {
        format!("{}.alert.{machine_id}", self.prefix)
    }

    /// Where a machine's status changes go.
    pub fn status(&self, machine_id: i64) -> String {
        format!("{}.status.{machine_id}", self.prefix)
    }

    /// Where a machine's new samples go.
    pub fn sample(&self, machine_id: i64) -> String {
        format!("{}.live.{machine_id}.sample", self.prefix)
    }

    /// A machine's live frames other than status, subscribed while a browser watches it.
    pub fn live(&self, machine_id: i64) -> String {
        format!("{}.live.{machine_id}.>", self.prefix)
    }

    /// Classifies a received subject; `None` for anything this version does not know
    /// (a newer hub's subject is ignored, not an error).
    pub fn parse(&self, subject: &str) -> Option<Kind> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix('.')?;
        let parts: Vec<&str> = rest.split('.').collect();
        match parts.as_slice() {
            ["control"] => Some(Kind::Control),
            ["live", id, "sample"] => id.parse().ok().map(Kind::Sample),
            ["status", id] => id.parse().ok().map(Kind::Status),
            ["alert", id] => id.parse().ok().map(Kind::Alert),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a hub publishes, it classifies again; other clusters and strangers are ignored.
    #[test]
    fn subjects_round_trip() {
        let s = Subjects::new("c1");
        assert_eq!(s.parse(&s.sample(42)), Some(Kind::Sample(42)));
        assert_eq!(s.parse(&s.status(7)), Some(Kind::Status(7)));
        assert_eq!(s.parse(&s.control()), Some(Kind::Control));
        assert_eq!(s.parse(&s.alert(3)), Some(Kind::Alert(3)));
        assert_eq!(s.parse("lunasentri.c1.live.42.alert"), None);
        assert_eq!(s.parse("lunasentri.c1.status.x"), None);
        assert_eq!(s.parse(&Subjects::new("c2").status(7)), None);
        assert_eq!(s.parse("lunasentri.c10.status.7"), None);
    }
}
