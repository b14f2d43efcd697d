//! Bad input on the REST API: every family answers 4xx JSON naming the problem.

use lunasentri_hub::testing::{TestDb, TestHub};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::Client;

fn message(v: &serde_json::Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Bodies: malformed JSON, wrong types, unknown and missing fields, over-long and empty
/// names, bad e-mails and passwords, wrong content type, oversize bodies.
async fn bodies(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("m").await;
    let mpath = format!("/api/machines/{}", m.machine.id);
    let cases: Vec<(Method, String, &str, &str, StatusCode, &str)> = vec![
        (
            Method::POST,
            "/api/machines".into(),
            "application/json",
            "{",
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            Method::POST,
            "/api/machines".into(),
            "application/json",
            r#"{"name": 5}"#,
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            Method::POST,
            "/api/machines".into(),
            "application/json",
            r#"{"nam": "x"}"#,
            StatusCode::BAD_REQUEST,
            "nam",
        ),
        (
            Method::POST,
            "/api/machines".into(),
            "application/json",
            r#"{}"#,
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            Method::POST,
            "/api/machines".into(),
            "application/json",
            r#"{"name": "   "}"#,
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            Method::POST,
            "/api/machines".into(),
            "text/plain",
            r#"{"name": "x"}"#,
            StatusCode::BAD_REQUEST,
            "Content-Type",
        ),
        (
            Method::POST,
            "/api/users".into(),
            "application/json",
            r#"{"email": "nope", "password": "long-enough"}"#,
            StatusCode::BAD_REQUEST,
            "email",
        ),
        (
            Method::POST,
            "/api/users".into(),
            "application/json",
            r#"{"email": "a@b.cd", "password": "short"}"#,
            StatusCode::BAD_REQUEST,
            "password",
        ),
        (
            Method::POST,
            "/api/users".into(),
            "application/json",
            r#"{"email": "a@b.cd", "password": "long-enough", "role": "god"}"#,
            StatusCode::BAD_REQUEST,
            "role",
        ),
        (
            Method::POST,
            "/api/enrollment-tokens".into(),
            "application/json",
            r#"{"max_uses": 0}"#,
            StatusCode::BAD_REQUEST,
            "max_uses",
        ),
        (
            Method::POST,
            "/api/enrollment-tokens".into(),
            "application/json",
            r#"{"expires_in_s": 1}"#,
            StatusCode::BAD_REQUEST,
            "expires_in_s",
        ),
        (
            Method::POST,
            "/api/auth/login".into(),
            "application/json",
            r#"{"email": "a@b.cd"}"#,
            StatusCode::BAD_REQUEST,
            "password",
        ),
    ];
    for (method, path, ctype, body, status, needle) in cases {
        let (s, v) = admin.raw(method.clone(), &path, ctype, body).await;
        assert_eq!(s, status, "{method} {path} {body}: {v}");
        assert_eq!(v["error"]["code"], "bad_request", "{v}");
        assert!(
            message(&v).contains(needle),
            "{method} {path} {body}: expected {needle:?} in {v}"
        );
    }
    let long = json!({"name": "x".repeat(101)}).to_string();
    let (s, v) = admin
        .raw(Method::PATCH, &mpath, "application/json", &long)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("at most 100"), "{v}");
    let big = json!({"name": "x".repeat(70 * 1024)}).to_string();
    let (s, v) = admin
        .raw(Method::POST, "/api/machines", "application/json", &big)
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"]["code"], "payload_too_large");
    // Nothing was created or damaged by any of it.
    let (_, list) = admin.call(Method::GET, "/api/machines", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "m");
}

/// Query and path parameters, unknown routes and wrong methods are JSON errors too.
async fn params_and_routes(db: &TestDb) {
    let hub = TestHub::start(db);
    let admin = Client::admin(&hub).await;
    let m = admin.create_machine("m").await;
    let id = m.machine.id;
    let cases: Vec<(Method, String, StatusCode, &str)> = vec![
        (
            Method::GET,
            "/api/machines/abc".into(),
            StatusCode::BAD_REQUEST,
            "path",
        ),
        (
            Method::GET,
            format!("/api/machines/{id}/metrics?from=x"),
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            Method::GET,
            format!("/api/machines/{id}/metrics?from=10&to=5"),
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            Method::GET,
            format!("/api/machines/{id}/metrics?points=99999"),
            StatusCode::BAD_REQUEST,
            "points",
        ),
        (
            Method::GET,
            format!("/api/machines/{id}/metrics?metrics=gpu_pct"),
            StatusCode::BAD_REQUEST,
            "gpu_pct",
        ),
        (
            Method::GET,
            format!("/api/machines/{id}/metrics?bogus=1"),
            StatusCode::BAD_REQUEST,
            "bogus",
        ),
        (
            Method::GET,
            "/api/machines?all=maybe".into(),
            StatusCode::BAD_REQUEST,
            "all",
        ),
        (
            Method::GET,
            "/api/admin/audit-log?limit=0".into(),
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            Method::GET,
            "/api/nothing-here".into(),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::PUT,
            "/api/machines".into(),
            StatusCode::NOT_FOUND,
            "not",
        ),
    ];
    for (method, path, status, needle) in cases {
        let (s, v) = admin.call(method.clone(), &path, None).await;
        assert_eq!(s, status, "{method} {path}: {v}");
        assert!(
            message(&v).contains(needle),
            "{method} {path}: expected {needle:?} in {v}"
        );
    }
}

crate::on_both_backends!(bodies, params_and_routes);
