//! Rollup records: what is counted per series and time bucket, and how two records combine.
//!
//! A record is split in two parts stored apart: [`Scalars`] (small, read by summaries and time
//! series) and [`Dims`] (per-country/ASN/player… maps, read only by breakdowns). Merging is
//! associative and commutative, so minute buckets fold into coarser ones in any order.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Upper bounds (inclusive, seconds) of the view-duration buckets; a 13th bucket holds the rest.
pub const DURATION_BOUNDS: [u64; 12] = [5, 10, 15, 20, 25, 30, 300, 900, 1800, 3600, 7200, 10800];
/// Labels of the 13 duration buckets, used as breakdown keys.
pub const DURATION_LABELS: [&str; 13] = [
    "5s", "10s", "15s", "20s", "25s", "30s", "5m", "15m", "30m", "1h", "2h", "3h", ">3h",
];

/// Index of the duration bucket a session of `secs` seconds falls into.
pub fn duration_bucket(secs: u64) -> u8 {
    DURATION_BOUNDS
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(DURATION_BOUNDS.len()) as u8
}

/// Time resolutions rollups are kept at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resolution {
    Minute,
    FiveMinutes,
    Hour,
    Day,
}

impl Resolution {
    /// All resolutions, finest first.
    pub const ALL: [Resolution; 4] = [
        Resolution::Minute,
        Resolution::FiveMinutes,
        Resolution::Hour,
        Resolution::Day,
    ];

    /// Bucket length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::FiveMinutes => 300,
            Resolution::Hour => 3600,
            Resolution::Day => 86_400,
        }
    }

    /// Start of the bucket containing `t` (Unix seconds, UTC).
    pub fn bucket(self, t: i64) -> i64 {
        t.div_euclid(self.seconds()) * self.seconds()
    }

    /// Short name used in paths and settings.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::Minute => "minute",
            Resolution::FiveMinutes => "five_minute",
            Resolution::Hour => "hour",
            Resolution::Day => "day",
        }
    }
}

/// Scalar counters of one series in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scalars {
    /// Sum over reports of (viewers × interval): divided by the bucket length it is the
    /// time-weighted average of concurrent viewers.
    pub viewer_seconds: u64,
    /// Highest number of concurrent viewers seen at any report instant.
    pub peak_viewers: u32,
    /// New sessions.
    pub views: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub view_time_s: u64,
    /// Host metrics (server series): number of samples, sums and maxima.
    pub host_samples: u32,
    pub cpu_sum: f64,
    pub cpu_max: f64,
    pub ram_used_sum: u64,
    pub ram_used_max: u64,
    pub ram_total: u64,
    pub net_in_bytes: u64,
    pub net_out_bytes: u64,
    /// Input health (stream series): publisher bitrate samples and up/down transitions.
    pub ingress_samples: u32,
    pub ingress_kbps_sum: f64,
    pub ingress_kbps_max: f64,
    pub publish_up: u32,
    pub publish_down: u32,
}

impl Scalars {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, o: &Scalars) {
        self.viewer_seconds += o.viewer_seconds;
        self.peak_viewers = self.peak_viewers.max(o.peak_viewers);
        self.views += o.views;
        self.bytes_out += o.bytes_out;
        self.bytes_in += o.bytes_in;
        self.view_time_s += o.view_time_s;
        self.host_samples += o.host_samples;
        self.cpu_sum += o.cpu_sum;
        self.cpu_max = self.cpu_max.max(o.cpu_max);
        self.ram_used_sum += o.ram_used_sum;
        self.ram_used_max = self.ram_used_max.max(o.ram_used_max);
        self.ram_total = self.ram_total.max(o.ram_total);
        self.net_in_bytes += o.net_in_bytes;
        self.net_out_bytes += o.net_out_bytes;
        self.ingress_samples += o.ingress_samples;
        self.ingress_kbps_sum += o.ingress_kbps_sum;
        self.ingress_kbps_max = self.ingress_kbps_max.max(o.ingress_kbps_max);
        self.publish_up += o.publish_up;
        self.publish_down += o.publish_down;
    }
}

/// One breakdown dimension value. Strings are interned ids (see the dimension dictionary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DimKey {
    /// ISO 3166-1 alpha-2 as two ASCII bytes.
    Country([u8; 2]),
    Region(u32),
    City(u32),
    /// AS number and interned organisation.
    Asn(u32, u32),
    Protocol(u32),
    Player(u32),
    Device(u8),
    /// Index into [`DURATION_LABELS`]; counted when a session ends.
    Duration(u8),
}

/// Counters of one dimension value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimStat {
    pub views: u64,
    pub viewer_seconds: u64,
    pub bytes_out: u64,
    pub view_time_s: u64,
}

impl DimStat {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, o: &DimStat) {
        self.views += o.views;
        self.viewer_seconds += o.viewer_seconds;
        self.bytes_out += o.bytes_out;
        self.view_time_s += o.view_time_s;
    }
}

/// Breakdown maps of one series in one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dims(pub HashMap<DimKey, DimStat>);

impl Dims {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, o: &Dims) {
        for (k, v) in &o.0 {
            self.0.entry(*k).or_default().merge(v);
        }
    }

    /// Adds one stat under one key.
    pub fn add(&mut self, key: DimKey, stat: DimStat) {
        self.0.entry(key).or_default().merge(&stat);
    }

    /// Sorted entries, for a deterministic stored form.
    pub fn to_sorted(&self) -> Vec<(DimKey, DimStat)> {
        let mut v: Vec<_> = self.0.iter().map(|(k, s)| (*k, *s)).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_buckets_follow_the_spec() {
        assert_eq!(duration_bucket(0), 0);
        assert_eq!(duration_bucket(5), 0);
        assert_eq!(duration_bucket(6), 1);
        assert_eq!(duration_bucket(30), 5);
        assert_eq!(duration_bucket(31), 6);
        assert_eq!(duration_bucket(10_800), 11);
        assert_eq!(duration_bucket(10_801), 12);
        assert_eq!(DURATION_LABELS[duration_bucket(u64::MAX) as usize], ">3h");
    }

    #[test]
    fn buckets_align_to_the_epoch() {
        assert_eq!(Resolution::FiveMinutes.bucket(1_795_608_030), 1_795_608_000);
        assert_eq!(Resolution::Day.bucket(-1), -86_400);
    }

    #[test]
    fn merge_sums_and_keeps_peaks() {
        let mut a = Scalars {
            views: 2,
            peak_viewers: 5,
            cpu_max: 10.0,
            ..Default::default()
        };
        a.merge(&Scalars {
            views: 3,
            peak_viewers: 4,
            cpu_max: 30.0,
            ..Default::default()
        });
        assert_eq!((a.views, a.peak_viewers, a.cpu_max), (5, 5, 30.0));
    }
}
