//! What a channel sends: one alert, why it is being sent, and the text for people.

use lunasentri_schema::alert::{AlertEvent, AlertState, Comparator, OFFLINE_METRIC};
use serde::Serialize;

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Firing,
    Repeat,
    Resolved,
    /// `POST /api/channels/{id}/test`.
    Test,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Repeat => "repeat",
            Self::Resolved => "resolved",
            Self::Test => "test",
        }
    }
}

/// The machine an alert is about.
#[derive(Debug, Clone, Serialize)]
pub struct MachineRef {
    pub id: i64,
    pub name: String,
}

/// One notification; its JSON form is the generic webhook body.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// Version of this body's shape.
    pub version: u32,
    pub reason: Reason,
    /// One line, e.g. `[FIRING] cpu high on web-1`.
    pub title: String,
    /// A sentence or two with the value and threshold.
    pub text: String,
    pub machine: MachineRef,
    pub event: AlertEvent,
}

fn comparator_symbol(c: Comparator) -> &'static str {
    match c {
        Comparator::Gt => ">",
        Comparator::Ge => "≥",
        Comparator::Lt => "<",
        Comparator::Le => "≤",
    }
}

/// `2025-11-24 16:00:00 UTC`.
fn utc(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

impl Notification {
    /// Builds the notification of `event` on `machine` for `reason`.
    pub fn new(reason: Reason, mut event: AlertEvent, machine: MachineRef) -> Self {
        event.deliveries.clear();
        let tag = match (reason, event.state) {
            (Reason::Test, _) => "TEST",
            (_, AlertState::Resolved) => "RESOLVED",
            (Reason::Repeat, _) => "STILL FIRING",
            _ => "FIRING",
        };
        let title = format!("[{tag}] {} on {}", event.rule_name, machine.name);
        let condition = if event.metric == OFFLINE_METRIC {
            "machine offline".to_string()
        } else {
            format!(
                "{} {} {}",
                event.metric,
                comparator_symbol(event.comparator),
                event.threshold
            )
        };
        let show = |v: Option<f64>| v.map(|v| format!(" (value {v:.2})")).unwrap_or_default();
        let text = match event.resolved_at {
            Some(at) if event.state == AlertState::Resolved => format!(
                "{condition} resolved at {}{}; firing since {}. Severity {}.",
                utc(at),
                show(event.resolved_value),
                utc(event.started_at),
                event.severity.as_str()
            ),
            _ => format!(
                "{condition}{}, firing since {}. Severity {}.",
                show(event.value),
                utc(event.started_at),
                event.severity.as_str()
            ),
        };
        Self {
            version: 1,
            reason,
            title,
            text,
            machine,
            event,
        }
    }

    /// Title and text as one message (chat channels).
    pub fn message(&self) -> String {
        format!("{}\n{}", self.title, self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lunasentri_schema::alert::Severity;

    fn event(state: AlertState) -> AlertEvent {
        AlertEvent {
            id: 1,
            rule_id: Some(2),
            rule_name: "cpu high".into(),
            user_id: 3,
            machine_id: 4,
            metric: "cpu_pct".into(),
            comparator: Comparator::Gt,
            threshold: 90.0,
            severity: Severity::Critical,
            state,
            value: Some(97.25),
            resolved_value: (state == AlertState::Resolved).then_some(71.0),
            started_at: 1_764_000_000_000,
            resolved_at: (state == AlertState::Resolved).then_some(1_764_000_600_000),
            acknowledged_at: None,
            acknowledged_by: None,
            deliveries: vec![],
        }
    }

    /// Titles and texts name the rule, machine, condition, value and times in UTC.
    #[test]
    fn texts() {
        let m = MachineRef {
            id: 4,
            name: "web-1".into(),
        };
        let n = Notification::new(Reason::Firing, event(AlertState::Firing), m.clone());
        assert_eq!(n.title, "[FIRING] cpu high on web-1");
        assert_eq!(
            n.text,
            "cpu_pct > 90 (value 97.25), firing since 2025-11-24 16:00:00 UTC. Severity critical."
        );
        let r = Notification::new(Reason::Resolved, event(AlertState::Resolved), m);
        assert!(r.title.starts_with("[RESOLVED]"), "{}", r.title);
        assert!(
            r.text
                .contains("resolved at 2025-11-24 16:10:00 UTC (value 71.00)"),
            "{}",
            r.text
        );
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
