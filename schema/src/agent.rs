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

impl AgentFrame {
    /// Parses a frame. Agents write the tag first, so a `sample` frame (nearly every
    /// frame on a link) is read straight into a [`Sample`]; serde's path for tagged
    /// enums first copies the whole object into an intermediate tree. Anything else,
    /// and any text the direct read refuses, takes that general path, so both accept
    /// the same frames and report the same errors, with one exception: a sample frame
    /// that repeats its `type` key is read as a sample instead of being refused.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        if text.starts_with(r#"{"type":"sample","#)
            && let Ok(s) = serde_json::from_str::<Sample>(text)
        {
            return Ok(AgentFrame::Sample(s));
        }
        serde_json::from_str(text)
    }
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
            assert_eq!(AgentFrame::from_json(&text).unwrap(), frame);
        }
    }

    /// The direct read of sample frames accepts and refuses exactly what the general
    /// path does, with the same message.
    #[test]
    fn direct_sample_read_matches_general_path() {
        let full = serde_json::to_string(&AgentFrame::Sample(Sample {
            seq: 9,
            ts: 2_000,
            cpu_pct: 50.0,
            cpus: vec![1.0, 2.0],
            ..Sample::default()
        }))
        .unwrap();
        assert!(full.starts_with(r#"{"type":"sample","#), "{full}");
        let cases = [
            full.clone(),
            full.replace("}", r#","future_field":[1,2]}"#),
            r#"{"type":"sample","seq":"x"}"#.to_owned(),
            r#"{"type":"sample","seq":1"#.to_owned(),
            r#"{"type":"sample","seq":1,"ts":2}"#.to_owned(),
            r#"{"type":"hello","agent_version":"1","hostname":"h"}"#.to_owned(),
            r#"{"type":"nope"}"#.to_owned(),
        ];
        for text in cases {
            let general = serde_json::from_str::<AgentFrame>(&text).map_err(|e| e.to_string());
            let direct = AgentFrame::from_json(&text).map_err(|e| e.to_string());
            assert_eq!(direct, general, "{text}");
        }
        // The one difference: a sample frame repeating its tag is still a sample.
        let twice = full.replace("}", r#","type":"batch"}"#);
        assert!(serde_json::from_str::<AgentFrame>(&twice).is_err());
        assert!(matches!(
            AgentFrame::from_json(&twice),
            Ok(AgentFrame::Sample(_))
        ));
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
