//! Shared state handed to every handler: the pool, config, limiters, live actors, metrics.

use std::sync::Arc;

use actix_web::web;

use crate::alerts::Alerts;
use crate::auth::limiter::LoginLimiter;
use crate::cluster::ControlEvent;
use crate::config::Config;
use crate::db::{DbConn, Pool};
use crate::error::{ApiError, ApiResult};
use crate::live::Live;
use crate::telemetry::HubMetrics;

/// Everything a handler may need.
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub login_limiter: LoginLimiter,
    pub live: Live,
    pub alerts: Alerts,
    pub metrics: Arc<HubMetrics>,
}

/// How handlers receive [`AppState`].
pub type State = web::Data<AppState>;

impl AppState {
    /// Tells the alert engine that rules, machines or roles changed: it rebuilds which
    /// rules apply to which machine. A failure is logged; the next change retries.
    pub async fn alerts_changed(&self) {
        self.alerts_changed_forgetting(None).await
    }

    /// [`Self::alerts_changed`] after dropping the state of `forget_rule` (a rule that
    /// was changed or deleted); in cluster mode every hub's engine does the same.
    pub async fn alerts_changed_forgetting(&self, forget_rule: Option<i64>) {
        if let Some(link) = &self.live.cluster {
            link.announce(ControlEvent::AlertsChanged { forget_rule });
        }
        if let Some(id) = forget_rule {
            self.alerts.engine.forget_rule(id);
        }
        if let Err(e) = self.alerts.engine.reload().await {
            tracing::error!(error = %e, "cannot reload alert rules");
        }
    }

    /// Runs blocking database work on actix's blocking pool, never on an async thread.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(ApiError::from)?;
            f(&mut conn)
        })
        .await?
    }
}
