//! `access-log` source: follows an nginx or Apache access log (combined, combined with trailing
//! `key=value` fields such as `bytes_sent=`, or one JSON object per line) and turns HLS/DASH
//! playlist and segment requests into viewer sessions.
//!
//! A session is one client IP + user agent + stream whose requests are no further apart than
//! the gap window (`--access-log-gap`); it ends when no request came for longer than that.
//! Responses with status 200 and 206 count (players that send `Range` get 206). A session is
//! reported once it fetched at least one segment, so monitoring probes that only read the
//! playlist are not viewers. Bytes are `bytes_sent=` (with headers) when logged, else the body
//! size. The stream comes from the URL path: `/hls/NAME.m3u8`, `/hls/NAME-123.ts`,
//! `/live/NAME/index.m3u8`, `/dash/NAME.mpd`, `/dash/NAME-init.m4v`, `/dash/NAME-1000.m4s`.
//! Session ids are counters, never derived from the IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::agent::collect::{CollectError, Collection, Collector, StreamKey, StreamSet};
use crate::agent::tail::Tailer;
use crate::model::report::ViewerReport;

/// One token of a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// A run of non-space characters.
    Bare(&'a str),
    /// A `"…"` field, unescaped (`\"`, `\\`, `\xHH`).
    Quoted(String),
    /// A `[…]` field (the time).
    Bracket(&'a str),
    /// A `(…)` field (nginx-rtmp's readable session time).
    Paren(&'a str),
}

/// Splits a log line into bare, quoted, bracketed and parenthesized tokens.
pub fn tokenize(line: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let mut raw = Vec::new();
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        match bytes[i + 1] {
                            b'x' if i + 3 < bytes.len() => {
                                match line
                                    .get(i + 2..i + 4)
                                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                                {
                                    Some(b) => {
                                        raw.push(b);
                                        i += 4;
                                    }
                                    None => {
                                        raw.push(b'\\');
                                        i += 1;
                                    }
                                }
                            }
                            c @ (b'"' | b'\\') => {
                                raw.push(c);
                                i += 2;
                            }
                            _ => {
                                raw.push(b'\\');
                                i += 1;
                            }
                        }
                    } else {
                        raw.push(bytes[i]);
                        i += 1;
                    }
                }
                i += 1;
                tokens.push(Token::Quoted(String::from_utf8_lossy(&raw).into_owned()));
            }
            open @ (b'[' | b'(') => {
                let close = if open == b'[' { b']' } else { b')' };
                let start = i + 1;
                let end = bytes[start..]
                    .iter()
                    .position(|b| *b == close)
                    .map(|p| start + p)
                    .unwrap_or(bytes.len());
                let inner = line.get(start..end).unwrap_or("");
                tokens.push(if open == b'[' {
                    Token::Bracket(inner)
                } else {
                    Token::Paren(inner)
                });
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
                    i += 1;
                }
                tokens.push(Token::Bare(line.get(start..i).unwrap_or("")));
            }
        }
    }
    tokens
}

