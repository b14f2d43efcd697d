//! Cluster mode: two real hubs sharing one PostgreSQL database and a NATS server, with
//! agents and browsers on different hubs.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use futures_util::StreamExt;
use lunasentri_hub::cluster::subjects::Subjects;
use lunasentri_hub::testing::nats::{RestartableNats, shared_url};
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_schema::protocol::close;
use lunasentri_schema::{AgentFrame, Hello, LiveFrame, MachineStatus};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Client, PATIENCE, TestAgent, TestBrowser, metrics_text, now_ms, sample};

const PASSWORD: &str = "user-password-1";

/// Waits until the hub's `/metrics` shows `name` at `value`.
async fn wait_metric(hub: &TestHub, name: &str, value: i64) {
    let deadline = Instant::now() + PATIENCE;
    let wanted = format!("{name} {value}\n");
    loop {
        let text = metrics_text(hub).await;
        if text.contains(&wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never showed `{name} {value}`",
            hub.base
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two hubs on `db` joined through the NATS server at `url`, both connected.
async fn pair(a: TestHub, db: &TestDb, url: &str) -> (TestHub, TestHub) {
    let b = TestHub::builder(db).nats(url).start();
    for hub in [&a, &b] {
        wait_metric(hub, "lunasentri_cluster_connected", 1).await;
    }
    (a, b)
}

/// Reads until `browser` has seen `status` and the sample with `seq` (their order
/// across subjects is not fixed).
async fn expect_status_and_sample(browser: &mut TestBrowser, status: MachineStatus, seq: u64) {
    let (mut got_status, mut got_sample) = (false, false);
    while !(got_status && got_sample) {
        match browser.next().await {
            LiveFrame::Status { status: s, .. } if s == status => got_status = true,
            LiveFrame::Sample { sample, .. } if sample.seq == seq => got_sample = true,
            _ => {}
        }
    }
}

async fn hello(agent: &mut TestAgent) {
    agent
        .send(&AgentFrame::Hello(Hello {
            interval_ms: 1000,
            ..Hello::default()
        }))
        .await;
}

fn assert_not_offline(f: &LiveFrame) {
    assert!(
        !matches!(
            f,
            LiveFrame::Status {
                status: MachineStatus::Offline,
                ..
            }
        ),
        "the hub that stepped down declared the machine offline: {f:?}"
    );
}

/// Skips frames until a sample with at least `seq`; returns its seq.
async fn sample_from(browser: &mut TestBrowser, seq: u64) -> u64 {
    match browser
        .until(|f| matches!(f, LiveFrame::Sample { sample, .. } if sample.seq >= seq))
        .await
    {
        LiveFrame::Sample { sample, .. } => sample.seq,
        _ => unreachable!(),
    }
}

/// An agent on hub A streams to its owner's browser on hub B: the machine, created
/// through A, appears live on B, then its status and samples follow; another user on B
/// gets `not_found` for it and nothing else; B stops receiving once nobody watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_on_one_hub_streams_only_to_allowed_browsers_on_another() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let (a, b) = pair(TestHub::builder(&db).nats(&url).start(), &db, &url).await;
    let admin = Client::admin(&a).await;
    Client::new_user(&a, &admin, "alice@example.com").await;
    Client::new_user(&a, &admin, "mallory@example.com").await;

    let mut owner = TestBrowser::connect(&b, "alice@example.com", PASSWORD).await;
    owner.subscribe(None).await;
    assert_eq!(owner.next().await, LiveFrame::Snapshot { machines: vec![] });
    let alice = Client::login(&a, "alice@example.com", PASSWORD).await;
    let m = alice.create_machine("web").await;
    let id = m.machine.id;
    let frame = owner.next().await;
    let LiveFrame::Snapshot { machines } = frame else {
        panic!("the machine created on A appears on B as a snapshot, got {frame:?}")
    };
    assert_eq!(
        machines.iter().map(|m| m.machine_id).collect::<Vec<_>>(),
        vec![id]
    );

    let mut spy = TestBrowser::connect(&b, "mallory@example.com", PASSWORD).await;
    spy.subscribe(None).await;
    assert_eq!(spy.next().await, LiveFrame::Snapshot { machines: vec![] });
    spy.subscribe(Some(vec![id])).await;
    let LiveFrame::Error {
        code, machine_id, ..
    } = spy.next().await
    else {
        panic!("expected not_found")
    };
    assert_eq!((code.as_str(), machine_id), ("not_found", Some(id)));
    assert_eq!(spy.next().await, LiveFrame::Snapshot { machines: vec![] });

    wait_metric(&b, "lunasentri_cluster_subscriptions", 1).await;
    let mut agent = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut agent).await;
    let base = now_ms();
    agent.send(&AgentFrame::Sample(sample(1, base))).await;
    expect_status_and_sample(&mut owner, MachineStatus::Online, 1).await;
    for seq in 2..=3 {
        agent
            .send(&AgentFrame::Sample(sample(seq, base + seq as i64)))
            .await;
        assert_eq!(sample_from(&mut owner, 1).await, seq);
    }
    agent.wait_ack(3).await;
    assert_eq!(
        spy.next_within(Duration::from_millis(300)).await,
        None,
        "another user's browser on B received something of alice's machine"
    );

    owner
        .send(json!({"type": "unsubscribe", "machine_ids": [id]}))
        .await;
    wait_metric(&b, "lunasentri_cluster_subscriptions", 0).await;
}

/// Samples the holding hub could not publish (its NATS queue was full) reach the
/// browsers on other hubs as `lagged {dropped}`, like their own queue's overflow: the
/// notice goes to the machine's watchers only, not to a tab watching another machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_the_holder_could_not_publish_reach_remote_watchers_as_lagged() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let (a, b) = pair(TestHub::builder(&db).nats(&url).start(), &db, &url).await;
    let admin = Client::admin(&a).await;
    Client::new_user(&a, &admin, "alice@example.com").await;
    let alice = Client::login(&a, "alice@example.com", PASSWORD).await;
    let watched = alice.create_machine("web").await.machine.id;
    let other = alice.create_machine("db").await.machine.id;
    let mut tab = TestBrowser::connect(&b, "alice@example.com", PASSWORD).await;
    let mut other_tab = TestBrowser::connect(&b, "alice@example.com", PASSWORD).await;
    for (browser, id) in [(&mut tab, watched), (&mut other_tab, other)] {
        browser.subscribe(Some(vec![id])).await;
        assert!(matches!(browser.next().await, LiveFrame::Snapshot { .. }));
    }
    wait_metric(&b, "lunasentri_cluster_subscriptions", 2).await;

    // What hub A's link publishes after dropping four samples of `watched`.
    let (pool, _) = lunasentri_hub::db::connect(&db.url, 1).expect("database");
    let mut conn = pool.get().expect("connection");
    let cluster = lunasentri_hub::cluster::cluster_id(&mut conn).expect("cluster id");
    let subject = Subjects::new(&cluster).sample(watched);
    let notice = serde_json::to_vec(&LiveFrame::Lagged { dropped: 4 }).expect("json");
    let nats = async_nats::connect(url.as_str()).await.expect("nats");
    nats.publish(subject, notice.into()).await.expect("publish");
    nats.flush().await.expect("flush");

    assert_eq!(tab.next().await, LiveFrame::Lagged { dropped: 4 });
    assert_eq!(
        other_tab.next_within(Duration::from_millis(300)).await,
        None,
        "a tab watching another machine was told of this one's gap"
    );
}

