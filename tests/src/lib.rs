//! Helpers for the end-to-end tests in `tests/`: find (or build) the real binaries, run
//! them as child processes that are killed on drop, pick free loopback ports, make TLS
//! certificates (which the hub's own tests use too: it is a dev-dependency of the hub).
//!
//! # Layout
//! - [`binary`]: the path of a workspace binary next to the test executable.
//! - [`Process`]: a child process with its stderr in a file, killed on drop.
//! - [`free_port`]: a loopback port nobody listens on.
//! - [`TestCerts`] (`certs.rs`): a test CA and a server certificate for 127.0.0.1, as PEM files.

mod certs;

pub use certs::TestCerts;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The path of `target/<profile>/<name>` for the profile the tests were built with,
/// found from the test executable (`target/<profile>/deps/e2e-…`). The first call for a
/// binary in a test process runs `cargo build -p <package> --bin <name>` for that
/// profile (nothing to do when it is current), so a test never runs a binary older than
/// the source.
pub fn binary(package: &str, name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", package, "--bin", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
        built.push(name.to_owned());
    }
    assert!(path.exists(), "{} not found", path.display());
    path
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A running child process; stderr goes to a file. Killed on drop.
pub struct Process {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Starts `program` with `args` and `env`; variables starting with any of
    /// `clear_prefixes` are not inherited.
    pub fn start(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        clear_prefixes: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("stderr.log");
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            let name = k.to_string_lossy();
            if clear_prefixes.iter().any(|p| name.starts_with(p)) {
                cmd.env_remove(&k);
            }
        }
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until stderr contains `needle`, and returns the log.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                start.elapsed() < limit,
                "no {needle:?} within {limit:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM failed");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "process did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
