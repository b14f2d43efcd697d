//! The outbound side of a session socket: a bounded queue drained into the socket
//! ([`Socket`]) by one local task, in order. When a peer stops reading, the socket's send
//! channel fills, the task waits, and the queue fills; then the OLDEST frames are
//! dropped and counted, so a stalled peer costs a fixed amount of memory and never
//! slows anyone else.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use crate::actors::socket::Utf8Bytes;
use bytes::Bytes;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::Notify;

use super::socket::Socket;

/// Where a text frame comes from: when it set out for this session and, for a live
/// sample, the sample's `ts`.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub since: Instant,
    pub sample_ts: Option<i64>,
}

impl Origin {
    /// A frame setting out now.
    pub fn now() -> Self {
        Self {
            since: Instant::now(),
            sample_ts: None,
        }
    }

    /// A live sample's frame setting out now.
    pub fn sample(ts: i64) -> Self {
        Self {
            sample_ts: Some(ts),
            ..Self::now()
        }
    }
}

/// What a session's outbox measures once a text frame is written.
#[derive(Debug, Clone)]
pub struct Timings {
    /// Time since the frame's [`Origin::since`].
    pub waited: Histogram,
    /// For a live sample: the hub's clock minus the sample's `ts`.
    pub sample_age: Histogram,
}

impl Timings {
    fn record(&self, origin: Origin) {
        self.waited.observe(origin.since.elapsed().as_secs_f64());
        if let Some(ts) = origin.sample_ts {
            let age_ms = (crate::db::now_ms() - ts).max(0);
            self.sample_age.observe(age_ms as f64 / 1000.0);
        }
    }
}

enum Out {
    /// A text frame and where it comes from.
    Text(Utf8Bytes, Origin),
    Ping,
    Pong(Bytes),
    Close(u16, String),
}

struct Inner {
    queue: VecDeque<Out>,
    /// Pings and pongs: sent ahead of queued frames, never dropped or counted.
    control: VecDeque<Out>,
    cap: usize,
    dropped: u64,
    closed: bool,
}

/// Builds the frame that tells a peer how many frames it missed.
pub type LaggedFrame = fn(u64) -> Utf8Bytes;

