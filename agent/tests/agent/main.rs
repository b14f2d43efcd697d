//! Integration tests of the real `lunasentri-agent` binary: command line, the link
//! against a fake hub written here, and the installer script.

mod cli;
mod fake_hub;
mod install;
mod link;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The agent binary built by Cargo for these tests.
pub const AGENT: &str = env!("CARGO_BIN_EXE_lunasentri-agent");

/// A command for the agent binary with no `LUNASENTRI_AGENT_*` variables inherited.
pub fn agent_cmd() -> Command {
    let mut cmd = Command::new(AGENT);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("LUNASENTRI_AGENT_") {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A running agent process, killed on drop; its stderr goes to a file for assertions.
pub struct AgentProcess {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl AgentProcess {
    /// Starts the agent with `args` and extra environment.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        let mut cmd = agent_cmd();
        cmd.args(args).envs(env.iter().copied());
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        Self {
            child: cmd.spawn().unwrap(),
            log,
            _dir: dir,
        }
    }

    /// What the agent logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
        wait_exit(&mut self.child, limit)
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a child to exit, panicking after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "process did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
