//! The bare reference relay (`lunasentri-relay`, the real binary) under loadgen
//! `--relay`: every sample reaches its watchers and is acknowledged, nothing is read
//! back from storage, and the relay refuses what it cannot route.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

use lunasentri_loadgen::Config;

struct Relay {
    child: Child,
    stderr: BufReader<ChildStderr>,
    base: String,
}

impl Relay {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lunasentri-relay"))
            .args(["--bind", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lunasentri-relay");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("first line");
        let base = line
            .split_once("listening on ")
            .map(|(_, a)| a.trim().to_owned())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child,
            stderr,
            base,
        }
    }

    /// Stops the relay with SIGTERM and returns its closing summary line.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let mut rest = String::new();
        for line in (&mut self.stderr).lines() {
            rest.push_str(&line.expect("stderr line"));
            rest.push('\n');
        }
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "relay exited with {exit}: {rest}");
        rest
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn loadgen_measures_the_relay_without_loss() {
    let relay = Relay::start();
    let cfg = Config {
        hub: relay.base.clone(),
        relay: true,
        agents: 20,
        dashboards: 5,
        users: 2,
        watch: 4,
        interval: Duration::from_millis(250),
        duration: Duration::from_secs(2),
        ramp_per_sec: 200,
        max_loss: Some(0.0),
        drain_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let r = lunasentri_loadgen::run(cfg).await.expect("run");
    let text = r.render();
    assert!(r.run.relay && text.contains("the bare relay at"), "{text}");
    assert!(text.contains("none stored (bare relay)"), "{text}");
    assert!(r.breaches.is_empty(), "{text}");
    assert!(r.loss.live_expected >= 5 * 4 * 4, "{text}");
    assert_eq!(r.loss.live_missing, 0, "{text}");
    assert_eq!(r.samples.acked, r.samples.generated, "{text}");
    assert!(r.latency.count > 0, "{text}");
    // Nothing is stored, so nothing is claimed about storage.
    assert_eq!(
        (r.samples.persisted, r.loss.storage_missing),
        (None, None),
        "{text}"
    );
    assert_eq!(r.loss.latest_checked, 0, "{text}");
    let summary = relay.stop();
    let counted: u64 = summary
        .split("lunasentri-relay: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {summary:?}"));
    assert_eq!(counted, r.samples.generated, "{summary}");
    assert!(
        summary.contains(" 0 dropped") && summary.contains(" 0 unreadable"),
        "{summary}"
    );
}

#[tokio::test]
async fn relay_refuses_what_it_cannot_route() {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let relay = Relay::start();
    let ws = relay.base.replace("http://", "ws://");
    let status = |r: Result<_, Error>| match r {
        Err(Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => 101,
    };
    let mut keyless = format!("{ws}/agent/stream").into_client_request().unwrap();
    keyless
        .headers_mut()
        .insert("authorization", "Bearer not-a-number".parse().unwrap());
    let r = tokio_tungstenite::connect_async(keyless).await.map(|_| ());
    assert_eq!(status(r), 401);
    let r = tokio_tungstenite::connect_async(format!("{ws}/elsewhere"))
        .await
        .map(|_| ());
    assert_eq!(status(r), 404);
    let r = tokio_tungstenite::connect_async(format!("{ws}/api/live"))
        .await
        .map(|_| ());
    assert_eq!(status(r), 101);
}
