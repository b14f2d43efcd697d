//! `--local-host-metrics`: the hub's own host appears as a machine owned by the first
//! admin, sampled by the same agent code users install, running in-process and talking
//! to this hub over its own agent link (so buffering, replay and acks are the same).
//! The machine's key is replaced at every start and never leaves the process.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use diesel::prelude::*;
use lunasentri_schema::MachineStatus;
use lunasentri_schema::protocol::API_KEY_PREFIX;
use tokio::sync::oneshot;

use crate::auth::secrets::{display_prefix, random_token, sha256_hex};
use crate::db::schema::{machines, users};
use crate::db::{DbConn, machines as machine_rows, now_ms};

/// The in-process agent; stops when dropped or on [`LocalAgent::stop`].
pub struct LocalAgent {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LocalAgent {
    /// Stops sampling, lets the agent flush, and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LocalAgent {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Finds or creates the hub-host machine of the first admin and gives it a new key.
/// Returns `(machine_id, owner_id, key, created)`.
pub fn prepare(conn: &mut DbConn) -> anyhow::Result<(i64, i64, String, bool)> {
    let owner: i64 = users::table
        .filter(users::role.eq("admin"))
        .order(users::id)
        .select(users::id)
        .first(conn)
        .context("local host metrics: no admin account to own the hub's machine")?;
    let name = format!("{} (hub)", hostname());
    let key = random_token(API_KEY_PREFIX);
    let (hash, prefix) = (sha256_hex(&key), display_prefix(&key));
    let existing: Option<i64> = machines::table
        .filter(machines::owner_id.eq(owner))
        .filter(machines::name.eq(&name))
        .select(machines::id)
        .first(conn)
        .optional()?;
    let (id, created) = match existing {
        Some(id) => {
            machine_rows::set_key(conn, id, Some(&hash), Some(&prefix))?;
            (id, false)
        }
        None => {
            let host = hostname();
            let new = machine_rows::NewMachine {
                owner_id: owner,
                name: &name,
                api_key_hash: &hash,
                key_prefix: &prefix,
                status: MachineStatus::Pending.as_str(),
                hostname: Some(&host),
                created_at: now_ms(),
            };
            (machine_rows::insert(conn, &new)?.id, true)
        }
    };
    Ok((id, owner, key, created))
}

/// Starts the in-process agent against the hub listening on `addr`.
pub fn start(addr: SocketAddr, key: String) -> anyhow::Result<LocalAgent> {
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let url = lunasentri_agent::link::url::HubUrl::parse(&format!("http://{host}:{}", addr.port()))
        .map_err(anyhow::Error::msg)?;
    let key = lunasentri_agent::config::ApiKey::new(&key, "local host metrics")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = lunasentri_agent::Config::new(url, key);
    config.interval = Duration::from_secs(1);
    config.machine_name = format!("{} (hub)", hostname());
    let (tx, rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("lunasentri-local-agent".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "local host metrics: no runtime"),
            };
            let stop = async move {
                let _ = rx.await;
            };
            if let Err(e) = rt.block_on(lunasentri_agent::run(config, stop)) {
                tracing::error!(error = %e, "local host metrics stopped");
            }
        })?;
    tracing::info!("local host metrics: this host reports as a machine of the first admin");
    Ok(LocalAgent {
        stop: Some(tx),
        thread: Some(thread),
    })
}
