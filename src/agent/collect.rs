//! What every source has in common: the [`Collector`] trait, the [`Collection`] one poll
//! produces, the bookkeeping that turns cumulative counters into per-interval deltas
//! ([`counter_delta`], [`Tracker`]) and the factory that builds collectors from the settings.
//! Collectors never send anything; they only describe one interval.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::agent::config::{AgentConfig, SourceKind};
use crate::agent::fetch::Fetcher;
use crate::model::report::{StreamReport, ViewerReport};

/// Why one poll of one source failed. The interval's report is still sent without it.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("request to {url} failed: {message}")]
    Http { url: String, message: String },
    #[error("{url} answered HTTP {status}{hint}")]
    Status {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("could not parse {what}: {message}")]
    Parse { what: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Streams, viewers and server details seen by one source during one interval.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Collection {
    pub streams: Vec<StreamReport>,
    /// Media-server software name, when the source tells it (e.g. `nginx-rtmp`).
    pub software: Option<String>,
    /// Media-server version, when the source tells it.
    pub version: Option<String>,
}

/// One media-server source. Implementations keep the state needed between polls
/// (previous counters, open sessions, log offsets).
pub trait Collector: Send {
    /// Kind and address, for logs. Never contains credentials.
    fn describe(&self) -> String;
    /// First poll at start-up: records baselines so that the first report counts only what
    /// happened after the agent started. By default a collection whose result is discarded.
    fn prime(&mut self, now: i64) -> Result<(), CollectError> {
        self.collect(now).map(|_| ())
    }
    /// Collects the interval ending at `now` (Unix seconds).
    fn collect(&mut self, now: i64) -> Result<Collection, CollectError>;
}

/// Builds one collector per configured source.
pub fn build_collectors(config: &AgentConfig) -> Result<Vec<Box<dyn Collector>>, CollectError> {
    let mut out: Vec<Box<dyn Collector>> = Vec::new();
    for (index, spec) in config.sources.iter().enumerate() {
        let same_kind = config
            .sources
            .iter()
            .filter(|s| s.kind == spec.kind)
            .count();
        // Session ids must be unique per server; a second source of one kind gets its own prefix.
        let tag = if same_kind > 1 {
            format!("{}{index}", short_tag(spec.kind))
        } else {
            short_tag(spec.kind).to_string()
        };
        let fetcher = || Fetcher::new(&spec.address, spec.auth.clone(), config.source_timeout);
        let c: Box<dyn Collector> = match spec.kind {
            SourceKind::NginxRtmp => Box::new(crate::agent::nginx_rtmp::NginxRtmp::new(
                fetcher(),
                tag,
                config.rtmp_access_log.clone(),
            )),
            SourceKind::AccessLog => Box::new(crate::agent::access_log::AccessLog::new(
                spec.address.clone().into(),
                tag,
                config.access_log_gap,
                config.access_log_app.clone(),
            )),
            SourceKind::Icecast => Box::new(crate::agent::icecast::Icecast::new(fetcher(), tag)),
            SourceKind::Srs => Box::new(crate::agent::srs::Srs::new(fetcher(), tag)),
            SourceKind::Mediamtx => Box::new(crate::agent::mediamtx::Mediamtx::new(fetcher(), tag)),
            SourceKind::OvenMediaEngine => Box::new(
                crate::agent::ovenmediaengine::OvenMediaEngine::new(fetcher()),
            ),
            SourceKind::Wowza => Box::new(crate::agent::wowza::Wowza::new(fetcher())),
            SourceKind::Nimble => Box::new(crate::agent::nimble::Nimble::new(fetcher())),
        };
        out.push(c);
    }
    Ok(out)
}

fn short_tag(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::NginxRtmp => "rtmp",
        SourceKind::AccessLog => "http",
        SourceKind::Icecast => "ice",
        SourceKind::Srs => "srs",
        SourceKind::Mediamtx => "mtx",
        SourceKind::OvenMediaEngine => "ome",
        SourceKind::Wowza => "wowza",
        SourceKind::Nimble => "nimble",
    }
}

/// Increase of a cumulative counter since the previous poll. A counter that went down was
/// restarted (server restart, stream re-published), so everything it now shows is new.
/// Without a previous value there is no baseline and the delta is 0.
pub fn counter_delta(previous: Option<u64>, now: u64) -> u64 {
    match previous {
        Some(p) if now >= p => now - p,
        Some(_) => now,
        None => 0,
    }
}

