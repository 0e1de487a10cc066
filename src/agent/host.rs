//! Host metrics from `/proc`: CPU busy percentage (whole machine, 0–100) and network bytes since
//! the previous sample, RAM used/total, and the machine's own non-loopback addresses for
//! `server.ips`. Parsing is separated from reading so it is tested on fixed text.

use std::net::IpAddr;

use crate::agent::collect::counter_delta;
use crate::model::report::HostMetrics;

/// Keeps the previous `/proc` counters to turn them into per-interval values.
#[derive(Debug, Default)]
pub struct HostSampler {
    cpu: Option<CpuTimes>,
    net: Option<(u64, u64)>,
}

/// Aggregate CPU jiffies from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

impl HostSampler {
    /// A sampler without history; the first sample has no CPU or network values.
    pub fn new() -> HostSampler {
        HostSampler::default()
    }

    /// Reads `/proc` and returns the metrics for the interval since the previous call.
    pub fn sample(&mut self) -> HostMetrics {
        let mut m = HostMetrics::default();
        if let Some(now) = std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(parse_cpu)
        {
            if let Some(before) = self.cpu {
                m.cpu_pct = cpu_pct(before, now);
            }
            self.cpu = Some(now);
        }
        if let Some((total, available)) = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .as_deref()
            .and_then(parse_meminfo)
        {
            m.ram_total_bytes = Some(total);
            m.ram_used_bytes = Some(total.saturating_sub(available));
        }
        if let Some((rx, tx)) = std::fs::read_to_string("/proc/net/dev")
            .ok()
            .as_deref()
            .map(parse_net_dev)
        {
            if let Some((prx, ptx)) = self.net {
                m.net_in_bytes = Some(counter_delta(Some(prx), rx));
                m.net_out_bytes = Some(counter_delta(Some(ptx), tx));
            }
            self.net = Some((rx, tx));
        }
        m
    }

    /// The host's own global addresses (IPv4 from `/proc/net/fib_trie`, IPv6 from
    /// `/proc/net/if_inet6`), loopback and link-local excluded, at most 16.
    pub fn server_ips(&self) -> Vec<IpAddr> {
        let mut ips = Vec::new();
        if let Ok(text) = std::fs::read_to_string("/proc/net/fib_trie") {
            ips.extend(parse_fib_trie(&text));
        }
        if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
            ips.extend(parse_if_inet6(&text));
        }
        ips.sort();
        ips.dedup();
        ips.truncate(16);
        ips
    }
}

/// Parses the `cpu` line of `/proc/stat`.
pub fn parse_cpu(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest is already inside user).
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Busy share of all CPUs between two readings, in percent.
pub fn cpu_pct(before: CpuTimes, now: CpuTimes) -> Option<f64> {
    let total = now.total.checked_sub(before.total)?;
    let busy = now.busy.checked_sub(before.busy)?;
    if total == 0 {
        return None;
    }
    Some(((busy as f64 / total as f64) * 1000.0).round() / 10.0)
}

/// `MemTotal` and `MemAvailable` from `/proc/meminfo`, in bytes.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:").or_else(|| field("MemFree:"))?;
    Some((total, available))
}

/// Received and transmitted bytes summed over all interfaces but loopback.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut rx = 0u64;
    let mut tx = 0u64;
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 9 {
            rx = rx.saturating_add(v[0]);
            tx = tx.saturating_add(v[8]);
        }
    }
    (rx, tx)
}

/// Local IPv4 addresses: the `|-- a.b.c.d` line before each `/32 host LOCAL`.
pub fn parse_fib_trie(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("|-- ") {
            last = addr.parse().ok();
        } else if t.contains("/32 host LOCAL")
            && let Some(ip) = last
            && !ip.is_loopback()
        {
            out.push(ip);
        }
    }
    out
}

/// Global IPv6 addresses from `/proc/net/if_inet6`.
pub fn parse_if_inet6(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let Some(hex) = parts.next() else { continue };
        if hex.len() != 32 {
            continue;
        }
        let mut bytes = [0u8; 16];
        let ok =
            (0..16).all(
                |i| match hex.get(i * 2..i * 2 + 2).map(|h| u8::from_str_radix(h, 16)) {
                    Some(Ok(b)) => {
                        bytes[i] = b;
                        true
                    }
                    _ => false,
                },
            );
        if !ok {
            continue;
        }
        let ip = std::net::Ipv6Addr::from(bytes);
        let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
        if !ip.is_loopback() && !link_local && !ip.is_unspecified() {
            out.push(IpAddr::V6(ip));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_from_two_readings() {
        let a = parse_cpu("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        let b = parse_cpu("cpu  150 0 150 900 0 0 0 0 0 0\n").unwrap();
        assert_eq!(cpu_pct(a, b), Some(50.0));
        assert_eq!(cpu_pct(b, a), None);
    }

    #[test]
    fn meminfo_and_net_dev() {
        let m = "MemTotal:       16000 kB\nMemFree:  1000 kB\nMemAvailable:   4000 kB\n";
        assert_eq!(parse_meminfo(m), Some((16000 * 1024, 4000 * 1024)));
        let n = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(n), (1000, 2000));
    }

    #[test]
    fn local_addresses() {
        let fib = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n     |-- 198.51.100.7\n        /32 host LOCAL\n";
        assert_eq!(
            parse_fib_trie(fib),
            vec!["198.51.100.7".parse::<IpAddr>().unwrap()]
        );
        let v6 = "00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000001 02 40 20 80     eth0\n20010db8000000000000000000000001 02 40 00 80     eth0\n";
        assert_eq!(
            parse_if_inet6(v6),
            vec!["2001:db8::1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn sampling_this_machine_works() {
        let mut s = HostSampler::new();
        let first = s.sample();
        assert!(first.ram_total_bytes.unwrap_or(0) > 0);
        assert!(first.cpu_pct.is_none());
        let second = s.sample();
        assert!(second.net_in_bytes.is_some());
    }
}