/// Parses `25/Nov/2026:11:58:11 +0000` (nginx/Apache `$time_local`) into Unix seconds.
pub fn parse_time_local(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let day = num(&b[0..2])?;
    let month = match &b[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = num(&b[7..11])?;
    let hour = num(&b[12..14])?;
    let minute = num(&b[15..17])?;
    let second = num(&b[18..20])?;
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut offset = 0;
    if b.len() >= 26 {
        let sign = match b[21] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        offset = sign * (num(&b[22..24])? * 3600 + num(&b[24..26])? * 60);
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One HTTP request from the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub ip: IpAddr,
    /// Unix seconds.
    pub time: i64,
    pub method: String,
    /// Path without query string.
    pub path: String,
    pub status: u16,
    /// `bytes_sent` (with headers) when logged, else the body size.
    pub bytes: u64,
    pub user_agent: Option<String>,
}

/// Parses one access-log line: combined / common / extended text, or a JSON object.
pub fn parse_line(line: &str) -> Option<LogLine> {
    let line = line.trim();
    if line.starts_with('{') {
        return parse_json_line(line);
    }
    let tokens = tokenize(line);
    let ip = match tokens.first()? {
        Token::Bare(s) => s.parse().ok()?,
        _ => return None,
    };
    let time_index = tokens.iter().position(|t| matches!(t, Token::Bracket(_)))?;
    let time = match &tokens[time_index] {
        Token::Bracket(t) => parse_time_local(t)?,
        _ => return None,
    };
    let request = match tokens.get(time_index + 1)? {
        Token::Quoted(r) => r,
        _ => return None,
    };
    let mut parts = request.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?;
    let path = target.split(['?', '#']).next().unwrap_or("").to_string();
    let status = match tokens.get(time_index + 2)? {
        Token::Bare(s) => s.parse().ok()?,
        _ => return None,
    };
    let body_bytes = match tokens.get(time_index + 3) {
        Some(Token::Bare("-")) | None => 0,
        Some(Token::Bare(s)) => s.parse().ok()?,
        _ => return None,
    };
    let user_agent = match tokens.get(time_index + 5) {
        Some(Token::Quoted(ua)) if ua != "-" && !ua.is_empty() => Some(ua.clone()),
        _ => None,
    };
    let mut bytes = body_bytes;
    for t in tokens.iter().skip(time_index + 6) {
        if let Token::Bare(kv) = t
            && let Some(v) = kv.strip_prefix("bytes_sent=")
            && let Ok(v) = v.parse()
        {
            bytes = v;
        }
    }
    Some(LogLine {
        ip,
        time,
        method,
        path,
        status,
        bytes,
        user_agent,
    })
}

/// The JSON line format recommended in the docs:
/// `{"t":"$time_iso8601","ip":"$remote_addr","xff":"$http_x_forwarded_for","uri":"$uri",
///   "st":$status,"b":$body_bytes_sent,"bt":$bytes_sent,"ua":"$http_user_agent",...}`
fn parse_json_line(line: &str) -> Option<LogLine> {
    #[derive(serde::Deserialize)]
    struct J {
        t: Option<String>,
        ip: Option<String>,
        xff: Option<String>,
        uri: Option<String>,
        m: Option<String>,
        st: Option<u16>,
        b: Option<u64>,
        bt: Option<u64>,
        ua: Option<String>,
    }
    let j: J = serde_json::from_str(line).ok()?;
    let forwarded = j
        .xff
        .as_deref()
        .and_then(|x| x.split(',').next())
        .and_then(|x| x.trim().parse::<IpAddr>().ok());
    let ip = forwarded.or_else(|| j.ip.as_deref()?.parse().ok())?;
    let time = crate::model::report::parse_time(j.t.as_deref()?).ok()?;
    let path = j.uri?.split(['?', '#']).next().unwrap_or("").to_string();
    Some(LogLine {
        ip,
        time,
        method: j.m.unwrap_or_else(|| "GET".to_string()),
        path,
        status: j.st?,
        bytes: j.bt.or(j.b).unwrap_or(0),
        user_agent: j.ua.filter(|u| !u.is_empty() && u != "-"),
    })
}

/// What a media request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Playlist,
    Segment,
}

/// A media request's stream and delivery protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRequest {
    pub app: String,
    pub stream: String,
    pub kind: MediaKind,
    /// `hls` or `dash`.
    pub protocol: &'static str,
}

/// Recognises HLS/DASH playlist and segment paths and derives application and stream name.
pub fn classify(path: &str) -> Option<MediaRequest> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (file, dirs) = segments.split_last()?;
    let (stem, ext) = file.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    let (kind, protocol) = match ext.as_str() {
        "m3u8" => (MediaKind::Playlist, "hls"),
        "mpd" => (MediaKind::Playlist, "dash"),
        "ts" | "aac" | "vtt" => (MediaKind::Segment, "hls"),
        "m4s" | "m4v" | "m4a" | "mp4" | "cmfv" | "cmfa" => (MediaKind::Segment, "dash"),
        _ => return None,
    };
    let (app, stream) = match dirs {
        [] => ("default".to_string(), strip_sequence(stem).to_string()),
        [app] => (app.to_string(), strip_sequence(stem).to_string()),
        [app, .., dir] => (app.to_string(), dir.to_string()),
    };
    if stream.is_empty() || app.is_empty() {
        return None;
    }
    Some(MediaRequest {
        app,
        stream,
        kind,
        protocol,
    })
}

/// `NAME-123` → `NAME`, `NAME_45` → `NAME`, `NAME-init` → `NAME`.
fn strip_sequence(stem: &str) -> &str {
    if let Some(base) = stem
        .strip_suffix("-init")
        .or_else(|| stem.strip_suffix("_init"))
    {
        return base;
    }
    if let Some(pos) = stem.rfind(['-', '_']) {
        let tail = &stem[pos + 1..];
        if pos > 0 && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            return &stem[..pos];
        }
    }
    stem
}

