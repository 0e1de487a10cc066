//! `nimble` source: the Nimble Streamer native management API (`management_listen_interfaces`,
//! `management_port`, default 8082). With a `management_token` set, give it as
//! `--source-auth TOKEN`: every request is signed with `?salt=R&hash=base64(md5("R/TOKEN"))`.
//!
//! Totals only: per poll `/manage/live_streams_status` lists each application's live streams
//! with the publisher's protocol and bandwidth (bit/s); each becomes a publishing stream with
//! its ingest protocol and bitrate. No byte counters or per-viewer data exist there, so
//! ingress bytes and viewers are not reported; `/manage/server_status` (`Connections`,
//! `OutRate`) is logged at debug level.

use base64::Engine as _;
use md5::Digest as _;
use serde_json::Value;

use crate::agent::collect::{
    CollectError, Collection, Collector, StreamKey, StreamTotals, TotalsTracker,
};
use crate::agent::fetch::Fetcher;

/// A number that Nimble may send as a JSON number or a string.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Stream totals from a `/manage/live_streams_status` answer.
pub fn parse_live_streams(v: &Value) -> Vec<StreamTotals> {
    let mut out = Vec::new();
    for app in v.as_array().into_iter().flatten() {
        let Some(app_name) = app.get("app").and_then(Value::as_str) else {
            continue;
        };
        for s in app
            .get("streams")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = s
                .get("strm")
                .or_else(|| s.get("stream"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            out.push(StreamTotals {
                key: StreamKey::new(app_name, name),
                publishing: true,
                protocol: s
                    .get("protocol")
                    .and_then(Value::as_str)
                    .map(|p| p.to_ascii_lowercase()),
                bytes_in: None,
                bytes_out: None,
                kbps_in: number(s.get("bandwidth")).map(|b| b / 1000.0),
                viewers: None,
            });
        }
    }
    out
}

/// The query string signing a request with the management token.
pub fn signature(token: &str, salt: u32) -> String {
    let digest = md5::Md5::digest(format!("{salt}/{token}").as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    format!(
        "salt={salt}&hash={}",
        crate::agent::fetch::encode_component(&hash)
    )
}

/// The `nimble` collector.
#[derive(Debug)]
pub struct Nimble {
    fetcher: Fetcher,
    totals: TotalsTracker,
}

impl Nimble {
    /// `fetcher` points at the management API; its credentials are the management token.
    pub fn new(fetcher: Fetcher) -> Nimble {
        Nimble {
            fetcher: fetcher.without_basic_auth(),
            totals: TotalsTracker::default(),
        }
    }

    fn path(&self, path: &str) -> String {
        match self.fetcher.auth() {
            Some(token) => format!("{path}?{}", signature(token, rand::random::<u32>())),
            None => path.to_string(),
        }
    }
}

impl Collector for Nimble {
    fn describe(&self) -> String {
        format!("nimble {}", self.fetcher.base())
    }

    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> {
        let live: Value = self
            .fetcher
            .get_json(&self.path("/manage/live_streams_status"))?;
        if let Ok(status) = self
            .fetcher
            .get_json::<Value>(&self.path("/manage/server_status"))
        {
            tracing::debug!(
                connections = number(status.get("Connections")),
                out_rate = number(status.get("OutRate")),
                "nimble server totals (no per-viewer data from this source)"
            );
        }
        Ok(Collection {
            streams: self.totals.process(&parse_live_streams(&live)),
            software: Some("nimble".to_string()),
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

    const LIVE: &str =
        include_str!("../../tests/fixtures/agent/nimble_live_streams_status.from-docs.json");

    #[test]
    fn parses_live_streams_status() {
        let t = parse_live_streams(&serde_json::from_str(LIVE).unwrap());
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].key, StreamKey::new("live", "stream"));
        assert_eq!(t[0].protocol.as_deref(), Some("rtmp"));
        assert_eq!(t[0].kbps_in, Some(1248.788));
    }

    #[test]
    fn signs_requests_with_the_token() {
        let sig = signature("secret", 123);
        assert!(sig.starts_with("salt=123&hash="));
        let digest = md5::Md5::digest(b"123/secret");
        let expected = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(sig.ends_with(&crate::agent::fetch::encode_component(&expected)));
    }

    #[test]
    fn reports_publishing_streams_without_viewers() {
        let server = TestServer::routes(vec![
            ("/manage/live_streams_status", Reply::json(200, LIVE)),
            (
                "/manage/server_status",
                Reply::json(200, r#"{"Connections":12,"OutRate":123456}"#),
            ),
        ]);
        let mut c = Nimble::new(Fetcher::new(&server.url(""), None, Duration::from_secs(2)));
        let out = c.collect(0).unwrap();
        assert_eq!(out.streams.len(), 2);
        assert!(
            out.streams
                .iter()
                .all(|s| s.viewers.is_empty() && s.publishing == Some(true))
        );
        assert!(server.requests()[0].header("authorization").is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn fuzz_json(text in "\\PC{0,200}", cut in 0usize..300) {
            let cut = cut.min(LIVE.len());
            if LIVE.is_char_boundary(cut) && let Ok(v) = serde_json::from_str::<Value>(&format!("{}{}", &LIVE[..cut], text)) {
                let _ = parse_live_streams(&v);
            }
        }
    }
}
