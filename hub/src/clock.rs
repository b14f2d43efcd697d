//! Wall-clock time as the live pipeline sees it, injectable so tests can move time
//! forward instead of sleeping (offline detection, alert for-durations).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of "now" in epoch milliseconds.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that only moves when told to, starting at `start_ms`.
    pub fn manual(start_ms: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(start_ms))),
        }
    }

    /// Epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::Relaxed),
            None => crate::db::now_ms(),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance_ms(&self, ms: i64) {
        if let Some(t) = &self.manual {
            t.fetch_add(ms, Ordering::Relaxed);
        }
    }
}
