//! `nginx-rtmp` source: polls the `rtmp_stat all` XML page and optionally follows the rtmp{}
//! `access_log`.
//!
//! The stat page lists every RTMP client with its IP but has byte counters only per stream.
//! Each live viewer therefore gets a share of the stream's `bytes_out` growth since the last
//! poll, weighted by how long it was connected during the interval. When a viewer disconnects,
//! nginx writes one access-log line with its exact `$bytes_sent`; if that log is followed
//! (`--rtmp-access-log`), the viewer's final report carries the exact remainder instead of an
//! estimate. Publishers (`<publishing/>`) are never viewers; they give the stream's ingress.
//!
//! Counters: stream counters restart when the stream is re-published or nginx restarts (new
//! worker `pid`), and `$bytes_sent` in the log is a 32-bit counter that wraps at 4 GiB; both are
//! handled. The session id is `TAG-PID-CLIENTID-APP/STREAM`, stable across polls.
//! `/stat` is per nginx worker: nginx must run with `worker_processes 1`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::agent::access_log::{Token, parse_time_local, tokenize};
use crate::agent::collect::{
    CollectError, Collection, Collector, Seen, StreamKey, StreamSet, Tracker, counter_delta,
};
use crate::agent::fetch::Fetcher;
use crate::agent::tail::Tailer;
use crate::agent::xml::{self, Element};

/// The parsed `/stat` page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub nginx_version: Option<String>,
    pub rtmp_version: Option<String>,
    /// PID of the nginx worker that answered.
    pub pid: Option<u64>,
    /// Seconds since that worker started.
    pub uptime: Option<u64>,
    pub streams: Vec<StatStream>,
}

/// One live stream of one application.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatStream {
    pub app: String,
    pub name: String,
    /// Milliseconds since the stream was created.
    pub time_ms: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Ingress bandwidth, bits/s.
    pub bw_in: u64,
    pub publishing: bool,
    pub clients: Vec<StatClient>,
}

/// One RTMP connection playing or publishing a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StatClient {
    /// nginx connection number (`$connection` in logs, `clientid` in callbacks).
    pub id: u64,
    pub address: Option<IpAddr>,
    /// Milliseconds since the client connected.
    pub time_ms: u64,
    pub flashver: Option<String>,
    pub publishing: bool,
}

/// Parses the `rtmp_stat all` XML.
pub fn parse_stat(text: &str) -> Result<Stat, xml::XmlError> {
    let root = xml::parse(text)?;
    if root.name != "rtmp" {
        return Err(xml::XmlError(format!(
            "expected <rtmp>, found <{}>",
            root.name
        )));
    }
    let mut stat = Stat {
        nginx_version: root.child_text("nginx_version").map(str::to_string),
        rtmp_version: root.child_text("nginx_rtmp_version").map(str::to_string),
        pid: root.parse_child("pid"),
        uptime: root.parse_child("uptime"),
        streams: Vec::new(),
    };
    for server in root.children_named("server") {
        for app in server.children_named("application") {
            let app_name = app.child_text("name").unwrap_or("").to_string();
            for live in app.children_named("live") {
                for stream in live.children_named("stream") {
                    stat.streams.push(parse_stream(&app_name, stream));
                }
            }
        }
    }
    Ok(stat)
}

fn parse_stream(app: &str, stream: &Element) -> StatStream {
    let clients = stream
        .children_named("client")
        .filter_map(|c| {
            Some(StatClient {
                id: c.parse_child("id")?,
                address: c.child_text("address").and_then(|a| a.trim().parse().ok()),
                time_ms: c.parse_child("time").unwrap_or(0),
                flashver: c
                    .child_text("flashver")
                    .filter(|f| !f.is_empty())
                    .map(str::to_string),
                publishing: c.has_child("publishing"),
            })
        })
        .collect();
    StatStream {
        app: app.to_string(),
        name: stream.child_text("name").unwrap_or("").to_string(),
        time_ms: stream.parse_child("time").unwrap_or(0),
        bytes_in: stream.parse_child("bytes_in").unwrap_or(0),
        bytes_out: stream.parse_child("bytes_out").unwrap_or(0),
        bw_in: stream.parse_child("bw_in").unwrap_or(0),
        publishing: stream.has_child("publishing"),
        clients,
    }
}