/// Most concurrent HLS/DASH sessions tracked by one access-log source.
const MAX_SESSIONS: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SessionKey {
    ip: IpAddr,
    user_agent: Option<String>,
    stream: StreamKey,
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    first: i64,
    last: i64,
    pending_bytes: u64,
    protocol: &'static str,
    saw_playlist_protocol: bool,
    has_segment: bool,
}

/// Sessionizes media requests; separated from file reading so it can be tested and fuzzed.
#[derive(Debug)]
pub struct Sessionizer {
    tag: String,
    gap: i64,
    app_override: Option<String>,
    sessions: HashMap<SessionKey, Session>,
    ended: Vec<(SessionKey, Session)>,
    next_id: u64,
}

impl Sessionizer {
    /// `gap` is the idle time after which a session ends; `app_override` replaces the
    /// application derived from the path.
    pub fn new(tag: String, gap: Duration, app_override: Option<String>) -> Sessionizer {
        Sessionizer {
            tag,
            gap: gap.as_secs().max(1) as i64,
            app_override,
            sessions: HashMap::new(),
            ended: Vec::new(),
            next_id: 0,
        }
    }

    /// Feeds one log line; lines that are not successful media requests are ignored.
    pub fn feed(&mut self, line: &LogLine) {
        if !(line.status == 200 || line.status == 206) || !line.method.eq_ignore_ascii_case("GET") {
            return;
        }
        let Some(media) = classify(&line.path) else {
            return;
        };
        let app = self.app_override.clone().unwrap_or(media.app);
        let key = SessionKey {
            ip: line.ip,
            user_agent: line.user_agent.clone(),
            stream: StreamKey::new(app, media.stream),
        };
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&key) {
            // A flood of distinct clients must not grow memory without bound.
            return;
        }
        if let Some(existing) = self.sessions.get(&key)
            && line.time - existing.last > self.gap
            && let Some(old) = self.sessions.remove(&key)
        {
            self.ended.push((key.clone(), old));
        }
        let tag = &self.tag;
        let next_id = &mut self.next_id;
        let session = self.sessions.entry(key).or_insert_with(|| {
            *next_id += 1;
            Session {
                id: format!("{tag}-{}-{}", line.time, *next_id),
                first: line.time,
                last: line.time,
                pending_bytes: 0,
                protocol: media.protocol,
                saw_playlist_protocol: false,
                has_segment: false,
            }
        });
        session.last = session.last.max(line.time);
        session.first = session.first.min(line.time);
        session.pending_bytes = session.pending_bytes.saturating_add(line.bytes);
        match media.kind {
            MediaKind::Playlist => {
                session.protocol = media.protocol;
                session.saw_playlist_protocol = true;
            }
            MediaKind::Segment => {
                session.has_segment = true;
                if !session.saw_playlist_protocol {
                    session.protocol = media.protocol;
                }
            }
        }
    }

    /// Ends sessions idle for longer than the gap at `now` and returns the interval's streams.
    pub fn flush(&mut self, now: i64) -> Vec<crate::model::report::StreamReport> {
        let idle: Vec<SessionKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| now - s.last > self.gap)
            .map(|(k, _)| k.clone())
            .collect();
        for key in idle {
            if let Some(s) = self.sessions.remove(&key) {
                self.ended.push((key, s));
            }
        }
        let mut set = StreamSet::default();
        for (key, s) in std::mem::take(&mut self.ended) {
            if s.has_segment {
                set.viewer(&key.stream, viewer(&key, &s, true));
            }
        }
        for (key, s) in self.sessions.iter_mut() {
            if s.has_segment {
                set.viewer(&key.stream, viewer(key, s, false));
                s.pending_bytes = 0;
            }
        }
        set.into_streams()
    }

    /// Live sessions (including those without a segment yet).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

fn viewer(key: &SessionKey, s: &Session, ended: bool) -> ViewerReport {
    ViewerReport {
        session: s.id.clone(),
        ip: key.ip,
        user_agent: key.user_agent.clone(),
        protocol: Some(s.protocol.to_string()),
        bytes: s.pending_bytes,
        seconds: (s.last - s.first).max(0) as u64,
        ended,
    }
}

/// The `access-log` collector.
#[derive(Debug)]
pub struct AccessLog {
    tailer: Tailer,
    sessions: Sessionizer,
}

