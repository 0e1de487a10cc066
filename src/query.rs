//! The read side: summaries, time series, breakdowns, stream lists and reports computed from
//! the rollup partitions and the writer's live state. Pure functions of (storage, range,
//! filter); the HTTP layer only parses parameters and shapes responses.

use std::collections::HashMap;

use serde::Serialize;

use crate::geoip::country_name;
use crate::ingest::dict::{DimDict, SEP};
use crate::ingest::useragent::Device;
use crate::ingest::writer::Live;
use crate::model::account::Id;
use crate::model::hll::Hll;
use crate::model::rollup::{DURATION_LABELS, DimKey, DimStat, Dims, Resolution, Scalars};
use crate::model::series::{Filter, SeriesInfo, SeriesKind};
use crate::store::StoreError;
use crate::store::partitions::{Class, Partitions};

/// A half-open time range `[from, to)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

/// Range summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub views: u64,
    pub unique_viewers: u64,
    pub peak_viewers: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub view_time_s: u64,
    pub peak_bandwidth_bps: f64,
    pub p95_bandwidth_bps: f64,
}

/// Breakdown row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub key: String,
    pub label: String,
    pub views: u64,
    /// Average concurrent viewers over the range.
    pub viewers: f64,
    pub bytes_out: u64,
    pub view_time_s: u64,
}

/// Breakdown dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Country,
    Region,
    City,
    Asn,
    Protocol,
    Player,
    Device,
    Duration,
    Server,
    App,
    Stream,
}

impl Dimension {
    /// Parses the query-string name.
    pub fn parse(text: &str) -> Option<Dimension> {
        Some(match text {
            "country" => Dimension::Country,
            "region" => Dimension::Region,
            "city" => Dimension::City,
            "asn" => Dimension::Asn,
            "protocol" => Dimension::Protocol,
            "player" => Dimension::Player,
            "device" => Dimension::Device,
            "duration" => Dimension::Duration,
            "server" => Dimension::Server,
            "app" => Dimension::App,
            "stream" => Dimension::Stream,
            _ => return None,
        })
    }

    /// Every accepted name, for error messages.
    pub const NAMES: &'static str =
        "country, region, city, asn, protocol, player, device, duration, server, app, stream";
}

/// Time-series metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Viewers,
    PeakViewers,
    Views,
    Bandwidth,
    BytesOut,
    BytesIn,
    ViewTime,
    UniqueViewers,
    Cpu,
    Ram,
    IngressKbps,
    /// Times a stream started publishing.
    PublishUp,
    /// Times a stream stopped publishing.
    PublishDown,
}

impl Metric {
    /// Parses the query-string name.
    pub fn parse(text: &str) -> Option<Metric> {
        Some(match text {
            "viewers" => Metric::Viewers,
            "peak_viewers" => Metric::PeakViewers,
            "views" => Metric::Views,
            "bandwidth" => Metric::Bandwidth,
            "bytes_out" => Metric::BytesOut,
            "bytes_in" => Metric::BytesIn,
            "view_time" => Metric::ViewTime,
            "unique_viewers" => Metric::UniqueViewers,
            "cpu" => Metric::Cpu,
            "ram" => Metric::Ram,
            "ingress_kbps" => Metric::IngressKbps,
            "publish_up" => Metric::PublishUp,
            "publish_down" => Metric::PublishDown,
            _ => return None,
        })
    }

    /// Every accepted name, for error messages.
    pub const NAMES: &'static str = "viewers, peak_viewers, views, bandwidth, bytes_out, bytes_in, \
                                     view_time, unique_viewers, cpu, ram, ingress_kbps, \
                                     publish_up, publish_down";
}

/// Why a query cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The read side over one instance's storage.
pub struct Query<'a> {
    pub parts: &'a Partitions,
    pub dict: &'a DimDict,
}

