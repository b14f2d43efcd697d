//! The batch writer: one thread owns the metrics write path (SQLite has a single writer).
//! It collects jobs for at most `flush_ms` or `batch_rows` rows, commits them in ONE
//! transaction, and only then acknowledges each job (agents' acks spread over the time
//! until the next flush, see [`super::ack_pacer`]). Its queue is bounded: a full queue
//! is refused to the caller, who must not acknowledge (the agent replays), never dropped
//! silently.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::{Message, Recipient};
use lunasentri_schema::{Hello, MachineStatus};
use tokio::sync::oneshot;

use super::ack_pacer::AckPacer;
use super::job_queue::{self, QueueReceiver, QueueSender};
use crate::config::WriterConfig;
use crate::db::audit::NewAuditOwned;
use crate::db::metrics::{self as raw, MetricRow};
use crate::db::pending_rollups::{PendingRollups, Staged};
use crate::db::{DbConn, Pool, machines};
use crate::telemetry::HubMetrics;

/// How often a connected machine's `last_seen` column is refreshed.
const LAST_SEEN_EVERY_MS: i64 = 30_000;

/// The outcome of a samples job, sent after its transaction commits (or fails).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Committed {
    /// Highest `seq` in the job.
    pub seq: u64,
    /// Rows newly stored, or why the commit failed.
    pub result: Result<usize, String>,
}

/// Who hears about a commit.
#[derive(Debug)]
pub enum Done {
    /// An agent session, which sends `ack {seq}`.
    Agent(Recipient<Committed>),
    /// An HTTP request waiting to answer 202.
    Http(oneshot::Sender<Result<usize, String>>),
}

/// Work for the writer.
#[derive(Debug)]
pub enum WriteJob {
    Samples {
        machine_id: i64,
        rows: Vec<MetricRow>,
        max_seq: u64,
        done: Done,
    },
    Hello {
        machine_id: i64,
        hello: Box<Hello>,
    },
    Status {
        machine_id: i64,
        status: MachineStatus,
        last_seen: Option<i64>,
    },
    Audit(NewAuditOwned),
    /// Flush what is queued and stop the thread.
    Shutdown,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: QueueSender<WriteJob>,
    metrics: Arc<HubMetrics>,
    /// Set by [`Writer::shutdown`]: the thread then takes everything queued into one
    /// last flush instead of working through the queue batch by batch (with the
    /// database gone, each batch would wait out the pool's timeout).
    stopping: Arc<AtomicBool>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Starts the writer thread.
    /// While `paused` is set the thread takes no new jobs, so the queue fills exactly as
    /// it does when storage is slow (tests use this to exercise backpressure).
    pub fn start(
        pool: Pool,
        cfg: WriterConfig,
        metrics: Arc<HubMetrics>,
        paused: Arc<AtomicBool>,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = job_queue::bounded(cfg.queue);
        let m = metrics.clone();
        let stopping = Arc::new(AtomicBool::new(false));
        let s = stopping.clone();
        let handle = std::thread::Builder::new()
            .name("lunasentri-writer".into())
            .spawn(move || run(pool, cfg, rx, m, paused, s))
            .expect("spawn writer thread");
        (
            Self {
                tx,
                metrics,
                stopping,
            },
            handle,
        )
    }

    /// Queues a job; gives it back when the queue is full or the writer has stopped.
    pub fn try_submit(&self, job: WriteJob) -> Result<(), WriteJob> {
        self.tx.try_send(job)?;
        self.metrics.writer_queue_depth.inc();
        Ok(())
    }

    /// Asks the writer to flush what is queued and stop.
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        if self.tx.send_over_cap(WriteJob::Shutdown).is_ok() {
            self.metrics.writer_queue_depth.inc();
        }
    }
}