impl AccessLog {
    /// Follows `path` from its current end.
    pub fn new(
        path: PathBuf,
        tag: String,
        gap: Duration,
        app_override: Option<String>,
    ) -> AccessLog {
        AccessLog {
            tailer: Tailer::from_end(path),
            sessions: Sessionizer::new(tag, gap, app_override),
        }
    }
}

impl Collector for AccessLog {
    fn describe(&self) -> String {
        format!("access-log {}", self.tailer.path().display())
    }

    fn prime(&mut self, _now: i64) -> Result<(), CollectError> {
        self.tailer.prime().map_err(|source| CollectError::Io {
            path: self.tailer.path().display().to_string(),
            source,
        })
    }

    fn collect(&mut self, now: i64) -> Result<Collection, CollectError> {
        let lines = self
            .tailer
            .read_lines()
            .map_err(|source| CollectError::Io {
                path: self.tailer.path().display().to_string(),
                source,
            })?;
        for line in &lines {
            if let Some(parsed) = parse_line(line) {
                self.sessions.feed(&parsed);
            }
        }
        Ok(Collection {
            streams: self.sessions.flush(now),
            software: None,
            version: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const COMBINED: &str = include_str!("../../tests/fixtures/agent/nginx_hls_access_combined.log");
    const EXTENDED: &str = include_str!("../../tests/fixtures/agent/nginx_hls_access_extended.log");
    const ICECAST: &str = include_str!("../../tests/fixtures/agent/icecast_access.log");

    #[test]
    fn parses_combined_lines() {
        let l = parse_line(
            r#"127.0.0.9 - - [25/Nov/2026:11:59:18 +0000] "GET /hls/test-4.ts HTTP/1.1" 200 180292 "https://example.org/player.html" "Mozilla/5.0 (iPhone) HLS""#,
        )
        .unwrap();
        assert_eq!(l.ip, "127.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(l.time, 1_795_607_958);
        assert_eq!(l.path, "/hls/test-4.ts");
        assert_eq!(l.status, 200);
        assert_eq!(l.bytes, 180_292);
        assert_eq!(l.user_agent.as_deref(), Some("Mozilla/5.0 (iPhone) HLS"));
        assert_eq!(
            parse_time_local("25/Nov/2026:13:59:18 +0200"),
            Some(1_795_607_958)
        );
    }

    #[test]
    fn extended_lines_use_bytes_sent() {
        let l = parse_line(EXTENDED.lines().nth(3).unwrap()).unwrap();
        assert_eq!(l.path, "/hls/test-5.ts");
        assert_eq!(l.status, 206);
        assert_eq!(l.bytes, 179_086);
    }

    #[test]
    fn json_lines_prefer_the_forwarded_ip() {
        let l = parse_line(r#"{"t":"2026-11-25T11:58:11+00:00","ip":"10.0.0.1","xff":"203.0.113.5, 10.0.0.1","uri":"/hls/a-1.ts","st":206,"b":100,"bt":350,"rt":0.001,"ua":"VLC","ref":"","host":"x"}"#).unwrap();
        assert_eq!(l.ip, "203.0.113.5".parse::<IpAddr>().unwrap());
        assert_eq!(l.bytes, 350);
        assert_eq!(l.time, 1_795_607_891);
    }

    #[test]
    fn classifies_hls_and_dash_paths() {
        let c = |p| classify(p).map(|m| (m.app, m.stream, m.kind, m.protocol));
        assert_eq!(
            c("/hls/test.m3u8"),
            Some(("hls".into(), "test".into(), MediaKind::Playlist, "hls"))
        );
        assert_eq!(
            c("/hls/test-123.ts"),
            Some(("hls".into(), "test".into(), MediaKind::Segment, "hls"))
        );
        assert_eq!(
            c("/live/cam_2/index.m3u8"),
            Some(("live".into(), "cam_2".into(), MediaKind::Playlist, "hls"))
        );
        assert_eq!(
            c("/live/cam_2/17.ts"),
            Some(("live".into(), "cam_2".into(), MediaKind::Segment, "hls"))
        );
        assert_eq!(
            c("/dash/news.mpd"),
            Some(("dash".into(), "news".into(), MediaKind::Playlist, "dash"))
        );
        assert_eq!(
            c("/dash/news-init.m4v"),
            Some(("dash".into(), "news".into(), MediaKind::Segment, "dash"))
        );
        assert_eq!(
            c("/dash/news-96000.m4a"),
            Some(("dash".into(), "news".into(), MediaKind::Segment, "dash"))
        );
        assert_eq!(c("/stat"), None);
        assert_eq!(c("/favicon.ico"), None);
        assert_eq!(c("/"), None);
    }

    fn feed_all(text: &str, s: &mut Sessionizer) {
        for line in text.lines() {
            if let Some(l) = parse_line(line) {
                s.feed(&l);
            }
        }
    }

    #[test]
    fn captured_combined_log_gives_two_hls_viewers() {
        let mut s = Sessionizer::new("http".into(), Duration::from_secs(60), None);
        feed_all(COMBINED, &mut s);
        // 11:58:41 is 4 s after the last TestHLSViewer request, within the gap.
        let streams = s.flush(1_795_607_921);
        assert_eq!(streams.len(), 1);
        let st = &streams[0];
        assert_eq!((st.app.as_str(), st.stream.as_str()), ("hls", "test"));
        // The curl probes only read the playlist; they are not viewers.
        assert_eq!(st.viewers.len(), 2, "{:?}", st.viewers);
        let main = st
            .viewers
            .iter()
            .find(|v| v.user_agent.as_deref() == Some("Mozilla/5.0 (TestHLSViewer)"))
            .unwrap();
        let expected: u64 = COMBINED
            .lines()
            .filter(|l| l.contains("TestHLSViewer"))
            .filter_map(parse_line)
            .map(|l| l.bytes)
            .sum();
        assert_eq!(main.bytes, expected);
        assert_eq!(main.seconds, 26);
        assert_eq!(main.protocol.as_deref(), Some("hls"));
        assert!(!main.ended);
        assert!(!main.session.contains("127.0.0.1"));
        // Next interval: no new bytes; after the gap the session ends exactly once.
        let streams = s.flush(1_795_607_921 + 10);
        assert!(streams[0].viewers.iter().all(|v| v.bytes == 0 && !v.ended));
        let streams = s.flush(1_795_607_958 + 61);
        assert_eq!(streams[0].viewers.len(), 2);
        assert!(streams[0].viewers.iter().all(|v| v.ended));
        assert!(s.flush(1_795_608_100).is_empty());
    }

    #[test]
    fn extended_log_with_app_override() {
        let mut s = Sessionizer::new("http".into(), Duration::from_secs(60), Some("live".into()));
        feed_all(EXTENDED, &mut s);
        let streams = s.flush(1_795_607_921);
        assert_eq!(streams[0].app, "live");
        assert_eq!(streams[0].viewers.len(), 1);
        assert!(streams[0].viewers[0].bytes > 2_800_000);
    }

    #[test]
    fn a_gap_splits_sessions() {
        let mut s = Sessionizer::new("http".into(), Duration::from_secs(30), None);
        let mk = |t: i64| LogLine {
            ip: "192.0.2.1".parse().unwrap(),
            time: t,
            method: "GET".into(),
            path: "/hls/a-1.ts".into(),
            status: 200,
            bytes: 10,
            user_agent: None,
        };
        s.feed(&mk(1000));
        s.feed(&mk(1100));
        let streams = s.flush(1101);
        let v = &streams[0].viewers;
        assert_eq!(v.len(), 2);
        assert_eq!(v.iter().filter(|v| v.ended).count(), 1);
        assert_ne!(v[0].session, v[1].session);
    }

    #[test]
    fn other_logs_and_statuses_are_ignored() {
        let mut s = Sessionizer::new("http".into(), Duration::from_secs(60), None);
        feed_all(ICECAST, &mut s);
        assert!(s.flush(1_795_608_030).is_empty());
        let mut l = parse_line(COMBINED.lines().nth(3).unwrap()).unwrap();
        l.status = 404;
        s.feed(&l);
        assert!(s.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn fuzz_parse_line_never_panics(line in "\\PC{0,300}") {
            let _ = parse_line(&line);
            let _ = tokenize(&line);
        }

        #[test]
        fn fuzz_mutated_lines(index in 0usize..40, cut in 0usize..200, insert in "[ \"\\[\\]()\\\\x0-9a-z{}:]{0,8}") {
            let lines: Vec<&str> = COMBINED.lines().chain(EXTENDED.lines()).collect();
            let line = lines[index % lines.len()];
            let cut = cut.min(line.len());
            let mut text = String::new();
            for (i, ch) in line.char_indices() {
                if i == cut { text.push_str(&insert); }
                text.push(ch);
            }
            if let Some(l) = parse_line(&text) {
                let mut s = Sessionizer::new("http".into(), Duration::from_secs(60), None);
                s.feed(&l);
                let _ = s.flush(l.time);
            }
            let _ = classify(&text);
        }
    }
}
