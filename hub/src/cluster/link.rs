//! `ClusterLink`: the cluster as the live pipeline sees it. Publishing is fire and
//! forget into bounded queues drained by the bridge (a full queue drops the message
//! and counts it), so no actor ever waits for NATS; watch requests are never dropped.
//! Samples a full queue dropped are owed to the machine's watchers on other hubs as a
//! `lagged {dropped}` frame, sent ahead of the machine's next sample that fits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::actors::socket::Utf8Bytes;
use bytes::Bytes;
use lunasentri_schema::{LiveFrame, MachineStatus};
use tokio::sync::mpsc;

use super::control::{ControlEvent, Envelope};
use super::subjects::Subjects;
use crate::actors::subscription_registry::{encode, lagged};
use crate::telemetry::HubMetrics;

/// Samples and status waiting for NATS; past this, new ones are dropped and counted.
const DATA_QUEUE: usize = 8192;
/// Control events waiting for NATS (kept apart so a flood of samples never drops one).
const CONTROL_QUEUE: usize = 4096;

/// One message for the bridge to publish.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub subject: String,
    pub payload: Bytes,
}

/// Start or stop receiving a machine's live frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watch {
    Start(i64),
    Stop(i64),
}

/// The receiving ends, handed to the bridge.
#[derive(Debug)]
pub(super) struct Queues {
    pub data: mpsc::Receiver<Outgoing>,
    pub control: mpsc::Receiver<Outgoing>,
    pub watch: mpsc::UnboundedReceiver<Watch>,
}

/// Cheap to clone; held by the registry, machine actors and HTTP handlers.
#[derive(Clone)]
pub struct ClusterLink {
    hub_id: Arc<str>,
    subjects: Arc<Subjects>,
    data: mpsc::Sender<Outgoing>,
    control: mpsc::Sender<Outgoing>,
    watch: mpsc::UnboundedSender<Watch>,
    /// Samples per machine dropped since its last published `lagged` notice.
    owed: Arc<Mutex<HashMap<i64, u64>>>,
    metrics: Arc<HubMetrics>,
}

impl std::fmt::Debug for ClusterLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterLink({})", self.hub_id)
    }
}

impl ClusterLink {
    pub(super) fn new(
        hub_id: &str,
        subjects: Subjects,
        metrics: Arc<HubMetrics>,
    ) -> (Self, Queues) {
        let (data, data_rx) = mpsc::channel(DATA_QUEUE);
        let (control, control_rx) = mpsc::channel(CONTROL_QUEUE);
        let (watch, watch_rx) = mpsc::unbounded_channel();
        let link = Self {
            hub_id: hub_id.into(),
            subjects: Arc::new(subjects),
            data,
            control,
            watch,
            owed: Arc::default(),
            metrics,
        };
        let queues = Queues {
            data: data_rx,
            control: control_rx,
            watch: watch_rx,
        };
        (link, queues)
    }

    /// This hub's id, random at every start.
    pub fn hub_id(&self) -> &str {
        &self.hub_id
    }

    /// The cluster's subject names.
    pub(super) fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    fn push(&self, queue: &mpsc::Sender<Outgoing>, subject: String, payload: Bytes) {
        if queue.try_send(Outgoing { subject, payload }).is_err() {
            self.metrics.cluster_publish_dropped.inc();
        }
    }

    /// A machine's new sample, as the already-serialised live `sample` frame. If
    /// earlier samples of the machine were dropped, a `lagged {dropped}` frame goes
    /// first on the same subject (so it arrives first); while that does not fit, the
    /// sample is dropped too, and owed with the others.
    pub fn publish_sample(&self, machine_id: i64, frame: Utf8Bytes) {
        let subject = self.subjects.sample(machine_id);
        let mut owed = self.owed.lock().unwrap_or_else(PoisonError::into_inner);
        let mut dropped = owed.remove(&machine_id).unwrap_or(0);
        if dropped > 0 {
            let notice = Outgoing {
                subject: subject.clone(),
                payload: Bytes::from(lagged(dropped)),
            };
            if self.data.try_send(notice).is_ok() {
                dropped = 0;
            }
        }
        let sample = Outgoing {
            subject,
            payload: Bytes::from(frame),
        };
        if dropped > 0 || self.data.try_send(sample).is_err() {
            self.metrics.cluster_publish_dropped.inc();
            owed.insert(machine_id, dropped + 1);
        }
    }

