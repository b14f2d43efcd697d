//! Storage across restarts and crashes, and secrets that must never be stored or logged.
//! The crash tests run the real `lunasentri-hub` binary so it can be killed outright.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use lunasentri_schema::{AgentFrame, HubFrame, Sample};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Client, TestAgent, now_ms, sample};

/// Users, machines, keys and samples survive a restart; migrations run again harmlessly.
async fn restart_keeps_data(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let (_, user) = Client::new_user(&hub, &admin, "keep@example.com").await;
    let m = admin.create_machine("persistent").await;
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent
        .send(&AgentFrame::Batch {
            samples: (1..=20)
                .map(|i| sample(i, now_ms() - 30_000 + i as i64))
                .collect(),
        })
        .await;
    agent.wait_ack(20).await;
    drop(agent);
    hub.stop();

    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let (_, users) = admin.call(Method::GET, "/api/users", None).await;
    assert!(users.as_array().unwrap().iter().any(|u| u["id"] == user.id));
    let (s, got) = admin
        .call(
            Method::GET,
            &format!("/api/machines/{}", m.machine.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["name"], "persistent");
    assert_eq!(
        got["status"], "offline",
        "no agent is connected right after a restart"
    );
    assert_eq!(db.count_metrics(m.machine.id), 20);
    let mut agent = TestAgent::connect(&hub, &m.api_key).await;
    agent.send(&AgentFrame::Sample(sample(21, now_ms()))).await;
    agent.wait_ack(21).await;
}

crate::on_both_backends!(restart_keeps_data);

/// A fast-flushing writer, as in production.
const FAST: &str = "writer:\n  flush_ms: 20\n";

/// The real hub binary on a SQLite file in `dir`, with its stderr captured.
struct HubProcess {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl HubProcess {
    fn start(dir: &std::path::Path, config_yaml: &str) -> Self {
        let config = dir.join("hub.yaml");
        std::fs::write(&config, config_yaml).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lunasentri-hub"))
            .args(["--bind", "127.0.0.1:0", "--log-level", "debug", "--config"])
            .arg(&config)
            .arg("--database-url")
            .arg(format!("sqlite://{}", dir.join("hub.db").display()))
            .env("LUNASENTRI_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("LUNASENTRI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("hub binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().to_owned());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("hub printed its address");
        Self { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON as `client` and returns the JSON answer.
    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let res = client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    /// SIGKILL: no graceful shutdown, no final flush.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait; returns everything the hub logged.
    fn terminate(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        self.log.lock().unwrap().clone()
    }

    async fn agent(&self, key: &str) -> TestAgent {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let ws = self.base.replacen("http://", "ws://", 1);
        let mut req = format!("{ws}/agent/stream").into_client_request().unwrap();
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
        req.headers_mut()
            .insert("X-LunaSentri-Protocol", HeaderValue::from_static("1"));
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("agent connects");
        TestAgent { ws }
    }

    /// A client logged in as the admin, and its raw session token.
    async fn admin(&self) -> (reqwest::Client, String) {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = c
            .post(self.url("/api/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        let token = cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_owned();
        (c, token)
    }
}

/// Samples are acknowledged only after commit: a hub killed before its flush has acked
/// nothing, and the agent's replay after the restart stores every sample exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_before_ack_then_replay_fills_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(dir.path(), FAST);
    let (c, _) = hub.admin().await;
    let m = hub
        .post(&c, "/api/machines", json!({"name": "crashy"}))
        .await;
    let key = m["api_key"].as_str().unwrap().to_owned();
    let id = m["machine"]["id"].as_i64().unwrap();
    hub.kill();

    // A writer that waits a minute: samples are received but not yet committed.
    let slow = HubProcess::start(
        dir.path(),
        "writer:\n  flush_ms: 60000\n  batch_rows: 100000\n",
    );
    let samples: Vec<Sample> = (1..=10)
        .map(|i| sample(i, now_ms() - 20_000 + i as i64 * 1000))
        .collect();
    let mut agent = slow.agent(&key).await;
    for s in &samples {
        agent.send(&AgentFrame::Sample(s.clone())).await;
    }
    let quiet = tokio::time::timeout(
        Duration::from_millis(700),
        futures_util::StreamExt::next(&mut agent.ws),
    )
    .await;
    assert!(
        quiet.is_err(),
        "no ack may arrive before the commit: {quiet:?}"
    );
    slow.kill();
    let db = TestDb::existing(&format!("sqlite://{}", dir.path().join("hub.db").display()));
    assert_eq!(
        db.count_metrics(id),
        0,
        "killed before the flush: nothing stored"
    );

    // The agent still holds all ten unacknowledged samples and replays them.
    let hub = HubProcess::start(dir.path(), FAST);
    let mut agent = hub.agent(&key).await;
    agent
        .send(&AgentFrame::Batch {
            samples: samples[..6].to_vec(),
        })
        .await;
    agent
        .send(&AgentFrame::Batch {
            samples: samples.clone(),
        })
        .await;
    let started = Instant::now();
    loop {
        match agent.next().await {
            Ok(HubFrame::Ack { seq: 10 }) => break,
            Ok(_) => assert!(started.elapsed() < Duration::from_secs(10)),
            Err(e) => panic!("closed: {e:?}"),
        }
    }
    assert_eq!(db.count_metrics(id), 10, "every sample stored exactly once");
    hub.terminate();
}

/// No plaintext password, session token, API key or enrollment secret reaches the
/// database file or the log, even at debug level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_stored_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(dir.path(), FAST);
    let (c, token) = hub.admin().await;
    let m = hub
        .post(&c, "/api/machines", json!({"name": "secretive"}))
        .await;
    let key = m["api_key"].as_str().unwrap().to_owned();
    let rotate = format!("/api/machines/{}/rotate-key", m["machine"]["id"]);
    let rotated = hub.post(&c, &rotate, json!(null)).await;
    let key2 = rotated["api_key"].as_str().unwrap().to_owned();
    let t = hub.post(&c, "/api/enrollment-tokens", json!({})).await;
    let enroll = t["secret"].as_str().unwrap().to_owned();
    let user_pw = "users-own-secret-77";
    let res = c
        .post(hub.url("/api/users"))
        .json(&json!({"email": "u@example.com", "password": user_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = reqwest::Client::new()
        .post(hub.url("/api/auth/login"))
        .json(&json!({"email": "u@example.com", "password": user_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::Client::new()
        .post(hub.url("/agent/metrics"))
        .bearer_auth(&key2)
        .json(&sample(1, now_ms()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let log = hub.terminate();
    assert!(log.contains("login"), "the log was captured: {log}");
    let mut stored = Vec::new();
    for f in ["hub.db", "hub.db-wal"] {
        stored.extend(std::fs::read(dir.path().join(f)).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored).into_owned();
    for (what, secret) in [
        ("admin password", ADMIN_PASSWORD),
        ("user password", user_pw),
        ("session token", token.as_str()),
        ("API key", key.as_str()),
        ("rotated API key", key2.as_str()),
        ("enrollment secret", enroll.as_str()),
    ] {
        assert!(
            !stored.contains(secret),
            "{what} found in the database file"
        );
        assert!(!log.contains(secret), "{what} found in the log");
    }
}