fn run(
    pool: Pool,
    cfg: WriterConfig,
    rx: QueueReceiver<WriteJob>,
    metrics: Arc<HubMetrics>,
    paused: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
) {
    let flush_every = Duration::from_millis(cfg.flush_ms);
    let mut state = State {
        last_seen_written: HashMap::new(),
        rollups: PendingRollups::new(cfg.rollup_delay_ms),
        acks: AckPacer::new(flush_every * 3 / 4),
    };
    let mut stop = false;
    while !stop {
        // While idle, wake up now and then to write rollup additions that fall due.
        let first = match recv_until(&rx, Instant::now() + IDLE_TICK, &mut state.acks) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if state.rollups.any_due(crate::db::now_ms()) {
                    flush(&pool, Vec::new(), &metrics, &mut state, false);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Held while paused: the job waits here and the queue behind it fills, as behind
        // a slow transaction (so what was committed before is acknowledged first).
        if paused.load(Ordering::Relaxed) {
            deliver(state.acks.take_all());
        }
        while paused.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut batch = Vec::new();
        let mut rows = 0;
        let deadline = Instant::now() + flush_every;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            metrics.writer_queue_depth.dec();
            match job {
                WriteJob::Shutdown => stop = true,
                WriteJob::Samples { rows: ref r, .. } => {
                    rows += r.len();
                    batch.push(job);
                }
                other => batch.push(other),
            }
            if stop || rows >= cfg.batch_rows {
                break;
            }
            match recv_until(&rx, deadline, &mut state.acks) {
                Ok(j) => next = Some(j),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
        }
        stop |= stopping.load(Ordering::Relaxed);
        if stop {
            // Drain what is already queued so nothing accepted is left behind.
            while let Ok(job) = rx.try_recv() {
                metrics.writer_queue_depth.dec();
                if !matches!(job, WriteJob::Shutdown) {
                    batch.push(job);
                }
            }
        }
        flush(&pool, batch, &metrics, &mut state, stop);
    }
    // The queue may also end without a shutdown job: nothing committed stays unacknowledged.
    deliver(state.acks.take_all());
    tracing::info!("writer stopped");
}

/// How often an idle writer looks for rollup additions that fell due.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// The next job, waiting until `deadline` at most, and handing out acknowledgements as
/// they fall due meanwhile.
fn recv_until(
    rx: &QueueReceiver<WriteJob>,
    deadline: Instant,
    acks: &mut AckPacer<AgentAck>,
) -> Result<WriteJob, RecvTimeoutError> {
    loop {
        let now = Instant::now();
        deliver(acks.due(now));
        let wake = acks.next_wake(now).map_or(deadline, |w| w.min(deadline));
        match rx.recv_timeout(wake.saturating_duration_since(now)) {
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => continue,
            other => return other,
        }
    }
}

/// An agent's acknowledgement waiting to be handed out.
type AgentAck = (Recipient<Committed>, Committed);

fn deliver(acks: Vec<AgentAck>) {
    for (to, msg) in acks {
        to.do_send(msg);
    }
}

/// What the writer thread remembers between flushes.
struct State {
    last_seen_written: HashMap<i64, i64>,
    rollups: PendingRollups,
    acks: AckPacer<AgentAck>,
}

/// Commits one batch in one transaction, then reports to every job. `last` (shutdown)
/// also writes every rollup addition still held.
fn flush(pool: &Pool, batch: Vec<WriteJob>, metrics: &HubMetrics, state: &mut State, last: bool) {
    if batch.is_empty() && !last && state.rollups.is_empty() {
        return;
    }
    // Everything committed earlier is acknowledged before this transaction begins.
    deliver(state.acks.take_all());
    let started = Instant::now();
    let stores_samples = batch.iter().any(|j| matches!(j, WriteJob::Samples { .. }));
    let per_job: Vec<Result<usize, String>> = match pool.get() {
        Err(e) => batch.iter().map(|_| Err(e.to_string())).collect(),
        Ok(mut conn) => match write_batch(&mut conn, &batch, state, last) {
            Ok(counts) => counts.into_iter().map(Ok).collect(),
            // One bad job (say, rows of a machine deleted a moment ago) must not fail
            // the others: retry each job in a transaction of its own.
            Err(_) => batch
                .iter()
                .map(|job| {
                    write_batch(&mut conn, std::slice::from_ref(job), state, last)
                        .map(|c| c.first().copied().unwrap_or(0))
                        .map_err(|e| e.to_string())
                })
                .collect(),
        },
    };
    // Flushes without samples (an idle writer's rollup additions fallen due, status
    // changes) are not what the histogram is about: how long samples wait for commit.
    if stores_samples {
        metrics
            .writer_flush_seconds
            .observe(started.elapsed().as_secs_f64());
    }
    let failed = per_job.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        metrics.writer_flush_errors.inc();
        let first = per_job
            .iter()
            .find_map(|r| r.as_ref().err())
            .cloned()
            .unwrap_or_default();
        tracing::error!(error = %first, failed, jobs = batch.len(), "writer jobs failed; their agents will replay");
    }
    let mut acks = Vec::new();
    for (job, res) in batch.into_iter().zip(per_job) {
        if let WriteJob::Samples {
            rows,
            max_seq,
            done,
            ..
        } = job
        {
            if let Ok(n) = res {
                metrics.samples_persisted.inc_by(n as u64);
                metrics
                    .samples_duplicate
                    .inc_by((rows.len() - n.min(rows.len())) as u64);
            }
            match done {
                Done::Agent(r) => {
                    // A failure closes the agent's link, and at shutdown nothing waits:
                    // those go at once.
                    let paced = res.is_ok() && !last;
                    let msg = Committed {
                        seq: max_seq,
                        result: res,
                    };
                    if paced {
                        acks.push((r, msg));
                    } else {
                        r.do_send(msg);
                    }
                }
                Done::Http(tx) => {
                    let _ = tx.send(res);
                }
            }
        }
    }
    deliver(state.acks.add(acks, Instant::now()));
}

