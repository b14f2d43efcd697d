//! Unacked samples: a bounded ring in memory, optionally mirrored to a spool file that
//! survives a restart, plus the sequence counter that numbers samples.
//!
//! A sample stays here from the moment it is taken until the hub acks its `seq` (or a
//! fallback `POST` is accepted). When the ring is full the oldest sample is dropped and
//! the drop is logged with a count.
//!
//! Spool format (JSON lines, append-only between compactions): a mark line
//! `{"acked":N,"last_seq":M}` and one sample per line. On start the newest mark says
//! which samples the hub already has and which `seq` was issued last, so numbering
//! continues where it stopped. Without a spool, numbering starts at the current time in
//! milliseconds, which is larger than any `seq` an earlier run could have issued.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use lunasentri_schema::Sample;
use serde::{Deserialize, Serialize};

use crate::collector::now_ms;

/// The spool file could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[error("spool file {path}: {source}")]
pub struct SpoolError {
    path: PathBuf,
    source: std::io::Error,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    acked: u64,
    last_seq: u64,
}

/// A spool line: a mark (`{"acked":…`) or a sample.
enum Line {
    Mark(Mark),
    Sample(Box<Sample>),
}

impl Line {
    fn parse(text: &str) -> Option<Self> {
        if text.starts_with("{\"acked\"") {
            serde_json::from_str(text).ok().map(Line::Mark)
        } else {
            serde_json::from_str(text).ok().map(Line::Sample)
        }
    }
}

#[derive(Debug)]
struct Spool {
    path: PathBuf,
    file: File,
    /// Lines in the file, to decide when to compact.
    lines: usize,
    /// Set after a write error: the spool is off until the next successful compaction.
    failed: bool,
}

/// Bounded buffer of unacked samples.
#[derive(Debug)]
pub struct Buffer {
    ring: VecDeque<Sample>,
    cap: usize,
    spool: Option<Spool>,
    next_seq: u64,
    acked: u64,
    dropped_episode: u64,
    dropped_total: u64,
}

impl Buffer {
    /// An in-memory buffer of at most `cap` samples.
    pub fn in_memory(cap: usize) -> Self {
        Self {
            ring: VecDeque::new(),
            cap: cap.max(1),
            spool: None,
            next_seq: u64::try_from(now_ms()).unwrap_or(1).max(1),
            acked: 0,
            dropped_episode: 0,
            dropped_total: 0,
        }
    }