/// An agent moving from hub A to hub B: A steps down (its connection is closed as
/// replaced), its browsers follow the machine from B without ever seeing it offline,
/// however much time passes on A, and every sample is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_moving_to_another_hub_makes_the_old_one_step_down() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let a = TestHub::builder(&db).manual_clock().nats(&url).start();
    let (a, b) = pair(a, &db, &url).await;
    let admin = Client::admin(&a).await;
    let m = admin.create_machine("mover").await;
    let id = m.machine.id;
    let mut on_a = TestBrowser::connect(&a, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut on_b = TestBrowser::connect(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for browser in [&mut on_a, &mut on_b] {
        browser.subscribe(Some(vec![id])).await;
        assert!(matches!(browser.next().await, LiveFrame::Snapshot { .. }));
    }
    wait_metric(&b, "lunasentri_cluster_subscriptions", 1).await;

    let base = a.clock.now_ms();
    let mut first = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut first).await;
    for seq in 1..=3 {
        first
            .send(&AgentFrame::Sample(sample(seq, base + seq as i64)))
            .await;
        first.wait_ack(seq).await;
    }
    expect_status_and_sample(&mut on_b, MachineStatus::Online, 3).await;

    let mut moved = TestAgent::connect(&b, &m.api_key).await;
    let (_, code) = first.expect_error_and_close().await;
    assert_eq!(code, Some(close::REPLACED), "A stepped down");
    wait_metric(&a, "lunasentri_cluster_subscriptions", 1).await;
    wait_metric(&b, "lunasentri_cluster_subscriptions", 0).await;

    hello(&mut moved).await;
    moved.send(&AgentFrame::Sample(sample(4, base + 4))).await;
    assert_eq!(sample_from(&mut on_b, 4).await, 4);
    // From the step-down on, A's browser sees B's samples and never `offline`, even
    // when time on A passes far beyond the offline threshold.
    loop {
        let f = on_a.next().await;
        assert_not_offline(&f);
        if matches!(&f, LiveFrame::Sample { sample, .. } if sample.seq == 4) {
            break;
        }
    }
    a.clock.advance_ms(10 * 60 * 1000);
    let quiet_until = Instant::now() + Duration::from_millis(500);
    while let Some(f) = on_a.next_within(quiet_until - Instant::now()).await {
        assert_not_offline(&f);
    }

    let replay = (1..=6).map(|seq| sample(seq, base + seq as i64)).collect();
    moved.send(&AgentFrame::Batch { samples: replay }).await;
    moved.wait_ack(6).await;
    assert_eq!(db.count_metrics(id), 6, "each seq stored once");
}

