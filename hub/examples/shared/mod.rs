//! What the benchmark examples store: machines with their owner, and samples shaped
//! like a real server's.

// Every example compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use diesel::QueryResult;
use lunasentri_hub::db::{DbConn, machines, users};
use lunasentri_schema::Sample;
use lunasentri_schema::sample::{DiskSample, IfaceSample, ProcSample, TempSample};

/// Creates the user `email` (whose password hash matches no password) and `n` machines
/// it owns, named `{prefix}0`, `{prefix}1`, ... with `status`, through the hub's own
/// insert path; returns the machines' ids. Fails when the user exists already: the
/// examples want a new database.
pub fn owner_with_machines(
    conn: &mut DbConn,
    email: &str,
    prefix: &str,
    n: i64,
    status: &str,
) -> QueryResult<Vec<i64>> {
    let owner = users::insert(
        conn,
        &users::NewUser {
            email,
            password_hash: "x",
            role: "user",
            created_at: 0,
        },
    )?
    .id;
    (0..n)
        .map(|i| {
            let name = format!("{prefix}{i}");
            machines::insert(
                conn,
                &machines::NewMachine {
                    owner_id: owner,
                    name: &name,
                    api_key_hash: &name,
                    key_prefix: "k",
                    status,
                    hostname: None,
                    created_at: 0,
                },
            )
            .map(|m| m.id)
        })
        .collect()
}

/// A sample shaped like a real 8-core server's: per-core CPU, two disks, two
/// interfaces, two temperatures and the top five processes.
pub fn server_sample(seq: i64, ts: i64) -> Sample {
    let f = (seq % 997) as f64;
    Sample {
        seq: seq as u64,
        ts,
        cpu_pct: 12.5 + f / 50.0,
        mem_used_pct: 43.2 + f / 100.0,
        disk_used_pct: 61.7,
        net_rx_bytes: 9_000_000_000 + seq as u64 * 12_345,
        net_tx_bytes: 4_000_000_000 + seq as u64 * 6_789,
        load1: 0.42 + f / 1000.0,
        load5: 0.38,
        load15: 0.35,
        mem_used_bytes: 7_400_000_000 + seq as u64 * 17,
        mem_total_bytes: 17_179_869_184,
        swap_used_bytes: 0,
        swap_total_bytes: 2_147_483_648,
        disk_read_bps: 40_960.0 + f,
        disk_write_bps: 163_840.0 + f * 3.0,
        net_rx_bps: 12_345.6 + f,
        net_tx_bps: 6_789.1 + f,
        uptime_s: 1_000_000 + seq as u64,
        procs: 312,
        cpu_iowait_pct: Some(0.4),
        cpu_steal_pct: Some(0.0),
        cpus: (0..8).map(|c| 10.0 + c as f64 + f / 100.0).collect(),
        disks: ["/", "/var"]
            .iter()
            .map(|m| DiskSample {
                mount: (*m).into(),
                fs: "ext4".into(),
                used_bytes: 120_000_000_000 + seq as u64,
                total_bytes: 250_000_000_000,
                read_bps: 20_480.0 + f,
                write_bps: 81_920.0 + f,
            })
            .collect(),
        ifaces: ["eth0", "eth1"]
            .iter()
            .map(|n| IfaceSample {
                name: (*n).into(),
                rx_bytes: 4_500_000_000 + seq as u64 * 6000,
                tx_bytes: 2_000_000_000 + seq as u64 * 3000,
                rx_bps: 6000.0 + f,
                tx_bps: 3000.0 + f,
            })
            .collect(),
        temps: ["cpu", "nvme"]
            .iter()
            .map(|l| TempSample {
                label: (*l).into(),
                celsius: 45.0 + f / 100.0,
            })
            .collect(),
        top: ["postgres", "nginx", "lunasentri-agent", "sshd", "systemd"]
            .iter()
            .enumerate()
            .map(|(i, n)| ProcSample {
                pid: 1000 + i as u32,
                name: (*n).into(),
                cpu_pct: 5.0 - i as f64,
                mem_bytes: 100_000_000 * (5 - i as u64),
            })
            .collect(),
    }
}
