//! The live feed of each machine: the sessions watching it, its status and its latest
//! sample, shared between the [`SubscriptionRegistry`](super::subscription_registry)
//! and whoever publishes the machine's status and samples (its `MachineActor`, or the
//! registry itself for what another hub or the orphan sweep reports).
//!
//! The registry alone decides who watches (it authorises every subscribe and applies
//! every revocation here, under the feed's lock, so a change holds for the next sample
//! published). A publisher delivers each status change and sample straight to the
//! watchers' mailboxes on its own thread, in the order it publishes them: they never
//! queue behind the registry's other work and cross one thread boundary fewer on their
//! way to the browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use lunasentri_schema::live::MachineSnapshot;
use lunasentri_schema::{LiveFrame, MachineStatus, Sample};

use super::outbox::Origin;
use super::socket::Utf8Bytes;
use super::subscription_registry::{Deliver, SessionId, encode};
use actix::Recipient;

/// One machine's watchers, status and latest sample.
#[derive(Debug, Default)]
pub struct Feed(Mutex<FeedState>);

/// What a feed holds; changed through [`Feed::lock`].
#[derive(Debug)]
pub struct FeedState {
    watchers: Vec<(SessionId, Recipient<Deliver>)>,
    status: MachineStatus,
    last_seen: Option<i64>,
    last_sample: Option<Arc<Sample>>,
}

impl Default for FeedState {
    fn default() -> Self {
        Self {
            watchers: Vec::new(),
            status: MachineStatus::Pending,
            last_seen: None,
            last_sample: None,
        }
    }
}

impl FeedState {
    /// Adds a watcher (once, however often it subscribes).
    pub fn watch(&mut self, sid: SessionId, deliver: Recipient<Deliver>) {
        if !self.watchers.iter().any(|(w, _)| *w == sid) {
            self.watchers.push((sid, deliver));
        }
    }

    pub fn unwatch(&mut self, sid: SessionId) {
        self.watchers.retain(|(w, _)| *w != sid);
    }

    /// Removes every watcher, returning who they were.
    pub fn take_watchers(&mut self) -> Vec<SessionId> {
        self.watchers.drain(..).map(|(sid, _)| sid).collect()
    }

    pub fn is_watched(&self) -> bool {
        !self.watchers.is_empty()
    }

    pub fn sessions(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.watchers.iter().map(|(sid, _)| *sid)
    }

    /// Sends `frame` to every watcher.
    pub fn send_all(&self, frame: &Utf8Bytes) {
        self.send_from(frame, Origin::now());
    }

    fn send_from(&self, frame: &Utf8Bytes, origin: Origin) {
        for (_, deliver) in &self.watchers {
            deliver.do_send(Deliver {
                frame: frame.clone(),
                origin,
            });
        }
    }

    pub fn status(&self) -> (MachineStatus, Option<i64>) {
        (self.status, self.last_seen)
    }

    /// Takes a status as known (at start, from storage) without telling anyone.
    pub fn restore_status(&mut self, status: MachineStatus, last_seen: Option<i64>) {
        self.status = status;
        self.last_seen = last_seen.or(self.last_seen);
    }

    /// Changes the status and sends the `status` frame to every watcher.
    pub fn set_status(&mut self, machine_id: i64, status: MachineStatus, last_seen: Option<i64>) {
        self.restore_status(status, last_seen);
        self.send_all(&encode(&LiveFrame::Status {
            machine_id,
            status: self.status,
            last_seen: self.last_seen,
        }));
    }

    /// What a new watcher is told first.
    pub fn snapshot(&self, machine_id: i64) -> MachineSnapshot {
        MachineSnapshot {
            machine_id,
            status: self.status,
            last_seen: self.last_seen,
            sample: self.last_sample.as_deref().cloned(),
        }
    }

    /// Forgets the latest sample (it would be shown stale later).
    pub fn forget_sample(&mut self) {
        self.last_sample = None;
    }
}