/// Splits `[from, to)` into aligned pieces, coarsest resolution first, so that long ranges read
/// few records. Unaligned edges fall to minute buckets (rounded outwards).
pub fn decompose(from: i64, to: i64) -> Vec<(Resolution, i64, i64)> {
    fn go(from: i64, to: i64, levels: &[Resolution], out: &mut Vec<(Resolution, i64, i64)>) {
        if from >= to {
            return;
        }
        let Some((&res, finer)) = levels.split_first() else {
            return;
        };
        let s = res.seconds();
        if finer.is_empty() {
            out.push((res, res.bucket(from), res.bucket(to - 1) + s));
            return;
        }
        let a = res.bucket(from + s - 1);
        let b = res.bucket(to);
        if a < b {
            go(from, a, finer, out);
            out.push((res, a, b));
            go(b, to, finer, out);
        } else {
            go(from, to, finer, out);
        }
    }
    let mut out = Vec::new();
    go(
        from,
        to,
        &[
            Resolution::Day,
            Resolution::Hour,
            Resolution::FiveMinutes,
            Resolution::Minute,
        ],
        &mut out,
    );
    out
}

impl Query<'_> {
    /// Series ids answering `filter` within the given partitions' catalogs.
    fn series_for(
        &self,
        account: Id,
        filter: &Filter,
        class: Class,
        range: Range,
    ) -> Result<Vec<u64>, StoreError> {
        if let Some(info) = filter.series() {
            return Ok(vec![info.id()]);
        }
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for pid in self.parts.overlapping(account, class, range.from, range.to) {
            if let Some(part) = self.parts.get(&pid, false)? {
                for (id, info) in part.series()? {
                    if filter.matches_stream_series(&info) && seen.insert(id) {
                        ids.push(id);
                    }
                }
            }
        }
        Ok(ids)
    }

    /// Scalars per bucket at one resolution (summed over the filter's series).
    pub fn scalars(
        &self,
        account: Id,
        filter: &Filter,
        res: Resolution,
        range: Range,
    ) -> Result<Vec<(i64, Scalars)>, StoreError> {
        let class = Class::Rollup(res);
        let ids = self.series_for(account, filter, class, range)?;
        let mut by_bucket: HashMap<i64, Scalars> = HashMap::new();
        for pid in self.parts.overlapping(account, class, range.from, range.to) {
            let Some(part) = self.parts.get(&pid, false)? else {
                continue;
            };
            for id in &ids {
                for (bucket, s) in part.scalars(*id, range.from, range.to)? {
                    let e = by_bucket.entry(bucket).or_default();
                    if ids.len() > 1 {
                        // Summed series: peaks add up (an upper bound of the peak of the sum).
                        let peak = e.peak_viewers + s.peak_viewers;
                        e.merge(&s);
                        e.peak_viewers = peak;
                    } else {
                        e.merge(&s);
                    }
                }
            }
        }
        let mut v: Vec<_> = by_bucket.into_iter().collect();
        v.sort_by_key(|(b, _)| *b);
        Ok(v)
    }

    fn dims(&self, account: Id, filter: &Filter, range: Range) -> Result<Dims, StoreError> {
        let mut out = Dims::default();
        for (res, a, b) in decompose(range.from, range.to) {
            let class = Class::Rollup(res);
            let r = Range { from: a, to: b };
            let ids = self.series_for(account, filter, class, r)?;
            for pid in self.parts.overlapping(account, class, a, b) {
                let Some(part) = self.parts.get(&pid, false)? else {
                    continue;
                };
                for id in &ids {
                    part.dims_into(*id, a, b, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// Daily unique-viewer sketches over the days overlapping the range.
    fn sketches(
        &self,
        account: Id,
        filter: &Filter,
        range: Range,
    ) -> Result<Vec<(i64, Hll)>, StoreError> {
        let from = Resolution::Day.bucket(range.from);
        let to = Resolution::Day.bucket(range.to - 1) + 86_400;
        let r = Range { from, to };
        let ids = self.series_for(account, filter, Class::Sketch, r)?;
        let mut by_day: HashMap<i64, Hll> = HashMap::new();
        for pid in self.parts.overlapping(account, Class::Sketch, from, to) {
            let Some(part) = self.parts.get(&pid, false)? else {
                continue;
            };
            for id in &ids {
                for (day, h) in part.sketches(*id, from, to)? {
                    by_day.entry(day).or_default().merge(&h);
                }
            }
        }
        let mut v: Vec<_> = by_day.into_iter().collect();
        v.sort_by_key(|(d, _)| *d);
        Ok(v)
    }

    /// Totals over the range.
    pub fn summary(
        &self,
        account: Id,
        filter: &Filter,
        range: Range,
    ) -> Result<Summary, StoreError> {
        let mut total = Scalars::default();
        for (res, a, b) in decompose(range.from, range.to) {
            for (_, s) in self.scalars(account, filter, res, Range { from: a, to: b })? {
                total.merge(&s);
            }
        }
        let unique: u64 = self
            .sketches(account, filter, range)?
            .iter()
            .map(|(_, h)| h.count())
            .sum();
        let (peak_bw, p95) = self.bandwidth_stats(account, filter, range)?;
        Ok(Summary {
            views: total.views,
            unique_viewers: unique,
            peak_viewers: total.peak_viewers as u64,
            bytes_out: total.bytes_out,
            bytes_in: total.bytes_in,
            view_time_s: total.view_time_s,
            peak_bandwidth_bps: peak_bw,
            p95_bandwidth_bps: p95,
        })
    }

    /// Peak and 95th-percentile outgoing bandwidth from the five-minute series (zero-filled).
    pub fn bandwidth_stats(
        &self,
        account: Id,
        filter: &Filter,
        range: Range,
    ) -> Result<(f64, f64), StoreError> {
        let points = self.billing_points(account, filter, range)?;
        let mut values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
        if values.is_empty() {
            return Ok((0.0, 0.0));
        }
        values.sort_by(|a, b| a.total_cmp(b));
        let peak = values.last().copied().unwrap_or(0.0);
        // Nearest-rank 95th percentile, the usual billing definition.
        let rank = ((values.len() as f64) * 0.95).ceil() as usize;
        let p95 = values[rank.clamp(1, values.len()) - 1];
        Ok((peak, p95))
    }

    /// Five-minute bandwidth points (bits per second), zero-filled over the range.
    pub fn billing_points(
        &self,
        account: Id,
        filter: &Filter,
        range: Range,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        let res = Resolution::FiveMinutes;
        let from = res.bucket(range.from);
        let to = res.bucket(range.to - 1) + res.seconds();
        let data: HashMap<i64, u64> = self
            .scalars(account, filter, res, Range { from, to })?
            .into_iter()
            .map(|(b, s)| (b, s.bytes_out))
            .collect();
        Ok((from..to)
            .step_by(res.seconds() as usize)
            .map(|b| {
                (
                    b,
                    data.get(&b).copied().unwrap_or(0) as f64 * 8.0 / res.seconds() as f64,
                )
            })
            .collect())
    }

    /// A metric at `step` seconds, points labelled by bucket start, aligned to the epoch.
    pub fn timeseries(
        &self,
        account: Id,
        filter: &Filter,
        metric: Metric,
        step: i64,
        range: Range,
    ) -> Result<Vec<(i64, f64)>, QueryError> {
        if step < 60 || step % 60 != 0 {
            return Err(QueryError::Invalid {
                field: "step",
                message: "step must be a multiple of 60 seconds".into(),
            });
        }
        let first = range.from.div_euclid(step) * step;
        let n = (range.to - first + step - 1) / step;
        if n > 20_000 {
            return Err(QueryError::Invalid {
                field: "step",
                message: format!("{n} points requested; use a larger step (at most 20000 points)"),
            });
        }
        let to = first + n * step;
        if metric == Metric::UniqueViewers {
            if step % 86_400 != 0 {
                return Err(QueryError::Invalid {
                    field: "step",
                    message:
                        "unique_viewers are kept per day: use a step that is a multiple of 86400"
                            .into(),
                });
            }
            let mut points: Vec<(i64, f64)> = (0..n).map(|i| (first + i * step, 0.0)).collect();
            for (day, h) in self.sketches(account, filter, Range { from: first, to })? {
                let i = ((day - first).div_euclid(step)) as usize;
                if let Some(p) = points.get_mut(i) {
                    p.1 += h.count() as f64;
                }
            }
            return Ok(points);
        }
        let res = Resolution::ALL
            .into_iter()
            .rev()
            .find(|r| step % r.seconds() == 0)
            .unwrap_or(Resolution::Minute);
        let mut acc: Vec<Scalars> = vec![Scalars::default(); n as usize];
        for (bucket, s) in self.scalars(account, filter, res, Range { from: first, to })? {
            let i = (bucket - first).div_euclid(step) as usize;
            if let Some(a) = acc.get_mut(i) {
                a.merge(&s);
            }
        }
        let stepf = step as f64;
        Ok(acc
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let avg = |sum: f64, n: u32| if n == 0 { 0.0 } else { sum / n as f64 };
                let v = match metric {
                    Metric::Viewers => s.viewer_seconds as f64 / stepf,
                    Metric::PeakViewers => s.peak_viewers as f64,
                    Metric::Views => s.views as f64,
                    Metric::Bandwidth => s.bytes_out as f64 * 8.0 / stepf,
                    Metric::BytesOut => s.bytes_out as f64,
                    Metric::BytesIn => s.bytes_in as f64,
                    Metric::ViewTime => s.view_time_s as f64,
                    Metric::Cpu => avg(s.cpu_sum, s.host_samples),
                    Metric::Ram => avg(s.ram_used_sum as f64, s.host_samples),
                    Metric::IngressKbps => avg(s.ingress_kbps_sum, s.ingress_samples),
                    Metric::PublishUp => f64::from(s.publish_up),
                    Metric::PublishDown => f64::from(s.publish_down),
                    Metric::UniqueViewers => 0.0,
                };
                (first + i as i64 * step, (v * 1000.0).round() / 1000.0)
            })
            .collect())
    }

    /// Top values of a dimension, most views first.
    pub fn breakdown(
        &self,
        account: Id,
        filter: &Filter,
        dim: Dimension,
        range: Range,
        limit: usize,
        server_names: &HashMap<Id, String>,
    ) -> Result<Vec<Row>, StoreError> {
        let secs = (range.to - range.from).max(1) as f64;
        let mut rows: Vec<Row> = match dim {
            Dimension::Server | Dimension::App | Dimension::Stream => {
                self.scope_rows(account, filter, dim, range, server_names)?
            }
            _ => {
                let dims = self.dims(account, filter, range)?;
                let mut merged: HashMap<(String, String), DimStat> = HashMap::new();
                for (k, s) in dims.0 {
                    if let Some((key, label)) = self.label(dim, k) {
                        merged.entry((key, label)).or_default().merge(&s);
                    }
                }
                merged
                    .into_iter()
                    .map(|((key, label), s)| Row {
                        key,
                        label,
                        views: s.views,
                        viewers: round3(s.viewer_seconds as f64 / secs),
                        bytes_out: s.bytes_out,
                        view_time_s: s.view_time_s,
                    })
                    .collect()
            }
        };
        if dim == Dimension::Duration {
            rows.sort_by_key(|r| DURATION_LABELS.iter().position(|l| *l == r.key));
        } else {
            rows.sort_by(|a, b| {
                b.views
                    .cmp(&a.views)
                    .then(b.bytes_out.cmp(&a.bytes_out))
                    .then(a.key.cmp(&b.key))
            });
        }
        rows.truncate(limit);
        Ok(rows)
    }

    fn label(&self, dim: Dimension, key: DimKey) -> Option<(String, String)> {
        let text = |id: u32| self.dict.text(id).unwrap_or_else(|| format!("#{id}"));
        match (dim, key) {
            (Dimension::Country, DimKey::Country(c)) => {
                let code = String::from_utf8_lossy(&c).into_owned();
                let label = country_name(&code)
                    .map(str::to_string)
                    .unwrap_or_else(|| code.clone());
                Some((code, label))
            }
            (Dimension::Region, DimKey::Region(id)) => {
                let t = text(id);
                let mut parts = t.splitn(2, SEP);
                let code = parts.next().unwrap_or_default().to_string();
                let name = parts
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&code)
                    .to_string();
                Some((code, name))
            }
            (Dimension::City, DimKey::City(id)) => {
                let t = text(id);
                let mut parts = t.splitn(3, SEP);
                let key = parts.next().unwrap_or_default().to_string();
                let name = parts
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&key)
                    .to_string();
                Some((key, name))
            }
            (Dimension::Asn, DimKey::Asn(n, org)) => {
                let label = if org == 0 {
                    format!("AS{n}")
                } else {
                    text(org)
                };
                Some((n.to_string(), label))
            }
            (Dimension::Protocol, DimKey::Protocol(id)) => {
                let t = if id == 0 {
                    "unknown".to_string()
                } else {
                    text(id)
                };
                Some((t.clone(), t))
            }
            (Dimension::Player, DimKey::Player(id)) => {
                let t = if id == 0 {
                    "Unknown".to_string()
                } else {
                    text(id)
                };
                Some((t.clone(), t))
            }
            (Dimension::Device, DimKey::Device(d)) => {
                let name = device_name(d);
                Some((name.to_string(), name.to_string()))
            }
            (Dimension::Duration, DimKey::Duration(i)) => {
                let l = DURATION_LABELS.get(i as usize).copied().unwrap_or(">3h");
                Some((l.to_string(), l.to_string()))
            }
            _ => None,
        }
    }

    fn scope_rows(
        &self,
        account: Id,
        filter: &Filter,
        dim: Dimension,
        range: Range,
        server_names: &HashMap<Id, String>,
    ) -> Result<Vec<Row>, StoreError> {
        // Which series kind lists the values of this dimension under the filter.
        let kind = match dim {
            Dimension::Server => {
                if filter.app.is_some() {
                    SeriesKind::ServerApp
                } else {
                    SeriesKind::Server
                }
            }
            Dimension::App => {
                if filter.server.is_some() {
                    SeriesKind::ServerApp
                } else {
                    SeriesKind::App
                }
            }
            _ => {
                if filter.server.is_some() {
                    SeriesKind::ServerStream
                } else {
                    SeriesKind::AppStream
                }
            }
        };
        let mut infos: HashMap<u64, SeriesInfo> = HashMap::new();
        for (res, a, b) in decompose(range.from, range.to) {
            for pid in self.parts.overlapping(account, Class::Rollup(res), a, b) {
                if let Some(part) = self.parts.get(&pid, false)? {
                    for (id, info) in part.series()? {
                        let matches = info.kind == kind
                            && (filter.server.is_none() || info.server == filter.server)
                            && (filter.app.is_none() || info.app == filter.app)
                            && (filter.stream.is_none()
                                || info.stream == filter.stream
                                || dim != Dimension::Stream);
                        if matches && (dim != Dimension::Server || filter.stream.is_none()) {
                            infos.insert(id, info);
                        }
                    }
                }
            }
        }
        let secs = (range.to - range.from).max(1) as f64;
        let mut rows: HashMap<String, Row> = HashMap::new();
        for info in infos.into_values() {
            let f = Filter {
                server: info.server,
                app: info.app.clone(),
                stream: info.stream.clone(),
            };
            let mut total = Scalars::default();
            for (res, a, b) in decompose(range.from, range.to) {
                for (_, s) in self.scalars(account, &f, res, Range { from: a, to: b })? {
                    total.merge(&s);
                }
            }
            let (key, label) = match dim {
                Dimension::Server => {
                    let id = info.server.map(|s| s.to_string()).unwrap_or_default();
                    let name = info
                        .server
                        .and_then(|s| server_names.get(&s).cloned())
                        .unwrap_or_else(|| id.clone());
                    (id, name)
                }
                Dimension::App => {
                    let app = info.app.clone().unwrap_or_default();
                    (app.clone(), app)
                }
                _ => {
                    let k = format!(
                        "{}/{}",
                        info.app.as_deref().unwrap_or(""),
                        info.stream.as_deref().unwrap_or("")
                    );
                    (k.clone(), k)
                }
            };
            let row = rows.entry(key.clone()).or_insert(Row {
                key,
                label,
                views: 0,
                viewers: 0.0,
                bytes_out: 0,
                view_time_s: 0,
            });
            row.views += total.views;
            row.viewers = round3(row.viewers + total.viewer_seconds as f64 / secs);
            row.bytes_out += total.bytes_out;
            row.view_time_s += total.view_time_s;
        }
        Ok(rows.into_values().collect())
    }

    /// Streams seen in the range (from the hour catalogs), for stream lists.
    pub fn streams_seen(&self, account: Id, range: Range) -> Result<Vec<SeriesInfo>, StoreError> {
        let mut out: Vec<SeriesInfo> = Vec::new();
        for pid in self.parts.overlapping(
            account,
            Class::Rollup(Resolution::Hour),
            range.from,
            range.to,
        ) {
            if let Some(part) = self.parts.get(&pid, false)? {
                for (_, info) in part.series()? {
                    if info.kind == SeriesKind::ServerStream && !out.contains(&info) {
                        out.push(info);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn device_name(d: u8) -> &'static str {
    [
        Device::Desktop,
        Device::Mobile,
        Device::Tablet,
        Device::Tv,
        Device::Bot,
        Device::Other,
    ]
    .into_iter()
    .find(|x| *x as u8 == d)
    .unwrap_or(Device::Other)
    .as_str()
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Live totals for servers of an account matching a filter.
pub fn live_totals(live: &Live, account: Id, filter: &Filter, now: i64) -> (u64, f64, usize) {
    let live = live.read();
    let (mut viewers, mut bps, mut streams) = (0u64, 0.0f64, 0usize);
    for (id, srv) in live.iter() {
        if srv.account != Some(account) || filter.server.is_some_and(|s| s != *id) {
            continue;
        }
        if now - srv.last_report_at > 3 * srv.interval_s.max(30) as i64 {
            continue;
        }
        let interval = srv.interval_s.max(1) as f64;
        for ((app, stream), s) in &srv.streams {
            if filter.app.as_ref().is_some_and(|a| a != app)
                || filter.stream.as_ref().is_some_and(|x| x != stream)
            {
                continue;
            }
            viewers += s.viewers as u64;
            bps += s.bytes_out as f64 * 8.0 / interval;
            if s.publishing == Some(true) || s.viewers > 0 {
                streams += 1;
            }
        }
    }
    (viewers, bps, streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompose_covers_the_range_with_coarse_pieces() {
        let day = 86_400;
        let from = 10 * day + 3600 + 90; // 01:01:30 on day 10
        let to = 13 * day + 7200; // 02:00 on day 13
        let parts = decompose(from, to);
        assert!(parts.contains(&(Resolution::Day, 11 * day, 13 * day)));
        assert!(parts.contains(&(Resolution::Hour, 13 * day, 13 * day + 7200)));
        // Pieces are contiguous and cover [from rounded down to a minute, to).
        let mut sorted = parts.clone();
        sorted.sort_by_key(|p| p.1);
        assert_eq!(sorted[0].1, Resolution::Minute.bucket(from));
        assert!(sorted.windows(2).all(|w| w[0].2 == w[1].1));
        assert_eq!(sorted.last().unwrap().2, to);
        assert!(parts.len() <= 7);
    }

    #[test]
    fn decompose_aligned_day_is_one_piece() {
        assert_eq!(
            decompose(86_400, 2 * 86_400),
            vec![(Resolution::Day, 86_400, 2 * 86_400)]
        );
        assert_eq!(decompose(5, 5), vec![]);
    }
}
