//! The live pipeline end to end: agent → hub → browsers, with isolation, status,
//! revocation, deletion and slow consumers.

use std::time::{Duration, Instant};

use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_schema::protocol::close;
use lunasentri_schema::sample::ProcSample;
use lunasentri_schema::{AgentFrame, Hello, LiveFrame, MachineStatus};
use reqwest::Method;

use crate::common::{
    Client, TestAgent, TestBrowser, Via, login_token, metrics_text, now_ms, sample,
};

/// A sample reaches the owner's and the admin's dashboards and nobody else's; another
/// user subscribing to it by id gets `not_found`, exactly as for a machine that does not exist.
async fn samples_reach_only_allowed_browsers(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    Client::new_user(&hub, &admin, "alice@example.com").await;
    Client::new_user(&hub, &admin, "mallory@example.com").await;
    let alice = Client::login(&hub, "alice@example.com", "user-password-1").await;
    let m = alice.create_machine("alice-web").await;
    let id = m.machine.id;

    let mut owner = TestBrowser::connect(&hub, "alice@example.com", "user-password-1").await;
    owner.subscribe(None).await;
    let LiveFrame::Snapshot { machines } = owner.next().await else {
        panic!("snapshot first")
    };
    assert_eq!(
        machines.iter().map(|m| m.machine_id).collect::<Vec<_>>(),
        vec![id]
    );

    let mut spy = TestBrowser::connect(&hub, "mallory@example.com", "user-password-1").await;
    spy.subscribe(None).await;
    let LiveFrame::Snapshot { machines } = spy.next().await else {
        panic!("snapshot first")
    };
    assert!(
        machines.is_empty(),
        "another user's machine leaked into a snapshot"
    );
    spy.subscribe(Some(vec![id, 999_999])).await;
    for _ in 0..2 {
        match spy.next().await {
            LiveFrame::Error {
                code, machine_id, ..
            } => {
                assert_eq!(code, "not_found");
                assert!(machine_id == Some(id) || machine_id == Some(999_999));
            }
            other => panic!("expected not_found, got {other:?}"),
        }
    }
    assert_eq!(
        spy.next().await,
        LiveFrame::Snapshot { machines: vec![] },
        "nothing was added"
    );
    let mut boss = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    boss.subscribe(Some(vec![id])).await;
    assert!(matches!(boss.next().await, LiveFrame::Snapshot { .. }));

    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent
        .send(&AgentFrame::Hello(Hello {
            hostname: "web".into(),
            interval_ms: 1000,
            ..Hello::default()
        }))
        .await;
    for seq in 1..=3 {
        agent.send(&AgentFrame::Sample(sample(seq, now_ms()))).await;
        for b in [&mut owner, &mut boss] {
            if seq == 1 {
                // The first sample brings the machine online: the status comes first.
                let f = b.next().await;
                assert!(
                    matches!(f, LiveFrame::Status { machine_id, status: MachineStatus::Online, .. } if machine_id == id),
                    "online before the first sample, got {f:?}"
                );
            }
            let f = b.next().await;
            let LiveFrame::Sample { machine_id, sample } = f else {
                panic!("sample {seq} next, got {f:?}");
            };
            assert_eq!((machine_id, sample.seq), (id, seq));
        }
        agent.wait_ack(seq).await;
    }
    // The spy got nothing at all after its errors: not samples, not status.
    assert_eq!(spy.next_within(Duration::from_millis(300)).await, None);
    let (_, audit) = admin.call(Method::GET, "/api/admin/audit-log", None).await;
    assert!(
        audit.to_string().contains("admin_live_subscribe"),
        "admin watching alice's machine is audited"
    );
}

