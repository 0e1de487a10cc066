//! `mediamtx` source: the MediaMTX control API v3 (`api: yes`, default port 9997).
//!
//! Per poll: `/v3/paths/list` (publishing state and ingress bytes per path) and the connection
//! and session lists `/v3/{rtmpconns,rtmpsconns,rtspsessions,rtspssessions,srtconns,
//! webrtcsessions,hlssessions}/list`, each paged with `page=`/`itemsPerPage=`. Items in state
//! `read` (and every HLS session) are viewers with their own cumulative byte counter
//! (`outboundBytes`, or `bytesSent` before v1.17), so per-viewer bytes are exact deltas;
//! `publish` items are publishers. `remoteAddr` is `ip:port`; the port is dropped. A list the
//! server does not offer (disabled protocol, `hlssessions` before v1.18) is skipped. A path
//! `live/cam1` is stream `cam1` of application `live`; a path `cam1` is stream `cam1` of
//! application `mediamtx`.

use std::collections::HashMap;

use serde_json::Value;

use crate::agent::collect::{
    CollectError, Collection, Collector, Seen, StreamKey, StreamSet, Tracker, counter_delta,
    parse_ip,
};
use crate::agent::fetch::Fetcher;

/// The per-connection lists and the delivery protocol of their readers.
pub const LISTS: [(&str, &str); 7] = [
    ("rtmpconns", "rtmp"),
    ("rtmpsconns", "rtmps"),
    ("rtspsessions", "rtsp"),
    ("rtspssessions", "rtsps"),
    ("srtconns", "srt"),
    ("webrtcsessions", "webrtc"),
    ("hlssessions", "hls"),
];
const PAGE: usize = 1000;
const MAX_PAGES: usize = 1000;

/// One connection or session.
#[derive(Debug, Clone, PartialEq)]
pub struct MtxItem {
    pub id: String,
    pub path: String,
    pub ip: Option<std::net::IpAddr>,
    /// `read`, `publish`, `idle`; HLS sessions have none and are readers.
    pub state: Option<String>,
    pub user_agent: Option<String>,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    pub outbound: u64,
}

/// One path from `/v3/paths/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct MtxPath {
    pub name: String,
    pub ready: bool,
    /// Protocol of the source (publisher or pulled source), e.g. `rtmp`.
    pub source: Option<String>,
    pub inbound: u64,
}

fn u64_field(v: &Value, names: &[&str]) -> u64 {
    names
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_u64))
        .unwrap_or(0)
}

/// Parses one list item.
pub fn parse_item(v: &Value) -> Option<MtxItem> {
    Some(MtxItem {
        id: v.get("id")?.as_str()?.to_string(),
        path: v
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        ip: v
            .get("remoteAddr")
            .and_then(Value::as_str)
            .and_then(parse_ip),
        state: v.get("state").and_then(Value::as_str).map(str::to_string),
        user_agent: v
            .get("userAgent")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string),
        created: v
            .get("created")
            .and_then(Value::as_str)
            .and_then(|c| crate::model::report::parse_time(c).ok()),
        outbound: u64_field(v, &["outboundBytes", "bytesSent"]),
    })
}

