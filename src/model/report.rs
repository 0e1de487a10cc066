//! The ingest protocol v1: one report covers one interval of one media server.
//!
//! The same types are parsed by the panel (`POST /api/v1/ingest`) and produced by `tally agent`,
//! so the wire format cannot drift between the two. Validation beyond what serde checks lives in
//! [`Report::validate`], which names the offending field with a JSON path.

use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted string field (names, user agents, session ids), in bytes.
pub const MAX_STRING_LEN: usize = 1024;
/// Most streams one report may carry.
pub const MAX_STREAMS: usize = 10_000;
/// Most viewers one report may carry (over all streams).
pub const MAX_VIEWERS: usize = 200_000;

/// One report from one media server for one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Unique per server; a retried report with the same id is acknowledged but not counted.
    pub report_id: String,
    /// End of the interval the report covers.
    pub time: ReportTime,
    /// Length of the interval in seconds (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<u32>,
    /// Informational description of the sending server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerInfo>,
    /// Host metrics of the machine the media server runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostMetrics>,
    /// Streams with their viewers.
    #[serde(default)]
    pub streams: Vec<StreamReport>,
}

/// Informational server description; the server's identity comes from its ingest token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Addresses of the media server itself (not of viewers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpAddr>,
}

/// Host metrics sampled at the end of the interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostMetrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_used_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_total_bytes: Option<u64>,
    /// Bytes received by the host during the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_in_bytes: Option<u64>,
    /// Bytes sent by the host during the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_out_bytes: Option<u64>,
}

/// One stream (vhost/app/instance/stream) and its viewers during the interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<String>,
    pub app: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub stream: String,
    /// Ingest protocol of the publisher (rtmp, srt, webrtc…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Whether a publisher is connected at the end of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishing: Option<bool>,
    /// Bytes received from the publisher during the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_bytes: Option<u64>,
    /// Publisher bitrate at the end of the interval, kbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_kbps: Option<f64>,
    #[serde(default)]
    pub viewers: Vec<ViewerReport>,
}

/// One viewer session during the interval. The IP is used for enrichment and then dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewerReport {
    /// Session id, unique per server while the session lasts.
    pub session: String,
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Delivery protocol (hls, dash, rtmp, webrtc, srt, icecast…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Bytes sent to this viewer since the previous report.
    #[serde(default)]
    pub bytes: u64,
    /// Seconds the session has been connected so far.
    #[serde(default)]
    pub seconds: u64,
    /// The session ended during this interval.
    #[serde(default)]
    pub ended: bool,
}

/// `time`: RFC 3339 text or Unix seconds on the wire, Unix seconds in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportTime(pub i64);

