//! Network interfaces: byte counters and rates of the host's own interfaces.
//!
//! Filter rule (see [`classify`]): loopback and the virtual plumbing of containers,
//! VMs and traffic shaping are skipped; VPN tunnels are reported per interface but left
//! out of the host totals, because their traffic already crossed a physical interface
//! (encrypted) and would be counted twice.

use std::time::Instant;

use lunasentri_schema::sample::IfaceSample;
use sysinfo::Networks;

use super::procfs::ProcFile;
use super::rate::RateSet;

/// What the agent does with an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfaceKind {
    /// A real (or the VM's own) interface: reported and summed into the totals.
    Physical,
    /// A tunnel carrying traffic that also crosses a physical interface: reported,
    /// not summed.
    Tunnel,
    /// Loopback or per-container/VM plumbing: not reported.
    Skipped,
}

/// Name prefixes of interfaces that are plumbing between the host and its containers
/// or VMs, or mirrors for traffic shaping. Their traffic is either local or already
/// counted on the physical interface.
const SKIPPED_PREFIXES: &[&str] = &[
    "veth",
    "docker",
    "br-",
    "virbr",
    "vnet",
    "cni",
    "flannel",
    "cali",
    "tap",
    "vxlan",
    "weave",
    "kube-",
    "tunl",
    "ifb",
    "dummy",
    "lxcbr",
    "lxdbr",
    "podman",
    "cilium",
    "genev",
    "nodelocaldns",
];

/// Name prefixes of VPN tunnels.
const TUNNEL_PREFIXES: &[&str] = &["tun", "wg", "tailscale", "zt", "ppp", "ipsec", "utun"];

/// Classifies an interface by name.
pub fn classify(name: &str) -> IfaceKind {
    // `lo` exactly or `lo0` (BSD/macOS); not e.g. a hypothetical `lower0`.
    if name == "lo"
        || name
            .strip_prefix("lo")
            .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()))
    {
        return IfaceKind::Skipped;
    }
    if SKIPPED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return IfaceKind::Skipped;
    }
    if TUNNEL_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return IfaceKind::Tunnel;
    }
    IfaceKind::Physical
}

/// Network figures of one sample.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NetReading {
    pub ifaces: Vec<IfaceSample>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// Reads interface counters; `rates` keeps them between samples.
///
/// On Linux the counters of every interface come from one read of the open
/// `/proc/net/dev` (`dev`); elsewhere, or when it fails, from sysinfo.
pub fn read(
    networks: &mut Networks,
    dev: &mut Option<ProcFile>,
    rates: &mut RateSet<2>,
    now: Instant,
) -> NetReading {
    let mut reading = NetReading::default();
    match dev.as_mut().map(ProcFile::read) {
        Some(Ok(text)) => {
            for (name, rx, tx) in proc_net_dev(text) {
                add(&mut reading, rates, name, rx, tx, now);
            }
        }
        _ => {
            *dev = None;
            networks.refresh(true);
            for (name, d) in networks.iter() {
                let name = name.to_string_lossy();
                add(
                    &mut reading,
                    rates,
                    &name,
                    d.total_received(),
                    d.total_transmitted(),
                    now,
                );
            }
        }
    }
    rates.retain_seen();
    reading.ifaces.sort_by(|a, b| a.name.cmp(&b.name));
    reading
}

/// Adds one interface's counters to the reading, by the filter rule.
fn add(
    reading: &mut NetReading,
    rates: &mut RateSet<2>,
    name: &str,
    rx: u64,
    tx: u64,
    now: Instant,
) {
    let kind = classify(name);
    if kind == IfaceKind::Skipped {
        return;
    }
    let [rx_bps, tx_bps] = rates.update(name, [rx, tx], now);
    if kind == IfaceKind::Physical {
        reading.rx_bytes = reading.rx_bytes.saturating_add(rx);
        reading.tx_bytes = reading.tx_bytes.saturating_add(tx);
        reading.rx_bps += rx_bps;
        reading.tx_bps += tx_bps;
    }
    reading.ifaces.push(IfaceSample {
        name: name.to_owned(),
        rx_bytes: rx,
        tx_bytes: tx,
        rx_bps,
        tx_bps,
    });
}

/// The interfaces of `/proc/net/dev`: `name: rx_bytes rx_packets … (8 rx fields)
/// tx_bytes …`, as `(name, rx_bytes, tx_bytes)`, borrowing from the text.
pub fn proc_net_dev(text: &str) -> impl Iterator<Item = (&str, u64, u64)> {
    text.lines().filter_map(|line| {
        let (name, fields) = line.split_once(':')?;
        let mut f = fields.split_whitespace();
        let rx = f.next()?.parse().ok()?;
        let tx = f.nth(7)?.parse().ok()?;
        Some((name.trim(), rx, tx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/net/dev` yields each interface's received and sent bytes.
    #[test]
    fn parses_proc_net_dev() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
                    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n    \
                    lo:  100 1 0 0 0 0 0 0  100 1 0 0 0 0 0 0\n  \
                    eth0: 560939434 400000 0 0 0 0 0 0 1150865 9000 0 0 0 0 0 0\n";
        assert_eq!(
            proc_net_dev(text).collect::<Vec<_>>(),
            vec![("lo", 100, 100), ("eth0", 560_939_434, 1_150_865)]
        );
    }

    /// The documented filter rule: loopback and virtual plumbing skipped, tunnels apart.
    #[test]
    fn interface_filter_rule() {
        for name in [
            "lo",
            "lo0",
            "veth1a2b",
            "docker0",
            "br-5f3a",
            "virbr0",
            "cni0",
            "flannel.1",
            "cali123",
            "tap0",
            "vxlan.calico",
            "ifb0",
            "kube-ipvs0",
            "vnet3",
        ] {
            assert_eq!(classify(name), IfaceKind::Skipped, "{name}");
        }
        for name in ["tun0", "wg0", "tailscale0", "ppp0"] {
            assert_eq!(classify(name), IfaceKind::Tunnel, "{name}");
        }
        for name in [
            "eth0",
            "ens3",
            "enp0s31f6",
            "wlan0",
            "wlp2s0",
            "bond0",
            "eno1",
            "en0",
            "local0",
        ] {
            assert_eq!(classify(name), IfaceKind::Physical, "{name}");
        }
    }
}
