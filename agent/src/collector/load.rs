//! Load averages and uptime: from `/proc/loadavg` and `/proc/uptime` on Linux (kept
//! open), from sysinfo elsewhere.

use sysinfo::System;

use super::procfs::ProcFile;

/// The open `/proc/loadavg` and `/proc/uptime`, where they exist.
#[derive(Debug)]
pub struct LoadReader {
    loadavg: Option<ProcFile>,
    uptime: Option<ProcFile>,
}

impl LoadReader {
    pub fn new() -> Self {
        Self {
            loadavg: ProcFile::try_open_one_record("/proc/loadavg"),
            uptime: ProcFile::try_open_one_record("/proc/uptime"),
        }
    }

    /// Load averages over 1, 5 and 15 minutes (zeros where the OS has none).
    pub fn load(&mut self) -> [f64; 3] {
        if let Some(l) = self
            .loadavg
            .as_mut()
            .and_then(|f| f.read().ok())
            .and_then(parse_loadavg)
        {
            return l;
        }
        self.loadavg = None;
        System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen])
    }

    /// Seconds since boot.
    pub fn uptime_s(&mut self) -> u64 {
        if let Some(u) = self
            .uptime
            .as_mut()
            .and_then(|f| f.read().ok())
            .and_then(parse_uptime)
        {
            return u;
        }
        self.uptime = None;
        System::uptime().unwrap_or_default()
    }
}

impl Default for LoadReader {
    fn default() -> Self {
        Self::new()
    }
}

/// `0.52 0.58 0.59 1/467 12345` → the first three numbers.
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut f = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([f.next()??, f.next()??, f.next()??])
}

/// `3600.52 7000.10` → whole seconds since boot.
pub fn parse_uptime(text: &str) -> Option<u64> {
    let secs = text.split_whitespace().next()?;
    secs.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's formats for load averages and uptime.
    #[test]
    fn parses_loadavg_and_uptime() {
        assert_eq!(
            parse_loadavg("0.52 0.58 1.59 1/467 12345\n"),
            Some([0.52, 0.58, 1.59])
        );
        assert_eq!(parse_loadavg("0.52 x"), None);
        assert_eq!(parse_uptime("3600.52 7000.10\n"), Some(3600));
        assert_eq!(parse_uptime(""), None);
    }

    /// On this machine both files read.
    #[test]
    fn reads_this_host() {
        let mut r = LoadReader::new();
        assert!(r.uptime_s() > 0);
        assert!(r.load().iter().all(|v| *v >= 0.0));
    }
}