    /// A machine's status change.
    pub fn publish_status(&self, machine_id: i64, status: MachineStatus, last_seen: Option<i64>) {
        let frame = encode(&LiveFrame::Status {
            machine_id,
            status,
            last_seen,
        });
        let subject = self.subjects.status(machine_id);
        self.push(&self.data, subject, Bytes::from(frame));
    }

    /// An alert frame for the watchers of a machine (alerts are rare: every hub gets them).
    pub fn publish_alert(&self, machine_id: i64, frame: Utf8Bytes) {
        let subject = self.subjects.alert(machine_id);
        self.push(&self.control, subject, Bytes::from(frame));
    }

    /// Tells every other hub about a change (they apply it to their own registry).
    pub fn announce(&self, event: ControlEvent) {
        let envelope = Envelope {
            hub: self.hub_id.to_string(),
            event,
        };
        match serde_json::to_vec(&envelope) {
            Ok(json) => self.push(&self.control, self.subjects.control(), json.into()),
            Err(e) => tracing::error!(error = %e, "control event not serialisable"),
        }
    }

    /// Starts receiving a machine's live frames from the hub its agent is on.
    pub fn watch(&self, machine_id: i64) {
        let _ = self.watch.send(Watch::Start(machine_id));
    }

    /// Stops receiving them.
    pub fn unwatch(&self, machine_id: i64) {
        let _ = self.watch.send(Watch::Stop(machine_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_frame(machine_id: i64, seq: u64) -> Utf8Bytes {
        encode(&LiveFrame::Sample {
            machine_id,
            sample: lunasentri_schema::Sample {
                seq,
                ..Default::default()
            },
        })
    }

    fn frames(rx: &mut mpsc::Receiver<Outgoing>) -> Vec<(String, LiveFrame)> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|o| {
                let frame = serde_json::from_slice(&o.payload).expect("a live frame");
                (o.subject, frame)
            })
            .collect()
    }

    /// A link whose data queue is full of machine 1's samples, after two samples of
    /// machine 7 found no room.
    fn owing_two_of_machine_7() -> (ClusterLink, Queues, Arc<HubMetrics>) {
        let metrics = Arc::new(HubMetrics::default());
        let (link, queues) = ClusterLink::new("hub", Subjects::new("c1"), metrics.clone());
        for seq in 0..DATA_QUEUE as u64 {
            link.publish_sample(1, sample_frame(1, seq));
        }
        link.publish_sample(7, sample_frame(7, 1));
        link.publish_sample(7, sample_frame(7, 2));
        assert_eq!(metrics.cluster_publish_dropped.get(), 2);
        (link, queues, metrics)
    }

    /// Samples a full queue dropped reach the other hubs as one `lagged` frame ahead of
    /// the machine's next sample; other machines owe nothing.
    #[test]
    fn dropped_samples_are_announced_before_the_next_one() {
        let (link, mut queues, metrics) = owing_two_of_machine_7();
        assert_eq!(frames(&mut queues.data).len(), DATA_QUEUE);

        link.publish_sample(7, sample_frame(7, 3));
        link.publish_sample(1, sample_frame(1, 99));
        assert_eq!(
            metrics.cluster_publish_dropped.get(),
            2,
            "nothing more dropped"
        );
        let got = frames(&mut queues.data);
        let subject = link.subjects().sample(7);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], (subject.clone(), LiveFrame::Lagged { dropped: 2 }));
        assert!(
            matches!(&got[1], (s, LiveFrame::Sample { sample, .. }) if *s == subject && sample.seq == 3)
        );
        assert!(
            matches!(&got[2].1, LiveFrame::Sample { machine_id: 1, sample } if sample.seq == 99)
        );
    }

    /// While the notice does not fit, the sample behind it is dropped and owed too;
    /// when only the notice fits, the sample is owed to the next one.
    #[test]
    fn a_notice_that_does_not_fit_keeps_the_debt() {
        let (link, mut queues, metrics) = owing_two_of_machine_7();
        // Room for the notice only: the sample behind it is owed too.
        let _ = queues.data.try_recv();
        link.publish_sample(7, sample_frame(7, 3));
        let tail = frames(&mut queues.data);
        assert_eq!(
            tail.last().map(|t| &t.1),
            Some(&LiveFrame::Lagged { dropped: 2 })
        );
        link.publish_sample(7, sample_frame(7, 4));
        let got = frames(&mut queues.data);
        assert_eq!(got[0].1, LiveFrame::Lagged { dropped: 1 });
        assert!(matches!(&got[1].1, LiveFrame::Sample { sample, .. } if sample.seq == 4));
        assert_eq!(metrics.cluster_publish_dropped.get(), 3);
    }
}
