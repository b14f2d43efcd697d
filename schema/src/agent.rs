//! Frames on the agent link `/agent/stream`: JSON text frames tagged by `"type"`.

use serde::{Deserialize, Serialize};

use crate::Sample;

/// Agent → hub.
// Frames are parsed, handled and dropped one at a time; boxing the sample would only
// add an allocation per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgentFrame {
    /// First frame after the upgrade: who the agent runs on.
    Hello(Hello),
    /// One live sample.
    Sample(Sample),
    /// Backlog replay after a reconnect, oldest first.
    Batch { samples: Vec<Sample> },
}

/// Facts about the host, sent once per connection and stored on the machine row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hello {
    pub agent_version: String,
    pub hostname: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub kernel: String,
    #[serde(default)]
    pub arch: String,
    #[serde(default)]
    pub cpu_model: String,
    #[serde(default)]
    pub cores: u32,
    #[serde(default)]
    pub mem_total_bytes: u64,
    /// Boot time, epoch seconds.
    #[serde(default)]
    pub boot_time_s: u64,
    /// The agent's sampling interval.
    #[serde(default)]
    pub interval_ms: u64,
}

/// Hub → agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HubFrame {
    /// Every sample with `seq` ≤ this one is committed: the agent may forget them.
    Ack { seq: u64 },
    /// The hub asks the agent to sample at this interval.
    Config { interval_ms: u64 },
    /// The hub refused something; a close with a code from `protocol::close` follows
    /// when the connection cannot continue.
    Error { code: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every agent frame survives a JSON round trip with its `type` tag.
    #[test]
    fn agent_frames_round_trip() {
        let frames = [
            AgentFrame::Hello(Hello {
                hostname: "web-1".into(),
                cores: 4,
                ..Hello::default()
            }),
            AgentFrame::Sample(Sample {
                seq: 7,
                ts: 1_000,
                cpu_pct: 12.5,
                ..Sample::default()
            }),
            AgentFrame::Batch {
                samples: vec![Sample {
                    seq: 1,
                    ..Sample::default()
                }],
            },
        ];
        for frame in frames {
            let text = serde_json::to_string(&frame).unwrap();
            assert!(text.contains("\"type\":"), "{text}");
            assert_eq!(serde_json::from_str::<AgentFrame>(&text).unwrap(), frame);
        }
    }

    /// The documented wire shape of a sample frame is flat, tagged `sample`.
    #[test]
    fn sample_frame_is_flat() {
        let f: AgentFrame = serde_json::from_str(
            r#"{"type":"sample","seq":3,"ts":5,"cpu_pct":1,"mem_used_pct":2,
                "disk_used_pct":3,"net_rx_bytes":4,"net_tx_bytes":5}"#,
        )
        .unwrap();
        assert!(matches!(f, AgentFrame::Sample(Sample { seq: 3, .. })));
    }

    /// Hub frames have the documented shape.
    #[test]
    fn hub_frames_shape() {
        assert_eq!(
            serde_json::to_string(&HubFrame::Ack { seq: 9 }).unwrap(),
            r#"{"type":"ack","seq":9}"#
        );
        let e: HubFrame =
            serde_json::from_str(r#"{"type":"error","code":"bad_frame","message":"x"}"#).unwrap();
        assert!(matches!(e, HubFrame::Error { .. }));
    }
}
