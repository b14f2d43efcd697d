//! Failover between two real hub binaries sharing one PostgreSQL database: the agent,
//! given both hubs' URLs, moves to the second when the first dies, and every seq is
//! stored exactly once.

use std::time::{Duration, Instant};

use lunasentri_e2e::free_port;
use lunasentri_hub::testing::TestDb;

use super::{admin, create_machine, now_ms, start_agent, start_hub, stored};

/// Hub A is killed (SIGKILL) mid-stream: the agent reconnects to hub B, replays what A
/// had not acknowledged, and keeps streaming; at the end every seq from the first to
/// the last is in the database once, including those taken while A was dying.
#[tokio::test]
async fn agent_fails_over_to_the_second_hub_without_loss() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let (port_a, port_b) = (free_port(), free_port());
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let hub_a = start_hub(&db.url, port_a);
    let client = admin(&base_a).await;
    let (id, key) = create_machine(&client, &base_a, "e2e-failover").await;
    // B starts once the machine exists: a hub reads the machines it serves at start.
    let mut hub_b = start_hub(&db.url, port_b);
    let mut agent = start_agent(&format!("{base_a},{base_b}"), &key, "200ms");

    agent.wait_for_log(&format!("connected hub={base_a}"), Duration::from_secs(20));
    wait_stored(&db, id, 5, &agent).await;

    // SIGKILL: whatever A held uncommitted dies with it.
    drop(hub_a);
    let killed_at = now_ms();
    let at_kill = db.count_metrics(id);
    let on_b = format!("connected hub={base_b}");
    let log = agent.wait_for_log(&on_b, Duration::from_secs(30));
    // Samples taken while A was dying or gone were buffered and replayed to B.
    let replayed: u64 = log
        .lines()
        .find(|l| l.contains(&on_b))
        .and_then(|l| l.split("replayed=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no replayed= count in the log:\n{log}"));
    assert!(replayed > 0, "nothing was replayed to hub B:\n{log}");
    // Only B can store now; wait for a good run of samples through it.
    wait_stored(&db, id, at_kill + 10, &agent).await;

    assert!(
        agent.terminate(Duration::from_secs(10)).success(),
        "{}",
        agent.log()
    );
    let log = agent.log();
    assert!(log.contains("every sample was delivered"), "{log}");

    let client = admin(&base_b).await;
    let rows = stored(&client, &base_b, id).await;
    assert_eq!(rows.len() as i64, db.count_metrics(id));
    let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
    let mut seqs: Vec<u64> = rows.iter().map(|r| r.0).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), rows.len(), "a seq was stored twice: {rows:?}");
    assert_eq!(
        rows.len() as u64,
        last - first + 1,
        "gaps in seq {first}..={last}: {rows:?}"
    );
    assert!(
        rows.iter().any(|(_, ts)| *ts > killed_at),
        "nothing taken after the kill was stored: {rows:?}"
    );
    assert!(hub_b.terminate(Duration::from_secs(15)).success());
}

/// Waits until the database holds at least `n` samples of `machine`.
async fn wait_stored(db: &TestDb, machine: i64, n: i64, agent: &lunasentri_e2e::Process) {
    let start = Instant::now();
    while db.count_metrics(machine) < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "stored {} of {n} samples; agent log:\n{}",
            db.count_metrics(machine),
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
