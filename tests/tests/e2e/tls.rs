//! The agent binary over TLS: `https://` hub URL, `wss://` link, the hub's certificate
//! checked against the system roots (here a test CA given by `SSL_CERT_FILE`).

use std::time::Duration;

use lunasentri_e2e::{Process, TestCerts, binary};
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use serde_json::json;

/// Samples from the agent reach a hub that serves only TLS; an agent that does not
/// trust the hub's certificate is refused and says why.
#[tokio::test]
async fn agent_streams_over_tls() {
    let certs = TestCerts::generate();
    let (cert, key) = (certs.cert.clone(), certs.key.clone());
    let db = TestDb::sqlite();
    let hub = TestHub::builder(&db)
        .config(move |c| c.tls = Some((cert, key)))
        .start();
    let base = hub.base.replacen("127.0.0.1", "localhost", 1);
    assert!(base.starts_with("https://localhost:"), "{base}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&certs.ca).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/auth/login"))
        .header("Origin", &base)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "login: {}", res.status());
    let (id, key) = super::create_machine(&client, &base, "e2e-tls").await;

    let ca = certs.ca.to_str().unwrap();
    let agent_args = ["--server-url", &base, "--api-key", &key, "--interval", "1s"];
    let mut agent = Process::start(
        &binary("lunasentri-agent", "lunasentri-agent"),
        &agent_args,
        &[("SSL_CERT_FILE", ca)],
        &["LUNASENTRI_", "SSL_CERT_"],
    );
    super::poll_json(
        &client,
        &format!("{base}/api/machines/{id}/latest"),
        Duration::from_secs(20),
        |b| b["sample"].is_object(),
    )
    .await;
    assert!(
        agent.terminate(Duration::from_secs(10)).success(),
        "{}",
        agent.log()
    );

    // Without the CA the hub's certificate is not trusted: nothing is sent.
    let mut stranger = Process::start(
        &binary("lunasentri-agent", "lunasentri-agent"),
        &agent_args,
        &[("SSL_CERT_FILE", "/dev/null")],
        &["LUNASENTRI_", "SSL_CERT_"],
    );
    stranger.wait_for_log("certificate", Duration::from_secs(20));
    stranger.terminate(Duration::from_secs(10));
    hub.stop();
}
