//! The hub's own metrics, served at `/metrics` in Prometheus text format, and the
//! tracing subscriber set-up.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::config::LogFormat;

/// Label of `lunasentri_samples_rejected_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// Label of `lunasentri_notifications_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

/// Label of `lunasentri_retention_deleted_rows_total`: `raw`, `1m` or `1h`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct TierLabel {
    pub tier: &'static str,
}

/// Every counter, gauge and histogram the hub exports.
pub struct HubMetrics {
    registry: Registry,
    pub agents_connected: Gauge,
    pub browser_sessions: Gauge,
    pub samples_received: Counter,
    pub samples_persisted: Counter,
    pub samples_duplicate: Counter,
    pub samples_rejected: Family<ReasonLabel, Counter>,
    pub frames_dropped: Counter,
    pub writer_queue_depth: Gauge,
    pub writer_flush_seconds: Histogram,
    pub writer_flush_errors: Counter,
    pub fanout_latency_seconds: Histogram,
    pub outbox_wait_seconds: Histogram,
    pub live_sample_age_seconds: Histogram,
    pub alert_evaluations: Counter,
    pub alerts_fired: Counter,
    pub alert_transitions_dropped: Counter,
    pub notifications: Family<OutcomeLabel, Counter>,
    pub cluster_connected: Gauge,
    pub cluster_subscriptions: Gauge,
    pub cluster_published: Counter,
    pub cluster_received: Counter,
    pub cluster_publish_dropped: Counter,
    pub retention_running: Gauge,
    pub retention_deleted_rows: Family<TierLabel, Counter>,
    pub retention_vacuumed_pages: Counter,
    pub retention_free_pages: Gauge,
    sqlite_heap_bytes: Gauge,
}

impl std::fmt::Debug for HubMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubMetrics")
    }
}

