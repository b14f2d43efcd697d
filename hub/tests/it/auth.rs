//! Logging in and out, sessions, passwords, login rate limits.

use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Client, login_token};

/// The admin from the environment logs in; the cookie is HttpOnly and SameSite=Strict.
async fn login_sets_strict_cookie(db: &TestDb) {
    let hub = TestHub::start(db);
    let res = reqwest::Client::new()
        .post(hub.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("lunasentri_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP must not set Secure: {cookie}"
    );
    let me = Client::admin(&hub)
        .await
        .call(Method::GET, "/api/auth/me", None)
        .await;
    assert_eq!(me.1["email"], ADMIN_EMAIL);
    assert_eq!(me.1["role"], "admin");
}

/// A wrong password and an unknown e-mail get the same 401.
async fn bad_credentials_are_401(db: &TestDb) {
    let hub = TestHub::start(db);
    let c = Client::anonymous(&hub);
    let wrong = c
        .call(
            Method::POST,
            "/api/auth/login",
            Some(json!({"email": ADMIN_EMAIL, "password": "nope-nope"})),
        )
        .await;
    let unknown = c
        .call(
            Method::POST,
            "/api/auth/login",
            Some(json!({"email": "x@y.zz", "password": "nope-nope"})),
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.1, unknown.1);
    assert_eq!(
        c.call(Method::GET, "/api/auth/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// Logout ends exactly that session.
async fn logout_ends_session(db: &TestDb) {
    let hub = TestHub::start(db);
    let a = Client::admin(&hub).await;
    let b = Client::admin(&hub).await;
    assert_eq!(
        a.call(Method::POST, "/api/auth/logout", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.call(Method::GET, "/api/auth/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.call(Method::GET, "/api/auth/me", None).await.0,
        StatusCode::OK
    );
}

/// Changing the password keeps this session, ends the others, and the old password stops working.
async fn password_change_revokes_other_sessions(db: &TestDb) {
    let hub = TestHub::start(db);
    let a = Client::admin(&hub).await;
    let b = Client::admin(&hub).await;
    let bad = a
        .call(
            Method::PATCH,
            "/api/auth/password",
            Some(json!({"current_password": "wrong-one", "new_password": "new-password-2"})),
        )
        .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
    assert!(
        bad.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("current_password")
    );
    let short = a
        .call(
            Method::PATCH,
            "/api/auth/password",
            Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(short.0, StatusCode::BAD_REQUEST);
    let ok = a
        .call(
            Method::PATCH,
            "/api/auth/password",
            Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "new-password-2"})),
        )
        .await;
    assert_eq!(ok.0, StatusCode::NO_CONTENT, "{}", ok.1);
    assert_eq!(
        a.call(Method::GET, "/api/auth/me", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        b.call(Method::GET, "/api/auth/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let old = Client::anonymous(&hub)
        .call(
            Method::POST,
            "/api/auth/login",
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(old.0, StatusCode::UNAUTHORIZED);
    Client::login(&hub, ADMIN_EMAIL, "new-password-2").await;
}

/// Too many attempts for one account answer 429 with Retry-After, even with the right password.
async fn login_is_rate_limited(db: &TestDb) {
    let hub = TestHub::builder(db)
        .config(|c| c.limits.login_per_minute_account = 3)
        .start();
    let c = Client::anonymous(&hub);
    for _ in 0..3 {
        let (s, _) = c
            .call(
                Method::POST,
                "/api/auth/login",
                Some(json!({"email": ADMIN_EMAIL, "password": "wrong-pass"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let res = c
        .http
        .post(hub.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

/// Session tokens are random per login.
async fn tokens_differ_per_login(db: &TestDb) {
    let hub = TestHub::start(db);
    let a = login_token(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let b = login_token(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_ne!(a, b);
    assert!(a.len() >= 64);
}

crate::on_both_backends!(
    login_sets_strict_cookie,
    bad_credentials_are_401,
    logout_ends_session,
    password_change_revokes_other_sessions,
    login_is_rate_limited,
    tokens_differ_per_login,
);
