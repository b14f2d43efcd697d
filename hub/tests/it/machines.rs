//! The machine registry, keys, enrollment tokens and user administration.

use lunasentri_hub::testing::{TestDb, TestHub};
use lunasentri_schema::api::{AgentHealth, Machine, RegisterResponse};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::Client;

async fn health(hub: &TestHub, key: &str) -> AgentHealth {
    let res = reqwest::Client::new()
        .get(hub.url("/agent/health"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The key is shown on create only, has the `lsk_` prefix, and only its prefix is listed.
async fn key_shown_once(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("web-1").await;
    assert!(m.api_key.starts_with("lsk_") && m.api_key.len() == 68);
    assert_eq!(m.machine.status, lunasentri_schema::MachineStatus::Pending);
    let (_, body) = admin
        .call(
            Method::GET,
            &format!("/api/machines/{}", m.machine.id),
            None,
        )
        .await;
    let text = body.to_string();
    assert!(!text.contains(&m.api_key), "key leaked: {text}");
    assert_eq!(body["key_prefix"], m.api_key[..12]);
    let (_, list) = admin.call(Method::GET, "/api/machines", None).await;
    assert!(!list.to_string().contains(&m.api_key));
    let h = health(&hub, &m.api_key).await;
    assert_eq!(h.key_valid, Some(true));
    assert_eq!(h.machine_id, Some(m.machine.id));
}

/// Rename, then delete; a deleted machine is 404 and its key dies.
async fn rename_and_delete(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("old").await;
    let path = format!("/api/machines/{}", m.machine.id);
    let (s, body) = admin
        .call(Method::PATCH, &path, Some(json!({"name": "  new-name "})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        serde_json::from_value::<Machine>(body).unwrap().name,
        "new-name"
    );
    assert_eq!(
        admin.call(Method::DELETE, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.call(Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(health(&hub, &m.api_key).await.key_valid, Some(false));
}

/// Rotation kills the old key at once; revocation leaves no valid key.
async fn rotate_and_revoke(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("web").await;
    let (s, body) = admin
        .call(
            Method::POST,
            &format!("/api/machines/{}/rotate-key", m.machine.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let new_key = body["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, m.api_key);
    assert_eq!(health(&hub, &m.api_key).await.key_valid, Some(false));
    assert_eq!(health(&hub, &new_key).await.key_valid, Some(true));
    let (s, body) = admin
        .call(
            Method::POST,
            &format!("/api/machines/{}/revoke-key", m.machine.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body["key_prefix"].is_null());
    assert_eq!(health(&hub, &new_key).await.key_valid, Some(false));
}

/// An enrollment token registers machines for its owner until it is used up.
async fn enrollment_registers_machines(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let (user, info) = Client::new_user(&hub, &admin, "fleet@example.com").await;
    let (s, body) = user
        .call(
            Method::POST,
            "/api/enrollment-tokens",
            Some(json!({"name": "fleet", "max_uses": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("lse_"));
    let register = || async {
        reqwest::Client::new()
            .post(hub.url("/agent/register"))
            .bearer_auth(&secret)
            .json(&json!({"name": "node-1", "hostname": "node-1.local"}))
            .send()
            .await
            .unwrap()
    };
    let res = register().await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let reg: RegisterResponse = res.json().await.unwrap();
    assert_eq!(health(&hub, &reg.api_key).await.key_valid, Some(true));
    let (_, m) = user
        .call(
            Method::GET,
            &format!("/api/machines/{}", reg.machine_id),
            None,
        )
        .await;
    assert_eq!(m["owner_id"], info.id);
    assert_eq!(m["hostname"], "node-1.local");
    assert_eq!(
        register().await.status(),
        StatusCode::UNAUTHORIZED,
        "token was single-use"
    );
    let (_, tokens) = user.call(Method::GET, "/api/enrollment-tokens", None).await;
    assert_eq!(tokens[0]["uses_left"], 0);
    assert!(!tokens.to_string().contains(&secret));
    let bad = reqwest::Client::new()
        .post(hub.url("/agent/register"))
        .bearer_auth("lse_nope")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
}

/// Admins manage users; the last admin can be neither demoted nor deleted.
async fn user_administration(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let (_, me) = admin.call(Method::GET, "/api/auth/me", None).await;
    let my_id = me["id"].as_i64().unwrap();
    let (s, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/users/{my_id}"),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (bob, info) = Client::new_user(&hub, &admin, "bob@example.com").await;
    let (s, _) = admin
        .call(
            Method::POST,
            "/api/users",
            Some(json!({"email": "BOB@example.com", "password": "whatever-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "e-mails are case-insensitive");
    let (s, body) = admin
        .call(
            Method::PATCH,
            &format!("/api/users/{}", info.id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!((s, body["role"].as_str()), (StatusCode::OK, Some("admin")));
    assert_eq!(
        bob.call(Method::GET, "/api/users", None).await.0,
        StatusCode::OK
    );
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/users/{}", info.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        bob.call(Method::GET, "/api/auth/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, users) = admin.call(Method::GET, "/api/users", None).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}

/// An admin sees everyone's machines with `?all=true`, and reading another user's
/// machine leaves an audit row.
async fn admin_reads_are_audited(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let (alice, _) = Client::new_user(&hub, &admin, "alice@example.com").await;
    let m = alice.create_machine("alice-box").await;
    let (_, mine) = admin.call(Method::GET, "/api/machines", None).await;
    assert_eq!(mine.as_array().unwrap().len(), 0);
    let (_, all) = admin
        .call(Method::GET, "/api/machines?all=true", None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (s, _) = admin
        .call(
            Method::GET,
            &format!("/api/machines/{}", m.machine.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, log) = admin.call(Method::GET, "/api/admin/audit-log", None).await;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"admin_read_machine"), "{actions:?}");
    assert!(actions.contains(&"list_all_machines"), "{actions:?}");
    let (_, alice_all) = alice
        .call(Method::GET, "/api/machines?all=true", None)
        .await;
    assert_eq!(
        alice_all.as_array().unwrap().len(),
        1,
        "all=true means 'all I may see' for a user"
    );
}

crate::on_both_backends!(
    key_shown_once,
    rename_and_delete,
    rotate_and_revoke,
    enrollment_registers_machines,
    user_administration,
    admin_reads_are_audited,
);