/// One line of the rtmp{} access log (default `combined` format, optionally preceded by
/// `$connection` and followed by `"$tcurl" $session_time`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpLogLine {
    pub connection: Option<u64>,
    pub ip: IpAddr,
    pub time: i64,
    /// `PLAY`, `PUBLISH`, `PLAY+PUBLISH` or `NONE`.
    pub command: String,
    pub app: String,
    pub name: String,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub flashver: Option<String>,
    /// Session length in seconds.
    pub session_secs: Option<u64>,
}

/// Parses one rtmp{} access-log line.
pub fn parse_rtmp_log_line(line: &str) -> Option<RtmpLogLine> {
    let tokens = tokenize(line);
    let time_index = tokens.iter().position(|t| matches!(t, Token::Bracket(_)))?;
    let bare = |i: usize| match tokens.get(i) {
        Some(Token::Bare(s)) => Some(*s),
        _ => None,
    };
    let quoted = |i: usize| match tokens.get(i) {
        Some(Token::Quoted(s)) => Some(s.clone()),
        _ => None,
    };
    let ip: IpAddr = bare(time_index.checked_sub(1)?)?.parse().ok()?;
    let connection = time_index
        .checked_sub(2)
        .and_then(bare)
        .and_then(|c| c.parse().ok());
    let time = match &tokens[time_index] {
        Token::Bracket(t) => parse_time_local(t)?,
        _ => return None,
    };
    let command = bare(time_index + 1)?.to_string();
    let app = quoted(time_index + 2)?;
    let name = quoted(time_index + 3)?;
    // time_index + 4 is "$args", + 5 is the literal "-".
    let bytes_received = bare(time_index + 6)?.parse().ok()?;
    let bytes_sent = bare(time_index + 7)?.parse().ok()?;
    let flashver = quoted(time_index + 9).filter(|f| !f.is_empty());
    let mut session_secs = None;
    for t in tokens.iter().skip(time_index + 10) {
        match t {
            Token::Bare(s) => {
                if let Ok(v) = s.parse() {
                    session_secs = Some(v);
                }
            }
            Token::Paren(p) if session_secs.is_none() => session_secs = parse_readable(p),
            _ => {}
        }
    }
    Some(RtmpLogLine {
        connection,
        ip,
        time,
        command,
        app,
        name,
        bytes_received,
        bytes_sent,
        flashver,
        session_secs,
    })
}

/// `1d 2h 3m 4s` → seconds.
fn parse_readable(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    for part in text.split_whitespace() {
        let (n, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit())?);
        let n: u64 = n.parse().ok()?;
        total = total.saturating_add(match unit {
            "d" => n.saturating_mul(86_400),
            "h" => n.saturating_mul(3600),
            "m" => n.saturating_mul(60),
            "s" => n,
            _ => return None,
        });
    }
    Some(total)
}

/// The exact total behind a 32-bit counter reading: the value congruent to `logged` modulo
/// 2^32 that is closest to `estimate` (what the agent believes was sent).
pub fn unwrap_u32(logged: u64, estimate: u64) -> u64 {
    const WRAP: u64 = 1 << 32;
    if logged >= WRAP {
        return logged;
    }
    if estimate <= logged {
        return logged;
    }
    let k = (estimate - logged + WRAP / 2) / WRAP;
    logged + k * WRAP
}

/// One stream's egress growth in a poll and its live viewers as (session, weight in ms).
type StreamEgress = (StreamKey, u64, Vec<(String, u64)>);

#[derive(Debug, Clone, Copy, Default)]
struct StreamCounters {
    bytes_in: u64,
    bytes_out: u64,
    time_ms: u64,
}

/// The `nginx-rtmp` collector.
#[derive(Debug)]
pub struct NginxRtmp {
    fetcher: Fetcher,
    tag: String,
    log: Option<Tailer>,
    pid: Option<u64>,
    counters: HashMap<(String, String), StreamCounters>,
    tracker: Tracker,
    /// Disconnect lines not yet matched to an ended session, with the poll they arrived in.
    pending: Vec<(u64, RtmpLogLine)>,
    polls: u64,
    last_poll: Option<i64>,
}

impl NginxRtmp {
    /// `fetcher` points at the stat URL; `log` is the rtmp{} access log, if followed.
    pub fn new(fetcher: Fetcher, tag: String, log: Option<PathBuf>) -> NginxRtmp {
        NginxRtmp {
            fetcher,
            tag,
            log: log.map(Tailer::from_end),
            pid: None,
            counters: HashMap::new(),
            tracker: Tracker::default(),
            pending: Vec::new(),
            polls: 0,
            last_poll: None,
        }
    }

