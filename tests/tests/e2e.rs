//! End-to-end: the real `lunasentri-agent` binary streaming to the real hub, in-process
//! (`TestHub`) or as the `lunasentri-hub` binary where it must restart on the same port.
//!
//! `--once` output against the schema and configuration errors are covered by the
//! agent's own integration tests (`agent/tests/agent/cli.rs`).
//!
//! - [`failover`]: two hub binaries on one PostgreSQL database, the agent moving between them.
//! - [`tls`]: the agent streaming to a hub that serves only TLS.

#[path = "e2e/failover.rs"]
mod failover;
#[path = "e2e/tls.rs"]
mod tls;

use std::time::{Duration, Instant};

use lunasentri_e2e::{Process, binary, free_port};
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_schema::Sample;
use serde_json::{Value, json};

/// An API client logged in as the test admin.
async fn admin(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/auth/login"))
        .header("Origin", base)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "login: {}", res.status());
    client
}

/// Creates a machine; returns its id and API key.
async fn create_machine(client: &reqwest::Client, base: &str, name: &str) -> (i64, String) {
    let res = client
        .post(format!("{base}/api/machines"))
        .header("Origin", base)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "create machine: {}",
        res.status()
    );
    let body: Value = res.json().await.unwrap();
    (
        body["machine"]["id"].as_i64().unwrap(),
        body["api_key"].as_str().unwrap().to_owned(),
    )
}

/// Starts the agent binary streaming to `base` every `interval`.
fn start_agent(base: &str, key: &str, interval: &str) -> Process {
    Process::start(
        &binary("lunasentri-agent", "lunasentri-agent"),
        &[
            "--server-url",
            base,
            "--api-key",
            key,
            "--interval",
            interval,
        ],
        &[],
        &["LUNASENTRI_"],
    )
}

/// Polls `GET url` until `done` accepts the JSON body, and returns it.
async fn poll_json(
    client: &reqwest::Client,
    url: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        if let Ok(res) = client.get(url).send().await
            && res.status().is_success()
            && let Ok(body) = res.json::<Value>().await
            && done(&body)
        {
            return body;
        }
        assert!(
            start.elapsed() < limit,
            "{url}: condition not met in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Samples from the real agent reach the hub with sane values, and its hello facts are
/// stored on the machine.
#[tokio::test]
async fn agent_samples_arrive_with_host_facts() {
    let db = TestDb::sqlite();
    let hub = TestHub::start(&db);
    let client = admin(&hub.base).await;
    let (id, key) = create_machine(&client, &hub.base, "e2e-arrive").await;
    let mut agent = start_agent(&hub.base, &key, "1s");

    let latest = poll_json(
        &client,
        &hub.url(&format!("/api/machines/{id}/latest")),
        Duration::from_secs(20),
        |b| b["sample"].is_object(),
    )
    .await;
    let s: Sample = serde_json::from_value(latest["sample"].clone()).unwrap();
    assert!((now_ms() - s.ts).abs() < 60_000, "ts {} is not now", s.ts);
    assert!((0.0..=100.0).contains(&s.cpu_pct));
    assert!((0.0..=100.0).contains(&s.mem_used_pct));
    assert!(s.mem_total_bytes > 0 && s.mem_used_bytes <= s.mem_total_bytes);
    assert!(s.uptime_s > 0 && s.procs > 0 && !s.cpus.is_empty());

    let machine = poll_json(
        &client,
        &hub.url(&format!("/api/machines/{id}")),
        Duration::from_secs(10),
        |m| m["hostname"].is_string(),
    )
    .await;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if !hostname.is_empty() {
        assert_eq!(machine["hostname"], hostname.as_str(), "{machine}");
    }
    assert!(machine["cores"].as_u64().unwrap_or(0) > 0, "{machine}");
    assert_eq!(machine["cores"].as_u64(), Some(s.cpus.len() as u64));
    assert!(
        !machine["os"].as_str().unwrap_or("").is_empty(),
        "{machine}"
    );
    assert_eq!(machine["interval_ms"], 1000, "{machine}");
    assert_eq!(machine["status"], "online", "{machine}");

    assert!(
        agent.terminate(Duration::from_secs(10)).success(),
        "{}",
        agent.log()
    );
    hub.stop();
}

/// The hub binary on a fixed port.
fn start_hub(database_url: &str, port: u16) -> Process {
    let bind = format!("127.0.0.1:{port}");
    let hub = Process::start(
        &binary("lunasentri-hub", "lunasentri-hub"),
        &["--bind", &bind, "--database-url", database_url],
        &[
            ("LUNASENTRI_ADMIN_EMAIL", ADMIN_EMAIL),
            ("LUNASENTRI_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
        &["LUNASENTRI_"],
    );
    hub.wait_for_log("listening on", Duration::from_secs(30));
    hub
}

/// `(seq, ts)` of every stored sample of a machine, from the CSV export.
async fn stored(client: &reqwest::Client, base: &str, id: i64) -> Vec<(u64, i64)> {
    let text = client
        .get(format!("{base}/api/machines/{id}/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("ts,seq"), "{header}");
    let mut rows: Vec<(u64, i64)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f = l.split(',');
            let ts = f.next().unwrap().parse().unwrap();
            let seq = f.next().unwrap().parse().unwrap();
            (seq, ts)
        })
        .collect();
    rows.sort_unstable();
    rows
}

/// A hub restart mid-stream loses nothing: the agent buffers while the hub is down,
/// replays after it returns on the same port, and every seq is stored exactly once.
#[tokio::test]
async fn hub_restart_loses_no_sample() {
    let db = TestDb::sqlite();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut hub = start_hub(&db.url, port);
    let client = admin(&base).await;
    let (id, key) = create_machine(&client, &base, "e2e-restart").await;
    let mut agent = start_agent(&base, &key, "1s");

    // A few samples stored, then the hub goes away for several intervals.
    let start = Instant::now();
    while db.count_metrics(id) < 3 {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", agent.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(hub.terminate(Duration::from_secs(15)).success());
    let down_from = now_ms();
    let before = db.count_metrics(id);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let down_to = now_ms();
    let mut hub = start_hub(&db.url, port);

    // The backlog is replayed once the agent is back, then new samples follow.
    let start = Instant::now();
    while db.count_metrics(id) < before + 8 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "stored {} of {} expected; agent log:\n{}",
            db.count_metrics(id),
            before + 8,
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        agent.terminate(Duration::from_secs(10)).success(),
        "{}",
        agent.log()
    );

    let client = admin(&base).await;
    let rows = stored(&client, &base, id).await;
    assert_eq!(rows.len() as i64, db.count_metrics(id));
    let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
    assert_eq!(
        rows.len() as u64,
        last - first + 1,
        "gaps or duplicates in seq {first}..={last}: {rows:?}"
    );
    let mut seqs: Vec<u64> = rows.iter().map(|r| r.0).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), rows.len(), "a seq was stored twice");
    let during_outage = rows
        .iter()
        .filter(|(_, ts)| (down_from..down_to).contains(ts))
        .count();
    assert!(
        during_outage >= 3,
        "samples taken while the hub was down were not replayed: {rows:?}"
    );
    assert!(hub.terminate(Duration::from_secs(15)).success());
}
