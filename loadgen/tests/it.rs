//! loadgen against a real hub (in-process `TestHub` on `127.0.0.1:0`, temp SQLite):
//! short runs whose reports must show zero loss and every sample persisted.

use std::time::Duration;

use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_loadgen::{Config, Report, Scenario, Transport};

fn start_hub(db: &TestDb) -> TestHub {
    TestHub::builder(db)
        .config(|c| {
            c.limits.login_per_minute_ip = 10_000;
            c.limits.login_per_minute_account = 10_000;
        })
        .start()
}

fn config(hub: &TestHub) -> Config {
    Config {
        hub: hub.base.clone(),
        agents: 20,
        dashboards: 5,
        users: 2,
        watch: 4,
        interval: Duration::from_millis(250),
        duration: Duration::from_secs(3),
        ramp_per_sec: 200,
        admin_email: Some(ADMIN_EMAIL.into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        max_loss: Some(0.0),
        drain_timeout: Duration::from_secs(15),
        ..Config::default()
    }
}

/// Asserts the report of a run that must lose nothing.
fn assert_lossless(r: &Report) {
    let text = r.render();
    assert!(r.breaches.is_empty(), "{text}");
    assert!(r.loss.live_expected > 0, "{text}");
    assert_eq!(r.loss.live_missing, 0, "{text}");
    assert_eq!(r.loss.storage_missing, Some(0), "{text}");
    assert_eq!(r.loss.unacked_at_end, 0, "{text}");
    assert_eq!(r.samples.acked, r.samples.generated, "{text}");
    assert_eq!(r.samples.persisted, Some(r.samples.generated), "{text}");
    assert_eq!(
        (r.loss.latest_checked, r.loss.latest_behind),
        (20, 0),
        "{text}"
    );
    assert_eq!(
        r.connections.agents_failed + r.connections.dashboards_failed,
        0,
        "{text}"
    );
}

/// 20 agents and 5 dashboards for a few seconds: every confirmed sample reaches its
/// watchers, every generated sample is persisted, latency is measured.
#[tokio::test]
async fn steady_run_loses_nothing() {
    let db = TestDb::sqlite();
    let hub = start_hub(&db);
    let r = lunasentri_loadgen::run(config(&hub)).await.expect("run");
    assert_lossless(&r);
    assert!(
        r.latency.count > 0 && r.latency.p50_ms > 0.0,
        "{}",
        r.render()
    );
    assert!(r.samples.received >= r.loss.live_expected);
    assert_eq!(r.run.agents, 20);
    // Every watched (dashboard, sample) pair: 5 dashboards × 4 machines each.
    assert!(r.loss.live_expected >= 5 * 4 * 8, "{}", r.render());
}

/// Agents drop and reconnect at random; their replay leaves nothing missing.
#[tokio::test]
async fn churn_replays_without_loss() {
    let db = TestDb::sqlite();
    let hub = start_hub(&db);
    let cfg = Config {
        scenario: Scenario::Churn,
        churn_rate: 0.4,
        duration: Duration::from_secs(4),
        ..config(&hub)
    };
    let r = lunasentri_loadgen::run(cfg).await.expect("run");
    assert!(r.connections.outages > 0, "{}", r.render());
    assert!(r.samples.replayed > 0, "{}", r.render());
    assert_lossless(&r);
}

/// All agents lose the hub at once and come back with a backlog: all of it is stored.
#[tokio::test]
async fn burst_reconnect_stores_backlog() {
    let db = TestDb::sqlite();
    let hub = start_hub(&db);
    let cfg = Config {
        scenario: Scenario::Burst,
        outage: Duration::from_secs(1),
        ..config(&hub)
    };
    let r = lunasentri_loadgen::run(cfg).await.expect("run");
    assert_eq!(r.connections.outages, 20, "{}", r.render());
    assert!(r.samples.replayed >= 20, "{}", r.render());
    assert_lossless(&r);
}

/// The HTTP fallback transport: every sample accepted, persisted and shown live.
#[tokio::test]
async fn http_transport_loses_nothing() {
    let db = TestDb::sqlite();
    let hub = start_hub(&db);
    let cfg = Config {
        transport: Transport::Http,
        ..config(&hub)
    };
    let r = lunasentri_loadgen::run(cfg).await.expect("run");
    assert_lossless(&r);
}

/// Stalled dashboards do not cost the healthy ones a single sample.
#[tokio::test]
async fn slow_dashboards_do_not_hurt_others() {
    let db = TestDb::sqlite();
    let hub = start_hub(&db);
    let cfg = Config {
        scenario: Scenario::SlowDashboard,
        dashboards: 10,
        slow_fraction: 0.2,
        ..config(&hub)
    };
    let r = lunasentri_loadgen::run(cfg).await.expect("run");
    assert_eq!(r.run.slow_dashboards, 2);
    assert_lossless(&r);
}

/// Without admin credentials or a plan, the run refuses to start and says what to pass.
#[tokio::test]
async fn missing_credentials_are_explained() {
    let cfg = Config {
        admin_email: None,
        ..Config::default()
    };
    let err = lunasentri_loadgen::run(cfg).await.unwrap_err();
    assert!(err.to_string().contains("--admin-email"), "{err}");
}