/// An agent that lost its connection to hub A and comes back through hub B: A's
/// lingering MachineActor steps down instead of declaring the machine offline later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_lost_on_one_hub_and_back_on_another_never_shows_offline() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let a = TestHub::builder(&db).manual_clock().nats(&url).start();
    let (a, b) = pair(a, &db, &url).await;
    let m = Client::admin(&a).await.create_machine("roamer").await;
    let mut on_a = TestBrowser::connect(&a, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    on_a.subscribe(Some(vec![m.machine.id])).await;
    assert!(matches!(on_a.next().await, LiveFrame::Snapshot { .. }));
    let base = a.clock.now_ms();
    let mut first = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut first).await;
    first.send(&AgentFrame::Sample(sample(1, base))).await;
    first.wait_ack(1).await;
    expect_status_and_sample(&mut on_a, MachineStatus::Online, 1).await;
    first.ws.close(None).await.expect("close");
    drop(first);

    let mut back = TestAgent::connect(&b, &m.api_key).await;
    hello(&mut back).await;
    back.send(&AgentFrame::Sample(sample(2, base + 2))).await;
    back.wait_ack(2).await;
    wait_metric(&a, "lunasentri_cluster_subscriptions", 1).await;
    a.clock.advance_ms(10 * 60 * 1000);
    back.send(&AgentFrame::Sample(sample(3, base + 3))).await;
    loop {
        let f = on_a.next().await;
        assert_not_offline(&f);
        if matches!(&f, LiveFrame::Sample { sample, .. } if sample.seq == 3) {
            break;
        }
    }
    let quiet_until = Instant::now() + Duration::from_millis(500);
    while let Some(f) = on_a.next_within(quiet_until - Instant::now()).await {
        assert_not_offline(&f);
    }
}

/// An alert rule created through hub B is evaluated by hub A, which holds the machine:
/// the alert fires once, and its `alert` frame reaches the owner's browser on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rule_made_on_one_hub_fires_once_on_the_holder() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let (a, b) = pair(TestHub::builder(&db).nats(&url).start(), &db, &url).await;
    let m = Client::admin(&a).await.create_machine("hot").await;
    let id = m.machine.id;
    let mut agent = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut agent).await;
    let base = now_ms();
    agent.send(&AgentFrame::Sample(sample(1, base))).await;
    agent.wait_ack(1).await;
    let mut on_b = TestBrowser::connect(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    on_b.subscribe(Some(vec![id])).await;
    assert!(matches!(on_b.next().await, LiveFrame::Snapshot { .. }));

    let admin_b = Client::admin(&b).await;
    let rule = json!({"name": "cpu high", "machine_ids": [id], "metric": "cpu_pct",
                      "comparator": "gt", "threshold": 90});
    let (status, body) = admin_b
        .call(Method::POST, "/api/alert-rules", Some(rule))
        .await;
    assert!(status.is_success(), "{body}");
    // A learns of the rule through the cluster; the agent keeps reporting a hot CPU
    // until the alert's frame reaches the browser on B.
    let mut fired = None;
    for seq in 2..=100 {
        let hot = lunasentri_schema::Sample {
            cpu_pct: 95.0,
            ..sample(seq, base + seq as i64)
        };
        agent.send(&AgentFrame::Sample(hot)).await;
        agent.wait_ack(seq).await;
        while let Some(f) = on_b.next_within(Duration::from_millis(50)).await {
            if let LiveFrame::Alert { event } = f {
                fired = Some(event);
            }
        }
        if fired.is_some() {
            break;
        }
    }
    let event = fired.expect("an alert frame reached hub B");
    assert_eq!(event.machine_id, id);
    let (_, events) = admin_b.call(Method::GET, "/api/alert-events", None).await;
    assert_eq!(
        events.as_array().map(Vec::len),
        Some(1),
        "fired exactly once: {events}"
    );
}

