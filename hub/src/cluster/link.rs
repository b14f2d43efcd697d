//! `ClusterLink`: the cluster as the live pipeline sees it. Publishing is fire and
//! forget into bounded queues drained by the bridge (a full queue drops the message
//! and counts it), so no actor ever waits for NATS; watch requests are never dropped.

use std::sync::Arc;

use crate::actors::socket::Utf8Bytes;
use bytes::Bytes;
use lunasentri_schema::{LiveFrame, MachineStatus};
use tokio::sync::mpsc;

use super::control::{ControlEvent, Envelope};
use super::subjects::Subjects;
use crate::actors::subscription_registry::encode;
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

    /// A machine's new sample, as the already-serialised live `sample` frame.
    pub fn publish_sample(&self, machine_id: i64, frame: Utf8Bytes) {
        let subject = self.subjects.sample(machine_id);
        self.push(&self.data, subject, Bytes::from(frame));
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
