//! Kernel text files (`/proc/stat`, `/proc/meminfo`, …) kept open for the life of the
//! process and re-read from offset 0 every sample: one `pread` per file instead of
//! open, stat, read and close (and no second `pread` to find the end of a one-record
//! file), into a buffer that is reused.
//!
//! Reading a `/proc` file from offset 0 makes the kernel generate it afresh, so a kept
//! handle sees current values exactly like a new one.

use std::fs::File;
use std::io;

/// One open `/proc` file and the buffer its text is read into.
#[derive(Debug)]
pub struct ProcFile {
    file: File,
    /// Always fully initialised; only `buf[..len]` holds the last read.
    buf: Vec<u8>,
    len: usize,
    /// The kernel formats the file as one record, so a read that does not fill the
    /// buffer has all of it and no read at the end is needed to see the end.
    one_record: bool,
}

impl ProcFile {
    /// Opens `path` for repeated reading.
    pub fn open(path: &str) -> io::Result<Self> {
        Ok(Self {
            file: File::open(path)?,
            buf: vec![0; 4096],
            len: 0,
            one_record: false,
        })
    }

    /// Opens `path`, or `None` where the OS does not have it.
    pub fn try_open(path: &str) -> Option<Self> {
        Self::open(path).ok()
    }

    /// Opens a file the kernel writes as one record (`/proc/stat`, `/proc/meminfo`,
    /// `/proc/loadavg`, `/proc/uptime`: each made whole by one `show` call), or `None`
    /// where the OS does not have it. Reading it takes one `pread`: a short read is the
    /// whole file. Files of many records (`/proc/net/dev`, `/proc/diskstats`) may be
    /// returned in pieces and are opened with [`ProcFile::try_open`].
    pub fn try_open_one_record(path: &str) -> Option<Self> {
        let mut f = Self::open(path).ok()?;
        f.one_record = true;
        Some(f)
    }

    /// Reads the whole file again and returns its text. The buffer grows to the
    /// largest size seen and stays there.
    pub fn read(&mut self) -> io::Result<&str> {
        self.len = 0;
        loop {
            if self.len == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = read_at(&self.file, &mut self.buf[self.len..], self.len as u64)?;
            if n == 0 {
                break;
            }
            self.len += n;
            if self.one_record && self.len < self.buf.len() {
                break;
            }
        }
        std::str::from_utf8(&self.buf[..self.len])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(_file: &File, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// The value of `Key:` in a `key: value kB` table such as `/proc/meminfo`.
pub fn table_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept handle returns the whole file on every read, also past the first buffer.
    #[test]
    fn rereads_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let text = "x".repeat(10_000);
        std::fs::write(&path, &text).unwrap();
        let mut f = ProcFile::open(path.to_str().unwrap()).unwrap();
        assert_eq!(f.read().unwrap(), text);
        std::fs::write(&path, "short").unwrap();
        assert_eq!(f.read().unwrap(), "short");
        let mut f = ProcFile::try_open_one_record(path.to_str().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(f.read().unwrap(), text);
        assert_eq!(f.read().unwrap(), text);
    }

    /// One-record `/proc` files read whole in one go, like a fresh read of the file.
    #[cfg(target_os = "linux")]
    #[test]
    fn reads_one_record_proc_files() {
        for path in [
            "/proc/stat",
            "/proc/meminfo",
            "/proc/loadavg",
            "/proc/uptime",
        ] {
            let mut f = ProcFile::try_open_one_record(path).unwrap();
            let kept = f.read().unwrap().to_owned();
            let fresh = std::fs::read_to_string(path).unwrap();
            assert_eq!(kept.lines().count(), fresh.lines().count(), "{path}");
            assert!(kept.ends_with('\n'), "{path}");
        }
    }

    /// `key: value` tables are looked up by exact key.
    #[test]
    fn table_values() {
        let t = "MemTotal:       16318412 kB\nMemAvailable:    9000000 kB\nSwapTotal: 0 kB\n";
        assert_eq!(table_value(t, "MemTotal"), Some(16_318_412));
        assert_eq!(table_value(t, "MemAvailable"), Some(9_000_000));
        assert_eq!(table_value(t, "Mem"), None);
        assert_eq!(table_value(t, "SwapFree"), None);
    }
}
