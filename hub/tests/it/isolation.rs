//! The isolation matrix: every endpoint × {owner, other user, admin, anonymous, revoked
//! key}, from one table. A test checks the table against the OpenAPI document, so a new
//! endpoint cannot be left out.

use std::collections::BTreeSet;

use lunasentri_hub::testing::{TestDb, TestHub};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, now_ms};

/// How a row's request authenticates.
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    /// Session cookie of the role's user.
    Session,
    /// A machine API key: the owner's machine, another user's machine, or a revoked key.
    AgentKey,
    /// An enrollment token of the owner or of the other user.
    Enrollment,
    /// No credentials needed.
    Public,
}

/// One endpoint and the status each role gets: [owner, other, admin, anonymous, revoked].
struct Row {
    method: Method,
    path: &'static str,
    auth: Auth,
    body: fn() -> Option<Value>,
    expect: [u16; 5],
}

const ROLES: [&str; 5] = ["owner", "other", "admin", "anonymous", "revoked"];

fn none() -> Option<Value> {
    None
}
fn name() -> Option<Value> {
    Some(json!({"name": "renamed"}))
}
fn new_user() -> Option<Value> {
    Some(json!({"email": format!("u{}@example.com", now_ms()), "password": "user-password-1"}))
}
fn sample() -> Option<Value> {
    Some(serde_json::to_value(crate::common::sample(1, now_ms())).unwrap())
}
fn bad_password() -> Option<Value> {
    Some(json!({"current_password": "not-the-password", "new_password": "another-pass-9"}))
}
fn role_user() -> Option<Value> {
    Some(json!({"role": "user"}))
}
fn empty() -> Option<Value> {
    Some(json!({}))
}
fn bad_login() -> Option<Value> {
    Some(json!({"email": "nobody@example.com", "password": "wrong-password"}))
}
fn retention() -> Option<Value> {
    Some(json!({"raw_s": 172_800, "minute_s": 2_592_000, "hour_s": 34_560_000}))
}
fn rule() -> Option<Value> {
    Some(json!({"name": "cpu", "metric": "cpu_pct", "comparator": "gt", "threshold": 99}))
}
fn channel() -> Option<Value> {
    Some(json!({"name": "c", "config": {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}}))
}
fn register() -> Option<Value> {
    Some(json!({"name": "enrolled"}))
}

