//! Operations endpoints, the OpenAPI document and the dashboard fallback.

use lunasentri_e2e::TestCerts;
use lunasentri_hub::testing::{TestDb, TestHub};
use reqwest::StatusCode;

use crate::common::metrics_text;

/// `/healthz`, `/readyz` and `/metrics` answer; `/metrics` is Prometheus text.
async fn ops_endpoints(db: &TestDb) {
    let hub = TestHub::start(db);
    assert_eq!(
        reqwest::get(hub.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        reqwest::get(hub.url("/readyz")).await.unwrap().status(),
        StatusCode::OK
    );
    let text = metrics_text(&hub).await;
    for name in [
        "lunasentri_agents_connected",
        "lunasentri_browser_sessions",
        "lunasentri_samples_received_total",
        "lunasentri_samples_persisted_total",
        "lunasentri_writer_queue_depth",
        "lunasentri_writer_flush_seconds_bucket",
        "lunasentri_fanout_latency_seconds_bucket",
    ] {
        assert!(text.contains(name), "missing {name} in:\n{text}");
    }
    let sqlite_heap: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("lunasentri_sqlite_heap_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no lunasentri_sqlite_heap_bytes in:\n{text}"));
    if db.url.starts_with("sqlite") {
        // The hub's open SQLite connections hold their schema and statements at least.
        assert!(sqlite_heap > 0, "{sqlite_heap}");
    }
}

/// Non-API paths fall back to the dashboard (or the page explaining how to build it).
async fn spa_fallback(db: &TestDb) {
    let hub = TestHub::start(db);
    let res = reqwest::get(hub.url("/machines/42")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let install = reqwest::get(hub.url("/install.sh")).await.unwrap();
    assert_eq!(install.status(), StatusCode::OK);
    assert!(install.text().await.unwrap().starts_with("#!"));
    let traversal = reqwest::get(hub.url("/..%2F..%2FCargo.toml"))
        .await
        .unwrap();
    assert!(!traversal.text().await.unwrap().contains("[workspace]"));
}

/// The committed `docs/api/openapi.json` is what the hub serves (regenerate with
/// `make openapi` when this fails).
#[test]
fn committed_openapi_is_current() {
    let served = lunasentri_hub::http::openapi::json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim() == served.trim(),
        "docs/api/openapi.json is stale: run `make openapi` and commit the result"
    );
}

/// With a certificate and key the hub serves HTTPS, and session cookies are `Secure`.
async fn serves_tls(db: &TestDb) {
    let certs = TestCerts::generate();
    let (cert, key) = (certs.cert.clone(), certs.key.clone());
    let hub = TestHub::builder(db)
        .config(move |c| c.tls = Some((cert, key)))
        .start();
    assert!(hub.base.starts_with("https://"));
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(
        client
            .get(hub.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let res = client
        .post(hub.url("/api/auth/login"))
        .json(&serde_json::json!({"email": lunasentri_hub::testing::ADMIN_EMAIL, "password": lunasentri_hub::testing::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let plain = reqwest::get(hub.url("/healthz").replacen("https://", "http://", 1)).await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );
}

/// With `metrics_token` set, `/metrics` answers only requests carrying that token.
async fn metrics_token(db: &TestDb) {
    const TOKEN: &str = "scrape-token-0123456789";
    let hub = TestHub::builder(db)
        .config(|c| c.metrics_token_sha256 = Some(lunasentri_hub::auth::secrets::sha256_hex(TOKEN)))
        .start();
    let client = reqwest::Client::new();
    let get = |auth: Option<String>| {
        let mut req = client.get(hub.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    for denied in [
        None,
        Some("Bearer wrong-token-0123456789".into()),
        Some(TOKEN.into()),
    ] {
        let res = get(denied.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{denied:?}");
        assert!(!res.text().await.unwrap().contains("lunasentri_"));
    }
    let res = get(Some(format!("Bearer {TOKEN}"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("lunasentri_agents_connected")
    );
    // The other operations endpoints stay open for health checks.
    assert_eq!(
        reqwest::get(hub.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

crate::on_both_backends!(ops_endpoints, spa_fallback, serves_tls, metrics_token);
