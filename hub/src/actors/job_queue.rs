//! The writer's job queue: bounded like `std::sync::mpsc::sync_channel`, but its memory
//! follows what is queued. `sync_channel(n)` reserves all `n` slots up front (at the
//! default 200,000 jobs that is ~19 MB held for the hub's lifetime, used or not); the
//! unbounded std channel underneath allocates blocks as jobs arrive and frees them as
//! they are taken, and an atomic count enforces the bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::time::Duration;

/// A queue of at most `cap` items (see [`QueueSender::send_over_cap`] for the exception).
pub fn bounded<T>(cap: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let (tx, rx) = channel();
    let depth = Arc::new(AtomicUsize::new(0));
    (
        QueueSender {
            tx,
            depth: depth.clone(),
            cap,
        },
        QueueReceiver { rx, depth },
    )
}

pub struct QueueSender<T> {
    tx: Sender<T>,
    depth: Arc<AtomicUsize>,
    cap: usize,
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            depth: self.depth.clone(),
            cap: self.cap,
        }
    }
}

impl<T> QueueSender<T> {
    /// Queues `item`; gives it back when `cap` items are queued or the receiver is gone.
    pub fn try_send(&self, item: T) -> Result<(), T> {
        if self.depth.fetch_add(1, Ordering::AcqRel) >= self.cap {
            self.depth.fetch_sub(1, Ordering::AcqRel);
            return Err(item);
        }
        self.send_counted(item)
    }

    /// Queues `item` even when the queue is full (a control message that must not wait
    /// behind the bound); gives it back when the receiver is gone.
    pub fn send_over_cap(&self, item: T) -> Result<(), T> {
        self.depth.fetch_add(1, Ordering::AcqRel);
        self.send_counted(item)
    }

    fn send_counted(&self, item: T) -> Result<(), T> {
        self.tx.send(item).map_err(|e| {
            self.depth.fetch_sub(1, Ordering::AcqRel);
            e.0
        })
    }
}

pub struct QueueReceiver<T> {
    rx: Receiver<T>,
    depth: Arc<AtomicUsize>,
}

impl<T> QueueReceiver<T> {
    pub fn recv_timeout(&self, wait: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(wait).inspect(|_| self.took())
    }

    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv().inspect(|_| self.took())
    }

    fn took(&self) {
        self.depth.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_cap_and_frees_slots_as_items_are_taken() {
        let (tx, rx) = bounded(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.clone().try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(3), "a full queue gives the item back");
        assert_eq!(
            tx.send_over_cap(4),
            Ok(()),
            "control messages pass the bound"
        );
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(tx.try_send(5), Err(5), "still full: 2, 4 queued");
        assert_eq!(rx.recv_timeout(Duration::from_millis(10)), Ok(2));
        assert_eq!(tx.try_send(6), Ok(()));
        assert_eq!(rx.try_recv(), Ok(4));
        assert_eq!(rx.try_recv(), Ok(6));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn a_gone_receiver_gives_items_back_without_counting_them() {
        let (tx, rx) = bounded(1);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(1));
        assert_eq!(tx.send_over_cap(2), Err(2));
        assert_eq!(tx.depth.load(Ordering::Acquire), 0);
    }
}