impl Serialize for ReportTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match jiff::Timestamp::from_second(self.0) {
            Ok(ts) => s.serialize_str(&ts.to_string()),
            Err(_) => s.serialize_i64(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for ReportTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ReportTime;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp or Unix seconds")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ReportTime, E> {
                Ok(ReportTime(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ReportTime, E> {
                i64::try_from(v)
                    .map(ReportTime)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ReportTime, E> {
                if v.is_finite() && v.abs() < 1e15 {
                    Ok(ReportTime(v.floor() as i64))
                } else {
                    Err(E::custom("timestamp out of range"))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ReportTime, E> {
                parse_time(v).map(ReportTime).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses RFC 3339 (`2026-11-25T12:00:30Z`) or decimal Unix seconds into Unix seconds.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(secs) = text.trim().parse::<i64>() {
        return Ok(secs);
    }
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| format!("`{text}` is not an RFC 3339 timestamp or Unix seconds"))
}

/// A validation failure: what is wrong and where (a JSON path such as `streams[0].app`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Report {
    /// Checks limits serde cannot express. Returns the first problem found.
    pub fn validate(&self) -> Result<(), FieldError> {
        let err = |field: String, message: String| Err(FieldError { field, message });
        if self.report_id.trim().is_empty() {
            return err("report_id".into(), "must not be empty".into());
        }
        check_len("report_id", &self.report_id)?;
        if let Some(i) = self.interval_s
            && !(1..=86_400).contains(&i)
        {
            return err(
                "interval_s".into(),
                "must be between 1 and 86400 seconds".into(),
            );
        }
        // Unix seconds between 2000-01-01 and 2200-01-01: anything else is a clock or unit bug.
        if !(946_684_800..=7_258_118_400).contains(&self.time.0) {
            return err(
                "time".into(),
                "is outside 2000..2200 (milliseconds instead of seconds?)".into(),
            );
        }
        if let Some(server) = &self.server {
            for (name, v) in [
                ("name", &server.name),
                ("software", &server.software),
                ("version", &server.version),
            ] {
                if let Some(v) = v {
                    check_len(&format!("server.{name}"), v)?;
                }
            }
            if server.ips.len() > 64 {
                return err("server.ips".into(), "at most 64 addresses".into());
            }
        }
        if let Some(host) = &self.host
            && let Some(cpu) = host.cpu_pct
            && !(cpu.is_finite() && (0.0..=100_000.0).contains(&cpu))
        {
            return err("host.cpu_pct".into(), "must be a percentage >= 0".into());
        }
        if self.streams.len() > MAX_STREAMS {
            return err(
                "streams".into(),
                format!("at most {MAX_STREAMS} streams per report"),
            );
        }
        let mut viewers = 0usize;
        for (i, s) in self.streams.iter().enumerate() {
            let p = |f: &str| format!("streams[{i}].{f}");
            for (name, v) in [("app", &s.app), ("stream", &s.stream)] {
                if v.trim().is_empty() {
                    return err(p(name), "must not be empty".into());
                }
                check_len(&p(name), v)?;
            }
            for (name, v) in [
                ("vhost", &s.vhost),
                ("instance", &s.instance),
                ("protocol", &s.protocol),
            ] {
                if let Some(v) = v {
                    check_len(&p(name), v)?;
                }
            }
            if let Some(k) = s.ingress_kbps
                && !(k.is_finite() && k >= 0.0)
            {
                return err(p("ingress_kbps"), "must be a number >= 0".into());
            }
            viewers += s.viewers.len();
            if viewers > MAX_VIEWERS {
                return err(
                    p("viewers"),
                    format!("at most {MAX_VIEWERS} viewers per report"),
                );
            }
            for (j, v) in s.viewers.iter().enumerate() {
                let q = |f: &str| format!("streams[{i}].viewers[{j}].{f}");
                if v.session.is_empty() {
                    return err(q("session"), "must not be empty".into());
                }
                check_len(&q("session"), &v.session)?;
                if let Some(ua) = &v.user_agent {
                    check_len(&q("user_agent"), ua)?;
                }
                if let Some(pr) = &v.protocol {
                    check_len(&q("protocol"), pr)?;
                }
                if v.seconds > 10 * 365 * 86_400 {
                    return err(q("seconds"), "is larger than ten years".into());
                }
            }
        }
        Ok(())
    }

    /// Number of viewer records in the report.
    pub fn viewer_count(&self) -> usize {
        self.streams.iter().map(|s| s.viewers.len()).sum()
    }
}

fn check_len(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() > MAX_STRING_LEN {
        return Err(FieldError {
            field: field.to_string(),
            message: format!("longer than {MAX_STRING_LEN} bytes"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"report_id": "edge-1-42", "time": "2026-11-25T12:00:30Z", "interval_s": 30,
     "server": {"name": "edge-1", "software": "nginx-rtmp", "version": "1.2.2", "ips": ["198.51.100.7"]},
     "host": {"cpu_pct": 23.5, "ram_used_bytes": 1073741824, "ram_total_bytes": 8589934592,
              "net_in_bytes": 1000, "net_out_bytes": 5000},
     "streams": [{"vhost": "_defaultVHost_", "app": "live", "instance": "_definst_", "stream": "news",
                  "protocol": "rtmp", "publishing": true, "ingress_bytes": 12345, "ingress_kbps": 2500,
                  "viewers": [{"session": "s1", "ip": "81.2.69.142", "user_agent": "VLC/3.0.18 LibVLC/3.0.18",
                               "protocol": "hls", "bytes": 3750000, "seconds": 30, "ended": false}]}]}"#;

    #[test]
    fn parses_the_documented_example() {
        let r: Report = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(r.time.0, 1_795_608_030);
        assert_eq!(r.viewer_count(), 1);
        r.validate().unwrap();
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn unix_seconds_are_accepted() {
        let r: Report =
            serde_json::from_str(r#"{"report_id":"a","time":1795608030,"streams":[]}"#).unwrap();
        assert_eq!(r.time.0, 1_795_608_030);
    }
}
