//! Frames on the browser live socket `/api/live`.

use serde::{Deserialize, Serialize};

use crate::Sample;
use crate::alert::AlertEvent;

/// Whether a machine's agent is reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MachineStatus {
    /// Registered, never connected.
    Pending,
    Online,
    /// No sample for 3 intervals (at least 15 s), or the agent disconnected.
    Offline,
}

impl MachineStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }

    /// Parses the stored spelling; anything unknown reads as offline.
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "online" => Self::Online,
            _ => Self::Offline,
        }
    }
}

/// Browser → hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LiveClientFrame {
    /// Watch these machines; omitted means every machine the user may see.
    Subscribe {
        #[serde(default)]
        machine_ids: Option<Vec<i64>>,
    },
    /// Stop watching these machines; omitted means all.
    Unsubscribe {
        #[serde(default)]
        machine_ids: Option<Vec<i64>>,
    },
}

/// Current state of one machine, as sent in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineSnapshot {
    pub machine_id: i64,
    pub status: MachineStatus,
    /// Epoch milliseconds of the last sample, if any.
    pub last_seen: Option<i64>,
    pub sample: Option<Sample>,
}

/// Hub → browser.
// Frames are parsed, handled and dropped one at a time; boxing the sample would only
// add an allocation per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LiveFrame {
    /// Sent after each subscribe: status and last sample of every machine it added.
    Snapshot { machines: Vec<MachineSnapshot> },
    /// A new sample of a watched machine.
    Sample { machine_id: i64, sample: Sample },
    /// A watched machine changed status.
    Status {
        machine_id: i64,
        status: MachineStatus,
        last_seen: Option<i64>,
    },
    /// This many live frames will never arrive: the session's outbound queue overflowed
    /// (oldest dropped first), or, in cluster mode, the hub holding a watched machine
    /// could not publish that many of its samples.
    Lagged { dropped: u64 },
    /// One of the user's own alerts fired, resolved or was acknowledged (sent to the
    /// rule owner's sessions watching the machine).
    Alert { event: Box<AlertEvent> },
    /// A request failed. `not_found` answers a machine that does not exist or is not yours.
    Error {
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        machine_id: Option<i64>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subscribe with and without ids parses; unknown fields are refused.
    #[test]
    fn subscribe_shapes() {
        let all: LiveClientFrame = serde_json::from_str(r#"{"type":"subscribe"}"#).unwrap();
        assert_eq!(all, LiveClientFrame::Subscribe { machine_ids: None });
        let some: LiveClientFrame =
            serde_json::from_str(r#"{"type":"subscribe","machine_ids":[1,2]}"#).unwrap();
        assert_eq!(
            some,
            LiveClientFrame::Subscribe {
                machine_ids: Some(vec![1, 2])
            }
        );
        assert!(serde_json::from_str::<LiveClientFrame>(r#"{"type":"subscribe","x":1}"#).is_err());
    }

    /// Live frames round-trip.
    #[test]
    fn live_frames_round_trip() {
        let frames = [
            LiveFrame::Sample {
                machine_id: 1,
                sample: Sample::default(),
            },
            LiveFrame::Status {
                machine_id: 1,
                status: MachineStatus::Offline,
                last_seen: Some(5),
            },
            LiveFrame::Lagged { dropped: 3 },
            LiveFrame::Error {
                code: "not_found".into(),
                machine_id: Some(9),
                message: String::new(),
            },
        ];
        for f in frames {
            let text = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<LiveFrame>(&text).unwrap(), f);
        }
    }
}