/// Subscribing to a machine while its samples stream in: the snapshot comes first and
/// every sample after it is newer than the one it holds, in order (samples travel from
/// the machine's actor to the watchers without passing the registry).
async fn snapshot_precedes_samples_of_a_busy_machine(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| c.limits.agent_frames_per_second = 10_000)
        .start();
    let m = Client::admin(&hub).await.create_machine("busy").await;
    let id = m.machine.id;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        let base = now_ms() - 120_000;
        tokio::spawn(async move {
            let mut seq = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seq += 1;
                agent
                    .send(&AgentFrame::Sample(sample(seq, base + seq as i64)))
                    .await;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let token = login_token(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for round in 0..10 {
        let mut b = TestBrowser::try_connect(&hub, &token, &[], Via::FirstRequest)
            .await
            .expect("live socket opens");
        b.subscribe(Some(vec![id])).await;
        let first = b.next().await;
        let LiveFrame::Snapshot { machines } = first else {
            panic!("round {round}: snapshot first, got {first:?}");
        };
        let mut last = machines[0].sample.as_ref().map_or(0, |s| s.seq);
        let mut samples = 0;
        while samples < 20 {
            match b.next().await {
                LiveFrame::Sample { machine_id, sample } => {
                    assert_eq!(machine_id, id);
                    assert!(
                        sample.seq > last,
                        "round {round}: sample {} after {last}",
                        sample.seq
                    );
                    last = sample.seq;
                    samples += 1;
                }
                LiveFrame::Status { .. } => {}
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.await.expect("the agent kept sending");
}

/// Status goes online with the first sample and offline after 3 missed intervals
/// (at least 15 s) of the hub's clock, pushed to watchers; the clock is moved, not slept.
async fn offline_detection_with_controlled_clock(db: &TestDb) {
    let hub = TestHub::builder(db).manual_clock().start();
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("clocked").await;
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.subscribe(Some(vec![m.machine.id])).await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent
        .send(&AgentFrame::Hello(Hello {
            interval_ms: 1000,
            ..Hello::default()
        }))
        .await;
    agent
        .send(&AgentFrame::Sample(sample(1, hub.clock.now_ms())))
        .await;
    let online = browser
        .until(|f| matches!(f, LiveFrame::Status { .. }))
        .await;
    assert!(
        matches!(
            online,
            LiveFrame::Status {
                status: MachineStatus::Online,
                ..
            }
        ),
        "{online:?}"
    );
    agent.wait_ack(1).await;
    hub.clock.advance_ms(14_000);
    assert_eq!(
        status_within(&mut browser, Duration::from_millis(400)).await,
        None,
        "3 × 1 s interval is below the 15 s minimum: still online at 14 s"
    );
    hub.clock.advance_ms(2_000);
    let offline = browser
        .until(|f| matches!(f, LiveFrame::Status { .. }))
        .await;
    assert!(
        matches!(
            offline,
            LiveFrame::Status {
                status: MachineStatus::Offline,
                ..
            }
        ),
        "{offline:?}"
    );
    agent
        .send(&AgentFrame::Sample(sample(2, hub.clock.now_ms())))
        .await;
    let back = browser
        .until(|f| matches!(f, LiveFrame::Status { .. }))
        .await;
    assert!(matches!(
        back,
        LiveFrame::Status {
            status: MachineStatus::Online,
            ..
        }
    ));
    let (_, row) = admin
        .call(
            Method::GET,
            &format!("/api/machines/{}", m.machine.id),
            None,
        )
        .await;
    assert!(row["last_seen"].as_i64().is_some());
}

/// The next `status` frame within `wait`, skipping samples.
async fn status_within(b: &mut TestBrowser, wait: Duration) -> Option<LiveFrame> {
    while let Some(f) = b.next_within(wait).await {
        if matches!(f, LiveFrame::Status { .. }) {
            return Some(f);
        }
    }
    None
}

/// Rotating the key disconnects the live agent with 4401 and the old key cannot reconnect.
async fn rotation_disconnects_agent(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("rotating").await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    agent.wait_ack(1).await;
    admin
        .call(
            Method::POST,
            &format!("/api/machines/{}/rotate-key", m.machine.id),
            None,
        )
        .await;
    let (_, code) = agent.expect_error_and_close().await;
    assert_eq!(code, Some(close::KEY_REVOKED));
    let refused = TestAgent::try_connect(&hub, &m.api_key, "1")
        .await
        .err()
        .expect("old key refused");
    assert_eq!(refused.0, 401);
}

/// Deleting a machine cuts its agent off, tells its watchers `not_found` and removes its
/// stored samples.
async fn deletion_ends_streams(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("doomed").await;
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.subscribe(Some(vec![m.machine.id])).await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    agent.wait_ack(1).await;
    assert_eq!(db.count_metrics(m.machine.id), 1);
    admin
        .call(
            Method::DELETE,
            &format!("/api/machines/{}", m.machine.id),
            None,
        )
        .await;
    let (_, code) = agent.expect_error_and_close().await;
    assert_eq!(code, Some(close::KEY_REVOKED));
    assert_eq!(
        db.count_metrics(m.machine.id),
        0,
        "its history went with it"
    );
    let gone = browser
        .until(|f| matches!(f, LiveFrame::Error { .. }))
        .await;
    assert!(
        matches!(gone, LiveFrame::Error { ref code, machine_id: Some(_), .. } if code == "not_found")
    );
}

/// A second connection with the same key replaces the first cleanly (close 4409).
async fn second_connection_replaces_first(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("twice").await;
    let mut first = TestAgent::connect(&hub, &m.api_key).await;
    first.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    first.wait_ack(1).await;
    let mut second = TestAgent::connect(&hub, &m.api_key).await;
    let (_, code) = first.expect_error_and_close().await;
    assert_eq!(code, Some(close::REPLACED));
    second
        .send(&AgentFrame::Sample(sample(2, now_ms() + 1)))
        .await;
    second.wait_ack(2).await;
}

/// A browser that never reads neither delays another browser nor grows without bound:
/// it loses its oldest frames and is told `lagged`.
async fn slow_browser_does_not_slow_others(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| {
            c.limits.agent_frames_per_second = 100_000;
            c.limits.browser_queue = 16;
        })
        .start();
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("busy").await;
    let mut slow = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    slow.subscribe(Some(vec![m.machine.id])).await;
    let mut fast = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    fast.subscribe(Some(vec![m.machine.id])).await;
    assert!(matches!(fast.next().await, LiveFrame::Snapshot { .. }));
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    let top: Vec<ProcSample> = (0..200)
        .map(|i| ProcSample {
            pid: i,
            name: format!("process-with-a-long-name-{i:04}"),
            cpu_pct: 1.0,
            mem_bytes: 1,
        })
        .collect();
    // ~15 KB a frame: far more than the kernel socket buffers of a reader that stopped.
    let n = 1500u64;
    let t0 = now_ms() - 10 * 60_000;
    let mut worst = Duration::ZERO;
    for seq in 1..=n {
        let mut s = sample(seq, t0 + seq as i64 * 100);
        s.top = top.clone();
        let sent = Instant::now();
        agent.send(&AgentFrame::Sample(s)).await;
        let f = fast.until(|f| matches!(f, LiveFrame::Sample { .. })).await;
        worst = worst.max(sent.elapsed());
        let LiveFrame::Sample { sample, .. } = f else {
            unreachable!()
        };
        assert_eq!(
            sample.seq, seq,
            "the fast browser saw every sample in order"
        );
    }
    assert!(
        worst < Duration::from_secs(2),
        "fast browser was delayed by {worst:?}"
    );
    agent.wait_ack(n).await;
    // Now the slow browser reads: it was told it lagged, and got fewer frames than sent.
    let mut frames = 0;
    let mut lagged = 0;
    while let Some(f) = slow.next_within(Duration::from_millis(500)).await {
        frames += 1;
        if let LiveFrame::Lagged { dropped } = f {
            lagged += dropped;
        }
    }
    assert!(lagged > 0, "the slow browser was told it lagged");
    assert!(
        (frames as u64) < n,
        "the slow browser's queue stayed bounded ({frames} frames)"
    );
    let metrics = metrics_text(&hub).await;
    assert!(
        metrics.contains("lunasentri_frames_dropped_total"),
        "{metrics}"
    );
}

/// `--local-host-metrics` makes the hub's own host a machine of the first admin that
/// reports real samples through the agent link.
async fn local_host_metrics_report_this_host(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| c.local_host_metrics = true)
        .start();
    let admin = Client::admin(&hub).await;
    let (_, list) = admin.call(Method::GET, "/api/machines", None).await;
    let m = &list.as_array().expect("list")[0];
    assert!(m["name"].as_str().unwrap().ends_with("(hub)"), "{m}");
    let id = m["id"].as_i64().unwrap();
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.subscribe(Some(vec![id])).await;
    let f = browser
        .until(|f| matches!(f, LiveFrame::Sample { .. }))
        .await;
    let LiveFrame::Sample { sample, .. } = f else {
        unreachable!()
    };
    assert!(
        sample.mem_total_bytes > 0,
        "a real sample of this host: {sample:?}"
    );
    assert!(!sample.cpus.is_empty());
}

/// The live socket opens only with a live session cookie (401) and an Origin of this
/// hub (403: cross-site WebSocket hijacking), whether the upgrade is a connection's first
/// request (taken over before actix-http) or follows others (actix-web's handler).
async fn live_socket_admission(db: &TestDb) {
    let hub = TestHub::start(db);
    let token = login_token(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let own = format!("http://{}", hub.addr);
    let proxied = [
        ("Origin", "https://monitor.example"),
        ("X-Forwarded-Host", "monitor.example"),
    ];
    let foreign = [("Origin", "https://evil.example")];
    for via in [Via::FirstRequest, Via::KeptAlive] {
        for (token, headers, status) in [
            ("", &[][..], 401),
            ("forged", &[][..], 401),
            (token.as_str(), &foreign[..], 403),
        ] {
            let refused = TestBrowser::try_connect(&hub, token, headers, via).await;
            assert_eq!(
                refused.err().map(|(s, _)| s),
                Some(status),
                "{via:?} {headers:?}"
            );
        }
        for headers in [&[][..], &[("Origin", own.as_str())][..], &proxied[..]] {
            let mut b = TestBrowser::try_connect(&hub, &token, headers, via)
                .await
                .expect("live socket opens");
            b.subscribe(None).await;
            let first = b.next().await;
            assert!(
                matches!(first, LiveFrame::Snapshot { .. }),
                "{via:?} {headers:?}: {first:?}"
            );
        }
    }
}

crate::on_both_backends!(
    live_socket_admission,
    samples_reach_only_allowed_browsers,
    snapshot_precedes_samples_of_a_busy_machine,
    offline_detection_with_controlled_clock,
    rotation_disconnects_agent,
    deletion_ends_streams,
    second_connection_replaces_first,
    slow_browser_does_not_slow_others,
    local_host_metrics_report_this_host,
);

/// Stopping the hub closes every agent and dashboard socket with 1001 (going away),
/// whether the hub serves it itself or through actix-web (a proxy's kept-alive
/// connection), so clients reconnect at once; what was acknowledged stays stored.
#[tokio::test]
async fn stopping_the_hub_says_going_away() {
    let db = TestDb::sqlite();
    let hub = TestHub::start(&db);
    let admin = Client::admin(&hub).await;
    let (a, b) = (
        admin.create_machine("direct").await,
        admin.create_machine("proxied").await,
    );
    let mut agents = [
        TestAgent::connect(&hub, &a.api_key).await,
        TestAgent::try_connect_via(&hub, &b.api_key, "1", Via::KeptAlive)
            .await
            .expect("agent connects through a kept-alive connection"),
    ];
    for agent in &mut agents {
        agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
        agent.wait_ack(1).await;
    }
    let token = login_token(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut browsers = Vec::new();
    for via in [Via::FirstRequest, Via::KeptAlive] {
        let mut b = TestBrowser::try_connect(&hub, &token, &[], via)
            .await
            .expect("live socket opens");
        b.subscribe(None).await;
        b.until(|f| matches!(f, LiveFrame::Snapshot { .. })).await;
        browsers.push(b);
    }

    drop(admin);
    let stopping = tokio::task::spawn_blocking(move || hub.stop());
    for agent in &mut agents {
        let (error, code) = agent.expect_error_and_close().await;
        assert_eq!(
            (error.as_str(), code),
            ("", Some(close::GOING_AWAY)),
            "no error frame"
        );
    }
    for b in &mut browsers {
        assert_eq!(b.close_code().await, Some(close::GOING_AWAY));
    }
    // Clients hang up; idle keep-alive connections would hold the stop for up to 5 s.
    drop((agents, browsers));
    stopping.await.expect("hub stopped");
    for m in [&a, &b] {
        assert_eq!(db.count_metrics(m.machine.id), 1);
    }
}

/// The live path's stages are measured: a sample generated 5 s before it reached the hub
/// is 4–8 s old when written to the dashboard, and its hand-off-to-write wait is counted.
#[tokio::test]
async fn live_sample_age_is_measured_at_the_socket_write() {
    let db = TestDb::sqlite();
    let hub = TestHub::start(&db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("aged").await;
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.subscribe(Some(vec![m.machine.id])).await;
    browser
        .until(|f| matches!(f, LiveFrame::Snapshot { .. }))
        .await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent
        .send(&AgentFrame::Sample(sample(1, now_ms() - 5_000)))
        .await;
    browser
        .until(|f| matches!(f, LiveFrame::Sample { .. }))
        .await;
    let text = metrics_text(&hub).await;
    for line in [
        "lunasentri_live_sample_age_seconds_count 1",
        r#"lunasentri_live_sample_age_seconds_bucket{le="4.096"} 0"#,
        r#"lunasentri_live_sample_age_seconds_bucket{le="8.192"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let waited = text
        .lines()
        .find_map(|l| l.strip_prefix("lunasentri_outbox_wait_seconds_count "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(
        waited.is_some_and(|n| n >= 2),
        "snapshot, status and sample were written: {waited:?}"
    );
}