    fn read_log(&mut self) {
        let Some(log) = self.log.as_mut() else { return };
        match log.read_lines() {
            Ok(lines) => {
                for line in lines {
                    if let Some(l) = parse_rtmp_log_line(&line)
                        && l.command == "PLAY"
                    {
                        self.pending.push((self.polls, l));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(path = %log.path().display(), error = %e, "cannot read the rtmp access log")
            }
        }
        // Lines that match nothing for a few polls belong to sessions the agent never saw.
        let polls = self.polls;
        self.pending
            .retain(|(seen, _)| polls.saturating_sub(*seen) < 3);
        if self.pending.len() > 100_000 {
            let excess = self.pending.len() - 100_000;
            self.pending.drain(..excess);
        }
    }

    /// Finds and removes the disconnect line of an ended session.
    fn take_log_line(&mut self, client_id: u64, seen: &Seen) -> Option<RtmpLogLine> {
        let by_connection = self.pending.iter().position(|(_, l)| {
            l.connection == Some(client_id) && l.app == seen.key.app && l.name == seen.key.stream
        });
        let index = by_connection.or_else(|| {
            // Without `$connection` in the log format: same IP and stream, closest duration.
            self.pending
                .iter()
                .enumerate()
                .filter(|(_, (_, l))| {
                    l.connection.is_none()
                        && l.ip == seen.ip
                        && l.app == seen.key.app
                        && l.name == seen.key.stream
                })
                .min_by_key(|(_, (_, l))| l.session_secs.unwrap_or(0).abs_diff(seen.seconds))
                .map(|(i, _)| i)
        })?;
        Some(self.pending.remove(index).1)
    }

    /// Turns one parsed stat page into the interval's streams. Separate from the HTTP poll so
    /// it can be driven by tests.
    pub fn process(&mut self, stat: &Stat, now: i64) -> Collection {
        self.polls += 1;
        self.read_log();
        let primed = self.last_poll.is_some();
        let interval_ms = self
            .last_poll
            .map(|t| (now - t).max(1) as u64 * 1000)
            .unwrap_or(1000);
        let restarted = primed && stat.pid.is_some() && stat.pid != self.pid;
        let pid = stat.pid.unwrap_or(0);
        let mut set = StreamSet::default();
        let mut counters = HashMap::with_capacity(stat.streams.len());
        let mut live_by_stream: Vec<StreamEgress> = Vec::new();

        for s in &stat.streams {
            let key = StreamKey::new(s.app.clone(), s.name.clone());
            let previous = if restarted {
                Some(StreamCounters::default())
            } else {
                match self.counters.get(&(s.app.clone(), s.name.clone())) {
                    // A stream younger than the previous reading was re-created: counters restarted.
                    Some(c) if s.time_ms < c.time_ms => Some(StreamCounters::default()),
                    Some(c) => Some(*c),
                    None if primed => Some(StreamCounters::default()),
                    None => None,
                }
            };
            let delta_out = counter_delta(previous.map(|c| c.bytes_out), s.bytes_out);
            let delta_in = counter_delta(previous.map(|c| c.bytes_in), s.bytes_in);
            counters.insert(
                (s.app.clone(), s.name.clone()),
                StreamCounters {
                    bytes_in: s.bytes_in,
                    bytes_out: s.bytes_out,
                    time_ms: s.time_ms,
                },
            );
            let entry = set.stream(&key);
            let publishing = s.publishing || s.clients.iter().any(|c| c.publishing);
            entry.publishing = Some(publishing);
            if publishing {
                entry.protocol = Some("rtmp".to_string());
                entry.ingress_kbps = Some(s.bw_in as f64 / 1000.0);
            }
            entry.ingress_bytes = Some(delta_in);

            let mut live = Vec::new();
            for c in s.clients.iter().filter(|c| !c.publishing) {
                let Some(ip) = c.address else { continue };
                let session = format!("{}-{pid}-{}-{}/{}", self.tag, c.id, s.app, s.name);
                self.tracker.live(
                    &session,
                    Seen {
                        key: key.clone(),
                        ip,
                        user_agent: c.flashver.clone(),
                        protocol: Some("rtmp".to_string()),
                        seconds: c.time_ms / 1000,
                        counter: None,
                        reported: 0,
                    },
                );
                live.push((session, c.time_ms.min(interval_ms)));
            }
            live_by_stream.push((key, delta_out, live));
        }

        // Ended sessions: exact bytes from the log when available, else an estimate.
        let ended = self.tracker.take_ended();
        let mut exact_by_stream: HashMap<StreamKey, u64> = HashMap::new();
        let mut estimated: Vec<(String, Seen)> = Vec::new();
        for (session, mut seen) in ended {
            let client_id = session
                .strip_prefix(&format!("{}-", self.tag))
                .and_then(|rest| rest.split('-').nth(1))
                .and_then(|id| id.parse().ok())
                .unwrap_or(u64::MAX);
            match self.take_log_line(client_id, &seen) {
                Some(line) => {
                    let total = unwrap_u32(line.bytes_sent, seen.reported);
                    let bytes = total.saturating_sub(seen.reported);
                    if let Some(secs) = line.session_secs {
                        seen.seconds = secs.max(seen.seconds);
                    }
                    *exact_by_stream.entry(seen.key.clone()).or_default() += bytes;
                    set.viewer(&seen.key.clone(), seen.to_viewer(&session, bytes, true));
                }
                None => estimated.push((session, seen)),
            }
        }

        // Apportion each stream's remaining egress among its live and estimated-ended viewers.
        let mut totals: HashMap<StreamKey, u64> = HashMap::new();
        for (key, delta_out, _) in &live_by_stream {
            let exact = exact_by_stream.get(key).copied().unwrap_or(0);
            totals.insert(key.clone(), delta_out.saturating_sub(exact));
        }
        let mut weights: HashMap<StreamKey, u64> = HashMap::new();
        for (key, _, live) in &live_by_stream {
            *weights.entry(key.clone()).or_default() += live.iter().map(|(_, w)| *w).sum::<u64>();
        }
        for (_, seen) in &estimated {
            *weights.entry(seen.key.clone()).or_default() += interval_ms / 2;
        }
        let share = |key: &StreamKey, weight: u64| -> u64 {
            let total = totals.get(key).copied().unwrap_or(0) as u128;
            let all = weights.get(key).copied().unwrap_or(0) as u128;
            (total * weight as u128).checked_div(all).unwrap_or(0) as u64
        };
        for (key, _, live) in &live_by_stream {
            for (session, weight) in live {
                let bytes = if primed { share(key, *weight) } else { 0 };
                self.tracker.add_reported(session, bytes);
                let viewer = match self.tracker_current(session) {
                    Some(seen) => seen.to_viewer(session, bytes, false),
                    None => continue,
                };
                set.viewer(key, viewer);
            }
        }
        for (session, seen) in estimated {
            let bytes = share(&seen.key, interval_ms / 2);
            set.viewer(&seen.key.clone(), seen.to_viewer(&session, bytes, true));
        }

        self.tracker.finish();
        self.counters = counters;
        self.pid = stat.pid.or(self.pid);
        self.last_poll = Some(now);
        Collection {
            streams: set.into_streams(),
            software: Some("nginx-rtmp".to_string()),
            version: stat.nginx_version.clone(),
        }
    }

    fn tracker_current(&self, session: &str) -> Option<Seen> {
        self.tracker.current(session).cloned()
    }
}

impl Collector for NginxRtmp {
    fn describe(&self) -> String {
        format!("nginx-rtmp {}", self.fetcher.base())
    }

    fn prime(&mut self, now: i64) -> Result<(), CollectError> {
        if let Some(log) = self.log.as_mut()
            && let Err(e) = log.prime()
        {
            tracing::warn!(path = %log.path().display(), error = %e, "cannot open the rtmp access log");
        }
        self.collect(now).map(|_| ())
    }

    fn collect(&mut self, now: i64) -> Result<Collection, CollectError> {
        let text = self.fetcher.get_text("")?;
        let stat = parse_stat(&text).map_err(|e| CollectError::Parse {
            what: format!("the nginx-rtmp stat page {}", self.fetcher.base()),
            message: format!("{e} (is this the `rtmp_stat all` location?)"),
        })?;
        Ok(self.process(&stat, now))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    const STAT: &str = include_str!("../../tests/fixtures/agent/nginx_rtmp_stat.xml");
    const STAT_2_PLUS_HLS: &str =
        include_str!("../../tests/fixtures/agent/nginx_rtmp_stat_2players_plus_hls.xml");
    const STAT_IDLE: &str = include_str!("../../tests/fixtures/agent/nginx_rtmp_stat_idle.xml");
    const LOG_COMBINED: &str =
        include_str!("../../tests/fixtures/agent/nginx_rtmp_access_combined.log");
    const LOG_CUSTOM: &str =
        include_str!("../../tests/fixtures/agent/nginx_rtmp_access_custom.log");

    fn collector(log: Option<PathBuf>) -> NginxRtmp {
        NginxRtmp::new(
            Fetcher::new("http://127.0.0.1:9/stat", None, Duration::from_secs(1)),
            "rtmp".into(),
            log,
        )
    }

    #[test]
    fn parses_the_captured_stat_page() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.pid, Some(7178));
        assert_eq!(s.nginx_version.as_deref(), Some("1.22.1"));
        assert_eq!(s.streams.len(), 1);
        let st = &s.streams[0];
        assert_eq!((st.app.as_str(), st.name.as_str()), ("live", "test"));
        assert_eq!(st.bytes_out, 1_656_123);
        assert_eq!(st.bytes_in, 959_667);
        assert!(st.publishing);
        assert_eq!(st.clients.len(), 4);
        assert_eq!(st.clients.iter().filter(|c| c.publishing).count(), 1);
        assert_eq!(st.clients[0].flashver.as_deref(), Some("LNX 9,0,124,2"));
        assert!(parse_stat(STAT_IDLE).unwrap().streams.is_empty());
        assert!(parse_stat("<html>nope</html>").is_err());
    }

    #[test]
    fn viewers_exclude_the_publisher_and_share_the_stream_bytes() {
        let mut c = collector(None);
        let first = c.process(&parse_stat(STAT).unwrap(), 1000);
        let st = &first.streams[0];
        assert_eq!(st.viewers.len(), 3);
        assert!(
            st.viewers
                .iter()
                .all(|v| v.bytes == 0 && v.protocol.as_deref() == Some("rtmp"))
        );
        assert_eq!(st.publishing, Some(true));
        assert_eq!(st.protocol.as_deref(), Some("rtmp"));

        // 30 s later: clients 4 is gone, 5 and 6 stay (the captured page 30 s on).
        let second = c.process(&parse_stat(STAT_2_PLUS_HLS).unwrap(), 1030);
        let st = &second.streams[0];
        let delta = 8_163_996 - 1_656_123;
        let total: u64 = st.viewers.iter().map(|v| v.bytes).sum();
        assert!(total <= delta && total + 3 >= delta, "{total} vs {delta}");
        let ended: Vec<_> = st.viewers.iter().filter(|v| v.ended).collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].session, "rtmp-7178-4-live/test");
        assert_eq!(st.ingress_bytes, Some(3_437_933 - 959_667));
        let live: Vec<_> = st.viewers.iter().filter(|v| !v.ended).collect();
        assert_eq!(live.len(), 2);
        assert_eq!(live[0].seconds, 37);