    /// A buffer mirrored to `path`, loading the samples and `seq` a previous run left.
    pub fn with_spool(cap: usize, path: &Path) -> Result<Self, SpoolError> {
        let err = |source| SpoolError {
            path: path.to_owned(),
            source,
        };
        let mut buf = Self::in_memory(cap);
        let mut last_seq = None::<u64>;
        let mut bad_lines = 0usize;
        match File::open(path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.map_err(err)?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    match Line::parse(&line) {
                        Some(Line::Mark(m)) => {
                            buf.acked = buf.acked.max(m.acked);
                            last_seq = Some(last_seq.unwrap_or(0).max(m.last_seq));
                        }
                        Some(Line::Sample(s)) => {
                            last_seq = Some(last_seq.unwrap_or(0).max(s.seq));
                            buf.ring.push_back(*s);
                        }
                        // A torn last line after a crash or power loss.
                        None => bad_lines += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        if bad_lines > 0 {
            tracing::warn!(path = %path.display(), bad_lines, "skipped unreadable lines in the spool file");
        }
        let acked = buf.acked;
        buf.ring.retain(|s| s.seq > acked);
        buf.ring.make_contiguous().sort_by_key(|s| s.seq);
        while buf.ring.len() > buf.cap {
            buf.ring.pop_front();
            buf.dropped_total += 1;
        }
        if let Some(last) = last_seq {
            buf.next_seq = last + 1;
        }
        if !buf.ring.is_empty() {
            tracing::info!(
                samples = buf.ring.len(),
                "loaded unacked samples from the spool"
            );
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        buf.spool = Some(Spool {
            path: path.to_owned(),
            file,
            lines: 0,
            failed: false,
        });
        buf.compact();
        Ok(buf)
    }

    /// Takes the next sequence number.
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The sequence number [`Buffer::take_seq`] returns next.
    pub fn peek_seq(&self) -> u64 {
        self.next_seq
    }

    /// Keeps a sample until it is acked, dropping the oldest when full.
    pub fn push(&mut self, sample: Sample) {
        if self.ring.len() >= self.cap {
            self.ring.pop_front();
            self.dropped_episode += 1;
            self.dropped_total += 1;
            if self.dropped_episode == 1 {
                tracing::warn!(
                    capacity = self.cap,
                    "sample buffer full: dropping the oldest unacked samples"
                );
            } else if self.dropped_episode.is_multiple_of(600) {
                tracing::warn!(
                    dropped = self.dropped_episode,
                    "sample buffer still full: samples dropped so far"
                );
            }
        }
        if let Some(spool) = &mut self.spool
            && !spool.failed
            && let Ok(mut line) = serde_json::to_vec(&sample)
        {
            line.push(b'\n');
            spool.append(&line);
        }
        self.ring.push_back(sample);
        if self
            .spool
            .as_ref()
            .is_some_and(|s| s.lines > self.cap * 2 + 16)
        {
            self.compact();
        }
    }

    /// Forgets every sample with `seq <= seq`: the hub has stored them. Returns how many.
    pub fn ack(&mut self, seq: u64) -> usize {
        let before = self.ring.len();
        while self.ring.front().is_some_and(|s| s.seq <= seq) {
            self.ring.pop_front();
        }
        let removed = before - self.ring.len();
        if seq > self.acked {
            self.acked = seq;
            if self.dropped_episode > 0 {
                tracing::warn!(
                    dropped = self.dropped_episode,
                    "hub reachable again; samples were dropped while the buffer was full"
                );
                self.dropped_episode = 0;
            }
            let mark = Mark {
                acked: self.acked,
                last_seq: self.next_seq.saturating_sub(1),
            };
            if let Some(spool) = &mut self.spool
                && !spool.failed
                && let Ok(mut line) = serde_json::to_vec(&mark)
            {
                line.push(b'\n');
                spool.append(&line);
            }
            if self
                .spool
                .as_ref()
                .is_some_and(|s| s.lines > self.ring.len() + 256)
            {
                self.compact();
            }
        }
        removed
    }

    /// Rewrites the spool with only the unacked samples (atomically, via rename).
    pub fn compact(&mut self) {
        let Some(spool) = &mut self.spool else { return };
        let mark = Mark {
            acked: self.acked,
            last_seq: self.next_seq.saturating_sub(1),
        };
        let tmp = spool.path.with_extension("tmp");
        let result = (|| -> std::io::Result<File> {
            let mut out = std::io::BufWriter::new(File::create(&tmp)?);
            serde_json::to_writer(&mut out, &mark)?;
            out.write_all(b"\n")?;
            for s in &self.ring {
                serde_json::to_writer(&mut out, s)?;
                out.write_all(b"\n")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_data()?;
            std::fs::rename(&tmp, &spool.path)?;
            OpenOptions::new().append(true).open(&spool.path)
        })();
        match result {
            Ok(file) => {
                spool.file = file;
                spool.lines = self.ring.len() + 1;
                spool.failed = false;
            }
            Err(e) => {
                if !spool.failed {
                    tracing::warn!(path = %spool.path.display(), error = %e, "cannot write the spool file; buffering in memory only");
                }
                spool.failed = true;
            }
        }
    }

    /// Unacked samples held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether every sample was acked.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Whether unacked samples are being written to a spool file.
    pub fn spooled(&self) -> bool {
        self.spool.as_ref().is_some_and(|s| !s.failed)
    }

    /// Samples dropped because the buffer was full, since start.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Highest `seq` held, if any.
    pub fn last_seq(&self) -> Option<u64> {
        self.ring.back().map(|s| s.seq)
    }

    /// Unacked samples with `seq > after`, oldest first.
    pub fn after(&self, after: u64) -> impl Iterator<Item = &Sample> {
        let start = self.ring.partition_point(|s| s.seq <= after);
        self.ring.range(start..)
    }

    /// One JSON document `{prefix}[s1,s2,…]{suffix}` holding the oldest unacked samples
    /// with `seq > after`, at most `max_samples` of them and at most `max_bytes` long
    /// (always at least one sample). Returns the text and the last `seq` it carries.
    pub fn chunk(
        &self,
        after: u64,
        prefix: &str,
        suffix: &str,
        max_samples: usize,
        max_bytes: usize,
    ) -> Option<(String, u64)> {
        let mut out = String::from(prefix);
        let mut last = None;
        let mut n = 0;
        for s in self.after(after) {
            let Ok(json) = serde_json::to_string(s) else {
                continue;
            };
            let extra = json.len() + usize::from(n > 0);
            if n > 0 && (n >= max_samples || out.len() + extra + suffix.len() > max_bytes) {
                break;
            }
            if n > 0 {
                out.push(',');
            }
            out.push_str(&json);
            last = Some(s.seq);
            n += 1;
        }
        out.push_str(suffix);
        last.map(|l| (out, l))
    }
}

impl Spool {
    fn append(&mut self, line: &[u8]) {
        match self.file.write_all(line) {
            Ok(()) => self.lines += 1,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot write the spool file; buffering in memory only");
                self.failed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> Sample {
        Sample {
            seq,
            ts: seq as i64,
            cpu_pct: 1.0,
            ..Sample::default()
        }
    }

    /// Without a spool, numbering starts at the current time in ms and increments by 1.
    #[test]
    fn seq_starts_at_now_without_spool() {
        let before = now_ms() as u64;
        let mut b = Buffer::in_memory(10);
        let a = b.take_seq();
        assert!(a >= before);
        assert_eq!(b.take_seq(), a + 1);
    }

    /// When full, the oldest samples are dropped and counted.
    #[test]
    fn full_buffer_drops_oldest() {
        let mut b = Buffer::in_memory(3);
        for seq in 1..=5 {
            b.push(sample(seq));
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.after(0).map(|s| s.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(b.dropped_total(), 2);
    }

    /// An ack removes every sample up to and including its seq.
    #[test]
    fn ack_removes_prefix() {
        let mut b = Buffer::in_memory(10);
        for seq in 1..=5 {
            b.push(sample(seq));
        }
        assert_eq!(b.ack(3), 3);
        assert_eq!(b.after(0).map(|s| s.seq).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(b.ack(2), 0);
        assert_eq!(b.after(4).map(|s| s.seq).collect::<Vec<_>>(), vec![5]);
    }

    /// Chunks respect both the sample count and the byte limit, and never lose a sample.
    #[test]
    fn chunks_respect_limits() {
        let mut b = Buffer::in_memory(100);
        for seq in 1..=10 {
            b.push(sample(seq));
        }
        let (text, last) = b.chunk(0, "{\"samples\":[", "]}", 4, 1 << 20).unwrap();
        assert_eq!(last, 4);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["samples"].as_array().unwrap().len(), 4);

        let one = serde_json::to_string(&sample(1)).unwrap().len();
        let (text, last) = b.chunk(4, "[", "]", 100, one * 2 + 3).unwrap();
        assert_eq!(last, 6);
        assert!(text.len() <= one * 2 + 3);
        assert!(b.chunk(10, "[", "]", 100, 10).is_none());
    }

    /// Unacked samples and the seq counter survive a restart through the spool.
    #[test]
    fn spool_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.spool");
        let first_seq;
        {
            let mut b = Buffer::with_spool(100, &path).unwrap();
            first_seq = b.take_seq();
            b.push(sample(first_seq));
            let s2 = b.take_seq();
            b.push(sample(s2));
            let s3 = b.take_seq();
            b.push(sample(s3));
            b.ack(first_seq);
        }
        let mut b = Buffer::with_spool(100, &path).unwrap();
        assert_eq!(
            b.after(0).map(|s| s.seq).collect::<Vec<_>>(),
            vec![first_seq + 1, first_seq + 2]
        );
        assert_eq!(b.take_seq(), first_seq + 3);
        // Everything acked: the counter still continues after another restart.
        b.ack(first_seq + 2);
        drop(b);
        let mut b = Buffer::with_spool(100, &path).unwrap();
        assert!(b.is_empty());
        assert_eq!(b.take_seq(), first_seq + 4);
    }

    /// A torn last line (crash mid-write) is skipped, the rest loads.
    #[test]
    fn spool_tolerates_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.spool");
        let mut text = serde_json::to_string(&sample(7)).unwrap();
        text.push_str("\n{\"seq\":8,\"ts\":");
        std::fs::write(&path, text).unwrap();
        let mut b = Buffer::with_spool(100, &path).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b.take_seq(), 8);
    }
}
