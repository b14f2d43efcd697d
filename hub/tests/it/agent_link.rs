//! The agent link: handshake checks, acks after commit, idempotent replay, the HTTP
//! fallback, and every kind of bad input.

use futures_util::SinkExt;
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_schema::protocol::close;
use lunasentri_schema::{AgentFrame, LiveFrame, Sample};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Client, TestAgent, TestBrowser, Via, metrics_text, now_ms, sample};

/// Bad keys are 401 and a missing or unknown protocol version is 400 naming the header,
/// all before the upgrade.
async fn handshake_is_checked(db: &TestDb) {
    let hub = TestHub::start(db);
    let m = Client::admin(&hub).await.create_machine("hs").await;
    let (status, _) = TestAgent::try_connect(&hub, "lsk_wrong", "1")
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 401);
    let (status, body) = TestAgent::try_connect(&hub, &m.api_key, "2")
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 400);
    assert!(body.contains("X-LunaSentri-Protocol"), "{body}");
    assert!(TestAgent::try_connect(&hub, &m.api_key, "1").await.is_ok());
}

/// Most agent sockets are taken over before actix-http (`lunasentri_hub::server`); an
/// upgrade that is not a connection's first request is served by actix-web's handler.
/// Both check the handshake alike, acknowledge and stream samples, and refuse bad frames.
async fn both_socket_paths_behave_alike(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let t0 = now_ms() - 10_000;
    for via in [Via::FirstRequest, Via::KeptAlive] {
        let m = admin.create_machine(&format!("{via:?}")).await;
        let refused = |r: Result<TestAgent, (u16, String)>| r.err().map(|(status, _)| status);
        let wrong_key = TestAgent::try_connect_via(&hub, "lsk_wrong", "1", via).await;
        assert_eq!(refused(wrong_key), Some(401), "{via:?}");
        let wrong_protocol = TestAgent::try_connect_via(&hub, &m.api_key, "2", via).await;
        assert_eq!(refused(wrong_protocol), Some(400), "{via:?}");

        browser.subscribe(Some(vec![m.machine.id])).await;
        let mut agent = TestAgent::try_connect_via(&hub, &m.api_key, "1", via)
            .await
            .expect("agent connects");
        agent.send(&AgentFrame::Sample(sample(7, t0))).await;
        agent.wait_ack(7).await;
        let id = m.machine.id;
        browser
            .until(|f| matches!(f, LiveFrame::Sample { machine_id, .. } if *machine_id == id))
            .await;
        assert_eq!(db.count_metrics(id), 1, "{via:?}");
        agent.send_raw(Message::binary(vec![1, 2, 3])).await;
        assert_eq!(
            agent.expect_error_and_close().await,
            ("binary_frame".into(), Some(close::BAD_FRAME)),
            "{via:?}"
        );
    }
}

/// A batch sent twice is stored once, and each send is acknowledged.
async fn replay_is_idempotent(db: &TestDb) {
    let hub = TestHub::start(db);
    let m = Client::admin(&hub).await.create_machine("replay").await;
    let t0 = now_ms() - 60_000;
    let batch: Vec<Sample> = (1..=50).map(|i| sample(i, t0 + i as i64 * 1000)).collect();
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent
        .send(&AgentFrame::Batch {
            samples: batch.clone(),
        })
        .await;
    agent.wait_ack(50).await;
    drop(agent);
    let mut again = TestAgent::connect(&hub, &m.api_key).await;
    again.send(&AgentFrame::Batch { samples: batch }).await;
    again.wait_ack(50).await;
    assert_eq!(db.count_metrics(m.machine.id), 50);
    let metrics = metrics_text(&hub).await;
    assert!(
        metrics.contains("lunasentri_samples_duplicate_total 50"),
        "{metrics}"
    );
}

/// What the agent is told when it sends something wrong, and the close code that follows.
async fn bad_frame(hub: &TestHub, key: &str, msg: Message) -> (String, Option<u16>) {
    let mut agent = TestAgent::connect(hub, key).await;
    agent.send_raw(msg).await;
    agent.expect_error_and_close().await
}

fn text(v: Value) -> Message {
    Message::text(v.to_string())
}

fn sample_json(ts: i64) -> Value {
    serde_json::to_value(AgentFrame::Sample(sample(1, ts))).unwrap()
}

