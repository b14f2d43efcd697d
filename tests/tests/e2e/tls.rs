//! The agent binary over TLS: `https://` hub URL, `wss://` link, the hub's certificate
//! checked against the system roots (here a test CA given by `SSL_CERT_FILE`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use lunasentri_e2e::{Process, binary};
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestDb, TestHub};
use serde_json::json;

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs (package openssl)");
    assert!(ok.success(), "openssl {args:?}");
}

/// A test CA and a certificate it signed for `localhost` and 127.0.0.1.
fn ca_and_leaf(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=LunaSentri test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    );
}

/// Samples from the agent reach a hub that serves only TLS; an agent that does not
/// trust the hub's certificate is refused and says why.
#[tokio::test]
async fn agent_streams_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    ca_and_leaf(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let db = TestDb::sqlite();
    let hub = TestHub::builder(&db)
        .config(move |c| c.tls = Some((cert, key)))
        .start();
    let base = hub.base.replacen("127.0.0.1", "localhost", 1);
    assert!(base.starts_with("https://localhost:"), "{base}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.pem")).unwrap())
                .unwrap(),
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

    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
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