impl Feed {
    /// Locks the feed. A holder that sends a frame while holding it knows that frame
    /// reaches each watcher ahead of any status or sample published after it.
    pub fn lock(&self) -> MutexGuard<'_, FeedState> {
        // The state stays consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `sample` the latest and sends its pre-serialised `frame` to every
    /// watcher; returns how many there were.
    pub fn publish(&self, sample: Arc<Sample>, frame: &Utf8Bytes) -> usize {
        let mut feed = self.lock();
        feed.send_from(frame, Origin::sample(sample.ts));
        feed.last_sample = Some(sample);
        feed.watchers.len()
    }
}

/// Every machine's feed, by machine id: one per hub, handed to the registry and to
/// every machine actor.
#[derive(Debug, Clone, Default)]
pub struct Feeds(Arc<RwLock<HashMap<i64, Arc<Feed>>>>);

impl Feeds {
    /// The machine's feed, created on first use.
    pub fn get(&self, machine_id: i64) -> Arc<Feed> {
        if let Some(f) = self.read().get(&machine_id) {
            return f.clone();
        }
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(machine_id).or_default().clone()
    }

    /// Forgets a deleted machine's feed (a publisher still holding it reaches nobody).
    pub fn remove(&self, machine_id: i64) {
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        map.remove(&machine_id);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, Arc<Feed>>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::prelude::*;

    /// Collects what it is sent.
    struct Sink(Arc<Mutex<Vec<String>>>);
    impl Actor for Sink {
        type Context = Context<Self>;
    }
    impl Handler<Deliver> for Sink {
        type Result = ();
        fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
            self.0.lock().unwrap().push(msg.frame.to_string());
        }
    }

    fn sink() -> (Recipient<Deliver>, Arc<Mutex<Vec<String>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        (Sink(got.clone()).start().recipient(), got)
    }

    async fn settle() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    #[actix::test]
    async fn publish_reaches_exactly_the_watchers_and_is_remembered() {
        let feeds = Feeds::default();
        let feed = feeds.get(7);
        let (a, got_a) = sink();
        let (b, got_b) = sink();
        {
            let mut f = feed.lock();
            f.watch(1, a.clone());
            f.watch(1, a);
            f.watch(2, b);
        }
        let sample = Arc::new(Sample {
            seq: 1,
            ..Sample::default()
        });
        assert_eq!(
            feed.publish(sample.clone(), &Utf8Bytes::from("s1")),
            2,
            "a second watch of the same session is ignored"
        );
        feed.lock().unwatch(2);
        assert_eq!(feed.publish(sample, &Utf8Bytes::from("s2")), 1);
        settle().await;
        assert_eq!(*got_a.lock().unwrap(), ["s1", "s2"]);
        assert_eq!(*got_b.lock().unwrap(), ["s1"], "unwatched before s2");
        assert_eq!(feed.lock().snapshot(7).sample.map(|s| s.seq), Some(1));
        feed.lock().set_status(7, MachineStatus::Offline, Some(5));
        feed.lock().restore_status(MachineStatus::Online, None);
        assert_eq!(feed.lock().status(), (MachineStatus::Online, Some(5)));
        settle().await;
        let got = got_a.lock().unwrap().clone();
        assert_eq!(
            got.len(),
            3,
            "a status change is sent, a restored status is not"
        );
        assert!(got[2].contains(r#""status":"offline""#), "{got:?}");
        assert_eq!(feed.lock().take_watchers(), [1]);
        assert!(!feed.lock().is_watched());
    }

    #[actix::test]
    async fn one_feed_per_machine_until_removed() {
        let feeds = Feeds::default();
        assert!(Arc::ptr_eq(&feeds.get(1), &feeds.get(1)));
        assert!(!Arc::ptr_eq(&feeds.get(1), &feeds.get(2)));
        let old = feeds.get(1);
        feeds.remove(1);
        assert_eq!(feeds.len(), 1);
        assert!(
            !Arc::ptr_eq(&old, &feeds.get(1)),
            "a removed feed is not handed out again"
        );
    }
}
