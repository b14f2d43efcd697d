//! Filesystems: every real mounted filesystem once (deduplicated by device), its space,
//! and read/write bytes per second of the device under it.
//!
//! Filter rule: pseudo and memory-backed filesystems are skipped (see [`is_virtual_fs`]),
//! as are mounts of size zero; when one device is mounted several times (bind mounts,
//! btrfs subvolumes), only the mount with the shortest path is reported.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

use lunasentri_schema::sample::DiskSample;
use sysinfo::{DiskRefreshKind, Disks};

use super::procfs::ProcFile;
use super::rate::RateSet;

/// Filesystem types that hold no user data on a disk of their own.
const VIRTUAL_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "fuse.snapfuse",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "nullfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "udf",
];

/// Whether a filesystem type is a pseudo, memory-backed, image or overlay filesystem
/// rather than storage an operator would want to watch fill up.
pub fn is_virtual_fs(fs: &str) -> bool {
    VIRTUAL_FS.contains(&fs)
}

/// Disk figures of one sample.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DiskReading {
    pub disks: Vec<DiskSample>,
    /// Fullest filesystem, 0–100.
    pub max_used_pct: f64,
    pub read_bps: f64,
    pub write_bps: f64,
}

/// Where I/O counters come from on Linux: the open `/proc/diskstats`, read once per
/// sample for every device, and the name each mounted device has in it.
#[derive(Debug)]
pub struct DiskStats {
    file: Option<ProcFile>,
    /// Device as mounted (`/dev/mapper/vg-root`) → name in diskstats (`dm-0`).
    names: HashMap<String, String>,
}

impl DiskStats {
    pub fn new() -> Self {
        Self {
            file: ProcFile::try_open("/proc/diskstats"),
            names: HashMap::new(),
        }
    }
}

impl Default for DiskStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads filesystems; `rates` keeps the I/O counters of each device between samples.
/// With `rescan` the mount table is read again (new and removed mounts); otherwise only
/// the known filesystems' space and I/O counters are refreshed. Space comes from
/// sysinfo (`statvfs`); I/O counters from `/proc/diskstats` where it exists, otherwise
/// from sysinfo.
pub fn read(
    disks: &mut Disks,
    stats: &mut DiskStats,
    rates: &mut RateSet<2>,
    now: Instant,
    rescan: bool,
) -> DiskReading {
    let DiskStats { file, names } = stats;
    let mut kind = DiskRefreshKind::nothing().with_storage();
    if file.is_none() {
        kind = kind.with_io_usage();
    }
    if rescan {
        disks.refresh_specifics(true, kind);
        names.clear();
    } else {
        for d in disks.iter_mut() {
            d.refresh_specifics(kind);
        }
    }
    let diskstats = match file.as_mut().map(ProcFile::read) {
        Some(Ok(text)) => Some(text),
        Some(Err(_)) => {
            *file = None;
            None
        }
        None => None,
    };

    // Device name -> index into `out`, to keep one mount per device.
    let mut by_device: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(String, DiskSample, [u64; 2])> = Vec::new();
    for d in disks.iter() {
        let fs = d.file_system().to_string_lossy();
        let total = d.total_space();
        if total == 0 || is_virtual_fs(&fs) {
            continue;
        }
        let device = d.name().to_string_lossy().into_owned();
        let mount = d.mount_point().to_string_lossy().into_owned();
        let usage = d.usage();
        let row = DiskSample {
            mount,
            fs: fs.into_owned(),
            used_bytes: total.saturating_sub(d.available_space()),
            total_bytes: total,
            read_bps: 0.0,
            write_bps: 0.0,
        };
        let counters = match diskstats {
            Some(text) => {
                if !names.contains_key(&device) {
                    names.insert(device.clone(), diskstats_name(d.name()));
                }
                diskstats_counters(text, &names[&device]).unwrap_or_default()
            }
            None => [usage.total_read_bytes, usage.total_written_bytes],
        };
        match by_device.get(&device) {
            Some(&i) if out[i].1.mount.len() <= row.mount.len() => {}
            Some(&i) => out[i] = (device, row, counters),
            None => {
                by_device.insert(device.clone(), out.len());
                out.push((device, row, counters));
            }
        }
    }

    let mut reading = DiskReading::default();
    for (device, mut row, counters) in out {
        let [r, w] = rates.update(&device, counters, now);
        row.read_bps = r;
        row.write_bps = w;
        reading.read_bps += r;
        reading.write_bps += w;
        let pct = row.used_bytes as f64 / row.total_bytes as f64 * 100.0;
        reading.max_used_pct = reading.max_used_pct.max(pct);
        reading.disks.push(row);
    }
    rates.retain_seen();
    reading.disks.sort_by(|a, b| a.mount.cmp(&b.mount));
    reading
}

/// The name `/proc/diskstats` uses for a mounted device: the device path with
/// symlinks resolved (`/dev/mapper/vg-root` → `/dev/dm-0`), without `/dev/`.
pub fn diskstats_name(device: &OsStr) -> String {
    let path = Path::new(device);
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let name = real.strip_prefix("/dev").unwrap_or(&real);
    name.to_string_lossy().into_owned()
}

/// Bytes read and written since boot by device `name`, from `/proc/diskstats`
/// (`major minor name reads merged sectors_read ms writes merged sectors_written …`,
/// sectors of 512 bytes whatever the device's block size).
pub fn diskstats_counters(text: &str, name: &str) -> Option<[u64; 2]> {
    text.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        if f.nth(2)? != name {
            return None;
        }
        let read: u64 = f.nth(2)?.parse().ok()?;
        let written: u64 = f.nth(3)?.parse().ok()?;
        Some([read.saturating_mul(512), written.saturating_mul(512)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sectors read and written of the named device, in bytes.
    #[test]
    fn parses_diskstats() {
        let text = "   8       0 sda 100 0 2000 10 50 0 4000 20 0 30 30\n   \
                    8       1 sda1 90 0 1800 9 45 0 3600 18 0 27 27\n";
        assert_eq!(
            diskstats_counters(text, "sda1"),
            Some([1800 * 512, 3600 * 512])
        );
        assert_eq!(
            diskstats_counters(text, "sda"),
            Some([2000 * 512, 4000 * 512])
        );
        assert_eq!(diskstats_counters(text, "sdb"), None);
        assert_eq!(diskstats_name(OsStr::new("/dev/sda1")), "sda1");
    }

    /// Pseudo and memory filesystems are filtered, real ones are kept.
    #[test]
    fn virtual_filesystems_are_skipped() {
        for fs in [
            "tmpfs", "overlay", "squashfs", "proc", "sysfs", "devtmpfs", "cgroup2",
        ] {
            assert!(is_virtual_fs(fs), "{fs}");
        }
        for fs in [
            "ext4", "xfs", "btrfs", "zfs", "vfat", "nfs4", "apfs", "ntfs",
        ] {
            assert!(!is_virtual_fs(fs), "{fs}");
        }
    }
}
