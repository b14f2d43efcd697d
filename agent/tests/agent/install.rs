//! The installer script `agent/install.sh`: shellcheck, and a real run into a temp
//! prefix that downloads the agent from a local HTTP server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use lunasentri_agent::config::{self, FileConfig, Overrides};

use crate::AGENT;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh");

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn install(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(SCRIPT)
        .args(args)
        .output()
        .unwrap()
}

/// Serves the agent binary for one `GET /downloads/...` and returns the base URL and a
/// handle yielding the requested path.
fn serve_binary_once() -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf).into_owned();
        let path = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let body = std::fs::read(AGENT).unwrap();
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(resp.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        path
    });
    (url, handle)
}

/// The installer passes shellcheck (when shellcheck is installed; says so loudly if not).
#[test]
fn installer_passes_shellcheck() {
    match Command::new("shellcheck").arg(SCRIPT).output() {
        Ok(out) => assert!(
            out.status.success(),
            "shellcheck found problems:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => eprintln!(
            "\n!!!!! WARNING: shellcheck is not installed: agent/install.sh was NOT linted !!!!!\n\
             !!!!! install it with: apt-get install -y shellcheck                          !!!!!\n"
        ),
    }
}

/// A prefix install downloads the platform's binary from the hub, writes a 0600 config
/// the agent accepts and a hardened unit; `--uninstall` removes it all.
#[test]
fn installer_prefix_install_and_uninstall() {
    let root = tempfile::tempdir().unwrap();
    let prefix = root.path().to_str().unwrap();
    let (hub, server) = serve_binary_once();

    let out = install(&[
        "--hub",
        &format!("{hub}/"),
        "--api-key",
        "lsk_installtest",
        "--name",
        "web 1",
        "--interval",
        "2s",
        "--prefix",
        prefix,
        "--no-start",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requested = server.join().unwrap();
    assert_eq!(
        requested,
        format!(
            "/downloads/lunasentri-agent-{}-{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    );

    let bin = root.path().join("usr/local/bin/lunasentri-agent");
    assert_eq!(mode(&bin), 0o755);
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(AGENT).unwrap());

    let cfg_path = root.path().join("etc/lunasentri/agent.yaml");
    assert_eq!(mode(&cfg_path), 0o600, "the config holds the API key");
    assert_eq!(mode(&root.path().join("etc/lunasentri")), 0o750);
    assert_eq!(mode(&root.path().join("var/lib/lunasentri-agent")), 0o700);
    let cfg = config::resolve(
        FileConfig::load(&cfg_path).unwrap(),
        Some(&cfg_path),
        Overrides::default(),
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.hub_urls[0].http_base(), hub);
    assert_eq!(cfg.api_key.as_ref().unwrap().expose(), "lsk_installtest");
    assert_eq!(cfg.machine_name, "web 1");
    assert_eq!(cfg.interval, std::time::Duration::from_secs(2));
    assert_eq!(
        cfg.spool_path.as_deref(),
        Some(Path::new("/var/lib/lunasentri-agent/spool.jsonl"))
    );

    let unit = std::fs::read_to_string(
        root.path()
            .join("etc/systemd/system/lunasentri-agent.service"),
    )
    .unwrap();
    for line in [
        "User=lunasentri",
        "ExecStart=/usr/local/bin/lunasentri-agent --config /etc/lunasentri/agent.yaml",
        "StateDirectory=lunasentri-agent",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "RestartPreventExitStatus=2",
        "WantedBy=multi-user.target",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "unit lacks {line:?}:\n{unit}"
        );
    }
    assert!(
        !unit.contains("lsk_installtest"),
        "the key belongs in the 0600 config only"
    );

    let out = install(&["--uninstall", "--prefix", prefix]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for gone in [
        "usr/local/bin/lunasentri-agent",
        "etc/lunasentri",
        "etc/systemd/system/lunasentri-agent.service",
        "var/lib/lunasentri-agent",
    ] {
        assert!(
            !root.path().join(gone).exists(),
            "{gone} survived --uninstall"
        );
    }
}

/// `--binary` installs a local file; bad arguments fail with a message naming them.
#[test]
fn installer_local_binary_and_bad_arguments() {
    let root = tempfile::tempdir().unwrap();
    let prefix = root.path().to_str().unwrap();
    let out = install(&[
        "--hub",
        "https://hub.example.com",
        "--api-key",
        "lsk_x",
        "--binary",
        AGENT,
        "--prefix",
        prefix,
        "--no-start",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.path().join("usr/local/bin/lunasentri-agent").exists());

    for (args, needle) in [
        (vec!["--hub", "https://h", "--prefix", prefix], "--api-key"),
        (vec!["--api-key", "k", "--prefix", prefix], "--hub"),
        (
            vec![
                "--hub",
                "hub.example.com",
                "--api-key",
                "k",
                "--prefix",
                prefix,
            ],
            "--hub",
        ),
        (
            vec![
                "--hub",
                "https://h",
                "--api-key",
                "k\"x",
                "--prefix",
                prefix,
            ],
            "--api-key",
        ),
        (
            vec![
                "--hub",
                "https://h",
                "--api-key",
                "k",
                "--interval",
                "5 s",
                "--prefix",
                prefix,
            ],
            "--interval",
        ),
        (vec!["--frob"], "--frob"),
    ] {
        let out = install(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
