//! The command line: `--once`, `--check`, and configuration errors.

use lunasentri_schema::Sample;

use crate::fake_hub::FakeHub;
use crate::{agent_cmd, write_file};

/// `--once` prints one sample that parses as the schema's `Sample`, with sane values.
#[test]
fn once_prints_a_valid_sample() {
    let out = agent_cmd().arg("--once").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Sample = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s.seq, 1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((now - s.ts).abs() < 60_000, "ts {} is not now", s.ts);
    assert!((0.0..=100.0).contains(&s.cpu_pct));
    assert!((0.0..=100.0).contains(&s.mem_used_pct));
    assert!((0.0..=100.0).contains(&s.disk_used_pct));
    assert!(s.mem_total_bytes > 0 && s.mem_used_bytes <= s.mem_total_bytes);
    assert!(s.swap_used_bytes <= s.swap_total_bytes);
    assert!(s.uptime_s > 0 && s.procs > 0);
    assert!(!s.cpus.is_empty() && s.cpus.iter().all(|c| (0.0..=100.0).contains(c)));
    assert!(s.load1 >= 0.0 && s.disk_read_bps >= 0.0 && s.net_rx_bps >= 0.0);
    assert!(
        s.ifaces.iter().all(|i| i.name != "lo"),
        "loopback must be filtered"
    );
    assert!(
        s.disks
            .iter()
            .all(|d| d.fs != "tmpfs" && d.total_bytes > 0 && d.used_bytes <= d.total_bytes)
    );
    assert!(
        !s.top.is_empty() && s.top.len() <= 10,
        "default top 5 by CPU and by memory"
    );
}

/// `--once` honours `top_processes: 0` from the config file.
#[test]
fn once_without_processes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(dir.path(), "agent.yaml", "agent:\n  top_processes: 0\n");
    let out = agent_cmd()
        .arg("--once")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Sample = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s.top.is_empty() && s.procs > 0);
}

/// Runs the agent and expects exit code 2 with every `needle` in stderr.
fn expect_config_error(args: &[&str], env: &[(&str, &str)], needles: &[&str]) {
    let out = agent_cmd()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "args {args:?} env {env:?}: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "stderr of {args:?} lacks {n:?}: {err}");
    }
}

/// An unknown key in the config file exits 2 and names the key and the line.
#[test]
fn unknown_config_key_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "agent.yaml",
        "server:\n  url: https://hub.example.com\n  apikey: x\n",
    );
    expect_config_error(
        &["--config", cfg.to_str().unwrap(), "--once"],
        &[],
        &["apikey", "line 3"],
    );
}

/// A bad value in the file exits 2 and names the key and the file.
#[test]
fn bad_config_value_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(dir.path(), "agent.yaml", "agent:\n  interval: often\n");
    expect_config_error(
        &["--config", cfg.to_str().unwrap()],
        &[],
        &["agent.interval", "agent.yaml"],
    );
}

/// A missing config file exits 2 and names the path.
#[test]
fn missing_config_file_exits_2() {
    expect_config_error(
        &["--config", "/nonexistent/agent.yaml"],
        &[],
        &["/nonexistent/agent.yaml"],
    );
}

/// Bad flags exit 2 naming the flag; unknown flags exit 2 too.
#[test]
fn bad_flags_exit_2() {
    expect_config_error(&["--interval", "fast"], &[], &["--interval"]);
    expect_config_error(&["--interval", "5ms"], &[], &["--interval", "10ms"]);
    expect_config_error(
        &["--server-url", "ftp://hub"],
        &[],
        &["--server-url", "scheme"],
    );
    expect_config_error(&["--frobnicate"], &[], &["--frobnicate"]);
}

/// Bad environment values exit 2 naming the variable, and flags beat the environment.
#[test]
fn bad_env_exits_2_and_flags_win() {
    expect_config_error(
        &[],
        &[("LUNASENTRI_AGENT_INTERVAL", "0s")],
        &["LUNASENTRI_AGENT_INTERVAL"],
    );
    expect_config_error(
        &[],
        &[("LUNASENTRI_AGENT_INTERVALL", "1s")],
        &["LUNASENTRI_AGENT_INTERVALL"],
    );
    // The flag's good value overrides the bad variable, so this run gets past config.
    let out = agent_cmd()
        .args(["--interval", "1s", "--once"])
        .env("LUNASENTRI_AGENT_INTERVAL", "0s")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Streaming without a hub URL or key exits 2 and says what to set.
#[test]
fn missing_url_or_key_exits_2() {
    expect_config_error(&[], &[], &["hub URL", "server.url"]);
    expect_config_error(
        &["--server-url", "http://127.0.0.1:9"],
        &[],
        &["API key", "--api-key"],
    );
}

/// Plain http to a remote host is refused unless allowed; the key is never echoed.
#[test]
fn plain_http_to_remote_host_refused() {
    expect_config_error(
        &[
            "--server-url",
            "http://hub.example.com",
            "--api-key",
            "lsk_supersecret",
            "--check",
        ],
        &[],
        &["--server-url", "allow_insecure"],
    );
    let out = agent_cmd()
        .args([
            "--server-url",
            "http://hub.example.com",
            "--api-key",
            "lsk_supersecret",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("supersecret"));
}

/// `--check` reports a valid key (exit 0), a rejected key (exit 4), and an unreachable
/// hub (exit 3), sending the key as a Bearer token.
#[tokio::test]
async fn check_reports_hub_and_key() {
    let hub = FakeHub::bind().await;
    let url = hub.url();

    let run = |url: String| {
        tokio::task::spawn_blocking(move || {
            agent_cmd()
                .args(["--check", "--server-url", &url, "--api-key", "lsk_k"])
                .output()
                .unwrap()
        })
    };

    let child = run(url.clone());
    let req = hub.accept_http().await;
    assert!(
        req.head.starts_with("GET /agent/health HTTP/1.1"),
        "{}",
        req.head
    );
    assert_eq!(req.header("authorization").as_deref(), Some("Bearer lsk_k"));
    assert_eq!(req.header("x-lunasentri-protocol").as_deref(), Some("1"));
    req.respond(
        200,
        r#"{"status":"ok","protocol_version":1,"key_valid":true,"machine_id":7}"#,
    )
    .await;
    let conn = hub.accept_ws().await;
    drop(conn);
    let out = child.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("machine 7"), "{stdout}");

    let child = run(url.clone());
    hub.accept_http()
        .await
        .respond(
            200,
            r#"{"status":"ok","protocol_version":1,"key_valid":false,"machine_id":null}"#,
        )
        .await;
    let out = child.await.unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stdout).contains("API key"));

    drop(hub);
    let out = run(url).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
