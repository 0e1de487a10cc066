//! `wowza` source: the Wowza Streaming Engine REST API (port 8087, `/v2/…`; set the REST
//! interface's `AuthenticationMethod` to `basic` or `none`, digest is not supported).
//!
//! Totals only: the REST API has no per-viewer IPs or bytes, so no viewers are reported. The
//! address may be the bare API (`http://host:8087`, meaning server `_defaultServer_` and vhost
//! `_defaultVHost_`) or a vhost URL (`http://host:8087/v2/servers/S/vhosts/V`). Per poll the
//! agent lists `…/applications`, each application's `…/instances` with their incoming streams,
//! and reads `…/instances/{i}/incomingstreams/{s}/monitoring/current`: each stream is reported
//! with publishing state, ingress bytes (`bytesIn` growth) and ingress bitrate (`bytesInRate`).
//! Viewer counts (`totalConnections`, `connectionCount`) and egress (`bytesOut`) have no field
//! in the v1 report; they are logged at debug level.

use serde_json::Value;

use crate::agent::collect::{
    CollectError, Collection, Collector, StreamKey, StreamTotals, TotalsTracker,
};
use crate::agent::fetch::{Fetcher, encode_component};

/// Path of the default server's default vhost.
pub const DEFAULT_VHOST_PATH: &str = "/v2/servers/_defaultServer_/vhosts/_defaultVHost_";
const MAX_STREAMS: usize = 10_000;

/// Totals of one incoming stream from its `monitoring/current` answer.
pub fn parse_monitoring(key: StreamKey, v: &Value) -> StreamTotals {
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    StreamTotals {
        key,
        publishing: true,
        protocol: None,
        bytes_in: n("bytesIn"),
        bytes_out: n("bytesOut"),
        kbps_in: v
            .get("bytesInRate")
            .and_then(Value::as_f64)
            .map(|b| b * 8.0 / 1000.0),
        viewers: n("totalConnections"),
    }
}

/// `(instance, stream, connected)` triples from an `…/instances` answer.
pub fn parse_instances(v: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for inst in v
        .get("instanceList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = inst.get("name").and_then(Value::as_str) else {
            continue;
        };
        for s in inst
            .get("incomingStreams")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(stream) = s.get("name").and_then(Value::as_str) {
                let connected = s
                    .get("isConnected")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                out.push((name.to_string(), stream.to_string(), connected));
            }
        }
    }
    out
}

/// The `wowza` collector.
#[derive(Debug)]
pub struct Wowza {
    fetcher: Fetcher,
    prefix: String,
    vhost: String,
    totals: TotalsTracker,
}

impl Wowza {
    /// `fetcher` points at the REST API or at one vhost of it.
    pub fn new(fetcher: Fetcher) -> Wowza {
        let base = fetcher.base().to_string();
        let after_scheme = base.split_once("://").map(|(_, r)| r).unwrap_or(&base);
        let has_path = after_scheme.contains('/');
        let prefix = if has_path {
            String::new()
        } else {
            DEFAULT_VHOST_PATH.to_string()
        };
        let full = format!("{base}{prefix}");
        let vhost = full
            .split("/vhosts/")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("_defaultVHost_")
            .to_string();
        Wowza {
            fetcher,
            prefix,
            vhost,
            totals: TotalsTracker::default(),
        }
    }
}

impl Collector for Wowza {
    fn describe(&self) -> String {
        format!("wowza {}", self.fetcher.base())
    }

    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> {
        let p = &self.prefix;
        let apps: Value = self.fetcher.get_json(&format!("{p}/applications"))?;
        let mut totals = Vec::new();
        'all: for app in apps
            .get("applications")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(app) = app
                .get("id")
                .or_else(|| app.get("name"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let a = encode_component(app);
            let instances: Value = self
                .fetcher
                .get_json(&format!("{p}/applications/{a}/instances"))?;
            for (instance, stream, connected) in parse_instances(&instances) {
                let path = format!(
                    "{p}/applications/{a}/instances/{}/incomingstreams/{}/monitoring/current",
                    encode_component(&instance),
                    encode_component(&stream)
                );
                let v: Value = self.fetcher.get_json(&path)?;
                let key = StreamKey {
                    vhost: Some(self.vhost.clone()),
                    app: app.to_string(),
                    instance: Some(instance),
                    stream,
                };
                let mut t = parse_monitoring(key, &v);
                t.publishing = connected;
                totals.push(t);
                if totals.len() >= MAX_STREAMS {
                    break 'all;
                }
            }
        }
        Ok(Collection {
            streams: self.totals.process(&totals),
            software: Some("wowza".to_string()),
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

    const MONITORING: &str =
        include_str!("../../tests/fixtures/agent/wowza_app_monitoring_current.from-docs.json");

    #[test]
    fn parses_the_documented_monitoring_answer() {
        let v: Value = serde_json::from_str(MONITORING).unwrap();
        let t = parse_monitoring(StreamKey::new("live", "s"), &v);
        assert_eq!(t.bytes_in, Some(0));
        assert_eq!(t.viewers, Some(0));
        assert_eq!(t.kbps_in, Some(0.0));
    }

    #[test]
    fn enumerates_applications_instances_and_streams() {
        let d = DEFAULT_VHOST_PATH;
        let mon = |b: u64| {
            MONITORING
                .replace("\"bytesIn\":0", &format!("\"bytesIn\":{b}"))
                .replace("\"bytesInRate\":0", "\"bytesInRate\":250000")
        };
        let server = TestServer::routes(vec![
            (
                &*format!("{d}/applications"),
                Reply::json(
                    200,
                    r#"{"serverName":"_defaultServer_","applications":[{"id":"live","href":"x","appType":"Live","dvrEnabled":false}]}"#,
                ),
            ),
            (
                &*format!("{d}/applications/live/instances"),
                Reply::json(
                    200,
                    r#"{"serverName":"_defaultServer_","instanceList":[{"name":"_definst_","incomingStreams":[{"name":"myStream","sourceIp":"rtmp://192.0.2.4:1234","isConnected":true,"isRecordingSet":false}]}]}"#,
                ),
            ),
            (
                &*format!(
                    "{d}/applications/live/instances/_definst_/incomingstreams/myStream/monitoring/current"
                ),
                Reply::json(200, &mon(100)),
            ),
        ]);
        let mut c = Wowza::new(Fetcher::new(
            &server.url(""),
            Some("admin:pw".into()),
            Duration::from_secs(2),
        ));
        c.prime(0).unwrap();
        server.set_route(&format!("{d}/applications/live/instances/_definst_/incomingstreams/myStream/monitoring/current"), Reply::json(200, &mon(7_600)));
        let out = c.collect(30).unwrap();
        let s = &out.streams[0];
        assert_eq!(s.vhost.as_deref(), Some("_defaultVHost_"));
        assert_eq!(s.instance.as_deref(), Some("_definst_"));
        assert_eq!((s.app.as_str(), s.stream.as_str()), ("live", "myStream"));
        assert_eq!(s.ingress_bytes, Some(7_500));
        assert_eq!(s.ingress_kbps, Some(2000.0));
        assert!(s.viewers.is_empty());
    }
}