fn table() -> Vec<Row> {
    use Auth::*;
    let r = |method: Method, path, auth, body, expect| Row {
        method,
        path,
        auth,
        body,
        expect,
    };
    vec![
        r(
            Method::POST,
            "/api/auth/login",
            Public,
            bad_login,
            [401, 401, 401, 401, 401],
        ),
        r(
            Method::POST,
            "/api/auth/logout",
            Session,
            none,
            [204, 204, 204, 401, 401],
        ),
        r(
            Method::GET,
            "/api/auth/me",
            Session,
            none,
            [200, 200, 200, 401, 401],
        ),
        r(
            Method::PATCH,
            "/api/auth/password",
            Session,
            bad_password,
            [400, 400, 400, 401, 401],
        ),
        r(
            Method::GET,
            "/api/users",
            Session,
            none,
            [403, 403, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/users",
            Session,
            new_user,
            [403, 403, 201, 401, 401],
        ),
        r(
            Method::PATCH,
            "/api/users/{user}",
            Session,
            role_user,
            [404, 404, 200, 401, 401],
        ),
        r(
            Method::DELETE,
            "/api/users/{user}",
            Session,
            none,
            [404, 404, 204, 401, 401],
        ),
        r(
            Method::GET,
            "/api/machines",
            Session,
            none,
            [200, 200, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/machines",
            Session,
            name,
            [201, 201, 201, 401, 401],
        ),
        r(
            Method::GET,
            "/api/machines/{machine}",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::PATCH,
            "/api/machines/{machine}",
            Session,
            name,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::DELETE,
            "/api/machines/{machine}",
            Session,
            none,
            [204, 404, 204, 401, 401],
        ),
        r(
            Method::POST,
            "/api/machines/{machine}/rotate-key",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/machines/{machine}/revoke-key",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/machines/{machine}/latest",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/machines/{machine}/metrics",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/machines/{machine}/export",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        // Any machine the caller may not see makes the whole overview 404.
        r(
            Method::GET,
            "/api/metrics?machine_ids={machine}",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/me/export",
            Session,
            none,
            [200, 200, 200, 401, 401],
        ),
        // Owner and other erase a fresh account of their own (see `cell`); the only
        // admin may not delete themselves.
        r(
            Method::DELETE,
            "/api/me",
            Session,
            none,
            [204, 204, 409, 401, 401],
        ),
        r(
            Method::GET,
            "/api/enrollment-tokens",
            Session,
            none,
            [200, 200, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/enrollment-tokens",
            Session,
            empty,
            [201, 201, 201, 401, 401],
        ),
        r(
            Method::DELETE,
            "/api/enrollment-tokens/{token}",
            Session,
            none,
            [204, 404, 404, 401, 401],
        ),
        r(
            Method::GET,
            "/api/admin/audit-log",
            Session,
            none,
            [403, 403, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/admin/retention",
            Session,
            none,
            [403, 403, 200, 401, 401],
        ),
        r(
            Method::PUT,
            "/api/admin/retention",
            Session,
            retention,
            [403, 403, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/alert-rules",
            Session,
            none,
            [200, 200, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/alert-rules",
            Session,
            rule,
            [201, 201, 201, 401, 401],
        ),
        r(
            Method::GET,
            "/api/alert-rules/{rule}",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::PUT,
            "/api/alert-rules/{rule}",
            Session,
            rule,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::DELETE,
            "/api/alert-rules/{rule}",
            Session,
            none,
            [204, 404, 204, 401, 401],
        ),
        r(
            Method::GET,
            "/api/alert-events?machine_id={machine}",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::GET,
            "/api/alert-events/{event}",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/alert-events/{event}/ack",
            Session,
            none,
            [200, 404, 200, 401, 401],
        ),
        // Channels are personal: not even an admin sees another user's.
        r(
            Method::GET,
            "/api/channels",
            Session,
            none,
            [200, 200, 200, 401, 401],
        ),
        r(
            Method::POST,
            "/api/channels",
            Session,
            channel,
            [201, 201, 201, 401, 401],
        ),
        r(
            Method::DELETE,
            "/api/channels/{channel}",
            Session,
            none,
            [204, 404, 404, 401, 401],
        ),
        r(
            Method::POST,
            "/api/channels/{channel}/test",
            Session,
            none,
            [200, 404, 404, 401, 401],
        ),
        // Without upgrade headers an authorised request is a bad WebSocket handshake.
        r(
            Method::GET,
            "/api/live",
            Session,
            none,
            [400, 400, 400, 401, 401],
        ),
        r(
            Method::POST,
            "/agent/metrics",
            AgentKey,
            sample,
            [202, 202, 401, 401, 401],
        ),
        r(
            Method::GET,
            "/agent/stream",
            AgentKey,
            none,
            [400, 400, 401, 401, 401],
        ),
        r(
            Method::GET,
            "/agent/health",
            Public,
            none,
            [200, 200, 200, 200, 200],
        ),
        r(
            Method::POST,
            "/agent/register",
            Enrollment,
            register,
            [201, 201, 401, 401, 401],
        ),
        r(
            Method::GET,
            "/healthz",
            Public,
            none,
            [200, 200, 200, 200, 200],
        ),
        r(
            Method::GET,
            "/readyz",
            Public,
            none,
            [200, 200, 200, 200, 200],
        ),
        r(
            Method::GET,
            "/metrics",
            Public,
            none,
            [200, 200, 200, 200, 200],
        ),
    ]
}

/// Everything one cell needs: fresh resources of the owner and the other user.
struct World {
    owner: Client,
    other: Client,
    admin: Client,
    revoked_key: String,
    other_key: String,
    other_token: String,
}

async fn cell(hub: &TestHub, w: &World, row: &Row, role: usize) -> u16 {
    // Fresh owner resources per cell, so destructive rows do not affect later cells.
    let m = w.owner.create_machine("owned").await;
    let (_, tok) = w
        .owner
        .call(Method::POST, "/api/enrollment-tokens", Some(json!({})))
        .await;
    let (_, victim) = w.admin.call(Method::POST, "/api/users", new_user()).await;
    let rule = if row.path.contains("{rule}") || row.path.contains("{event}") {
        let body = json!({"name": "any", "metric": "cpu_pct", "comparator": "gt", "threshold": 10,
                          "machine_ids": [m.machine.id]});
        let (_, r) = w
            .owner
            .call(Method::POST, "/api/alert-rules", Some(body))
            .await;
        r["id"].as_i64().expect("rule created")
    } else {
        0
    };
    let event = if row.path.contains("{event}") {
        fire(hub, &w.owner, &m.api_key, m.machine.id).await
    } else {
        0
    };
    let channel = if row.path.contains("{channel}") {
        let (_, c) = w.owner.call(Method::POST, "/api/channels", channel()).await;
        c["id"].as_i64().expect("channel created")
    } else {
        0
    };
    let path = row
        .path
        .replace("{machine}", &m.machine.id.to_string())
        .replace("{rule}", &rule.to_string())
        .replace("{event}", &event.to_string())
        .replace("{channel}", &channel.to_string())
        .replace("{token}", &tok["token"]["id"].to_string())
        .replace("{user}", &victim["id"].to_string());
    let url = format!("{}{path}", hub.base);
    if row.method == Method::DELETE && row.path == "/api/me" && role < 2 {
        // Erasing the matrix's own owner or other would end the later cells.
        let email = format!("erase-{role}-{}@example.com", now_ms());
        let (fresh, _) = Client::new_user(hub, &w.admin, &email).await;
        let res = fresh.http.delete(&url).send().await.expect("sent");
        return res.status().as_u16();
    }
    let anon = reqwest::Client::new();
    let mut req = match (row.auth, role) {
        (Auth::Session | Auth::Public, 0) => w.owner.http.request(row.method.clone(), &url),
        (Auth::Session | Auth::Public, 1) => w.other.http.request(row.method.clone(), &url),
        (Auth::Session | Auth::Public, 2) => w.admin.http.request(row.method.clone(), &url),
        (Auth::Session | Auth::Public, 3) => anon.request(row.method.clone(), &url),
        (Auth::Session | Auth::Public, _) => anon
            .request(row.method.clone(), &url)
            .bearer_auth(&w.revoked_key),
        (Auth::AgentKey, 0) => anon
            .request(row.method.clone(), &url)
            .bearer_auth(&m.api_key),
        (Auth::AgentKey, 1) => anon
            .request(row.method.clone(), &url)
            .bearer_auth(&w.other_key),
        (Auth::AgentKey, 2) => w.admin.http.request(row.method.clone(), &url),
        (Auth::AgentKey, 3) => anon.request(row.method.clone(), &url),
        (Auth::AgentKey, _) => anon
            .request(row.method.clone(), &url)
            .bearer_auth(&w.revoked_key),
        (Auth::Enrollment, 0) => anon
            .request(row.method.clone(), &url)
            .bearer_auth(tok["secret"].as_str().unwrap()),
        (Auth::Enrollment, 1) => anon
            .request(row.method.clone(), &url)
            .bearer_auth(&w.other_token),
        (Auth::Enrollment, 2) => w.admin.http.request(row.method.clone(), &url),
        (Auth::Enrollment, 3) => anon.request(row.method.clone(), &url),
        (Auth::Enrollment, _) => anon
            .request(row.method.clone(), &url)
            .bearer_auth("lse_revoked"),
    };
    req = req.header("X-LunaSentri-Protocol", "1");
    if let Some(b) = (row.body)() {
        req = req.json(&b);
    }
    let status = req.send().await.expect("sent").status().as_u16();
    // A logout in this cell must not log the role out for later cells.
    if row.path == "/api/auth/logout" && status == 204 {
        match role {
            0 => relogin(hub, &w.owner, "owner@example.com").await,
            1 => relogin(hub, &w.other, "other@example.com").await,
            _ => relogin(hub, &w.admin, lunasentri_hub::testing::ADMIN_EMAIL).await,
        }
    }
    status
}

/// Sends a sample that breaches the owner's rule on `machine` and returns the alert.
async fn fire(hub: &TestHub, owner: &Client, key: &str, machine: i64) -> i64 {
    let mut s = crate::common::sample(1, now_ms());
    s.cpu_pct = 50.0;
    let res = reqwest::Client::new()
        .post(hub.url("/agent/metrics"))
        .bearer_auth(key)
        .json(&s)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let start = std::time::Instant::now();
    loop {
        let (_, events) = owner
            .call(
                Method::GET,
                &format!("/api/alert-events?machine_id={machine}"),
                None,
            )
            .await;
        if let Some(id) = events[0]["id"].as_i64() {
            return id;
        }
        assert!(start.elapsed() < crate::common::PATIENCE, "no alert fired");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn relogin(hub: &TestHub, c: &Client, email: &str) {
    let pw = if email == lunasentri_hub::testing::ADMIN_EMAIL {
        lunasentri_hub::testing::ADMIN_PASSWORD
    } else {
        "user-password-1"
    };
    let res = c
        .http
        .post(hub.url("/api/auth/login"))
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Every endpoint answers every role with exactly the status in the table.
async fn isolation_matrix(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| {
            c.limits.login_per_minute_account = 1000;
            c.limits.login_per_minute_ip = 1000;
            c.notifications.attempts = 1;
            c.notifications.timeout = std::time::Duration::from_secs(1);
        })
        .start();
    let admin = Client::admin(&hub).await;
    let (owner, _) = Client::new_user(&hub, &admin, "owner@example.com").await;
    let (other, _) = Client::new_user(&hub, &admin, "other@example.com").await;
    let revoked = owner.create_machine("revoked").await;
    owner
        .call(
            Method::POST,
            &format!("/api/machines/{}/revoke-key", revoked.machine.id),
            None,
        )
        .await;
    let other_m = other.create_machine("other-box").await;
    let (_, other_tok) = other
        .call(Method::POST, "/api/enrollment-tokens", Some(json!({})))
        .await;
    let w = World {
        owner,
        other,
        admin,
        revoked_key: revoked.api_key,
        other_key: other_m.api_key,
        other_token: other_tok["secret"].as_str().unwrap().to_owned(),
    };
    let mut failures = Vec::new();
    for row in table() {
        for (i, role) in ROLES.iter().enumerate() {
            let got = cell(&hub, &w, &row, i).await;
            if got != row.expect[i] {
                failures.push(format!(
                    "{} {} as {role}: expected {}, got {got}",
                    row.method, row.path, row.expect[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "isolation matrix failures:\n{}",
        failures.join("\n")
    );
}

/// The table covers every operation in the OpenAPI document, and nothing else.
#[test]
fn matrix_covers_every_endpoint() {
    let doc: Value = serde_json::from_str(&lunasentri_hub::http::openapi::json()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let p = path.replace("{id}", "{x}");
            documented.insert(format!("{} {p}", method.to_uppercase()));
        }
    }
    let covered: BTreeSet<String> = table()
        .iter()
        .map(|r| {
            let p = r
                .path
                .split('?')
                .next()
                .unwrap_or_default()
                .replace("{machine}", "{x}")
                .replace("{token}", "{x}")
                .replace("{user}", "{x}")
                .replace("{rule}", "{x}")
                .replace("{event}", "{x}")
                .replace("{channel}", "{x}");
            format!("{} {p}", r.method)
        })
        .collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    let extra: Vec<_> = covered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "endpoints missing from the isolation matrix: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "matrix rows for undocumented endpoints: {extra:?}"
    );
}

crate::on_both_backends!(isolation_matrix);
