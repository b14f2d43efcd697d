//! Processes: how many there are, and the top N by CPU and by memory.
//!
//! On Linux the process table is read straight from `/proc` by [`ProcTable`]: one open
//! and one read of `/proc/PID/stat` per process, which holds the name, the CPU time and
//! the resident set size. (sysinfo reads `status`, `stat` and `statm` of every process,
//! with a `statx` and `lseek` around each read, five times the system calls for the same
//! three figures.) Elsewhere sysinfo reads it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;

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

/// Reads the process table through sysinfo and lists the top `n` consumers by CPU and
/// by memory. CPU usage is averaged since the previous call, so calling this every few
/// seconds gives steadier (and cheaper) figures than every sample.
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

/// The figures of one `/proc/PID/stat` line the agent uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidStat<'a> {
    /// The command name (`comm`, at most 15 bytes), as the kernel has it.
    pub name: &'a [u8],
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks: tells a reused PID from the old process.
    pub start_ticks: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid … utime stime … starttime vsize rss
/// …`. The name may hold spaces and parentheses, so it runs from the first `(` to the
/// last `)`; the other fields are counted from there.
pub fn parse_pid_stat(text: &[u8]) -> Option<PidStat<'_>> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let name = text.get(open + 1..close)?;
    // Fields after the name, numbered from 3 (state) as in proc(5).
    let mut fields = text[close + 1..]
        .split(|b| *b == b' ')
        .filter(|f| !f.is_empty());
    let mut field = |skip: usize| -> Option<u64> {
        let f = fields.nth(skip)?;
        std::str::from_utf8(f).ok()?.parse().ok()
    };
    let utime = field(11)?; // field 14
    let stime = field(0)?; // 15
    let start_ticks = field(6)?; // 22
    let rss_pages = field(1)?; // 24 (23 is vsize)
    Some(PidStat {
        name,
        cpu_ticks: utime.saturating_add(stime),
        start_ticks,
        rss_pages,
    })
}

/// CPU time of one process at the previous scan.
#[derive(Debug, Clone, Copy)]
struct Seen {
    start_ticks: u64,
    cpu_ticks: u64,
}

/// The process table read straight from `/proc` on Linux, keeping each process's CPU
/// time between scans. CPU usage is the process's share of one core over the time
/// between two scans (100 = one core busy), as sysinfo computes it: its CPU ticks over
/// the host's total CPU ticks divided by the number of cores.
#[derive(Debug)]
pub struct ProcTable {
    page_size: u64,
    last: HashMap<u32, Seen>,
    next: HashMap<u32, Seen>,
    /// The host's total CPU ticks (all cores, from `/proc/stat`) at the previous scan.
    last_total: Option<u64>,
    path: String,
    buf: Vec<u8>,
}

impl ProcTable {
    /// A table for this host, or `None` where there is no Linux `/proc`.
    pub fn new() -> Option<Self> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let page_size = page_size()?;
        Some(Self {
            page_size,
            last: HashMap::new(),
            next: HashMap::new(),
            last_total: None,
            path: String::with_capacity(32),
            buf: vec![0; 1024],
        })
    }

    /// Reads every process; returns how many there are and one row each. `total_ticks`
    /// is the host's total CPU time from `/proc/stat` now and `cores` the number of
    /// cores. A process first seen in this scan reports 0 % CPU. `None` if `/proc` cannot
    /// be listed.
    pub fn scan(&mut self, total_ticks: u64, cores: usize) -> Option<(u64, Vec<ProcSample>)> {
        let dir = std::fs::read_dir("/proc").ok()?;
        let cores = cores.max(1) as f64;
        // Ticks of one core between the scans.
        let per_core = self
            .last_total
            .and_then(|t| total_ticks.checked_sub(t))
            .filter(|d| *d > 0)
            .map(|d| d as f64 / cores);
        self.last_total = Some(total_ticks);
        self.next.clear();
        let mut count = 0u64;
        let mut rows = Vec::with_capacity(self.last.len() + 16);
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| {
                n.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| n.parse::<u32>().ok())
                    .flatten()
            }) else {
                continue;
            };
            count += 1;
            // The process may have exited since the listing.
            let Some(len) = read_stat(&mut self.path, &mut self.buf, pid) else {
                continue;
            };
            let Some(stat) = parse_pid_stat(&self.buf[..len]) else {
                continue;
            };
            let now = Seen {
                start_ticks: stat.start_ticks,
                cpu_ticks: stat.cpu_ticks,
            };
            let cpu_pct = match (self.last.get(&pid), per_core) {
                (Some(prev), Some(per_core)) if prev.start_ticks == now.start_ticks => {
                    let used = now.cpu_ticks.saturating_sub(prev.cpu_ticks) as f64;
                    (used / per_core * 100.0).min(cores * 100.0)
                }
                _ => 0.0,
            };
            rows.push(ProcSample {
                pid,
                name: String::from_utf8_lossy(stat.name).into_owned(),
                cpu_pct,
                mem_bytes: stat.rss_pages.saturating_mul(self.page_size),
            });
            self.next.insert(pid, now);
        }
        std::mem::swap(&mut self.last, &mut self.next);
        Some((count, rows))
    }
}