/// Runs one transaction over `batch` and, once it has committed, updates `state`.
/// Returns, per job, how many rows were new.
fn write_batch(
    conn: &mut DbConn,
    batch: &[WriteJob],
    state: &mut State,
    last: bool,
) -> diesel::QueryResult<Vec<usize>> {
    let mut seen = Vec::new();
    let (counts, staged) =
        conn.write_transaction(|c| transaction(c, batch, state, last, &mut seen))?;
    state.rollups.apply(staged);
    state.last_seen_written.extend(seen);
    Ok(counts)
}

/// The transaction body. The samples of all jobs are stored with one call, and their
/// rollups folded in memory (see `db::pending_rollups`); `seen` collects the
/// `last_seen` values written.
fn transaction(
    c: &mut DbConn,
    batch: &[WriteJob],
    state: &State,
    last: bool,
    seen: &mut Vec<(i64, i64)>,
) -> diesel::QueryResult<(Vec<usize>, Staged)> {
    let mut counts = Vec::with_capacity(batch.len());
    let mut newest: HashMap<i64, i64> = HashMap::new();
    let mut rows: Vec<&MetricRow> = Vec::new();
    for job in batch {
        counts.push(match job {
            WriteJob::Samples {
                machine_id,
                rows: r,
                ..
            } => {
                if let Some(ts) = r.iter().map(|r| r.ts).max() {
                    let e = newest.entry(*machine_id).or_insert(ts);
                    *e = (*e).max(ts);
                }
                rows.extend(r);
                0
            }
            WriteJob::Hello { machine_id, hello } => machines::set_hello(c, *machine_id, hello)?,
            WriteJob::Status {
                machine_id,
                status,
                last_seen,
            } => {
                if let Some(ts) = last_seen {
                    seen.push((*machine_id, *ts));
                }
                machines::set_status(c, *machine_id, *status, *last_seen)?
            }
            WriteJob::Audit(a) => a.insert(c, crate::db::now_ms())?,
            WriteJob::Shutdown => 0,
        });
    }
    let new = raw::insert_new(c, &rows)?;
    // Credit each new row to the job it came from (jobs' rows are consecutive).
    let mut start = 0;
    let mut it = new.iter().copied().peekable();
    for (job, count) in batch.iter().zip(counts.iter_mut()) {
        if let WriteJob::Samples { rows: r, .. } = job {
            let end = start + r.len();
            while it.next_if(|&i| i < end).is_some() {
                *count += 1;
            }
            start = end;
        }
    }
    let new_rows: Vec<&MetricRow> = new.iter().map(|&i| rows[i]).collect();
    let staged = state
        .rollups
        .write(c, &new_rows, crate::db::now_ms(), last)?;
    for (id, ts) in newest {
        let due = state
            .last_seen_written
            .get(&id)
            .is_none_or(|w| ts - w >= LAST_SEEN_EVERY_MS);
        if due {
            machines::touch_last_seen(c, id, ts)?;
            seen.push((id, ts));
        }
    }
    Ok((counts, staged))
}
