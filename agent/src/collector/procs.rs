//! Processes: how many there are, and the top N by CPU and by memory.

use lunasentri_schema::sample::ProcSample;
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// Counts processes. On Linux this only lists `/proc` (cheap); elsewhere it reads the
/// process table.
pub fn count(sys: &mut System) -> u64 {
    if let Some(count) = count_proc_dirs() {
        return count;
    }
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().without_tasks(),
    );
    sys.processes().len() as u64
}

/// Reads the process table and lists the top `n` consumers by CPU and by memory. CPU
/// usage is averaged since the previous call, so calling this every few seconds gives
/// steadier (and cheaper) figures than every sample.
pub fn top_now(sys: &mut System, n: usize) -> Vec<ProcSample> {
    // Threads are not listed: reading every task directory would cost more than the
    // processes themselves.
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .without_tasks(),
    );
    let rows: Vec<ProcSample> = sys
        .processes()
        .values()
        .map(|p| ProcSample {
            pid: p.pid().as_u32(),
            name: p.name().to_string_lossy().into_owned(),
            cpu_pct: f64::from(p.cpu_usage()),
            mem_bytes: p.memory(),
        })
        .collect();
    top(rows, n)
}

/// The union of the `n` rows with the most CPU and the `n` with the most memory:
/// CPU leaders first, then memory leaders not already listed.
pub fn top(mut rows: Vec<ProcSample>, n: usize) -> Vec<ProcSample> {
    rows.sort_by(|a, b| b.cpu_pct.total_cmp(&a.cpu_pct).then(a.pid.cmp(&b.pid)));
    let mut out: Vec<ProcSample> = rows.iter().take(n).cloned().collect();
    rows.sort_by(|a, b| b.mem_bytes.cmp(&a.mem_bytes).then(a.pid.cmp(&b.pid)));
    for row in rows.into_iter().take(n) {
        if !out.iter().any(|o| o.pid == row.pid) {
            out.push(row);
        }
    }
    out
}

#[cfg(target_os = "linux")]
fn count_proc_dirs() -> Option<u64> {
    let dir = std::fs::read_dir("/proc").ok()?;
    Some(
        dir.filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
            .count() as u64,
    )
}

#[cfg(not(target_os = "linux"))]
fn count_proc_dirs() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, cpu: f64, mem: u64) -> ProcSample {
        ProcSample {
            pid,
            name: format!("p{pid}"),
            cpu_pct: cpu,
            mem_bytes: mem,
        }
    }

    /// Top lists CPU leaders then memory leaders, without duplicates.
    #[test]
    fn top_is_union_of_cpu_and_memory_leaders() {
        let rows = vec![
            p(1, 50.0, 10),
            p(2, 1.0, 900),
            p(3, 30.0, 800),
            p(4, 0.0, 5),
        ];
        let pids: Vec<u32> = top(rows, 2).iter().map(|r| r.pid).collect();
        assert_eq!(pids, vec![1, 3, 2]);
    }

    /// N larger than the table returns every process once.
    #[test]
    fn top_with_large_n() {
        let rows = vec![p(1, 1.0, 1), p(2, 2.0, 2)];
        assert_eq!(top(rows, 10).len(), 2);
    }
}