/// A hub that dies together with its machine: once the machine has been silent for the
/// hold window, another hub marks it offline, its browsers see that, and an `offline`
/// rule fires exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_of_a_vanished_hub_goes_offline_elsewhere() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let a = TestHub::builder(&db).nats(&url).start();
    let b = TestHub::builder(&db).nats(&url).start();
    for hub in [&a, &b] {
        wait_metric(hub, "lunasentri_cluster_connected", 1).await;
    }
    let admin_a = Client::admin(&a).await;
    let m = admin_a.create_machine("doomed").await;
    let id = m.machine.id;
    let rule = json!({"name": "down", "metric": "offline", "machine_ids": [id]});
    let (status, body) = admin_a
        .call(Method::POST, "/api/alert-rules", Some(rule))
        .await;
    assert!(status.is_success(), "{body}");
    let mut on_b = TestBrowser::connect(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    on_b.subscribe(Some(vec![id])).await;
    assert!(matches!(on_b.next().await, LiveFrame::Snapshot { .. }));
    let mut agent = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut agent).await;
    agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    agent.wait_ack(1).await;
    on_b.until(|f| {
        matches!(
            f,
            LiveFrame::Status {
                status: MachineStatus::Online,
                ..
            }
        )
    })
    .await;
    drop(agent);
    a.stop();

    let admin_b = Client::admin(&b).await;
    let path = format!("/api/machines/{id}");
    let (_, machine) = admin_b.call(Method::GET, &path, None).await;
    assert_eq!(
        machine["status"], "online",
        "nobody has declared it offline yet"
    );
    // Two minutes of silence, as the database sees it.
    let (pool, _) = lunasentri_hub::db::connect(&db.url, 1).expect("database");
    let mut conn = pool.get().expect("connection");
    diesel::sql_query(format!(
        "UPDATE machines SET last_seen = last_seen - 121000 WHERE id = {id}"
    ))
    .execute(&mut *conn)
    .expect("rewind last_seen");
    on_b.until(|f| {
        matches!(
            f,
            LiveFrame::Status {
                status: MachineStatus::Offline,
                ..
            }
        )
    })
    .await;
    let (_, machine) = admin_b.call(Method::GET, &path, None).await;
    assert_eq!(machine["status"], "offline");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, events) = admin_b
            .call(Method::GET, "/api/alert-events?state=firing", None)
            .await;
        if let Some(list) = events.as_array().filter(|l| !l.is_empty()) {
            assert_eq!(list.len(), 1, "{events}");
            assert_eq!(list[0]["rule_name"], "down");
            assert_eq!(list[0]["machine_id"], id);
            break;
        }
        assert!(Instant::now() < deadline, "the offline alert never fired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A user deleted through hub A loses her live socket on hub B at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_removed_on_one_hub_ends_her_socket_on_another() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let (a, b) = pair(TestHub::builder(&db).nats(&url).start(), &db, &url).await;
    let admin = Client::admin(&a).await;
    let (_, alice) = Client::new_user(&a, &admin, "alice@example.com").await;
    let mut on_b = TestBrowser::connect(&b, "alice@example.com", PASSWORD).await;
    on_b.subscribe(None).await;
    assert!(matches!(on_b.next().await, LiveFrame::Snapshot { .. }));
    let (status, _) = admin
        .call(Method::DELETE, &format!("/api/users/{}", alice.id), None)
        .await;
    assert!(status.is_success());
    loop {
        match tokio::time::timeout(PATIENCE, on_b.ws.next())
            .await
            .expect("B closed the socket in time")
        {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(4401));
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// A key rotated through hub B cuts off the agent connected to hub A at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotated_on_one_hub_cuts_the_agent_on_another() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let (a, b) = pair(TestHub::builder(&db).nats(&url).start(), &db, &url).await;
    let m = Client::admin(&a).await.create_machine("rotated").await;
    let mut agent = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut agent).await;
    agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    agent.wait_ack(1).await;
    let path = format!("/api/machines/{}/rotate-key", m.machine.id);
    let (status, _) = Client::admin(&b)
        .await
        .call(Method::POST, &path, None)
        .await;
    assert!(status.is_success());
    let (_, code) = agent.expect_error_and_close().await;
    assert_eq!(code, Some(close::KEY_REVOKED));
}