        // Publisher gone and stream removed: the remaining viewers end exactly once.
        let third = c.process(&parse_stat(STAT_IDLE).unwrap(), 1060);
        let ended: usize = third
            .streams
            .iter()
            .map(|s| s.viewers.iter().filter(|v| v.ended).count())
            .sum();
        assert_eq!(ended, 2);
        let fourth = c.process(&parse_stat(STAT_IDLE).unwrap(), 1090);
        assert!(fourth.streams.is_empty());
    }

    #[test]
    fn the_access_log_corrects_bytes_of_ended_viewers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rtmp_access.log");
        std::fs::write(&path, "").unwrap();
        let mut c = collector(Some(path.clone()));
        c.log.as_mut().unwrap().prime().unwrap();
        c.process(&parse_stat(STAT).unwrap(), 1000);
        // Client 4 disconnects with 666767 bytes sent, per the custom log format.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "{}", LOG_CUSTOM.lines().next().unwrap()).unwrap();
        let second = c.process(&parse_stat(STAT_2_PLUS_HLS).unwrap(), 1030);
        let st = &second.streams[0];
        let ended = st.viewers.iter().find(|v| v.ended).unwrap();
        assert_eq!(ended.bytes, 666_767);
        assert_eq!(ended.seconds, 8);
        let delta = 8_163_996 - 1_656_123;
        let total: u64 = st.viewers.iter().map(|v| v.bytes).sum();
        assert!(total <= delta && total + 3 >= delta);
    }

    #[test]
    fn a_new_worker_pid_restarts_counters() {
        let mut c = collector(None);
        c.process(&parse_stat(STAT_2_PLUS_HLS).unwrap(), 1000);
        let restarted = STAT.replace("<pid>7178</pid>", "<pid>9000</pid>");
        let out = c.process(&parse_stat(&restarted).unwrap(), 1030);
        let st = &out.streams[0];
        assert_eq!(st.ingress_bytes, Some(959_667));
        // All three viewers are new sessions under the new pid; the two old ones ended.
        assert_eq!(st.viewers.iter().filter(|v| !v.ended).count(), 3);
        assert_eq!(st.viewers.iter().filter(|v| v.ended).count(), 2);
    }

    #[test]
    fn parses_both_log_formats() {
        let l = parse_rtmp_log_line(LOG_COMBINED.lines().next().unwrap()).unwrap();
        assert_eq!(l.connection, None);
        assert_eq!(l.command, "PLAY");
        assert_eq!((l.app.as_str(), l.name.as_str()), ("live", "test"));
        assert_eq!((l.bytes_received, l.bytes_sent), (428, 666_767));
        assert_eq!(l.session_secs, Some(8));
        assert_eq!(l.flashver.as_deref(), Some("LNX 9,0,124,2"));
        let l = parse_rtmp_log_line(LOG_CUSTOM.lines().nth(2).unwrap()).unwrap();
        assert_eq!(l.connection, Some(1));
        assert_eq!(l.command, "PUBLISH");
        assert_eq!(l.session_secs, Some(13));
        assert_eq!(
            LOG_COMBINED.lines().filter_map(parse_rtmp_log_line).count(),
            5
        );
        assert_eq!(
            LOG_CUSTOM.lines().filter_map(parse_rtmp_log_line).count(),
            5
        );
        assert_eq!(parse_readable("1h 2m 3s"), Some(3723));
    }

    #[test]
    fn thirty_two_bit_counters_unwrap() {
        assert_eq!(unwrap_u32(100, 0), 100);
        assert_eq!(unwrap_u32(100, 90), 100);
        assert_eq!(unwrap_u32(100, (1 << 32) + 50), (1 << 32) + 100);
        assert_eq!(unwrap_u32(5, 3 * (1 << 32) - 10), 3 * (1 << 32) + 5);
        assert_eq!(unwrap_u32(1 << 33, 0), 1 << 33);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn fuzz_stat_xml_never_panics(text in "\\PC{0,400}") {
            let _ = parse_stat(&text);
        }

        #[test]
        fn fuzz_mutated_stat_pages(cut in 0usize..1800, len in 0usize..40, insert in "[<>/a-z0-9&;#\" =]{0,12}") {
            let cut = cut.min(STAT.len());
            let end = (cut + len).min(STAT.len());
            if STAT.is_char_boundary(cut) && STAT.is_char_boundary(end) {
                let text = format!("{}{}{}", &STAT[..cut], insert, &STAT[end..]);
                if let Ok(stat) = parse_stat(&text) {
                    let mut c = collector(None);
                    let _ = c.process(&stat, 1000);
                    let _ = c.process(&stat, 1030);
                }
            }
        }

        #[test]
        fn fuzz_rtmp_log_lines(line in "\\PC{0,200}") {
            let _ = parse_rtmp_log_line(&line);
        }

        #[test]
        fn apportioned_bytes_never_exceed_the_stream_total(
            clients in proptest::collection::vec((1u64..50, 0u64..100_000), 1..20),
            before in 0u64..1_000_000_000, grow in 0u64..1_000_000_000,
        ) {
            let mk = |bytes: u64, cl: &[(u64, u64)]| Stat {
                pid: Some(1),
                streams: vec![StatStream {
                    app: "live".into(), name: "s".into(), time_ms: 1_000_000, bytes_out: bytes,
                    publishing: true,
                    clients: cl.iter().map(|(id, t)| StatClient {
                        id: *id, address: "192.0.2.1".parse().ok(), time_ms: *t, flashver: None, publishing: false,
                    }).collect(),
                    ..StatStream::default()
                }],
                ..Stat::default()
            };
            let mut c = collector(None);
            c.process(&mk(before, &clients), 1000);
            let out = c.process(&mk(before + grow, &clients), 1030);
            let total: u64 = out.streams.iter().flat_map(|s| &s.viewers).map(|v| v.bytes).sum();
            proptest::prop_assert!(total <= grow);
        }
    }
}