/// Handle to a session's outbound queue (single-threaded: lives on its session's arbiter).
#[derive(Clone)]
pub struct Outbox {
    inner: Rc<RefCell<Inner>>,
    notify: Rc<Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl Outbox {
    /// Starts draining into `socket`; `lagged` frames report drops to the peer;
    /// `timings` are recorded as each text frame is written.
    pub fn start(
        socket: impl Socket,
        cap: usize,
        lagged: Option<LaggedFrame>,
        timings: Option<Timings>,
    ) -> Self {
        let inner = Rc::new(RefCell::new(Inner {
            queue: VecDeque::new(),
            control: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            closed: false,
        }));
        let notify = Rc::new(Notify::new());
        let (i, n) = (inner.clone(), notify.clone());
        actix_web::rt::spawn(drain(socket, i, n, lagged, timings));
        Self { inner, notify }
    }

    /// Queues a text frame; returns how many old frames had to be dropped for it.
    pub fn push(&self, text: Utf8Bytes) -> u64 {
        self.push_from(text, Origin::now())
    }

    /// Queues a text frame of the given origin (its wait is measured from
    /// `origin.since`); returns how many old frames had to be dropped for it.
    pub fn push_from(&self, text: Utf8Bytes, origin: Origin) -> u64 {
        let mut inner = self.inner.borrow_mut();
        if inner.closed {
            return 0;
        }
        let mut dropped = 0;
        while inner.queue.len() >= inner.cap {
            inner.queue.pop_front();
            dropped += 1;
        }
        inner.dropped += dropped;
        inner.queue.push_back(Out::Text(text, origin));
        drop(inner);
        self.notify.notify_one();
        dropped
    }

    /// Queues a ping, or the answer to the peer's ping; neither counts against `cap`.
    pub fn ping(&self) {
        self.control(Out::Ping);
    }

    pub fn pong(&self, payload: Bytes) {
        self.control(Out::Pong(payload));
    }

    fn control(&self, out: Out) {
        let mut inner = self.inner.borrow_mut();
        if !inner.closed {
            inner.control.push_back(out);
            drop(inner);
            self.notify.notify_one();
        }
    }

    /// Sends what is queued, then closes with `code`; later pushes are ignored.
    pub fn close(&self, code: u16, reason: &str) {
        let mut inner = self.inner.borrow_mut();
        if inner.closed {
            return;
        }
        inner.closed = true;
        inner
            .queue
            .push_back(Out::Close(code, reason.chars().take(120).collect()));
        drop(inner);
        self.notify.notify_one();
    }
}

async fn drain(
    mut socket: impl Socket,
    inner: Rc<RefCell<Inner>>,
    notify: Rc<Notify>,
    lagged: Option<LaggedFrame>,
    timings: Option<Timings>,
) {
    loop {
        let next = {
            let mut i = inner.borrow_mut();
            match (lagged, i.dropped) {
                (Some(f), n) if n > 0 => {
                    i.dropped = 0;
                    Some(Out::Text(f(n), Origin::now()))
                }
                _ => i.control.pop_front().or_else(|| i.queue.pop_front()),
            }
        };
        let sent = match next {
            Some(Out::Text(t, origin)) => {
                let sent = socket.text(t).await;
                if let Some(timings) = &timings {
                    timings.record(origin);
                }
                sent
            }
            Some(Out::Ping) => socket.ping().await,
            Some(Out::Pong(p)) => socket.pong(p).await,
            Some(Out::Close(code, reason)) => {
                socket.close(code, reason).await;
                inner.borrow_mut().closed = true;
                return;
            }
            None => {
                notify.notified().await;
                Ok(())
            }
        };
        if sent.is_err() {
            break;
        }
    }
    let mut i = inner.borrow_mut();
    i.closed = true;
    i.queue.clear();
    i.control.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the outbox writes.
    #[derive(Clone, Default)]
    struct Log(Rc<RefCell<Vec<String>>>);

    impl Socket for Log {
        async fn text(&mut self, text: Utf8Bytes) -> Result<(), ()> {
            self.0.borrow_mut().push(text.to_string());
            Ok(())
        }
        async fn ping(&mut self) -> Result<(), ()> {
            self.0.borrow_mut().push("ping".into());
            Ok(())
        }
        async fn pong(&mut self, _: Bytes) -> Result<(), ()> {
            self.0.borrow_mut().push("pong".into());
            Ok(())
        }
        async fn close(self, code: u16, _: String) {
            self.0.borrow_mut().push(format!("close {code}"));
        }
    }

    fn lagged(n: u64) -> Utf8Bytes {
        format!("lagged {n}").into()
    }

    #[tokio::test]
    async fn control_frames_neither_count_against_the_bound_nor_get_dropped() {
        let local = tokio::task::LocalSet::new();
        let log = Log::default();
        let seen = log.0.clone();
        let timings = Timings {
            waited: Histogram::new([0.5].into_iter()),
            sample_age: Histogram::new([1.0, 10.0].into_iter()),
        };
        let recorder = timings.clone();
        local
            .run_until(async move {
                let out = Outbox::start(log, 2, Some(lagged), Some(recorder));
                out.ping();
                assert_eq!(out.push("a".into()), 0);
                out.pong(Bytes::new());
                assert_eq!(out.push("b".into()), 0);
                // A sample generated 2 s ago, handed to the session 1 s ago.
                let origin = Origin {
                    since: Instant::now() - std::time::Duration::from_secs(1),
                    sample_ts: Some(crate::db::now_ms() - 2_000),
                };
                assert_eq!(
                    out.push_from("c".into(), origin),
                    1,
                    "only a text frame makes room"
                );
                out.close(1000, "bye");
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
            })
            .await;
        assert_eq!(
            *seen.borrow(),
            ["lagged 1", "ping", "pong", "b", "c", "close 1000"]
        );
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("waited", "", timings.waited);
        registry.register("age", "", timings.sample_age);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("waited_count 3"), "three text frames: {text}");
        assert!(
            text.contains(r#"waited_bucket{le="0.5"} 2"#),
            "c waited from its origin, a second ago: {text}"
        );
        assert!(text.contains("age_count 1"), "one sample: {text}");
        assert!(
            text.contains(r#"age_bucket{le="1.0"} 0"#)
                && text.contains(r#"age_bucket{le="10.0"} 1"#),
            "c was 2 s old: {text}"
        );
    }
}