/// Parses one `/v3/paths/list` item.
pub fn parse_path(v: &Value) -> Option<MtxPath> {
    let source = v
        .get("source")
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .map(|t| {
            let t = t.to_ascii_lowercase();
            ["conn", "session", "source"]
                .iter()
                .find_map(|suffix| t.strip_suffix(suffix).map(str::to_string))
                .unwrap_or(t)
        });
    Some(MtxPath {
        name: v.get("name")?.as_str()?.to_string(),
        ready: v
            .get("ready")
            .or_else(|| v.get("online"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        source,
        inbound: u64_field(v, &["inboundBytes", "bytesReceived"]),
    })
}

/// Application and stream for a path.
pub fn path_key(path: &str) -> StreamKey {
    let p = path.trim_matches('/');
    match p.split_once('/') {
        Some((app, rest)) if !app.is_empty() && !rest.is_empty() => StreamKey::new(app, rest),
        _ => StreamKey::new("mediamtx", if p.is_empty() { "_" } else { p }),
    }
}

/// The `mediamtx` collector.
#[derive(Debug)]
pub struct Mediamtx {
    fetcher: Fetcher,
    tag: String,
    counters: HashMap<String, u64>,
    tracker: Tracker,
    primed: bool,
}

impl Mediamtx {
    /// `fetcher` points at the API base, e.g. `http://127.0.0.1:9997`.
    pub fn new(fetcher: Fetcher, tag: String) -> Mediamtx {
        Mediamtx {
            fetcher,
            tag,
            counters: HashMap::new(),
            tracker: Tracker::default(),
            primed: false,
        }
    }

    fn list(&self, name: &str) -> Result<Vec<Value>, CollectError> {
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let v: Value = self
                .fetcher
                .get_json(&format!("/v3/{name}/list?page={page}&itemsPerPage={PAGE}"))?;
            let items = v
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            out.extend(items);
            let pages = v.get("pageCount").and_then(Value::as_u64).unwrap_or(1) as usize;
            if page + 1 >= pages || n == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// Turns one poll's lists into the interval's streams. `items` pairs each item with the
    /// delivery protocol of its list.
    pub fn process(
        &mut self,
        paths: &[MtxPath],
        items: &[(&str, MtxItem)],
        now: i64,
    ) -> Collection {
        let mut set = StreamSet::default();
        let mut counters = HashMap::new();
        for p in paths {
            let key = path_key(&p.name);
            let previous =
                self.counters
                    .get(&p.name)
                    .copied()
                    .or(if self.primed { Some(0) } else { None });
            let s = set.stream(&key);
            s.publishing = Some(p.ready);
            s.ingress_bytes = Some(counter_delta(previous, p.inbound));
            if p.ready {
                s.protocol = p.source.clone();
            }
            counters.insert(p.name.clone(), p.inbound);
        }
        for (protocol, item) in items {
            let reader = match item.state.as_deref() {
                None | Some("read") => true,
                Some(_) => false,
            };
            let key = path_key(&item.path);
            if !reader || item.path.is_empty() {
                continue;
            }
            let Some(ip) = item.ip else { continue };
            let session = format!("{}-{}", self.tag, item.id);
            let seen = Seen {
                key: key.clone(),
                ip,
                user_agent: item.user_agent.clone(),
                protocol: Some(protocol.to_string()),
                seconds: item.created.map(|c| (now - c).max(0) as u64).unwrap_or(0),
                counter: Some(item.outbound),
                reported: 0,
            };
            let bytes = self.tracker.live(&session, seen.clone());
            set.viewer(&key, seen.to_viewer(&session, bytes, false));
        }
        for (session, seen) in self.tracker.finish() {
            set.viewer(&seen.key.clone(), seen.to_viewer(&session, 0, true));
        }
        self.counters = counters;
        self.primed = true;
        Collection {
            streams: set.into_streams(),
            software: Some("mediamtx".to_string()),
            version: None,
        }
    }
}

impl Collector for Mediamtx {
    fn describe(&self) -> String {
        format!("mediamtx {}", self.fetcher.base())
    }

    fn collect(&mut self, now: i64) -> Result<Collection, CollectError> {
        let paths: Vec<MtxPath> = self.list("paths")?.iter().filter_map(parse_path).collect();
        let mut items = Vec::new();
        for (name, protocol) in LISTS {
            match self.list(name) {
                Ok(list) => items.extend(list.iter().filter_map(parse_item).map(|i| (protocol, i))),
                // Disabled protocols and lists older versions lack answer with an error status.
                Err(CollectError::Status { status, .. }) => {
                    tracing::trace!(list = name, status, "MediaMTX list not available");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(self.process(&paths, &items, now))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::agent::testutil::{Reply, TestServer};
    use std::time::Duration;

    const RTMP: &str =
        include_str!("../../tests/fixtures/agent/mediamtx_v3_rtmpconns_list.from-structs.json");
    const HLS: &str =
        include_str!("../../tests/fixtures/agent/mediamtx_v3_hlssessions_list.from-structs.json");

    #[test]
    fn parses_the_documented_lists() {
        let v: Value = serde_json::from_str(RTMP).unwrap();
        let item = parse_item(&v["items"][0]).unwrap();
        assert_eq!(item.ip, "203.0.113.10".parse().ok());
        assert_eq!(item.state.as_deref(), Some("read"));
        assert_eq!(item.outbound, 987_654);
        assert_eq!(item.user_agent.as_deref(), Some("LNX 9,0,124,2"));
        assert_eq!(item.created, Some(1_767_268_800));
        let v: Value = serde_json::from_str(HLS).unwrap();
        let item = parse_item(&v["items"][0]).unwrap();
        assert_eq!(item.state, None);
        assert_eq!(item.outbound, 187_000);
        assert_eq!(path_key("live/test"), StreamKey::new("live", "test"));
        assert_eq!(path_key("cam1"), StreamKey::new("mediamtx", "cam1"));
    }

    #[test]
    fn polls_every_list_and_skips_missing_ones() {
        let paths = r#"{"itemCount":1,"pageCount":1,"items":[{"name":"live/test","ready":true,"source":{"type":"rtmpConn","id":"x"},"inboundBytes":1000,"readers":[]}]}"#;
        let q = "?page=0&itemsPerPage=1000";
        let server = TestServer::routes(vec![
            (&*format!("/v3/paths/list{q}"), Reply::json(200, paths)),
            (&*format!("/v3/rtmpconns/list{q}"), Reply::json(200, RTMP)),
            (&*format!("/v3/hlssessions/list{q}"), Reply::json(200, HLS)),
            (
                &*format!("/v3/rtspsessions/list{q}"),
                Reply::json(200, r#"{"itemCount":0,"pageCount":0,"items":[]}"#),
            ),
        ]);
        let mut c = Mediamtx::new(
            Fetcher::new(&server.url(""), None, Duration::from_secs(2)),
            "mtx".into(),
        );
        c.prime(1_767_268_800).unwrap();
        server.set_route(
            &format!("/v3/rtmpconns/list{q}"),
            Reply::json(200, &RTMP.replace("987654", "1087654")),
        );
        server.set_route(
            &format!("/v3/paths/list{q}"),
            Reply::json(200, &paths.replace("1000", "5000")),
        );
        let out = c.collect(1_767_268_830).unwrap();
        let s = &out.streams[0];
        assert_eq!((s.app.as_str(), s.stream.as_str()), ("live", "test"));
        assert_eq!(s.protocol.as_deref(), Some("rtmp"));
        assert_eq!(s.ingress_bytes, Some(4000));
        assert_eq!(s.viewers.len(), 2);
        let rtmp = s
            .viewers
            .iter()
            .find(|v| v.protocol.as_deref() == Some("rtmp"))
            .unwrap();
        assert_eq!(rtmp.bytes, 100_000);
        assert_eq!(rtmp.seconds, 30);
        let hls = s
            .viewers
            .iter()
            .find(|v| v.protocol.as_deref() == Some("hls"))
            .unwrap();
        assert_eq!(hls.bytes, 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn fuzz_items(text in "\\PC{0,200}", cut in 0usize..400) {
            for sample in [RTMP, HLS] {
                let cut = cut.min(sample.len());
                if let Ok(v) = serde_json::from_str::<Value>(&format!("{}{}", &sample[..cut], text)) {
                    if let Some(items) = v.get("items").and_then(Value::as_array) {
                        for i in items { let _ = parse_item(i); let _ = parse_path(i); }
                    }
                    let _ = parse_item(&v);
                }
            }
        }
    }
}