impl Default for HubMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lunasentri");
        let m = Self {
            agents_connected: Gauge::default(),
            browser_sessions: Gauge::default(),
            samples_received: Counter::default(),
            samples_persisted: Counter::default(),
            samples_duplicate: Counter::default(),
            samples_rejected: Family::default(),
            frames_dropped: Counter::default(),
            writer_queue_depth: Gauge::default(),
            writer_flush_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            writer_flush_errors: Counter::default(),
            fanout_latency_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 20)),
            outbox_wait_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 20)),
            // `ts` has millisecond resolution.
            live_sample_age_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            alert_evaluations: Counter::default(),
            alerts_fired: Counter::default(),
            alert_transitions_dropped: Counter::default(),
            notifications: Family::default(),
            cluster_connected: Gauge::default(),
            cluster_subscriptions: Gauge::default(),
            cluster_published: Counter::default(),
            cluster_received: Counter::default(),
            cluster_publish_dropped: Counter::default(),
            retention_running: Gauge::default(),
            retention_deleted_rows: Family::default(),
            retention_vacuumed_pages: Counter::default(),
            retention_free_pages: Gauge::default(),
            sqlite_heap_bytes: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "agents_connected",
            "Agent WebSocket connections",
            m.agents_connected.clone(),
        );
        registry.register(
            "browser_sessions",
            "Live dashboard sockets",
            m.browser_sessions.clone(),
        );
        registry.register(
            "samples_received",
            "Samples accepted from agents",
            m.samples_received.clone(),
        );
        registry.register(
            "samples_persisted",
            "Samples newly committed to storage",
            m.samples_persisted.clone(),
        );
        registry.register(
            "samples_duplicate",
            "Replayed samples already stored",
            m.samples_duplicate.clone(),
        );
        registry.register(
            "samples_rejected",
            "Samples or frames refused, by reason",
            m.samples_rejected.clone(),
        );
        registry.register(
            "frames_dropped",
            "Live frames dropped for slow browsers",
            m.frames_dropped.clone(),
        );
        registry.register(
            "writer_queue_depth",
            "Write jobs waiting for the writer",
            m.writer_queue_depth.clone(),
        );
        registry.register(
            "writer_flush_seconds",
            "Duration of one writer flush of samples (one transaction)",
            m.writer_flush_seconds.clone(),
        );
        registry.register(
            "writer_flush_errors",
            "Writer flushes that failed",
            m.writer_flush_errors.clone(),
        );
        registry.register(
            "fanout_latency_seconds",
            "Time from a sample's arrival to its hand-off to each browser session",
            m.fanout_latency_seconds.clone(),
        );
        registry.register(
            "outbox_wait_seconds",
            "Time from a live frame's hand-off to a browser session until it is written to the socket (the session's mailbox and outbound queue)",
            m.outbox_wait_seconds.clone(),
        );
        registry.register(
            "live_sample_age_seconds",
            "Age of a live sample once written to a browser socket: the hub's clock minus the sample's ts (includes the agent's clock offset)",
            m.live_sample_age_seconds.clone(),
        );
        registry.register(
            "alert_evaluations",
            "Alert rule evaluations on samples",
            m.alert_evaluations.clone(),
        );
        registry.register("alerts_fired", "Alerts opened", m.alerts_fired.clone());
        registry.register(
            "alert_transitions_dropped",
            "Alert transitions lost because the dispatcher queue was full",
            m.alert_transitions_dropped.clone(),
        );
        registry.register(
            "notifications",
            "Alert notifications by outcome (sent, failed, dropped)",
            m.notifications.clone(),
        );
        registry.register(
            "cluster_connected",
            "1 while the hub is connected to NATS (cluster mode)",
            m.cluster_connected.clone(),
        );
        registry.register(
            "cluster_subscriptions",
            "Machines whose live frames this hub receives from other hubs",
            m.cluster_subscriptions.clone(),
        );
        registry.register(
            "cluster_published",
            "Messages handed to NATS",
            m.cluster_published.clone(),
        );
        registry.register(
            "cluster_received",
            "Messages received from other hubs over NATS",
            m.cluster_received.clone(),
        );
        registry.register(
            "cluster_publish_dropped",
            "Messages not published because the NATS queue was full or the client failed",
            m.cluster_publish_dropped.clone(),
        );
        registry.register(
            "retention_running",
            "1 while a retention pass deletes expired history or returns its space",
            m.retention_running.clone(),
        );
        registry.register(
            "retention_deleted_rows",
            "Expired history rows deleted by retention, by tier (raw, 1m, 1h)",
            m.retention_deleted_rows.clone(),
        );
        registry.register(
            "retention_vacuumed_pages",
            "SQLite pages retention returned to the file system (incremental vacuum)",
            m.retention_vacuumed_pages.clone(),
        );
        registry.register(
            "retention_free_pages",
            "SQLite pages free inside the file after the last pass: reused by new rows, or returned by later passes",
            m.retention_free_pages.clone(),
        );
        registry.register(
            "sqlite_heap_bytes",
            "Memory SQLite holds for its page caches and statements, all connections together (0 on PostgreSQL)",
            m.sqlite_heap_bytes.clone(),
        );
        Self { registry, ..m }
    }
}

impl HubMetrics {
    /// Prometheus text exposition.
    #[allow(unsafe_code)]
    pub fn encode(&self) -> String {
        // SAFETY: reads SQLite's global memory statistic; callable from any thread.
        self.sqlite_heap_bytes
            .set(unsafe { libsqlite3_sys::sqlite3_memory_used() });
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    pub fn notification(&self, outcome: &'static str) {
        self.notifications
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub fn reject(&self, reason: &'static str) {
        self.samples_rejected
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// A sample received at `received` was just handed to `watchers` sessions.
    pub fn fanned_out(&self, received: std::time::Instant, watchers: usize) {
        let latency = received.elapsed().as_secs_f64();
        for _ in 0..watchers {
            self.fanout_latency_seconds.observe(latency);
        }
    }
}

/// Installs the global tracing subscriber (text or JSON lines on stderr).
pub fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
