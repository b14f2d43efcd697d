//! Stopping a hub gracefully, on SIGINT/SIGTERM or when a test asks: the hub stops
//! accepting connections, closes every agent and dashboard socket with 1001 (going
//! away) so that clients reconnect at once (to another hub of a cluster, or to this one
//! after its restart) instead of waiting for a timeout, then stops the HTTP server;
//! [`crate::Hub::run`] then lets the writer commit what it accepted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;
use actix_web::dev::ServerHandle;
use actix_web::rt::time::sleep;

use crate::actors::SubscriptionRegistry;
use crate::actors::subscription_registry::ShuttingDown;
use crate::telemetry::HubMetrics;

/// How long the sessions get to end once told.
const SESSIONS_GRACE: Duration = Duration::from_secs(2);
/// Time for the ended sessions' outboxes to write their close frames.
const CLOSE_FLUSH: Duration = Duration::from_millis(50);
const POLL: Duration = Duration::from_millis(10);

/// Stops one hub; cheap to clone.
#[derive(Clone)]
pub struct Stopper {
    pub(crate) server: ServerHandle,
    pub(crate) registry: Addr<SubscriptionRegistry>,
    pub(crate) metrics: Arc<HubMetrics>,
}

impl Stopper {
    /// Closes every socket with 1001, then stops the server; callable from any runtime.
    pub async fn stop(&self) {
        self.server.pause().await;
        if self.registry.send(ShuttingDown).await.is_ok() {
            let deadline = Instant::now() + SESSIONS_GRACE;
            while self.open_sessions() > 0 && Instant::now() < deadline {
                sleep(POLL).await;
            }
            sleep(CLOSE_FLUSH).await;
        }
        self.server.stop(true).await;
    }

    fn open_sessions(&self) -> i64 {
        self.metrics.agents_connected.get() + self.metrics.browser_sessions.get()
    }

    /// Stops the hub on the first SIGINT or SIGTERM.
    pub async fn on_signal(self) {
        let ctrl_c = actix_web::rt::signal::ctrl_c();
        #[cfg(unix)]
        {
            use actix_web::rt::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = term.recv() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on SIGINT only");
                    let _ = ctrl_c.await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("stopping: closing agent and dashboard sockets");
        self.stop().await;
    }
}
