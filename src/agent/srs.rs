//! `srs` source: the SRS HTTP API (`http_api { enabled on; listen 1985; }`).
//!
//! Per poll: `/api/v1/vhosts` (id → name), `/api/v1/streams` and `/api/v1/clients`, both paged
//! with `start=`/`count=` until a short page. Clients name their vhost and stream by id; the
//! join gives vhost, app and stream names. Every non-publishing client is a viewer with its own
//! cumulative `send_bytes`, so per-viewer bytes are exact deltas. Publishing clients
//! (`publish: true`) give the stream's ingest protocol; the stream's `recv_bytes` growth is its
//! ingress. A changed `server`/`service` id in the envelope means SRS restarted: counters start
//! over. Ids are strings in SRS ≥ 4 and numbers in SRS 3; both are accepted.

use std::collections::HashMap;

use serde_json::Value;

use crate::agent::collect::{
    CollectError, Collection, Collector, Seen, StreamKey, StreamSet, Tracker, counter_delta,
    parse_ip,
};
use crate::agent::fetch::Fetcher;

/// Page size asked of SRS.
const PAGE: usize = 1000;
/// Most pages read per list and poll (a bound against servers that ignore `start`).
const MAX_PAGES: usize = 1000;

/// An id that may be a string or a number.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn u64_of(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f.max(0.0) as u64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn str_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// A stream from `/api/v1/streams`.
#[derive(Debug, Clone, PartialEq)]
pub struct SrsStream {
    pub id: String,
    pub vhost_id: String,
    pub app: String,
    pub name: String,
    pub recv_bytes: u64,
    pub send_bytes: u64,
    pub recv_kbps: Option<f64>,
    pub publishing: bool,
}

/// A client from `/api/v1/clients`.
#[derive(Debug, Clone, PartialEq)]
pub struct SrsClient {
    pub id: String,
    pub vhost_id: String,
    pub stream_id: String,
    pub ip: Option<std::net::IpAddr>,
    pub kind: String,
    pub publish: bool,
    pub alive_secs: u64,
    pub send_bytes: u64,
}

