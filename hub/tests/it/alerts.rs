//! Alerts end to end: rules evaluated on live samples, events and `alert` frames, real
//! deliveries to local receivers (webhook with signature, Slack, Discord, ntfy, SMTP),
//! offline alerts, restart, repeat and acknowledgement, isolation and bad input.

use std::time::Duration;

use hmac::{Hmac, Mac};
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_schema::alert::{AlertEvent, AlertRule, AlertState, Channel};
use lunasentri_schema::{AgentFrame, Hello, LiveFrame, Sample};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Client, PATIENCE, TestAgent, TestBrowser, now_ms};
use crate::receivers::{HttpSink, SmtpSink};

fn hub(db: &TestDb, manual_clock: bool) -> TestHub {
    let b = TestHub::builder(db).config(|c| {
        c.notifications.attempts = 2;
        c.notifications.backoff = Duration::from_millis(20);
        c.notifications.timeout = Duration::from_secs(3);
    });
    if manual_clock {
        b.manual_clock().start()
    } else {
        b.start()
    }
}

fn cpu(seq: u64, ts: i64, v: f64) -> Sample {
    Sample {
        seq,
        ts,
        cpu_pct: v,
        ..Sample::default()
    }
}

async fn create<T: serde::de::DeserializeOwned>(c: &Client, path: &str, body: Value) -> T {
    let (s, b) = c.call(Method::POST, path, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{path}: {b}");
    serde_json::from_value(b).expect("created resource")
}

async fn events(c: &Client, query: &str) -> Vec<AlertEvent> {
    let (s, b) = c
        .call(Method::GET, &format!("/api/alert-events{query}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    serde_json::from_value(b).expect("events")
}

/// Polls the event list until `done` holds.
async fn wait_events(
    c: &Client,
    query: &str,
    done: impl Fn(&[AlertEvent]) -> bool,
) -> Vec<AlertEvent> {
    let start = std::time::Instant::now();
    loop {
        let e = events(c, query).await;
        if done(&e) {
            return e;
        }
        assert!(start.elapsed() < PATIENCE, "events never matched: {e:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn alert_frame(b: &mut TestBrowser) -> AlertEvent {
    alert_frame_where(b, |_| true).await
}

/// The next `alert` frame whose event matches.
async fn alert_frame_where(b: &mut TestBrowser, pred: impl Fn(&AlertEvent) -> bool) -> AlertEvent {
    match b
        .until(|f| matches!(f, LiveFrame::Alert { event } if pred(event)))
        .await
    {
        LiveFrame::Alert { event } => *event,
        _ => unreachable!(),
    }
}

/// No `alert` frame arrives within `wait`.
async fn no_alert_frame(b: &mut TestBrowser, wait: Duration) {
    while let Some(f) = b.next_within(wait).await {
        assert!(
            !matches!(f, LiveFrame::Alert { .. }),
            "unexpected alert frame {f:?}"
        );
    }
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A value crossing the threshold fires once (hysteresis holds it through values
/// between the thresholds), the owner's dashboard gets `alert` frames, the signed
/// webhook receives firing and resolved; another user sees nothing of it.
async fn fire_notify_resolve(db: &TestDb) {
    let hub = hub(db, false);
    let admin = Client::admin(&hub).await;
    let (alice, _) = Client::new_user(&hub, &admin, "alice@example.com").await;
    let (bob, _) = Client::new_user(&hub, &admin, "bob@example.com").await;
    let m = alice.create_machine("web-1").await;
    let mut sink = HttpSink::start().await;
    let (s, body) = alice
        .call(
            Method::POST,
            "/api/channels",
            Some(json!({"name": "ops hook", "config": {"kind": "webhook",
                "url": format!("{}/hook?token=hidden-token", sink.base), "secret": "s3cret-value"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("s3cret-value") && !text.contains("hidden-token"),
        "{text}"
    );
    let ch: Channel = serde_json::from_value(body).unwrap();
    let rule: AlertRule = create(
        &alice,
        "/api/alert-rules",
        json!({"name": "cpu high", "machine_ids": [m.machine.id], "metric": "cpu_pct",
               "comparator": "gt", "threshold": 90, "clear_threshold": 80,
               "severity": "critical", "channel_ids": [ch.id]}),
    )
    .await;
    assert_eq!(rule.clear_threshold, 80.0);

    let mut alice_live = TestBrowser::connect(&hub, "alice@example.com", "user-password-1").await;
    alice_live.subscribe(None).await;
    let mut bob_live = TestBrowser::connect(&hub, "bob@example.com", "user-password-1").await;
    bob_live.subscribe(None).await;
    let mut admin_live = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    admin_live.subscribe(Some(vec![m.machine.id])).await;

    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    let t0 = now_ms();
    for (i, v) in [50.0, 95.0].into_iter().enumerate() {
        agent
            .send(&AgentFrame::Sample(cpu(i as u64 + 1, t0 + i as i64, v)))
            .await;
    }
    let fired = alert_frame(&mut alice_live).await;
    assert_eq!(fired.state, AlertState::Firing);
    assert_eq!(fired.value, Some(95.0));
    assert_eq!(fired.rule_id, Some(rule.id));

    let hook = sink.next().await;
    assert_eq!(hook.path, "/hook?token=hidden-token");
    assert_eq!(
        hook.headers.get("x-lunasentri-signature"),
        Some(&signature("s3cret-value", &hook.body)),
        "HMAC-SHA256 of the exact body"
    );
    let sent = alert_frame_where(&mut alice_live, |e| {
        e.deliveries.first().is_some_and(|d| d.status == "sent")
    })
    .await;
    assert_eq!(sent.id, fired.id, "the delivery outcome is pushed live");
    let j = hook.json();
    assert_eq!(j["reason"], "firing");
    assert_eq!(j["machine"]["name"], "web-1");
    assert_eq!(j["event"]["rule_name"], "cpu high");
    assert_eq!(j["title"], "[FIRING] cpu high on web-1");

    // Between the thresholds: no flapping, no new alert.
    for (i, v) in [85.0, 91.0, 82.0].into_iter().enumerate() {
        agent
            .send(&AgentFrame::Sample(cpu(i as u64 + 3, t0 + 2 + i as i64, v)))
            .await;
    }
    agent.send(&AgentFrame::Sample(cpu(6, t0 + 5, 70.0))).await;
    let resolved = alert_frame_where(&mut alice_live, |e| e.state == AlertState::Resolved).await;
    assert_eq!(resolved.id, fired.id);
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.value, Some(95.0), "the value that fired it");
    assert_eq!(resolved.resolved_value, Some(70.0));
    let hook = sink.next().await;
    assert_eq!(hook.json()["reason"], "resolved");
    assert!(sink.next_within(Duration::from_millis(300)).await.is_none());

    let all = wait_events(&alice, "", |e| {
        e.len() == 1 && e[0].deliveries.iter().all(|d| d.status == "sent")
    })
    .await;
    assert_eq!(all[0].deliveries.len(), 2, "{all:?}");
    assert!(events(&alice, "?state=firing").await.is_empty());
    assert_eq!(events(&alice, "?state=resolved").await.len(), 1);
    let path = format!("/api/alert-events?machine_id={}", m.machine.id);
    assert_eq!(alice.call(Method::GET, &path, None).await.0, StatusCode::OK);

    // Bob: nothing of it, in any way.
    no_alert_frame(&mut bob_live, Duration::from_millis(300)).await;
    no_alert_frame(&mut admin_live, Duration::from_millis(100)).await;
    assert!(events(&bob, "").await.is_empty());
    let one = format!("/api/alert-events/{}", fired.id);
    assert_eq!(
        bob.call(Method::GET, &one, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.call(Method::POST, &format!("{one}/ack"), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.call(Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    let r = format!("/api/alert-rules/{}", rule.id);
    assert_eq!(
        bob.call(Method::GET, &r, None).await.0,
        StatusCode::NOT_FOUND
    );
    let c = format!("/api/channels/{}/test", ch.id);
    assert_eq!(
        bob.call(Method::POST, &c, None).await.0,
        StatusCode::NOT_FOUND
    );
    // The admin reads everyone's alerts when asking for them.
    assert_eq!(events(&admin, "?all=true").await.len(), 1);
    assert!(events(&admin, "").await.is_empty());
}

/// A rule for "all my machines" covers a machine added later and never another user's;
/// an admin may point a rule at any machine, and its alerts are the admin's alone.
async fn rule_scopes(db: &TestDb) {
    let hub = hub(db, false);
    let admin = Client::admin(&hub).await;
    let (alice, _) = Client::new_user(&hub, &admin, "alice@example.com").await;
    let (bob, _) = Client::new_user(&hub, &admin, "bob@example.com").await;
    let all = json!({"name": "any cpu", "metric": "cpu_pct", "comparator": "gt", "threshold": 10});
    let _: AlertRule = create(&bob, "/api/alert-rules", all.clone()).await;
    let _: AlertRule = create(&alice, "/api/alert-rules", all).await;
    let m = alice.create_machine("added-after-the-rule").await;
    let (s, b) = bob
        .call(
            Method::POST,
            "/api/alert-rules",
            Some(json!({"name": "x", "metric": "cpu_pct", "comparator": "gt",
                        "threshold": 10, "machine_ids": [m.machine.id]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.to_string().contains("machine_ids"), "{b}");
    let admin_rule: AlertRule = create(
        &admin,
        "/api/alert-rules",
        json!({"name": "watching alice", "metric": "cpu_pct", "comparator": "gt",
               "threshold": 10, "machine_ids": [m.machine.id]}),
    )
    .await;
    let mut alice_live = TestBrowser::connect(&hub, "alice@example.com", "user-password-1").await;
    alice_live.subscribe(None).await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent
        .send(&AgentFrame::Sample(cpu(1, now_ms(), 50.0)))
        .await;
    let mine = alert_frame(&mut alice_live).await;
    assert_eq!(mine.rule_name, "any cpu");
    let theirs = wait_events(&admin, "", |e| !e.is_empty()).await;
    assert_eq!(theirs[0].rule_id, Some(admin_rule.id));
    assert_eq!(theirs[0].machine_id, m.machine.id);
    no_alert_frame(&mut alice_live, Duration::from_millis(300)).await;
    assert_eq!(events(&alice, "").await.len(), 1, "only alice's own rule");
    assert!(events(&bob, "").await.is_empty(), "bob's rule never saw it");
    // Deleting a rule closes its open alert, and the dashboard hears of it.
    let rule_id = mine.rule_id.unwrap();
    let (s, _) = alice
        .call(Method::DELETE, &format!("/api/alert-rules/{rule_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let closed = alert_frame(&mut alice_live).await;
    assert_eq!((closed.id, closed.state), (mine.id, AlertState::Resolved));
}

/// `offline` fires after the grace when the agent goes away and resolves when it is
/// back; after a hub restart, an open alert is not fired again, and a machine that
/// never comes back is reported down.
async fn offline_and_restart(db: &TestDb) {
    let hub1 = hub(db, true);
    let alice = Client::admin(&hub1).await;
    let m = alice.create_machine("flaky").await;
    let rule: AlertRule = create(
        &alice,
        "/api/alert-rules",
        json!({"name": "down", "metric": "offline", "machine_ids": [m.machine.id]}),
    )
    .await;
    let _: AlertRule = create(
        &alice,
        "/api/alert-rules",
        json!({"name": "hot", "metric": "cpu_pct", "comparator": "ge", "threshold": 90}),
    )
    .await;
    let mut agent = TestAgent::connect(&hub1, &m.api_key).await;
    agent
        .send(&AgentFrame::Hello(Hello {
            interval_ms: 1000,
            ..Hello::default()
        }))
        .await;
    agent
        .send(&AgentFrame::Sample(cpu(1, hub1.clock.now_ms(), 95.0)))
        .await;
    agent.wait_ack(1).await;
    let hot = wait_events(&alice, "?state=firing", |e| e.len() == 1).await;
    assert_eq!(hot[0].rule_name, "hot");
    drop(agent);
    hub1.clock.advance_ms(16_000);
    let down = wait_events(&alice, "?state=firing", |e| e.len() == 2).await;
    assert!(
        down.iter()
            .any(|e| e.rule_id == Some(rule.id) && e.value.is_none())
    );

    let mut agent = TestAgent::connect(&hub1, &m.api_key).await;
    agent
        .send(&AgentFrame::Sample(cpu(2, hub1.clock.now_ms(), 96.0)))
        .await;
    agent.wait_ack(2).await;
    let open = wait_events(&alice, "?state=firing", |e| e.len() == 1).await;
    assert_eq!(open[0].rule_name, "hot", "back online resolves 'down' only");
    drop(agent);
    hub1.stop();

    // Restart: the hot alert is still open and is not fired again.
    let hub2 = hub(db, true);
    let alice = Client::admin(&hub2).await;
    let mut agent = TestAgent::connect(&hub2, &m.api_key).await;
    agent
        .send(&AgentFrame::Hello(Hello {
            interval_ms: 1000,
            ..Hello::default()
        }))
        .await;
    agent
        .send(&AgentFrame::Sample(cpu(3, hub2.clock.now_ms(), 97.0)))
        .await;
    agent.wait_ack(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hot_events: Vec<_> = events(&alice, "")
        .await
        .into_iter()
        .filter(|e| e.rule_name == "hot")
        .collect();
    assert_eq!(hot_events.len(), 1, "no second 'hot' alert: {hot_events:?}");
    agent
        .send(&AgentFrame::Sample(cpu(4, hub2.clock.now_ms() + 1, 20.0)))
        .await;
    agent.wait_ack(4).await;
    wait_events(&alice, "?state=firing", |e| e.is_empty()).await;
    drop(agent);
    hub2.stop();

    // Restart while the machine is away for good: it is reported down after the grace.
    let hub3 = hub(db, true);
    let alice = Client::admin(&hub3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(events(&alice, "?state=firing").await.is_empty());
    hub3.clock.advance_ms(16_000);
    let down = wait_events(&alice, "?state=firing", |e| e.len() == 1).await;
    assert_eq!(down[0].rule_name, "down");
}

/// Repeats go out every repeat interval while firing; acknowledging stops them.
async fn repeat_and_acknowledge(db: &TestDb) {
    let hub = hub(db, true);
    let alice = Client::admin(&hub).await;
    let m = alice.create_machine("noisy").await;
    let mut sink = HttpSink::start().await;
    let ch: Channel = create(
        &alice,
        "/api/channels",
        json!({"name": "hook", "config": {"kind": "webhook", "url": format!("{}/h", sink.base)}}),
    )
    .await;
    let _: AlertRule = create(
        &alice,
        "/api/alert-rules",
        json!({"name": "load", "metric": "load1", "comparator": "gt", "threshold": 4,
               "repeat_s": 60, "channel_ids": [ch.id]}),
    )
    .await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    let mut s = cpu(1, hub.clock.now_ms(), 1.0);
    s.load1 = 8.0;
    agent.send(&AgentFrame::Sample(s)).await;
    assert_eq!(sink.next().await.json()["reason"], "firing");
    assert!(sink.next_within(Duration::from_millis(200)).await.is_none());
    hub.clock.advance_ms(61_000);
    let again = sink.next().await.json();
    assert_eq!(again["reason"], "repeat");
    assert_eq!(again["title"], "[STILL FIRING] load on noisy");
    let id = again["event"]["id"].as_i64().unwrap();
    let (st, acked) = alice
        .call(Method::POST, &format!("/api/alert-events/{id}/ack"), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{acked}");
    assert!(acked["acknowledged_at"].is_i64());
    hub.clock.advance_ms(61_000);
    assert!(
        sink.next_within(Duration::from_millis(500)).await.is_none(),
        "no repeat after acknowledgement"
    );
}

/// Slack, Discord, ntfy and SMTP receive their own formats through "send test"; a
/// failing receiver is reported, retried, recorded on the alert, and never blocks
/// ingestion.
async fn channel_kinds_and_failures(db: &TestDb) {
    let hub = hub(db, false);
    let alice = Client::admin(&hub).await;
    let mut sink = HttpSink::start().await;
    let mut smtp = SmtpSink::start().await;
    let test = |id: i64| format!("/api/channels/{id}/test");
    for (config, check) in [
        (
            json!({"kind": "slack", "url": format!("{}/services/T0/B0/x", sink.base)}),
            "slack",
        ),
        (
            json!({"kind": "discord", "url": format!("{}/api/webhooks/1/x", sink.base)}),
            "discord",
        ),
        (
            json!({"kind": "ntfy", "server": sink.base, "topic": "ops-alerts", "token": "tk_1"}),
            "ntfy",
        ),
    ] {
        let ch: Channel = create(
            &alice,
            "/api/channels",
            json!({"name": check, "config": config}),
        )
        .await;
        assert_eq!(ch.kind, check);
        let (s, r) = alice.call(Method::POST, &test(ch.id), None).await;
        assert_eq!((s, r["ok"].as_bool()), (StatusCode::OK, Some(true)), "{r}");
        let got = sink.next().await;
        match check {
            "slack" => assert!(got.json()["text"].as_str().unwrap().starts_with("[TEST]")),
            "discord" => assert!(
                got.json()["content"]
                    .as_str()
                    .unwrap()
                    .starts_with("[TEST]")
            ),
            _ => {
                assert_eq!(got.path, "/ops-alerts");
                assert_eq!(got.headers["authorization"], "Bearer tk_1");
                assert!(got.headers["title"].starts_with("[TEST]"));
                assert!(got.text().contains("cpu_pct"), "{}", got.text());
            }
        }
    }
    let mail: Channel = create(
        &alice,
        "/api/channels",
        json!({"name": "mail", "config": {"kind": "email", "host": "127.0.0.1", "port": smtp.port,
               "tls": "none", "from": "LunaSentri <hub@example.com>", "to": ["ops@example.com"]}}),
    )
    .await;
    assert_eq!(mail.target, "ops@example.com");
    let (s, r) = alice.call(Method::POST, &test(mail.id), None).await;
    assert_eq!((s, r["ok"].as_bool()), (StatusCode::OK, Some(true)), "{r}");
    let got = smtp.next().await;
    assert_eq!(got.to, vec!["<ops@example.com>"]);
    assert!(
        got.data.contains("Subject: [TEST] Test notification"),
        "{}",
        got.data
    );

    // A receiver answering 500: the test reports it, and a real alert records it.
    sink.status.store(500, std::sync::atomic::Ordering::Relaxed);
    let hook: Channel = create(
        &alice,
        "/api/channels",
        json!({"name": "broken", "config": {"kind": "webhook", "url": format!("{}/x", sink.base)}}),
    )
    .await;
    let (_, r) = alice.call(Method::POST, &test(hook.id), None).await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["attempts"], 2);
    assert!(r["error"].as_str().unwrap().contains("500"), "{r}");
    let _: AlertRule = create(
        &alice,
        "/api/alert-rules",
        json!({"name": "mem", "metric": "mem_used_pct", "comparator": "gt", "threshold": 50,
               "channel_ids": [hook.id]}),
    )
    .await;
    let m = alice.create_machine("box").await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    for seq in 1..=20u64 {
        let mut s = cpu(seq, now_ms() + seq as i64, 1.0);
        s.mem_used_pct = 70.0;
        agent.send(&AgentFrame::Sample(s)).await;
    }
    agent.wait_ack(20).await;
    let e = wait_events(&alice, "", |e| {
        e.len() == 1
            && e[0]
                .deliveries
                .first()
                .is_some_and(|d| d.status == "failed")
    })
    .await;
    let d = &e[0].deliveries[0];
    assert_eq!(d.attempts, 2);
    assert!(d.error.as_deref().unwrap().contains("500"), "{d:?}");
    assert_eq!(db.count_metrics(m.machine.id), 20, "ingestion went on");
}

/// Bad rule and channel bodies answer 400 naming the field; nothing is stored.
async fn bad_alert_input(db: &TestDb) {
    let hub = hub(db, false);
    let admin = Client::admin(&hub).await;
    let (alice, _) = Client::new_user(&hub, &admin, "alice@example.com").await;
    let others: Channel = create(
        &admin,
        "/api/channels",
        json!({"name": "mine", "config": {"kind": "slack", "url": "https://hooks.example.com/x"}}),
    )
    .await;
    let base = json!({"name": "r", "metric": "cpu_pct", "comparator": "gt", "threshold": 90});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("metric", json!("cpu")), "metric"),
        (with("metric", json!("disk_used_pct:")), "metric"),
        (with("threshold", json!(150)), "threshold"),
        (with("threshold", json!(-1)), "threshold"),
        (with("comparator", json!("above")), "comparator"),
        (with("clear_threshold", json!(95)), "clear_threshold"),
        (with("for_s", json!(90_000)), "for_s"),
        (with("repeat_s", json!(5)), "repeat_s"),
        (with("machine_ids", json!([])), "machine_ids"),
        (with("machine_ids", json!([999_999])), "machine_ids"),
        (with("channel_ids", json!([others.id])), "channel_ids"),
        (
            with("quiet_hours", json!({"start": "25:00", "end": "07:00"})),
            "quiet_hours",
        ),
        (with("severity", json!("apocalyptic")), "severity"),
        (with("name", json!("  ")), "name"),
        (with("extra", json!(1)), "extra"),
        (json!({"name": "r", "metric": "load1"}), "comparator"),
        (
            json!({"name": "r", "metric": "load1", "comparator": "lt"}),
            "threshold",
        ),
    ];
    for (body, field) in cases {
        let (s, b) = alice
            .call(Method::POST, "/api/alert-rules", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(field), "{body}: {msg:?} should name {field}");
    }
    let channel_cases = [
        (json!({"kind": "webhook", "url": "ftp://x"}), "config.url"),
        (json!({"kind": "slack", "url": "not a url"}), "config.url"),
        (json!({"kind": "ntfy", "topic": "a b"}), "config.topic"),
        (
            json!({"kind": "email", "host": "mail.example.com", "tls": "none",
                   "from": "a@example.com", "to": ["b@example.com"]}),
            "config.tls",
        ),
        (
            json!({"kind": "email", "host": "h", "from": "nope", "to": ["b@example.com"]}),
            "config.from",
        ),
        (
            json!({"kind": "email", "host": "h", "from": "a@example.com", "to": []}),
            "config.to",
        ),
        (json!({"kind": "pager", "url": "https://x"}), "config"),
    ];
    for (config, field) in channel_cases {
        let (s, b) = alice
            .call(
                Method::POST,
                "/api/channels",
                Some(json!({"name": "c", "config": config})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{config} -> {b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(field), "{config}: {msg:?} should name {field}");
    }
    for q in ["?state=maybe", "?limit=0", "?from=10&to=5", "?bogus=1"] {
        let (s, b) = alice
            .call(Method::GET, &format!("/api/alert-events{q}"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
    }
    let (_, rules) = alice.call(Method::GET, "/api/alert-rules", None).await;
    assert_eq!(rules, json!([]));
    let (_, chans) = alice.call(Method::GET, "/api/channels", None).await;
    assert_eq!(chans, json!([]));
}

crate::on_both_backends!(
    fire_notify_resolve,
    rule_scopes,
    offline_and_restart,
    repeat_and_acknowledge,
    channel_kinds_and_failures,
    bad_alert_input,
);
