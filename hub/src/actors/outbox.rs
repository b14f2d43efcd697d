//! The outbound side of a session socket: a bounded queue drained into the actix-ws
//! session by one local task, in order. When a peer stops reading, the socket's send
//! channel fills, the task waits, and the queue fills; then the OLDEST frames are
//! dropped and counted, so a stalled peer costs a fixed amount of memory and never
//! slows anyone else.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use tokio::sync::Notify;

enum Out {
    Text(ByteString),
    Close(CloseReason),
}

struct Inner {
    queue: VecDeque<Out>,
    cap: usize,
    dropped: u64,
    closed: bool,
}

/// Builds the frame that tells a peer how many frames it missed.
pub type LaggedFrame = fn(u64) -> ByteString;

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
    /// Starts draining into `session`; `lagged` frames report drops to the peer.
    pub fn start(session: Session, cap: usize, lagged: Option<LaggedFrame>) -> Self {
        let inner = Rc::new(RefCell::new(Inner {
            queue: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            closed: false,
        }));
        let notify = Rc::new(Notify::new());
        let (i, n) = (inner.clone(), notify.clone());
        actix_web::rt::spawn(drain(session, i, n, lagged));
        Self { inner, notify }
    }

    /// Queues a text frame; returns how many old frames had to be dropped for it.
    pub fn push(&self, text: ByteString) -> u64 {
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
        inner.queue.push_back(Out::Text(text));
        drop(inner);
        self.notify.notify_one();
        dropped
    }

    /// Sends what is queued, then closes with `code`; later pushes are ignored.
    pub fn close(&self, code: u16, reason: &str) {
        let mut inner = self.inner.borrow_mut();
        if inner.closed {
            return;
        }
        inner.closed = true;
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason.chars().take(120).collect()),
        };
        inner.queue.push_back(Out::Close(reason));
        drop(inner);
        self.notify.notify_one();
    }
}

async fn drain(
    mut session: Session,
    inner: Rc<RefCell<Inner>>,
    notify: Rc<Notify>,
    lagged: Option<LaggedFrame>,
) {
    loop {
        let next = {
            let mut i = inner.borrow_mut();
            match (lagged, i.dropped) {
                (Some(f), n) if n > 0 => {
                    i.dropped = 0;
                    Some(Out::Text(f(n)))
                }
                _ => i.queue.pop_front(),
            }
        };
        match next {
            Some(Out::Text(t)) => {
                if session.text(t).await.is_err() {
                    break;
                }
            }
            Some(Out::Close(reason)) => {
                let _ = session.close(Some(reason)).await;
                inner.borrow_mut().closed = true;
                return;
            }
            None => notify.notified().await,
        }
    }
    let mut i = inner.borrow_mut();
    i.closed = true;
    i.queue.clear();
}