/// The identity of a stream in a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamKey {
    pub vhost: Option<String>,
    pub app: String,
    pub instance: Option<String>,
    pub stream: String,
}

impl StreamKey {
    /// A key with only application and stream name.
    pub fn new(app: impl Into<String>, stream: impl Into<String>) -> StreamKey {
        StreamKey {
            vhost: None,
            app: app.into(),
            instance: None,
            stream: stream.into(),
        }
    }
}

/// Builds the stream list of one collection, keyed and ordered by [`StreamKey`].
#[derive(Debug, Default)]
pub struct StreamSet {
    streams: BTreeMap<StreamKey, StreamReport>,
}

impl StreamSet {
    /// The stream for `key`, created empty when first named.
    pub fn stream(&mut self, key: &StreamKey) -> &mut StreamReport {
        self.streams
            .entry(key.clone())
            .or_insert_with(|| StreamReport {
                vhost: key.vhost.clone(),
                app: key.app.clone(),
                instance: key.instance.clone(),
                stream: key.stream.clone(),
                ..StreamReport::default()
            })
    }

    /// Adds a viewer to the stream for `key`.
    pub fn viewer(&mut self, key: &StreamKey, viewer: ViewerReport) {
        self.stream(key).viewers.push(viewer);
    }

    /// The streams, ordered by key.
    pub fn into_streams(self) -> Vec<StreamReport> {
        self.streams.into_values().collect()
    }
}

/// What the agent remembers about one live viewer session between polls.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub key: StreamKey,
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub protocol: Option<String>,
    /// Seconds connected at the last poll.
    pub seconds: u64,
    /// The source's cumulative byte counter for the session at the last poll, if it has one.
    pub counter: Option<u64>,
    /// Bytes reported for this session so far.
    pub reported: u64,
}

impl Seen {
    /// The viewer record for a report.
    pub fn to_viewer(&self, session: &str, bytes: u64, ended: bool) -> ViewerReport {
        ViewerReport {
            session: session.to_string(),
            ip: self.ip,
            user_agent: self.user_agent.clone(),
            protocol: self.protocol.clone(),
            bytes,
            seconds: self.seconds,
            ended,
        }
    }
}

/// Tracks sessions across polls: gives per-interval byte deltas of cumulative per-session
/// counters and finds the sessions that disappeared (ended) since the previous poll.
#[derive(Debug, Default)]
pub struct Tracker {
    previous: HashMap<String, Seen>,
    current: HashMap<String, Seen>,
}

impl Tracker {
    /// Records a session seen in this poll and returns the bytes to report for it: the growth
    /// of `seen.counter` since the last poll (the whole counter for a session new since then).
    /// `seen.reported` is maintained here.
    pub fn live(&mut self, session: &str, mut seen: Seen) -> u64 {
        let before = self.previous.get(session);
        let bytes = match seen.counter {
            Some(now) => counter_delta(Some(before.and_then(|b| b.counter).unwrap_or(0)), now),
            None => 0,
        };
        seen.reported = before
            .map(|b| b.reported)
            .unwrap_or(0)
            .saturating_add(bytes);
        self.current.insert(session.to_string(), seen);
        bytes
    }

    /// Adds `bytes` to what was reported for a live session (for sources that estimate bytes).
    pub fn add_reported(&mut self, session: &str, bytes: u64) {
        if let Some(s) = self.current.get_mut(session) {
            s.reported = s.reported.saturating_add(bytes);
        }
    }

    /// The state of a session recorded in this poll.
    pub fn current(&self, session: &str) -> Option<&Seen> {
        self.current.get(session)
    }

    /// The state of a session at the previous poll.
    pub fn previous(&self, session: &str) -> Option<&Seen> {
        self.previous.get(session)
    }

    /// Removes and returns the sessions seen at the previous poll but not (yet) in this one.
    pub fn take_ended(&mut self) -> Vec<(String, Seen)> {
        let ids: Vec<String> = self
            .previous
            .keys()
            .filter(|id| !self.current.contains_key(*id))
            .cloned()
            .collect();
        let mut ended: Vec<(String, Seen)> = ids
            .into_iter()
            .filter_map(|id| self.previous.remove(&id).map(|s| (id, s)))
            .collect();
        ended.sort_by(|a, b| a.0.cmp(&b.0));
        ended
    }