/// Every bad input gets an error frame naming the problem and a clear close code; the
/// hub keeps serving and nothing stored is lost.
async fn bad_input_is_refused(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| c.limits.agent_frames_per_second = 5)
        .start();
    let m = Client::admin(&hub).await.create_machine("victim").await;
    let mut good = TestAgent::connect(&hub, &m.api_key).await;
    good.send(&AgentFrame::Batch {
        samples: (1..=5)
            .map(|i| sample(i, now_ms() - 10_000 + i as i64))
            .collect(),
    })
    .await;
    good.wait_ack(5).await;
    drop(good);

    let now = now_ms();
    let with = |f: &str, v: Value| {
        let mut s = sample_json(now);
        s[f] = v;
        text(s)
    };
    let huge_top: Vec<Value> = (0..2000)
        .map(|i| json!({"pid": i, "name": "x".repeat(40), "cpu_pct": 0.0, "mem_bytes": 0}))
        .collect();
    let mut too_big = sample_json(now);
    too_big["top"] = Value::Array(huge_top);
    let cases: Vec<(&str, Message, &str, u16)> = vec![
        (
            "malformed JSON",
            Message::text("{not json"),
            "malformed_frame",
            close::BAD_FRAME,
        ),
        (
            "unknown type",
            text(json!({"type": "launch_missiles"})),
            "malformed_frame",
            close::BAD_FRAME,
        ),
        (
            "wrong type",
            with("cpu_pct", json!("high")),
            "malformed_frame",
            close::BAD_FRAME,
        ),
        (
            "NaN literal",
            Message::text(r#"{"type":"sample","seq":1,"ts":1,"cpu_pct":NaN}"#),
            "malformed_frame",
            close::BAD_FRAME,
        ),
        (
            "negative percentage",
            with("mem_used_pct", json!(-3.0)),
            "invalid_sample",
            close::BAD_FRAME,
        ),
        (
            "percentage over 100",
            with("cpu_pct", json!(180.0)),
            "invalid_sample",
            close::BAD_FRAME,
        ),
        (
            "ts in the future",
            with("ts", json!(now + 10 * 60_000)),
            "invalid_sample",
            close::BAD_FRAME,
        ),
        (
            "ts absurdly old",
            with("ts", json!(1_000)),
            "invalid_sample",
            close::BAD_FRAME,
        ),
        (
            "frame over 64 KiB",
            text(too_big),
            "frame_too_large",
            close::BAD_FRAME,
        ),
        (
            "binary frame",
            Message::binary(vec![1u8, 2, 3]),
            "binary_frame",
            close::BAD_FRAME,
        ),
    ];
    for (what, msg, code, close_code) in cases {
        let (got, closed) = bad_frame(&hub, &m.api_key, msg).await;
        assert_eq!((got.as_str(), closed), (code, Some(close_code)), "{what}");
    }
    // A batch over 3600 samples (minimal samples keep it under the 1 MiB frame limit).
    let minimal = |i: u64| json!({"seq": i, "ts": now, "cpu_pct": 0, "mem_used_pct": 0, "disk_used_pct": 0, "net_rx_bytes": 0, "net_tx_bytes": 0});
    let many = json!({"type": "batch", "samples": (1..=3601).map(minimal).collect::<Vec<_>>()});
    assert_eq!(
        bad_frame(&hub, &m.api_key, text(many)).await,
        ("batch_too_large".into(), Some(close::BAD_FRAME))
    );
    // A frame over 1 MiB.
    let mut huge = json!({"type": "batch", "samples": []});
    huge["padding"] = json!("x".repeat(1024 * 1024 + 10));
    assert_eq!(
        bad_frame(&hub, &m.api_key, text(huge)).await,
        ("frame_too_large".into(), Some(close::BAD_FRAME))
    );
    // A flood.
    let mut flood = TestAgent::connect(&hub, &m.api_key).await;
    for i in 0..50 {
        if flood
            .ws
            .send(text(
                serde_json::to_value(AgentFrame::Sample(sample(100 + i, now + i as i64))).unwrap(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, closed) = flood.expect_error_and_close().await;
    assert_eq!(
        (code.as_str(), closed),
        ("rate_limited", Some(close::RATE_LIMITED))
    );
    // Still serving, nothing lost.
    let mut after = TestAgent::connect(&hub, &m.api_key).await;
    after
        .send(&AgentFrame::Sample(sample(1000, now_ms() + 1000)))
        .await;
    after.wait_ack(1000).await;
    assert!(db.count_metrics(m.machine.id) >= 6);
    assert_eq!(
        reqwest::get(hub.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

/// The HTTP fallback stores samples, reaches live browsers, and refuses bad bodies naming
/// the problem.
async fn http_fallback(db: &TestDb) {
    let hub = TestHub::start(db);
    let m = Client::admin(&hub).await.create_machine("http-only").await;
    let mut browser = TestBrowser::connect(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.subscribe(Some(vec![m.machine.id])).await;
    let post = |body: String| {
        let url = hub.url("/agent/metrics");
        let key = m.api_key.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let one = serde_json::to_string(&sample(1, now_ms())).unwrap();
    let (s, body) = post(one).await;
    assert_eq!(
        (s, body["accepted"].as_u64()),
        (StatusCode::ACCEPTED, Some(1))
    );
    let f = browser
        .until(|f| matches!(f, LiveFrame::Sample { .. }))
        .await;
    assert!(matches!(f, LiveFrame::Sample { machine_id, .. } if machine_id == m.machine.id));
    let batch =
        json!({"samples": (2..=4).map(|i| sample(i, now_ms() + i as i64)).collect::<Vec<_>>()});
    assert_eq!(post(batch.to_string()).await.0, StatusCode::ACCEPTED);
    assert_eq!(db.count_metrics(m.machine.id), 4);

    let (s, body) = post("{oops".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("JSON"),
        "{body}"
    );
    let mut bad = serde_json::to_value(sample(9, now_ms())).unwrap();
    bad["disk_used_pct"] = json!(-1);
    let (s, body) = post(bad.to_string()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disk_used_pct"),
        "{body}"
    );
    let (s, body) = post(json!({"samples": []}).to_string()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _) = post("x".repeat(2 * 1024 * 1024)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        db.count_metrics(m.machine.id),
        4,
        "nothing stored by bad requests"
    );
}

/// History comes back bucketed with avg/min/max, and `latest` returns the newest sample.
async fn history_and_latest(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("hist").await;
    let t0 = now_ms() - 120_000;
    let samples: Vec<Sample> = (0..120)
        .map(|i| Sample {
            cpu_pct: (i % 10) as f64 * 10.0,
            ..sample(i + 1, t0 + i as i64 * 1000)
        })
        .collect();
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent.send(&AgentFrame::Batch { samples }).await;
    agent.wait_ack(120).await;
    let path = format!(
        "/api/machines/{}/metrics?from={t0}&to={}&points=12&metrics=cpu_pct",
        m.machine.id,
        t0 + 120_000
    );
    let (s, body) = admin.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ts = body["ts"].as_array().unwrap();
    assert_eq!(ts.len(), 12);
    let band = &body["series"]["cpu_pct"];
    assert_eq!(band["avg"][0], json!(45.0));
    assert_eq!(band["min"][0], json!(0.0));
    assert_eq!(band["max"][0], json!(90.0));
    assert!(body["series"].get("mem_used_pct").is_none());
    let (_, latest) = admin
        .call(
            reqwest::Method::GET,
            &format!("/api/machines/{}/latest", m.machine.id),
            None,
        )
        .await;
    assert_eq!(latest["sample"]["seq"], 120);
    let (s, body) = admin
        .call(
            reqwest::Method::GET,
            &format!("/api/machines/{}/metrics?points=0", m.machine.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("points")
    );
}

/// A full writer queue is never silent loss: the agent is closed with 1013 instead of
/// being acknowledged, the refusal is counted, and its replay is stored.
async fn writer_backpressure_is_visible(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| {
            c.writer.queue = 4;
            c.limits.agent_frames_per_second = 1000;
        })
        .start();
    let m = Client::admin(&hub).await.create_machine("pressed").await;
    hub.writer_paused
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let t0 = now_ms() - 60_000;
    let samples: Vec<Sample> = (1..=20).map(|i| sample(i, t0 + i as i64 * 1000)).collect();
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    for s in &samples {
        if agent
            .ws
            .send(Message::text(
                serde_json::to_string(&AgentFrame::Sample(s.clone())).unwrap(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut acked = 0;
    let close = loop {
        match agent.next().await {
            Ok(lunasentri_schema::HubFrame::Ack { seq }) => acked = seq,
            Ok(_) => {}
            Err(code) => break code,
        }
    };
    assert_eq!(
        close,
        Some(1013),
        "a full writer queue closes the agent with 1013 (try again later)"
    );
    assert_eq!(
        acked, 0,
        "nothing is acknowledged while nothing is committed"
    );
    hub.writer_paused
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let metrics = metrics_text(&hub).await;
    assert!(metrics.contains("reason=\"writer_full\""), "{metrics}");
    // Once the writer has caught up, the agent replays everything it has not seen
    // acknowledged; all 20 end up stored once.
    let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let m = metrics_text(&hub).await;
            if m.lines().any(|l| l == "lunasentri_writer_queue_depth 0") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(drained.is_ok(), "the writer drains its queue once resumed");
    let unacked: Vec<Sample> = samples.iter().filter(|s| s.seq > acked).cloned().collect();
    let mut again = TestAgent::connect(&hub, &m.api_key).await;
    again.send(&AgentFrame::Batch { samples: unacked }).await;
    again.wait_ack(20).await;
    assert_eq!(db.count_metrics(m.machine.id), 20);
}

crate::on_both_backends!(
    handshake_is_checked,
    both_socket_paths_behave_alike,
    replay_is_idempotent,
    bad_input_is_refused,
    http_fallback,
    history_and_latest,
    writer_backpressure_is_visible,
);