/// Parses one `/api/v1/streams` item.
pub fn parse_stream(v: &Value) -> Option<SrsStream> {
    Some(SrsStream {
        id: id_of(v.get("id")?)?,
        vhost_id: v.get("vhost").and_then(id_of).unwrap_or_default(),
        app: str_of(v.get("app")).unwrap_or_default(),
        name: str_of(v.get("name"))?,
        recv_bytes: u64_of(v.get("recv_bytes")),
        send_bytes: u64_of(v.get("send_bytes")),
        recv_kbps: v
            .get("kbps")
            .and_then(|k| k.get("recv_30s"))
            .and_then(Value::as_f64),
        publishing: v
            .get("publish")
            .and_then(|p| p.get("active"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Parses one `/api/v1/clients` item.
pub fn parse_client(v: &Value) -> Option<SrsClient> {
    let kind = str_of(v.get("type")).unwrap_or_default();
    Some(SrsClient {
        id: id_of(v.get("id")?)?,
        vhost_id: v.get("vhost").and_then(id_of).unwrap_or_default(),
        stream_id: v.get("stream").and_then(id_of).unwrap_or_default(),
        ip: v.get("ip").and_then(Value::as_str).and_then(parse_ip),
        publish: v
            .get("publish")
            .and_then(Value::as_bool)
            .unwrap_or(kind.ends_with("-publish")),
        kind,
        alive_secs: u64_of(v.get("alive")),
        send_bytes: u64_of(v.get("send_bytes")),
    })
}

/// Delivery protocol for a client `type`.
pub fn protocol_of(kind: &str) -> String {
    match kind {
        "rtmp-play" | "fmle-publish" | "flash-publish" | "haivision-publish" => "rtmp".into(),
        "flv-play" => "http-flv".into(),
        "hls-play" => "hls".into(),
        "rtc-play" | "rtc-publish" => "webrtc".into(),
        "srt-play" | "srt-publish" => "srt".into(),
        other => other
            .trim_end_matches("-play")
            .trim_end_matches("-publish")
            .to_string(),
    }
}

/// The `srs` collector.
#[derive(Debug)]
pub struct Srs {
    fetcher: Fetcher,
    tag: String,
    service: Option<String>,
    counters: HashMap<String, u64>,
    tracker: Tracker,
    primed: bool,
}

impl Srs {
    /// `fetcher` points at the API base, e.g. `http://127.0.0.1:1985`.
    pub fn new(fetcher: Fetcher, tag: String) -> Srs {
        Srs {
            fetcher,
            tag,
            service: None,
            counters: HashMap::new(),
            tracker: Tracker::default(),
            primed: false,
        }
    }

    fn get_paged(&self, path: &str, field: &str) -> Result<(Value, Vec<Value>), CollectError> {
        let mut items = Vec::new();
        let mut envelope = Value::Null;
        let mut first_of_previous: Option<Value> = None;
        for page in 0..MAX_PAGES {
            let v: Value = self
                .fetcher
                .get_json(&format!("{path}?start={}&count={PAGE}", page * PAGE))?;
            check_code(&v, &self.fetcher.url(path))?;
            let list = v
                .get(field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = list.len();
            // A server that ignores `start` returns the same page again: stop there.
            if n > 0 && first_of_previous.as_ref() == list.first() {
                break;
            }
            first_of_previous = list.first().cloned();
            items.extend(list);
            if page == 0 {
                envelope = v;
            }
            if n < PAGE {
                break;
            }
        }
        Ok((envelope, items))
    }

    /// Turns one poll's lists into the interval's streams.
    pub fn process(
        &mut self,
        service: Option<String>,
        vhosts: &HashMap<String, String>,
        streams: &[SrsStream],
        clients: &[SrsClient],
    ) -> Collection {
        let restarted = self.primed && service.is_some() && service != self.service;
        let prefix = service
            .as_deref()
            .map(|s| s.chars().take(8).collect::<String>())
            .unwrap_or_default();
        let mut set = StreamSet::default();
        let mut counters = HashMap::new();
        let mut keys: HashMap<&str, StreamKey> = HashMap::new();
        for s in streams {
            let key = StreamKey {
                vhost: vhosts
                    .get(&s.vhost_id)
                    .cloned()
                    .or_else(|| Some(s.vhost_id.clone()).filter(|v| !v.is_empty())),
                app: s.app.clone(),
                instance: None,
                stream: s.name.clone(),
            };
            let counter_key = format!("{}/{}", s.id, s.name);
            let previous = if restarted {
                Some(0)
            } else {
                self.counters.get(&counter_key).copied().or(if self.primed {
                    Some(0)
                } else {
                    None
                })
            };
            let entry = set.stream(&key);
            entry.publishing = Some(s.publishing);
            entry.ingress_bytes = Some(counter_delta(previous, s.recv_bytes));
            if s.publishing {
                entry.ingress_kbps = s.recv_kbps;
            }
            counters.insert(counter_key, s.recv_bytes);
            keys.insert(s.id.as_str(), key);
        }
        for c in clients {
            let Some(key) = keys.get(c.stream_id.as_str()) else {
                continue;
            };
            if c.publish {
                set.stream(key).protocol = Some(protocol_of(&c.kind));
                continue;
            }
            let Some(ip) = c.ip else { continue };
            let session = format!("{}-{prefix}-{}", self.tag, c.id);
            let seen = Seen {
                key: key.clone(),
                ip,
                user_agent: None,
                protocol: Some(protocol_of(&c.kind)),
                seconds: c.alive_secs,
                counter: Some(c.send_bytes),
                reported: 0,
            };
            let bytes = self.tracker.live(&session, seen.clone());
            set.viewer(key, seen.to_viewer(&session, bytes, false));
        }
        for (session, seen) in self.tracker.finish() {
            set.viewer(&seen.key.clone(), seen.to_viewer(&session, 0, true));
        }
        self.counters = counters;
        self.service = service.or(self.service.take());
        self.primed = true;
        Collection {
            streams: set.into_streams(),
            software: Some("srs".to_string()),
            version: None,
        }
    }
}

fn check_code(v: &Value, url: &str) -> Result<(), CollectError> {
    match v.get("code").and_then(Value::as_i64) {
        Some(0) | None => Ok(()),
        Some(code) => Err(CollectError::Parse {
            what: format!("SRS answer from {url}"),
            message: format!("code {code}"),
        }),
    }
}

impl Collector for Srs {
    fn describe(&self) -> String {
        format!("srs {}", self.fetcher.base())
    }

    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> {
        let v: Value = self.fetcher.get_json("/api/v1/vhosts")?;
        check_code(&v, &self.fetcher.url("/api/v1/vhosts"))?;
        let vhosts: HashMap<String, String> = v
            .get("vhosts")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|h| Some((id_of(h.get("id")?)?, str_of(h.get("name"))?)))
                    .collect()
            })
            .unwrap_or_default();
        let service = ["service", "server"]
            .iter()
            .find_map(|k| v.get(*k).and_then(id_of));
        let (_, streams) = self.get_paged("/api/v1/streams", "streams")?;
        let (_, clients) = self.get_paged("/api/v1/clients", "clients")?;
        let streams: Vec<SrsStream> = streams.iter().filter_map(parse_stream).collect();
        let clients: Vec<SrsClient> = clients.iter().filter_map(parse_client).collect();
        Ok(self.process(service, &vhosts, &streams, &clients))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::agent::testutil::{Reply, TestServer};
    use std::time::Duration;

    const CLIENT: &str =
        include_str!("../../tests/fixtures/agent/srs_api_v1_clients_item.from-issue-4098.json");
    const STREAM: &str =
        include_str!("../../tests/fixtures/agent/srs_api_v1_streams_item.from-issue-1362.json");

    #[test]
    fn parses_the_documented_items() {
        let c = parse_client(&serde_json::from_str(CLIENT).unwrap()).unwrap();
        assert_eq!(c.kind, "hls-play");
        assert!(!c.publish);
        assert_eq!(c.ip, None, "the sample's IP is redacted as x.x.x.x");
        assert_eq!(c.alive_secs, 288);
        let s = parse_stream(&serde_json::from_str(STREAM).unwrap()).unwrap();
        assert_eq!(s.id, "4861");
        assert_eq!(s.vhost_id, "4772");
        assert_eq!((s.app.as_str(), s.name.as_str()), ("live", "ludovik"));
        assert_eq!(s.recv_bytes, 3_790_105_835);
        assert!(s.publishing);
        assert_eq!(protocol_of("flv-play"), "http-flv");
    }

    fn client(id: usize, kind: &str, bytes: u64) -> String {
        format!(
            r#"{{"id":"c{id}","vhost":"vid-1","stream":"vid-s","ip":"203.0.113.{}","type":"{kind}","publish":{},"alive":12.5,"send_bytes":{bytes},"recv_bytes":0}}"#,
            id % 250,
            kind.ends_with("publish")
        )
    }

    #[test]
    fn pages_joins_and_counts_bytes_per_client() {
        let mut page0: Vec<String> = (0..PAGE).map(|i| client(i, "rtmp-play", 1000)).collect();
        page0[0] = client(0, "fmle-publish", 0);
        let page1: Vec<String> = (PAGE..PAGE + 5)
            .map(|i| client(i, "hls-play", 500))
            .collect();
        let clients = |items: &[String]| {
            format!(
                r#"{{"code":0,"server":"vid-srv","clients":[{}]}}"#,
                items.join(",")
            )
        };
        let streams = r#"{"code":0,"streams":[{"id":"vid-s","name":"news","vhost":"vid-1","app":"live","recv_bytes":5000,"send_bytes":9,"kbps":{"recv_30s":800,"send_30s":0},"publish":{"active":true,"cid":"c0"}}]}"#;
        let server = TestServer::routes(vec![
            (
                "/api/v1/vhosts",
                Reply::json(
                    200,
                    r#"{"code":0,"server":"vid-srv","service":"svc1","vhosts":[{"id":"vid-1","name":"__defaultVhost__"}]}"#,
                ),
            ),
            (
                "/api/v1/streams?start=0&count=1000",
                Reply::json(200, streams),
            ),
            (
                "/api/v1/clients?start=0&count=1000",
                Reply::json(200, &clients(&page0)),
            ),
            (
                "/api/v1/clients?start=1000&count=1000",
                Reply::json(200, &clients(&page1)),
            ),
        ]);
        let mut c = Srs::new(
            Fetcher::new(&server.url(""), None, Duration::from_secs(2)),
            "srs".into(),
        );
        c.prime(1000).unwrap();
        let grown: Vec<String> = page0
            .iter()
            .map(|s| s.replace("\"send_bytes\":1000", "\"send_bytes\":1600"))
            .collect();
        server.set_route(
            "/api/v1/clients?start=0&count=1000",
            Reply::json(200, &clients(&grown)),
        );
        server.set_route(
            "/api/v1/streams?start=0&count=1000",
            Reply::json(200, &streams.replace("5000", "8000")),
        );
        let out = c.collect(1030).unwrap();
        let s = &out.streams[0];
        assert_eq!(s.vhost.as_deref(), Some("__defaultVhost__"));
        assert_eq!((s.app.as_str(), s.stream.as_str()), ("live", "news"));
        assert_eq!(s.protocol.as_deref(), Some("rtmp"));
        assert_eq!(s.ingress_bytes, Some(3000));
        assert_eq!(s.ingress_kbps, Some(800.0));
        assert_eq!(s.viewers.len(), PAGE - 1 + 5);
        let rtmp: u64 = s
            .viewers
            .iter()
            .filter(|v| v.protocol.as_deref() == Some("rtmp"))
            .map(|v| v.bytes)
            .sum();
        assert_eq!(rtmp, 600 * (PAGE as u64 - 1));
        assert_eq!(
            s.viewers
                .iter()
                .filter(|v| v.protocol.as_deref() == Some("hls"))
                .count(),
            5
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn fuzz_items(text in "\\PC{0,200}", cut in 0usize..320) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                let _ = parse_client(&v);
                let _ = parse_stream(&v);
            }
            let cut = cut.min(CLIENT.len());
            if let Ok(v) = serde_json::from_str::<Value>(&format!("{}{}", &CLIENT[..cut], &text)) {
                let _ = parse_client(&v);
            }
        }
    }
}