    /// Ends the poll: returns the sessions seen last time but not in this poll.
    pub fn finish(&mut self) -> Vec<(String, Seen)> {
        let ended = self.take_ended();
        self.previous = std::mem::take(&mut self.current);
        ended
    }

    /// Number of live sessions after the last finished poll.
    pub fn len(&self) -> usize {
        self.previous.len()
    }

    /// Whether no session was live at the last finished poll.
    pub fn is_empty(&self) -> bool {
        self.previous.is_empty()
    }
}

/// Per-stream aggregate figures from a totals-only API (no per-viewer data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamTotals {
    pub key: StreamKey,
    pub publishing: bool,
    /// Ingest protocol, when the API tells it.
    pub protocol: Option<String>,
    /// Cumulative bytes received from the publisher, when the API counts them.
    pub bytes_in: Option<u64>,
    /// Cumulative bytes sent to viewers, when the API counts them.
    pub bytes_out: Option<u64>,
    pub kbps_in: Option<f64>,
    /// Current viewer connections, when the API counts them.
    pub viewers: Option<u64>,
}

/// Turns cumulative per-stream totals into per-interval stream reports. The v1 report has no
/// per-stream egress or viewer-count field, so those totals are only logged; streams carry
/// publishing state, ingest protocol and ingress.
#[derive(Debug, Default)]
pub struct TotalsTracker {
    previous: HashMap<StreamKey, u64>,
    primed: bool,
}

impl TotalsTracker {
    /// The interval's streams from one poll's totals.
    pub fn process(&mut self, totals: &[StreamTotals]) -> Vec<StreamReport> {
        let mut set = StreamSet::default();
        let mut current = HashMap::new();
        for t in totals {
            let s = set.stream(&t.key);
            s.publishing = Some(t.publishing);
            if t.publishing {
                s.protocol = t.protocol.clone();
                s.ingress_kbps = t.kbps_in.filter(|k| k.is_finite() && *k >= 0.0);
            }
            if let Some(now) = t.bytes_in {
                let previous =
                    self.previous
                        .get(&t.key)
                        .copied()
                        .or(if self.primed { Some(0) } else { None });
                s.ingress_bytes = Some(counter_delta(previous, now));
                current.insert(t.key.clone(), now);
            }
            tracing::debug!(
                app = %t.key.app,
                stream = %t.key.stream,
                viewers = t.viewers,
                bytes_out = t.bytes_out,
                "stream totals (no per-viewer data from this source)"
            );
        }
        self.previous = current;
        self.primed = true;
        set.into_streams()
    }
}

/// Splits `"ip:port"`, `"[v6]:port"` or a bare address into an [`IpAddr`].
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, _port) = t.rsplit_once(':')?;
    host.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn seen(counter: Option<u64>) -> Seen {
        Seen {
            key: StreamKey::new("live", "a"),
            ip: "192.0.2.1".parse().unwrap(),
            user_agent: None,
            protocol: None,
            seconds: 1,
            counter,
            reported: 0,
        }
    }

    #[test]
    fn counter_deltas_handle_resets() {
        assert_eq!(counter_delta(None, 500), 0);
        assert_eq!(counter_delta(Some(100), 500), 400);
        assert_eq!(counter_delta(Some(500), 100), 100);
    }

    #[test]
    fn tracker_reports_deltas_and_ended_sessions() {
        let mut t = Tracker::default();
        assert_eq!(t.live("a", seen(Some(100))), 100);
        assert_eq!(t.live("b", seen(Some(50))), 50);
        assert!(t.finish().is_empty());
        assert_eq!(t.live("a", seen(Some(160))), 60);
        let ended = t.finish();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].0, "b");
        assert_eq!(ended[0].1.reported, 50);
        assert_eq!(t.previous("a").unwrap().reported, 160);
        // Counter went down: the session's connection was replaced.
        assert_eq!(t.live("a", seen(Some(10))), 10);
    }

    #[test]
    fn ips_with_ports() {
        assert_eq!(parse_ip("203.0.113.10:51234"), "203.0.113.10".parse().ok());
        assert_eq!(parse_ip("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("x.x.x.x"), None);
    }
}
