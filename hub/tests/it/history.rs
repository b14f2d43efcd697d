//! History that lasts: tiered range queries, the multi-machine overview, retention
//! settings, streamed export and erasure of an account.

use diesel::RunQueryDsl;
use lunasentri_hub::testing::{TestDb, TestHub};
use lunasentri_schema::Sample;
use lunasentri_schema::api::{MetricSeries, RetentionSettings};
use lunasentri_schema::sample::{DiskSample, SCALAR_NAMES};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, now_ms, sample};

/// A hub whose limits let a test push history quickly.
/// A hub writing rollups with every flush, so the tiers can be read right after the
/// samples are acknowledged (`held_rollups_are_written` covers the default delay).
fn hub(db: &TestDb) -> TestHub {
    TestHub::builder(db)
        .config(|c| {
            c.writer.rollup_delay_ms = 0;
            c.limits.agent_frames_per_second = 10_000;
            c.limits.login_per_minute_account = 1000;
            c.limits.login_per_minute_ip = 1000;
        })
        .start()
}

/// Stores samples through the agent HTTP endpoint, 500 per request.
async fn post(hub: &TestHub, key: &str, samples: &[Sample]) {
    let http = reqwest::Client::new();
    for chunk in samples.chunks(500) {
        let res = http
            .post(hub.url("/agent/metrics"))
            .bearer_auth(key)
            .header("X-LunaSentri-Protocol", "1")
            .json(&json!({ "samples": chunk }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
}

/// `n` samples `every_ms` apart, the last one `end_ms`, cpu cycling 0..100.
fn series(n: u64, every_ms: i64, end_ms: i64) -> Vec<Sample> {
    (0..n)
        .map(|i| sample(i + 1, end_ms - (n - 1 - i) as i64 * every_ms))
        .collect()
}

async fn get_series(c: &Client, path: &str) -> MetricSeries {
    let (s, body) = c.call(Method::GET, path, None).await;
    assert_eq!(s, StatusCode::OK, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

/// Each bucket's avg/min/max of cpu_pct computed by hand from the samples sent.
fn expected_cpu(samples: &[Sample], s: &MetricSeries) -> Vec<Option<(f64, f64, f64)>> {
    s.ts.iter()
        .map(|&start| {
            let v: Vec<f64> = samples
                .iter()
                .filter(|x| x.ts >= start && x.ts < start + s.step_ms && x.ts < s.to)
                .map(|x| x.cpu_pct)
                .collect();
            (!v.is_empty()).then(|| {
                let avg = v.iter().sum::<f64>() / v.len() as f64;
                let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
                let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                (avg, min, max)
            })
        })
        .collect()
}

fn check_cpu(samples: &[Sample], s: &MetricSeries) {
    let band = &s.series["cpu_pct"];
    for (i, want) in expected_cpu(samples, s).into_iter().enumerate() {
        match want {
            None => assert_eq!(band.avg[i], None, "bucket {i} of {}", s.tier),
            Some((avg, min, max)) => {
                assert!(
                    (band.avg[i].unwrap() - avg).abs() < 1e-9,
                    "avg {i} {}",
                    s.tier
                );
                assert_eq!(band.min[i], Some(min), "min {i} {}", s.tier);
                assert_eq!(band.max[i], Some(max), "max {i} {}", s.tier);
            }
        }
    }
}

/// The range query answers from the raw, 1-minute or 1-hour tier by resolution, never
/// with more buckets than `points`, with avg/min/max bands equal to the samples'; bad
/// parameters are refused naming the parameter.
async fn history_picks_tier(db: &TestDb) {
    let hub = hub(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("tiers").await;
    let now = now_ms();
    let end = now - now.rem_euclid(3_600_000) - 1;
    let samples = series(1080, 10_000, end);
    post(&hub, &m.api_key, &samples).await;
    let id = m.machine.id;
    let from = samples[0].ts;
    let to = end + 1;
    let base = format!("/api/machines/{id}/metrics?metrics=cpu_pct,load1");
    for (span_from, points, tier) in [
        (to - 3_600_000, 300, "raw"),
        (from, 100, "1m"),
        (from, 2, "1h"),
    ] {
        let s = get_series(
            &admin,
            &format!("{base}&from={span_from}&to={to}&points={points}"),
        )
        .await;
        assert_eq!(s.tier, tier, "points={points}");
        assert!(
            s.ts.len() as i64 <= points,
            "{} buckets > {points}",
            s.ts.len()
        );
        assert_eq!(s.series.len(), 2);
        check_cpu(&samples, &s);
    }
    for (query, field) in [
        ("metrics=gpu_pct", "metrics"),
        ("from=10&to=5", "from"),
        ("points=0", "points"),
        ("from=yesterday", "from"),
    ] {
        let (s, body) = admin
            .call(
                Method::GET,
                &format!("/api/machines/{id}/metrics?{query}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
}

/// The overview returns one series per machine asked for, in order and from one tier;
/// any machine the caller may not see makes it 404, as for a single machine.
async fn overview_many_machines(db: &TestDb) {
    let hub = hub(db);
    let admin = Client::admin(&hub).await;
    let (owner, _) = Client::new_user(&hub, &admin, "ov-owner@example.com").await;
    let (other, _) = Client::new_user(&hub, &admin, "ov-other@example.com").await;
    let a = owner.create_machine("a").await;
    let b = owner.create_machine("b").await;
    let x = other.create_machine("x").await;
    let end = now_ms() - 1000;
    post(&hub, &a.api_key, &series(60, 1000, end)).await;
    post(&hub, &b.api_key, &series(30, 2000, end)).await;
    let (ia, ib, ix) = (a.machine.id, b.machine.id, x.machine.id);
    let path = |ids: String| format!("/api/metrics?machine_ids={ids}&points=120&metrics=cpu_pct");
    let (s, body) = owner
        .call(Method::GET, &path(format!("{ib},{ia}")), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got: Vec<MetricSeries> = serde_json::from_value(body).unwrap();
    assert_eq!(
        got.iter().map(|s| s.machine_id).collect::<Vec<_>>(),
        [ib, ia]
    );
    assert!(got.iter().all(|s| s.ts.len() <= 120 && s.tier == "raw"));
    assert!(got[1].series["cpu_pct"].avg.iter().any(Option::is_some));
    let (s, _) = owner
        .call(Method::GET, &path(format!("{ia},{ix}")), None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another user's machine is not found"
    );
    let (s, _) = owner.call(Method::GET, &path("999999".into()), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = owner
        .call(Method::GET, &path(format!("{ia},x")), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("machine_ids")
    );
    let (s, body) = admin
        .call(Method::GET, &path(format!("{ia},{ib},{ix}")), None)
        .await;
    assert_eq!(s, StatusCode::OK, "admins see every machine");
    assert_eq!(body.as_array().unwrap().len(), 3);
}

/// Retention is read and changed by admins only, validated field by field, and the
/// stored value outlives a restart.
async fn retention_settings(db: &TestDb) {
    let hub = hub(db);
    let admin = Client::admin(&hub).await;
    let (user, _) = Client::new_user(&hub, &admin, "ret@example.com").await;
    let (s, body) = admin.call(Method::GET, "/api/admin/retention", None).await;
    assert_eq!(s, StatusCode::OK);
    let defaults: RetentionSettings = serde_json::from_value(body).unwrap();
    assert_eq!(
        defaults,
        RetentionSettings {
            raw_s: 48 * 3600,
            minute_s: 30 * 86_400,
            hour_s: 400 * 86_400
        }
    );
    let (s, _) = user.call(Method::GET, "/api/admin/retention", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let new = json!({"raw_s": 86_400, "minute_s": 7 * 86_400, "hour_s": 800 * 86_400});
    let (s, _) = user
        .call(Method::PUT, "/api/admin/retention", Some(new.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (bad, field) in [
        (
            json!({"raw_s": 10, "minute_s": 86_400, "hour_s": 86_400}),
            "raw_s",
        ),
        (
            json!({"raw_s": 86_400, "minute_s": 3600, "hour_s": 86_400}),
            "minute_s",
        ),
        (
            json!({"raw_s": 3600, "minute_s": 86_400, "hour_s": 7200}),
            "hour_s",
        ),
        (
            json!({"raw_s": 3600, "minute_s": 3600, "hour_s": 3600, "days": 1}),
            "days",
        ),
        (
            json!({"raw_s": -1, "minute_s": 3600, "hour_s": 3600}),
            "raw_s",
        ),
    ] {
        let (s, body) = admin
            .call(Method::PUT, "/api/admin/retention", Some(bad.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{bad}: {body}"
        );
    }
    let (s, body) = admin
        .call(Method::PUT, "/api/admin/retention", Some(new.clone()))
        .await;
    assert_eq!((s, &body), (StatusCode::OK, &new));
    hub.stop();
    let hub = self::hub(db);
    let admin = Client::admin(&hub).await;
    let (_, body) = admin.call(Method::GET, "/api/admin/retention", None).await;
    assert_eq!(body, new, "the setting survives a restart");
}

/// A machine's export streams every stored sample in the range, and both formats parse
/// back to exactly the samples that were stored.
async fn export_round_trips(db: &TestDb) {
    let hub = hub(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("export").await;
    let mut samples = series(2500, 1000, now_ms() - 1000);
    for (i, s) in samples.iter_mut().enumerate() {
        s.net_rx_bytes = (1 << 50) + i as u64;
        s.load5 = 0.1 * i as f64;
        s.disks = vec![DiskSample {
            mount: "/".into(),
            fs: "ext4".into(),
            used_bytes: 1000 + i as u64,
            total_bytes: 1 << 40,
            ..Default::default()
        }];
    }
    post(&hub, &m.api_key, &samples).await;
    // What the hub stored: the samples as its JSON parser reads them.
    let samples: Vec<Sample> =
        serde_json::from_str(&serde_json::to_string(&samples).unwrap()).unwrap();
    let id = m.machine.id;
    let get = |q: String| {
        let http = admin.http.clone();
        let url = hub.url(&format!("/api/machines/{id}/export?{q}"));
        async move { http.get(url).send().await.unwrap() }
    };
    let res = get("format=json".into()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back: Vec<Sample> = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(back.len(), samples.len());
    for (got, sent) in back.iter().zip(&samples) {
        assert_eq!(got, sent, "JSON export round-trips");
    }

    let (from, to) = (samples[100].ts, samples[2200].ts);
    let res = get(format!("format=csv&from={from}&to={to}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..2], ["ts", "seq"]);
    assert_eq!(header[2..], SCALAR_NAMES);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2100, "from is inclusive, to exclusive");
    for (row, s) in rows.iter().zip(&samples[100..2200]) {
        assert_eq!(row[0].parse::<i64>().unwrap(), s.ts);
        assert_eq!(row[1].parse::<u64>().unwrap(), s.seq);
        for ((name, v), cell) in s.scalars().iter().zip(&row[2..]) {
            let parsed: f64 = cell.parse().unwrap();
            assert_eq!(parsed, *v, "{name} at {}", s.ts);
        }
        assert_eq!(
            row[5].parse::<u64>().unwrap(),
            s.net_rx_bytes,
            "exact integers"
        );
    }
    for (q, field) in [("format=xml", "format"), ("from=5&to=1", "from")] {
        let res = get(q.into()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        assert!(res.text().await.unwrap().contains(field), "{q}");
    }
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows of `user` (and of `machines`) left in each table of the database. Every table
/// must have a rule here, so a new table cannot escape erasure unnoticed.
fn rows_of(db: &TestDb, user: i64, machines: &[i64]) -> Vec<(String, i64)> {
    let (pool, _) = lunasentri_hub::db::connect(&db.url, 1).unwrap();
    let mut c = pool.get().unwrap();
    let sql = if db.url.starts_with("sqlite") {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    } else {
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
    };
    let tables: Vec<Name> = diesel::sql_query(sql).load(&mut *c).unwrap();
    let ids = machines
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Vec::new();
    for t in tables.into_iter().map(|t| t.name) {
        let filter = match t.as_str() {
            "__diesel_schema_migrations" | "settings" => continue,
            "users" => format!("id = {user}"),
            "sessions" => format!("user_id = {user}"),
            "machines" | "enrollment_tokens" => format!("owner_id = {user}"),
            "alert_rules" | "notification_channels" => format!("user_id = {user}"),
            "alert_events" => format!("user_id = {user} OR machine_id IN ({ids})"),
            "alert_deliveries" => format!(
                "event_id IN (SELECT id FROM alert_events WHERE user_id = {user} OR machine_id IN ({ids}))"
            ),
            "metrics_history" | "metrics_1m" | "metrics_1h" | "rollup_pending" => {
                format!("machine_id IN ({ids})")
            }
            "audit_log" => format!(
                "actor_user_id = {user} OR (target_type = 'user' AND target_id = {user}) \
                 OR (target_type = 'machine' AND target_id IN ({ids}))"
            ),
            other => panic!("table {other} has no erasure rule in this test"),
        };
        let n: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t} WHERE {filter}"))
            .get_result(&mut *c)
            .unwrap();
        out.push((t, n.n));
    }
    out
}

/// Waits until `c` has `n` alerts.
async fn wait_for_alerts(c: &Client, n: usize) {
    let start = std::time::Instant::now();
    loop {
        let (_, e) = c.call(Method::GET, "/api/alert-events", None).await;
        if e.as_array().is_some_and(|a| a.len() >= n) {
            return;
        }
        assert!(
            start.elapsed() < crate::common::PATIENCE,
            "alerts never fired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A user with machines, history, rollups, tokens, sessions, alerting and audit rows:
/// `DELETE /api/me` (and an admin's deletion of another user) leave no row of them in
/// any table, while other users' data stays; the last admin cannot delete themselves.
async fn erasure_leaves_nothing(db: &TestDb) {
    let hub = hub(db);
    let admin = Client::admin(&hub).await;
    let mut victims = Vec::new();
    for email in ["gone@example.com", "removed@example.com"] {
        let (c, u) = Client::new_user(&hub, &admin, email).await;
        let (_, ch) = c
            .call(
                Method::POST,
                "/api/channels",
                Some(json!({"name": "hook", "config": {"kind": "webhook", "url": "http://127.0.0.1:9/x"}})),
            )
            .await;
        let (s, _) = c
            .call(
                Method::POST,
                "/api/alert-rules",
                Some(
                    json!({"name": "mem", "metric": "mem_used_pct", "comparator": "gt",
                            "threshold": 10, "channel_ids": [ch["id"]]}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let mut ids = Vec::new();
        for name in ["one", "two"] {
            let m = c.create_machine(name).await;
            post(&hub, &m.api_key, &series(200, 30_000, now_ms() - 1000)).await;
            // An audited admin read of the user's machine.
            admin
                .call(
                    Method::GET,
                    &format!("/api/machines/{}", m.machine.id),
                    None,
                )
                .await;
            ids.push(m.machine.id);
        }
        c.call(
            Method::POST,
            "/api/enrollment-tokens",
            Some(json!({"name": "t"})),
        )
        .await;
        wait_for_alerts(&c, 2).await;
        let before = rows_of(db, u.id, &ids);
        for t in [
            "users",
            "sessions",
            "machines",
            "enrollment_tokens",
            "metrics_history",
            "metrics_1m",
            "metrics_1h",
            "audit_log",
            "alert_rules",
            "alert_events",
            "alert_deliveries",
            "notification_channels",
        ] {
            let n = before
                .iter()
                .find(|(n, _)| n == t)
                .map(|r| r.1)
                .unwrap_or(0);
            assert!(n > 0, "the test user has rows in {t} before erasure");
        }
        victims.push((c, u, ids));
    }
    let keeper = admin.create_machine("keeper").await;
    post(&hub, &keeper.api_key, &series(10, 1000, now_ms() - 1000)).await;

    let (me, u1, ids1) = &victims[0];
    let (s, _) = me.call(Method::GET, "/api/me/export", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = me.call(Method::DELETE, "/api/me", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = me.call(Method::GET, "/api/auth/me", None).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the session died with the account"
    );
    let (_, u2, ids2) = &victims[1];
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/users/{}", u2.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for (u, ids) in [(u1, ids1), (u2, ids2)] {
        for (table, n) in rows_of(db, u.id, ids) {
            assert_eq!(n, 0, "{table} still holds {n} rows of user {}", u.id);
        }
    }
    assert_eq!(
        db.count_metrics(keeper.machine.id),
        10,
        "others' data stays"
    );
    let (s, body) = admin.call(Method::DELETE, "/api/me", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last admin")
    );
}

/// `GET /api/me/export` streams my account, machines, tokens (no secrets), audit rows
/// about me, raw samples and rollups, one JSON object with a `kind` per line.
async fn me_export_is_complete(db: &TestDb) {
    let hub = hub(db);
    let admin = Client::admin(&hub).await;
    let (me, user) = Client::new_user(&hub, &admin, "mine@example.com").await;
    let (_, ch) = me
        .call(
            Method::POST,
            "/api/channels",
            Some(json!({"name": "hook", "config": {"kind": "webhook",
                        "url": "http://127.0.0.1:9/x", "secret": "export-secret-1"}})),
        )
        .await;
    me.call(
        Method::POST,
        "/api/alert-rules",
        Some(
            json!({"name": "mem", "metric": "mem_used_pct", "comparator": "gt",
                    "threshold": 10, "channel_ids": [ch["id"]]}),
        ),
    )
    .await;
    let m = me.create_machine("mine").await;
    let samples = series(150, 1000, now_ms() - 1000);
    post(&hub, &m.api_key, &samples).await;
    let (_, tok) = me
        .call(
            Method::POST,
            "/api/enrollment-tokens",
            Some(json!({"name": "t"})),
        )
        .await;
    admin
        .call(
            Method::GET,
            &format!("/api/machines/{}", m.machine.id),
            None,
        )
        .await;
    wait_for_alerts(&me, 1).await;
    let res = me.http.get(hub.url("/api/me/export")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(tok["secret"].as_str().unwrap()),
        "no secrets"
    );
    assert!(!text.contains("argon2"), "no password hash");
    assert!(!text.contains("export-secret-1"), "no channel secret");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind = |k: &str| lines.iter().filter(|l| l["kind"] == k).collect::<Vec<_>>();
    assert_eq!(kind("account")[0]["user"]["id"], user.id);
    assert_eq!(kind("machine")[0]["machine"]["id"], m.machine.id);
    assert_eq!(kind("enrollment_token").len(), 1);
    assert_eq!(kind("channel")[0]["channel"]["name"], "hook");
    assert_eq!(kind("alert_rule")[0]["rule"]["name"], "mem");
    assert_eq!(kind("alert_event")[0]["event"]["machine_id"], m.machine.id);
    assert!(!kind("session").is_empty());
    assert!(!kind("audit").is_empty(), "the admin's read of my machine");
    let back: Vec<Sample> = kind("sample")
        .iter()
        .map(|l| serde_json::from_value(l["sample"].clone()).unwrap())
        .collect();
    assert_eq!(back.len(), samples.len());
    assert!(
        back.iter().zip(&samples).all(|(a, b)| a == b),
        "samples round-trip"
    );
    let rollups = kind("rollup");
    let in_minutes: i64 = rollups
        .iter()
        .filter(|l| l["tier"] == "1m")
        .map(|l| l["n"].as_i64().unwrap())
        .sum();
    assert_eq!(in_minutes, 150);
    assert!(rollups.iter().any(|l| l["tier"] == "1h"));
    let (s, _) = Client::anonymous(&hub)
        .call(Method::GET, "/api/me/export", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// With the default delay the rollup tiers trail the raw rows: a bucket's additions are
/// held in memory, and a graceful stop writes them, leaving no marker of held work.
async fn held_rollups_are_written(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| c.limits.agent_frames_per_second = 10_000)
        .start();
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("held").await;
    let now = now_ms();
    let end = now - now.rem_euclid(60_000) - 60_001;
    let samples = series(360, 30_000, end);
    post(&hub, &m.api_key, &samples).await;
    let id = m.machine.id;
    let path = format!(
        "/api/machines/{id}/metrics?metrics=cpu_pct&from={}&to={}&points=30",
        samples[0].ts,
        end + 1
    );
    let s = get_series(&admin, &path).await;
    assert_eq!(s.tier, "1m");
    assert!(
        s.series["cpu_pct"].avg.iter().all(Option::is_none),
        "rollups are held, not written with the raw rows: {s:?}"
    );
    assert_eq!(db.count_metrics(id), 360, "the raw rows are stored at once");
    hub.stop();
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let s = get_series(&admin, &path).await;
    assert_eq!(s.tier, "1m");
    assert!(s.series["cpu_pct"].avg.iter().any(Option::is_some));
    check_cpu(&samples, &s);
    let (pool, _) = lunasentri_hub::db::connect(&db.url, 1).unwrap();
    let held: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM rollup_pending")
        .get_result(&mut *pool.get().unwrap())
        .unwrap();
    assert_eq!(held.n, 0, "a graceful stop leaves no held rollup behind");
}

crate::on_both_backends!(
    held_rollups_are_written,
    history_picks_tier,
    overview_many_machines,
    retention_settings,
    export_round_trips,
    erasure_leaves_nothing,
    me_export_is_complete,
);
