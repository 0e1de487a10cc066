//! `ovenmediaengine` source: the OvenMediaEngine REST API (`<Managers><API>`, default port
//! 8081; `--source-auth` is the `AccessToken`, sent as HTTP basic credentials).
//!
//! Totals only: OvenMediaEngine's statistics have no per-viewer IPs or bytes, so no viewers are
//! reported. Per poll the agent enumerates `/v1/vhosts`, `/v1/vhosts/{v}/apps` and
//! `…/apps/{a}/streams`, then reads `/v1/stats/current/vhosts/{v}/apps/{a}/streams/{s}` and
//! reports each stream with its publishing state, ingress bytes (`totalBytesIn` growth) and
//! ingress bitrate (`lastThroughputIn`, bit/s). Viewer counts (`totalConnections`) and egress
//! (`totalBytesOut`) have no field in the v1 report; they are logged at debug level.

use serde_json::Value;

use crate::agent::collect::{
    CollectError, Collection, Collector, StreamKey, StreamTotals, TotalsTracker,
};
use crate::agent::fetch::{Fetcher, encode_component};

/// Most streams read per poll.
const MAX_STREAMS: usize = 10_000;

/// The `response` of an OvenMediaEngine answer, checking `statusCode`.
pub fn response_of(v: &Value) -> Result<&Value, String> {
    match v.get("statusCode").and_then(Value::as_u64) {
        Some(200) | None => v
            .get("response")
            .ok_or_else(|| "no `response` field".to_string()),
        Some(code) => Err(format!(
            "statusCode {code}: {}",
            v.get("message").and_then(Value::as_str).unwrap_or("")
        )),
    }
}

/// Names from a `response` that is a list of strings.
pub fn names_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Totals of one stream from its `/v1/stats/current/…/streams/{s}` response.
pub fn parse_stream_stats(key: StreamKey, stats: &Value) -> StreamTotals {
    let n = |k: &str| stats.get(k).and_then(Value::as_u64);
    StreamTotals {
        key,
        publishing: true,
        protocol: None,
        bytes_in: n("totalBytesIn"),
        bytes_out: n("totalBytesOut"),
        kbps_in: stats
            .get("lastThroughputIn")
            .and_then(Value::as_f64)
            .map(|b| b / 1000.0),
        viewers: n("totalConnections"),
    }
}

/// The `ovenmediaengine` collector.
#[derive(Debug)]
pub struct OvenMediaEngine {
    fetcher: Fetcher,
    totals: TotalsTracker,
}

impl OvenMediaEngine {
    /// `fetcher` points at the API base, e.g. `http://127.0.0.1:8081`.
    pub fn new(fetcher: Fetcher) -> OvenMediaEngine {
        OvenMediaEngine {
            fetcher,
            totals: TotalsTracker::default(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, CollectError> {
        let v: Value = self.fetcher.get_json(path)?;
        response_of(&v)
            .cloned()
            .map_err(|message| CollectError::Parse {
                what: format!("OvenMediaEngine answer from {}", self.fetcher.url(path)),
                message,
            })
    }
}

impl Collector for OvenMediaEngine {
    fn describe(&self) -> String {
        format!("ovenmediaengine {}", self.fetcher.base())
    }

    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> {
        let mut totals = Vec::new();
        'all: for vhost in names_of(&self.get("/v1/vhosts")?) {
            let v = encode_component(&vhost);
            for app in names_of(&self.get(&format!("/v1/vhosts/{v}/apps"))?) {
                let a = encode_component(&app);
                for stream in names_of(&self.get(&format!("/v1/vhosts/{v}/apps/{a}/streams"))?) {
                    let s = encode_component(&stream);
                    let stats = self.get(&format!(
                        "/v1/stats/current/vhosts/{v}/apps/{a}/streams/{s}"
                    ))?;
                    let key = StreamKey {
                        vhost: Some(vhost.clone()),
                        app: app.clone(),
                        instance: None,
                        stream,
                    };
                    totals.push(parse_stream_stats(key, &stats));
                    if totals.len() >= MAX_STREAMS {
                        break 'all;
                    }
                }
            }
        }
        Ok(Collection {
            streams: self.totals.process(&totals),
            software: Some("ovenmediaengine".to_string()),
            version: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::agent::testutil::{Reply, TestServer};
    use std::time::Duration;

    const STATS: &str =
        include_str!("../../tests/fixtures/agent/ome_stats_current_stream.from-docs.json");

    fn ok(response: &str) -> String {
        format!(r#"{{"statusCode":200,"message":"OK","response":{response}}}"#)
    }

    #[test]
    fn parses_the_documented_stream_stats() {
        let v: Value = serde_json::from_str(STATS).unwrap();
        let t = parse_stream_stats(StreamKey::new("app", "s"), response_of(&v).unwrap());
        assert_eq!(t.bytes_in, Some(0));
        assert_eq!(t.viewers, Some(0));
        assert!(response_of(&serde_json::json!({"statusCode":404,"message":"Not found"})).is_err());
    }

    #[test]
    fn enumerates_and_reports_totals_without_viewers() {
        let stats = |bytes_in: u64| {
            STATS
                .replace(
                    "\"totalBytesIn\":0",
                    &format!("\"totalBytesIn\":{bytes_in}"),
                )
                .replace("\"lastThroughputIn\":0", "\"lastThroughputIn\":2500000")
        };
        let server = TestServer::routes(vec![
            ("/v1/vhosts", Reply::json(200, &ok(r#"["default"]"#))),
            (
                "/v1/vhosts/default/apps",
                Reply::json(200, &ok(r#"["app"]"#)),
            ),
            (
                "/v1/vhosts/default/apps/app/streams",
                Reply::json(200, &ok(r#"["stream"]"#)),
            ),
            (
                "/v1/stats/current/vhosts/default/apps/app/streams/stream",
                Reply::json(200, &stats(1000)),
            ),
        ]);
        let mut c = OvenMediaEngine::new(Fetcher::new(
            &server.url(""),
            Some("ome-access-token".into()),
            Duration::from_secs(2),
        ));
        c.prime(0).unwrap();
        server.set_route(
            "/v1/stats/current/vhosts/default/apps/app/streams/stream",
            Reply::json(200, &stats(51_000)),
        );
        let out = c.collect(30).unwrap();
        let s = &out.streams[0];
        assert_eq!(s.vhost.as_deref(), Some("default"));
        assert_eq!((s.app.as_str(), s.stream.as_str()), ("app", "stream"));
        assert_eq!(s.ingress_bytes, Some(50_000));
        assert_eq!(s.ingress_kbps, Some(2500.0));
        assert!(s.viewers.is_empty());
        assert_eq!(
            server.requests()[0].header("authorization").as_deref(),
            Some("Basic b21lLWFjY2Vzcy10b2tlbg==")
        );
    }
}