/// Reads `/proc/PID/stat` into `buf` (growing it if needed) with one `read`, and returns
/// its length. The file is one record that the kernel formats whole, so a read that does
/// not fill the buffer has all of it.
fn read_stat(path: &mut String, buf: &mut Vec<u8>, pid: u32) -> Option<usize> {
    use std::fmt::Write as _;
    path.clear();
    let _ = write!(path, "/proc/{pid}/stat");
    let mut file = File::open(path.as_str()).ok()?;
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..]).ok()?;
        len += n;
        if n == 0 || len < buf.len() {
            return Some(len);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// The memory page size, from the auxiliary vector the kernel gave this process
/// (`AT_PAGESZ` in `/proc/self/auxv`, pairs of native-endian words).
fn page_size() -> Option<u64> {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    parse_auxv(&auxv, AT_PAGESZ)
}

/// The value of entry `key` in an auxiliary vector.
fn parse_auxv(auxv: &[u8], key: u64) -> Option<u64> {
    const WORD: usize = std::mem::size_of::<usize>();
    let word = |b: &[u8]| -> Option<u64> {
        let bytes: [u8; WORD] = b.try_into().ok()?;
        u64::try_from(usize::from_ne_bytes(bytes)).ok()
    };
    auxv.chunks_exact(2 * WORD)
        .map(|pair| (word(&pair[..WORD]), word(&pair[WORD..])))
        .take_while(|(k, _)| *k != Some(0))
        .find_map(|(k, v)| (k == Some(key)).then_some(v).flatten())
        .filter(|v| *v > 0)
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

    /// The name runs from the first `(` to the last `)`, so names with spaces and
    /// parentheses parse; the numbers after it are counted from there.
    #[test]
    fn parses_pid_stat() {
        let line = b"4242 (tmux: server) S 1 4242 4242 0 -1 4194560 1200 0 3 0 \
                     150 25 0 0 20 0 1 0 98765 12345678 2048 18446744073709551615 1 1 0 0 0 0 \
                     0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let s = parse_pid_stat(line).unwrap();
        assert_eq!(s.name, b"tmux: server");
        assert_eq!(
            (s.cpu_ticks, s.start_ticks, s.rss_pages),
            (175, 98765, 2048)
        );

        let tricky = b"77 (a) b (c) ) R 1 77 77 0 -1 0 0 0 0 0 9 1 0 0 20 0 1 0 5 100 3 0\n";
        let s = parse_pid_stat(tricky).unwrap();
        assert_eq!(s.name, b"a) b (c) ");
        assert_eq!((s.cpu_ticks, s.start_ticks, s.rss_pages), (10, 5, 3));

        assert_eq!(parse_pid_stat(b"12 () S 1").map(|s| s.name), None);
        assert!(parse_pid_stat(b"12 (x").is_none());
        assert!(parse_pid_stat(b"").is_none());
        assert!(parse_pid_stat(b"1 (x) S 1 2 3 4 5 6 7 8 9 10 ten 12\n").is_none());
    }

    /// The page size is read from the auxiliary vector; a vector without it gives none.
    #[test]
    fn page_size_from_auxv() {
        let words = |w: &[usize]| w.iter().flat_map(|v| v.to_ne_bytes()).collect::<Vec<u8>>();
        assert_eq!(parse_auxv(&words(&[3, 64, 6, 16384, 0, 0]), 6), Some(16384));
        assert_eq!(parse_auxv(&words(&[3, 64, 0, 0, 6, 4096]), 6), None);
        assert_eq!(parse_auxv(&[], 6), None);
        #[cfg(target_os = "linux")]
        assert!(page_size().is_some_and(|p| p.is_power_of_two() && p >= 4096));
    }

    /// A scan of this host lists this process with its name and memory, counts as
    /// many processes as `/proc` lists, and measures CPU between two scans.
    #[cfg(target_os = "linux")]
    #[test]
    fn scans_this_host() {
        let mut table = ProcTable::new().unwrap();
        let (count, rows) = table.scan(1_000, 2).unwrap();
        assert!(count > 0 && rows.len() as u64 <= count);
        let me = std::process::id();
        let row = rows.iter().find(|r| r.pid == me).unwrap();
        assert!(row.mem_bytes > 0 && !row.name.is_empty());
        assert!(
            rows.iter().all(|r| r.cpu_pct == 0.0),
            "first scan has no baseline"
        );
        // Burn some CPU, then scan again as if 2 s of two cores passed (400 ticks).
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(100) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        assert_ne!(x, 1);
        let (_, rows) = table.scan(1_400, 2).unwrap();
        let row = rows.iter().find(|r| r.pid == me).unwrap();
        assert!(row.cpu_pct > 0.0 && row.cpu_pct <= 200.0, "{}", row.cpu_pct);
    }

    /// N larger than the table returns every process once.
    #[test]
    fn top_with_large_n() {
        let rows = vec![p(1, 1.0, 1), p(2, 2.0, 2)];
        assert_eq!(top(rows, 10).len(), 2);
    }
}
