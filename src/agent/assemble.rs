//! Builds the one [`Report`] of an interval from the collections of all sources: merges streams
//! that several sources describe (RTMP viewers from `/stat` and HLS viewers from the access log
//! of the same stream), fills server and host details, and makes the report valid by
//! construction (strings cut to the protocol's limits, empty names replaced, counts bounded).
//!
//! `report_id` is `NAME-TIME-SEQ`: the server name, the interval's end in Unix seconds and a
//! sequence number persisted in the spool. It is fixed when the report is spooled, so every
//! retry carries the same id and the panel counts the interval once.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::agent::collect::{Collection, StreamKey};
use crate::model::report::{
    HostMetrics, MAX_STREAMS, MAX_STRING_LEN, MAX_VIEWERS, Report, ReportTime, ServerInfo,
    StreamReport,
};

/// Assembles reports for one server name.
#[derive(Debug, Clone)]
pub struct Assembler {
    name: String,
}

impl Assembler {
    /// An assembler for reports of server `name`.
    pub fn new(name: String) -> Assembler {
        Assembler { name: clip(name) }
    }

    /// The report for the interval of `interval_s` seconds ending at `end`.
    pub fn assemble(
        &self,
        end: i64,
        interval_s: u32,
        seq: u64,
        collections: Vec<Collection>,
        host: HostMetrics,
        ips: Vec<IpAddr>,
    ) -> Report {
        let mut software: Vec<String> = Vec::new();
        let mut version = None;
        let mut merged: BTreeMap<StreamKey, StreamReport> = BTreeMap::new();
        for c in collections {
            if let Some(s) = c.software
                && !software.contains(&s)
            {
                software.push(s);
            }
            if version.is_none() {
                version = c.version;
            }
            for s in c.streams {
                let s = sanitize(s);
                let key = StreamKey {
                    vhost: s.vhost.clone(),
                    app: s.app.clone(),
                    instance: s.instance.clone(),
                    stream: s.stream.clone(),
                };
                match merged.get_mut(&key) {
                    None => {
                        merged.insert(key, s);
                    }
                    Some(existing) => merge_into(existing, s),
                }
            }
        }
        let mut streams: Vec<StreamReport> = merged.into_values().collect();
        if streams.len() > MAX_STREAMS {
            tracing::warn!(
                streams = streams.len(),
                "more streams than one report may carry; the rest are left out"
            );
            streams.truncate(MAX_STREAMS);
        }
        let mut viewers = 0usize;
        for s in &mut streams {
            let room = MAX_VIEWERS.saturating_sub(viewers);
            if s.viewers.len() > room {
                tracing::warn!("more viewers than one report may carry; the rest are left out");
                s.viewers.truncate(room);
            }
            viewers += s.viewers.len();
        }
        Report {
            report_id: clip(format!("{}-{end}-{seq}", self.name)),
            time: ReportTime(end),
            interval_s: Some(interval_s.max(1)),
            server: Some(ServerInfo {
                name: Some(self.name.clone()),
                software: if software.is_empty() {
                    None
                } else {
                    Some(clip(software.join(",")))
                },
                version: version.map(clip),
                ips: ips.into_iter().take(64).collect(),
            }),
            host: Some(host),
            streams,
        }
    }
}

fn merge_into(existing: &mut StreamReport, other: StreamReport) {
    existing.publishing = match (existing.publishing, other.publishing) {
        (Some(a), Some(b)) => Some(a || b),
        (a, b) => a.or(b),
    };
    if existing.protocol.is_none() {
        existing.protocol = other.protocol;
    }
    if existing.ingress_bytes.is_none() {
        existing.ingress_bytes = other.ingress_bytes;
    }
    if existing.ingress_kbps.is_none() {
        existing.ingress_kbps = other.ingress_kbps;
    }
    existing.viewers.extend(other.viewers);
}

fn sanitize(mut s: StreamReport) -> StreamReport {
    s.app = non_empty(clip(s.app));
    s.stream = non_empty(clip(s.stream));
    s.vhost = s.vhost.map(clip);
    s.instance = s.instance.map(clip);
    s.protocol = s.protocol.map(clip);
    if let Some(k) = s.ingress_kbps
        && !(k.is_finite() && k >= 0.0)
    {
        s.ingress_kbps = None;
    }
    s.viewers.retain(|v| !v.session.is_empty());
    for v in &mut s.viewers {
        v.session = clip(std::mem::take(&mut v.session));
        v.user_agent = v.user_agent.take().map(clip);
        v.protocol = v.protocol.take().map(clip);
        v.seconds = v.seconds.min(10 * 365 * 86_400);
    }
    s
}

fn non_empty(s: String) -> String {
    if s.trim().is_empty() {
        "_".to_string()
    } else {
        s
    }
}

/// Cuts a string to the protocol's length limit on a character boundary.
fn clip(mut s: String) -> String {
    if s.len() > MAX_STRING_LEN {
        let mut end = MAX_STRING_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::report::ViewerReport;

    fn viewer(session: &str, protocol: &str) -> ViewerReport {
        ViewerReport {
            session: session.into(),
            ip: "192.0.2.1".parse().unwrap(),
            user_agent: Some("é".repeat(700)),
            protocol: Some(protocol.into()),
            bytes: 10,
            seconds: 5,
            ended: false,
        }
    }

    #[test]
    fn merges_sources_and_produces_a_valid_report() {
        let rtmp = Collection {
            streams: vec![StreamReport {
                app: "live".into(),
                stream: "test".into(),
                protocol: Some("rtmp".into()),
                publishing: Some(true),
                ingress_bytes: Some(100),
                viewers: vec![viewer("r1", "rtmp"), viewer("r2", "rtmp")],
                ..StreamReport::default()
            }],
            software: Some("nginx-rtmp".into()),
            version: Some("1.22.1".into()),
        };
        let hls = Collection {
            streams: vec![
                StreamReport {
                    app: "live".into(),
                    stream: "test".into(),
                    viewers: vec![viewer("h1", "hls")],
                    ..StreamReport::default()
                },
                StreamReport {
                    app: "".into(),
                    stream: "x".into(),
                    ..StreamReport::default()
                },
            ],
            software: None,
            version: None,
        };
        let a = Assembler::new("edge-1".into());
        let r = a.assemble(
            1_800_000_030,
            30,
            7,
            vec![rtmp, hls],
            HostMetrics::default(),
            vec![],
        );
        assert_eq!(r.report_id, "edge-1-1800000030-7");
        assert_eq!(r.streams.len(), 2);
        let live = r.streams.iter().find(|s| s.app == "live").unwrap();
        assert_eq!(live.viewers.len(), 3);
        assert_eq!(live.publishing, Some(true));
        assert_eq!(live.ingress_bytes, Some(100));
        assert_eq!(
            r.server.as_ref().unwrap().software.as_deref(),
            Some("nginx-rtmp")
        );
        r.validate().unwrap();
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