/// A hub starting while another holds a machine shows it online and leaves it online
/// in storage: only machines nobody has seen for a while are reset at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_joining_later_keeps_machines_held_elsewhere_online() {
    let (Some(db), Some(url)) = (TestDb::postgres(), shared_url()) else {
        return;
    };
    let a = TestHub::builder(&db).nats(&url).start();
    wait_metric(&a, "lunasentri_cluster_connected", 1).await;
    let m = Client::admin(&a).await.create_machine("steady").await;
    let mut agent = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut agent).await;
    agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    agent.wait_ack(1).await;
    let path = format!("/api/machines/{}", m.machine.id);
    let admin = Client::admin(&a).await;
    let deadline = Instant::now() + PATIENCE;
    while admin.call(Method::GET, &path, None).await.1["status"] != "online" {
        assert!(Instant::now() < deadline, "status never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (_a, b) = pair(a, &db, &url).await;
    let mut on_b = TestBrowser::connect(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    on_b.subscribe(Some(vec![m.machine.id])).await;
    let LiveFrame::Snapshot { machines } = on_b.next().await else {
        panic!("snapshot first")
    };
    assert_eq!(machines[0].status, MachineStatus::Online);
    let (_, stored) = admin.call(Method::GET, &path, None).await;
    assert_eq!(stored["status"], "online", "B's start did not reset it");
}

/// A hub whose NATS server is unreachable from the start still starts and serves its
/// own agents and browsers; nothing waits for NATS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_without_reachable_nats_serves_locally() {
    let db = TestDb::sqlite();
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let hub = TestHub::builder(&db)
        .nats(&format!("nats://{nowhere}"))
        .start();
    let m = Client::admin(&hub).await.create_machine("alone").await;
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.subscribe(Some(vec![m.machine.id])).await;
    assert!(matches!(browser.next().await, LiveFrame::Snapshot { .. }));
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    hello(&mut agent).await;
    agent.send(&AgentFrame::Sample(sample(1, now_ms()))).await;
    agent.wait_ack(1).await;
    expect_status_and_sample(&mut browser, MachineStatus::Online, 1).await;
    wait_metric(&hub, "lunasentri_cluster_connected", 0).await;
}

/// NATS going away and coming back: meanwhile each hub serves its own agents and
/// browsers; afterwards live frames cross between the hubs again, and a machine created
/// through A while B was cut off appears on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restart_is_survived() {
    let (Some(db), Some(mut nats)) = (TestDb::postgres(), RestartableNats::new()) else {
        return;
    };
    let url = nats.url();
    let (a, b) = pair(TestHub::builder(&db).nats(&url).start(), &db, &url).await;
    let admin = Client::admin(&a).await;
    let m = admin.create_machine("weathered").await;
    let id = m.machine.id;
    let mut on_a = TestBrowser::connect(&a, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut on_b = TestBrowser::connect(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    on_a.subscribe(Some(vec![id])).await;
    on_b.subscribe(None).await;
    for browser in [&mut on_a, &mut on_b] {
        assert!(matches!(browser.next().await, LiveFrame::Snapshot { .. }));
    }
    wait_metric(&b, "lunasentri_cluster_subscriptions", 1).await;
    let mut agent = TestAgent::connect(&a, &m.api_key).await;
    hello(&mut agent).await;
    let base = now_ms();
    agent.send(&AgentFrame::Sample(sample(1, base))).await;
    expect_status_and_sample(&mut on_b, MachineStatus::Online, 1).await;

    nats.stop();
    for hub in [&a, &b] {
        wait_metric(hub, "lunasentri_cluster_connected", 0).await;
    }
    agent.send(&AgentFrame::Sample(sample(2, base + 2))).await;
    agent.wait_ack(2).await;
    assert_eq!(
        sample_from(&mut on_a, 2).await,
        2,
        "A serves its browsers alone"
    );
    let born_apart = admin.create_machine("born-apart").await.machine.id;

    nats.start();
    for hub in [&a, &b] {
        wait_metric(hub, "lunasentri_cluster_connected", 1).await;
    }
    on_b.until(|f| {
        matches!(f, LiveFrame::Snapshot { machines } if machines.iter().any(|m| m.machine_id == born_apart))
    })
    .await;
    // B re-subscribes on its own; the agent keeps sampling until a fresh sample crosses.
    for seq in 3..=100 {
        agent
            .send(&AgentFrame::Sample(sample(seq, base + seq as i64)))
            .await;
        agent.wait_ack(seq).await;
        if let Some(LiveFrame::Sample { sample, .. }) =
            on_b.next_within(Duration::from_millis(100)).await
            && sample.seq >= 3
        {
            return;
        }
    }
    panic!("no sample reached hub B after NATS came back");
}
