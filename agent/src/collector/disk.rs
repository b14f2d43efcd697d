//! Filesystems: every real mounted filesystem once (deduplicated by device), its space,
//! and read/write bytes per second of the device under it.
//!
//! Filter rule: pseudo and memory-backed filesystems are skipped (see [`is_virtual_fs`]),
//! as are mounts of size zero; when one device is mounted several times (bind mounts,
//! btrfs subvolumes), only the mount with the shortest path is reported.

use std::collections::HashMap;
use std::time::Instant;

use lunasentri_schema::sample::DiskSample;
use sysinfo::{DiskRefreshKind, Disks};

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

/// Reads filesystems; `rates` keeps the I/O counters of each device between samples.
/// With `rescan` the mount table is read again (new and removed mounts); otherwise only
/// the known filesystems' space and I/O counters are refreshed.
pub fn read(disks: &mut Disks, rates: &mut RateSet<2>, now: Instant, rescan: bool) -> DiskReading {
    let kind = DiskRefreshKind::nothing().with_storage().with_io_usage();
    if rescan {
        disks.refresh_specifics(true, kind);
    } else {
        for d in disks.iter_mut() {
            d.refresh_specifics(kind);
        }
    }

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
        let counters = [usage.total_read_bytes, usage.total_written_bytes];
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

#[cfg(test)]
mod tests {
    use super::*;

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
