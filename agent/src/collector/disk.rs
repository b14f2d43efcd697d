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

/// Where I/O counters come from on Linux: each mounted device's own
/// `/sys/class/block/NAME/stat`, kept open (one short read per device per sample, where
/// `/proc/diskstats` would make the kernel format every block device, loop devices
/// included), or the open `/proc/diskstats` for a device without one.
#[derive(Debug)]
pub struct DiskStats {
    file: Option<ProcFile>,
    /// Device as mounted (`/dev/mapper/vg-root`) → where its counters are read.
    devices: HashMap<String, Counters>,
}

/// The source of one device's I/O counters.
#[derive(Debug)]
enum Counters {
    /// `/sys/class/block/NAME/stat`.
    Sysfs(ProcFile),
    /// The line of `/proc/diskstats` with this name (`dm-0`).
    Diskstats(String),
}

impl Counters {
    /// Finds the counters of a mounted device.
    fn open(device: &OsStr) -> Self {
        let name = diskstats_name(device);
        if name.is_empty() || name.contains('/') {
            return Counters::Diskstats(name);
        }
        match ProcFile::try_open_one_record(&format!("/sys/class/block/{name}/stat")) {
            Some(f) => Counters::Sysfs(f),
            None => Counters::Diskstats(name),
        }
    }
}

impl DiskStats {
    pub fn new() -> Self {
        Self {
            file: ProcFile::try_open("/proc/diskstats"),
            devices: HashMap::new(),
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
/// sysinfo (`statvfs`); I/O counters from sysfs or `/proc/diskstats` on Linux (see
/// [`DiskStats`]), otherwise from sysinfo.
pub fn read(
    disks: &mut Disks,
    stats: &mut DiskStats,
    rates: &mut RateSet<2>,
    now: Instant,
    rescan: bool,
) -> DiskReading {
    let DiskStats { file, devices } = stats;
    let linux = file.is_some();
    let mut kind = DiskRefreshKind::nothing().with_storage();
    if !linux {
        kind = kind.with_io_usage();
    }
    if rescan {
        disks.refresh_specifics(true, kind);
        devices.clear();
    } else {
        for d in disks.iter_mut() {
            d.refresh_specifics(kind);
        }
    }
    let keep = |d: &sysinfo::Disk| {
        d.total_space() > 0 && !is_virtual_fs(&d.file_system().to_string_lossy())
    };
    if linux {
        for d in disks.iter().filter(|d| keep(d)) {
            let device = d.name().to_string_lossy();
            if !devices.contains_key(device.as_ref()) {
                devices.insert(device.into_owned(), Counters::open(d.name()));
            }
        }
    }
    // `/proc/diskstats` is read only for devices without counters of their own in sysfs.
    let diskstats = match file.as_mut() {
        Some(f)
            if devices
                .values()
                .any(|c| matches!(c, Counters::Diskstats(_))) =>
        {
            f.read().ok()
        }
        _ => None,
    };

    // Device name -> index into `out`, to keep one mount per device.
    let mut by_device: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(String, DiskSample, [u64; 2])> = Vec::new();
    for d in disks.iter() {
        if !keep(d) {
            continue;
        }
        let fs = d.file_system().to_string_lossy();
        let total = d.total_space();
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
        let counters = if linux {
            match devices.get_mut(&device) {
                Some(Counters::Sysfs(f)) => f.read().ok().and_then(sysfs_counters),
                Some(Counters::Diskstats(name)) => {
                    diskstats.and_then(|text| diskstats_counters(text, name))
                }
                None => None,
            }
            .unwrap_or_default()
        } else {
            [usage.total_read_bytes, usage.total_written_bytes]
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

/// Bytes read and written since boot, from a device's `/sys/class/block/NAME/stat`
/// (`reads merged sectors_read ms writes merged sectors_written …`: the fields of its
/// `/proc/diskstats` line after the name, sectors of 512 bytes).
pub fn sysfs_counters(text: &str) -> Option<[u64; 2]> {
    let mut f = text.split_whitespace();
    let read: u64 = f.nth(2)?.parse().ok()?;
    let written: u64 = f.nth(3)?.parse().ok()?;
    Some([read.saturating_mul(512), written.saturating_mul(512)])
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

    /// A device's sysfs counters are its diskstats fields, in bytes.
    #[test]
    fn parses_sysfs_stat() {
        let text = "     100        0     2000       10       50        0     4000       20 \
                    0       30       30        0        0        0        0        0        0\n";
        assert_eq!(sysfs_counters(text), Some([2000 * 512, 4000 * 512]));
        assert_eq!(sysfs_counters("1 2 3"), None);
    }

    /// On this machine, a block device's sysfs counters match its `/proc/diskstats` line.
    #[cfg(target_os = "linux")]
    #[test]
    fn sysfs_matches_diskstats() {
        let diskstats = std::fs::read_to_string("/proc/diskstats").unwrap();
        let Some(name) = diskstats
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2))
            .find(|n| std::path::Path::new(&format!("/sys/class/block/{n}/stat")).exists())
        else {
            return;
        };
        let Counters::Sysfs(mut f) = Counters::open(OsStr::new(&format!("/dev/{name}"))) else {
            panic!("no sysfs counters for {name}");
        };
        let from_sysfs = sysfs_counters(f.read().unwrap()).unwrap();
        let diskstats = std::fs::read_to_string("/proc/diskstats").unwrap();
        let from_diskstats = diskstats_counters(&diskstats, name).unwrap();
        // Both are read moments apart on a live system: allow for I/O in between.
        for i in 0..2 {
            assert!(from_diskstats[i] >= from_sysfs[i], "{name}");
            assert!(from_diskstats[i] - from_sysfs[i] < 1 << 30, "{name}");
        }
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
