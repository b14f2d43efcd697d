//! Synthetic but realistic samples: values that wander like a real server's (CPU random
//! walk, slowly filling disks, monotonic network counters), four cores, three disks,
//! two interfaces, two sensors and a top-processes list, so frames have the size and
//! shape the hub sees in production (about 1.5 KB of JSON).

use lunasentri_schema::Sample;
use lunasentri_schema::sample::{DiskSample, IfaceSample, ProcSample, TempSample};

/// A small deterministic generator (xorshift64*): same seed, same run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // SplitMix64 scrambles small or similar seeds into good starting states.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// One simulated host: its current sample, moved a little every tick.
#[derive(Debug, Clone)]
pub struct HostModel {
    rng: Rng,
    sample: Sample,
}

const MEM_TOTAL: u64 = 16 << 30;
const SWAP_TOTAL: u64 = 2 << 30;

impl HostModel {
    /// A host with its own seed and identity (`index` names its processes and disks).
    pub fn new(seed: u64, index: usize) -> Self {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9));
        let disk = |mount: &str, fs: &str, total: u64, rng: &mut Rng| DiskSample {
            mount: mount.into(),
            fs: fs.into(),
            used_bytes: (total as f64 * rng.range(0.2, 0.8)) as u64,
            total_bytes: total,
            read_bps: 0.0,
            write_bps: 0.0,
        };
        let disks = vec![
            disk("/", "ext4", 100 << 30, &mut rng),
            disk("/var", "xfs", 500 << 30, &mut rng),
            disk(&format!("/srv/data{index}"), "ext4", 2 << 40, &mut rng),
        ];
        let iface = |name: &str| IfaceSample {
            name: name.into(),
            rx_bytes: 0,
            tx_bytes: 0,
            rx_bps: 0.0,
            tx_bps: 0.0,
        };
        let names = ["postgres", "nginx", "java", "node", "lunasentri-agent"];
        let top = names
            .iter()
            .enumerate()
            .map(|(i, n)| ProcSample {
                pid: 1000 + (index as u32 % 30_000) + i as u32,
                name: (*n).into(),
                cpu_pct: 0.0,
                mem_bytes: 0,
            })
            .collect();
        let sample = Sample {
            cpu_pct: rng.range(5.0, 60.0),
            mem_used_pct: rng.range(20.0, 70.0),
            mem_total_bytes: MEM_TOTAL,
            swap_total_bytes: SWAP_TOTAL,
            uptime_s: rng.range(3600.0, 9e6) as u64,
            cpus: vec![0.0; 4],
            disks,
            ifaces: vec![iface("eth0"), iface("eth1")],
            temps: vec![
                TempSample {
                    label: "Package id 0".into(),
                    celsius: 45.0,
                },
                TempSample {
                    label: "nvme0".into(),
                    celsius: 38.0,
                },
            ],
            top,
            ..Sample::default()
        };
        Self { rng, sample }
    }

    /// Advances the model by `interval_s` and returns the next sample with `seq` and `ts`.
    pub fn next(&mut self, seq: u64, ts: i64, interval_s: f64) -> Sample {
        let r = &mut self.rng;
        let s = &mut self.sample;
        s.seq = seq;
        s.ts = ts;
        s.cpu_pct = (s.cpu_pct + r.range(-8.0, 8.0)).clamp(0.5, 99.5);
        for c in &mut s.cpus {
            *c = (s.cpu_pct + r.range(-15.0, 15.0)).clamp(0.0, 100.0);
        }
        s.cpu_iowait_pct = Some(r.range(0.0, 3.0));
        s.mem_used_pct = (s.mem_used_pct + r.range(-1.0, 1.0)).clamp(5.0, 95.0);
        s.mem_used_bytes = (MEM_TOTAL as f64 * s.mem_used_pct / 100.0) as u64;
        s.swap_used_bytes = (SWAP_TOTAL as f64 * r.range(0.0, 0.05)) as u64;
        s.load1 = s.cpu_pct / 25.0 + r.range(0.0, 0.3);
        s.load5 = s.load5 * 0.9 + s.load1 * 0.1;
        s.load15 = s.load15 * 0.97 + s.load1 * 0.03;
        s.uptime_s += interval_s as u64;
        s.procs = 180 + (r.next_u64() % 40);
        let (mut read, mut write) = (0.0, 0.0);
        for d in &mut s.disks {
            d.read_bps = r.range(0.0, 5e6);
            d.write_bps = r.range(0.0, 2e6);
            d.used_bytes =
                (d.used_bytes + (d.write_bps * interval_s * 0.01) as u64).min(d.total_bytes);
            read += d.read_bps;
            write += d.write_bps;
        }
        s.disk_read_bps = read;
        s.disk_write_bps = write;
        s.disk_used_pct = s
            .disks
            .iter()
            .map(|d| 100.0 * d.used_bytes as f64 / d.total_bytes as f64)
            .fold(0.0, f64::max);
        let (mut rx_bps, mut tx_bps) = (0.0, 0.0);
        for i in &mut s.ifaces {
            i.rx_bps = r.range(1e3, 5e6);
            i.tx_bps = r.range(1e3, 2e6);
            i.rx_bytes += (i.rx_bps * interval_s) as u64;
            i.tx_bytes += (i.tx_bps * interval_s) as u64;
            rx_bps += i.rx_bps;
            tx_bps += i.tx_bps;
        }
        s.net_rx_bps = rx_bps;
        s.net_tx_bps = tx_bps;
        s.net_rx_bytes = s.ifaces.iter().map(|i| i.rx_bytes).sum();
        s.net_tx_bytes = s.ifaces.iter().map(|i| i.tx_bytes).sum();
        for t in &mut s.temps {
            t.celsius = (t.celsius + r.range(-1.0, 1.0)).clamp(25.0, 95.0);
        }
        for p in &mut s.top {
            p.cpu_pct = r.range(0.0, s.cpu_pct);
            p.mem_bytes = (r.range(0.001, 0.1) * MEM_TOTAL as f64) as u64;
        }
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples carry seq and ts, keep counters monotonic and percentages in range.
    #[test]
    fn samples_are_plausible() {
        let mut h = HostModel::new(7, 3);
        let a = h.next(1, 1_000, 1.0);
        let b = h.next(2, 2_000, 1.0);
        assert_eq!((a.seq, b.seq, b.ts), (1, 2, 2_000));
        assert!(b.net_rx_bytes >= a.net_rx_bytes);
        assert!((0.0..=100.0).contains(&b.cpu_pct));
        assert!((0.0..=100.0).contains(&b.disk_used_pct));
        assert_eq!((b.disks.len(), b.ifaces.len(), b.top.len()), (3, 2, 5));
        let json = serde_json::to_string(&b).unwrap();
        assert!((800..4000).contains(&json.len()), "{} bytes", json.len());
    }

    /// The same seed gives the same values.
    #[test]
    fn generator_is_deterministic() {
        let mut a = HostModel::new(1, 0);
        let mut b = HostModel::new(1, 0);
        assert_eq!(a.next(1, 5, 1.0), b.next(1, 5, 1.0));
        let mut r = Rng::new(3);
        assert!((0..1000).map(|_| r.unit()).all(|u| (0.0..1.0).contains(&u)));
    }
}
