//! `icecast` source: Icecast 2 admin pages with HTTP basic auth (`--source-auth admin:PASS`).
//!
//! Per poll: `/admin/stats` (per-mount byte counters, publisher, server start) and
//! `/admin/listmounts` (the mounts), then `/admin/listclients?mount=M` for each mount (one
//! listener per `<listener>`: IP, user agent, seconds connected, ID). The viewer session is the
//! listener ID (prefixed with the server start, since IDs restart with Icecast). Icecast 2.4
//! has no per-listener byte counter, so each listener gets a share of the mount's
//! `total_bytes_sent` growth weighted by its connected time in the interval; if a listener
//! element carries a byte counter (`<bytes>`, `<BytesSent>`, as some forks add), that counter
//! is used instead. A mount `/live.mp3` is stream `live.mp3` of application `icecast`; a mount
//! `/radio/live.mp3` is stream `live.mp3` of application `radio`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::agent::collect::{
    CollectError, Collection, Collector, Seen, StreamKey, StreamSet, Tracker, counter_delta,
};
use crate::agent::fetch::{Fetcher, encode_component};
use crate::agent::xml::{self, Element};

/// Per-mount figures from `/admin/stats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MountStats {
    pub mount: String,
    pub total_bytes_sent: u64,
    pub total_bytes_read: u64,
    pub listeners: u64,
    /// Whether a source client is connected (`source_ip` present).
    pub publishing: bool,
    /// Publisher bitrate in kbit/s when announced (`bitrate`, `audio_bitrate`, `ice-bitrate`).
    pub bitrate_kbps: Option<f64>,
}

/// The parsed `/admin/stats` page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerStats {
    /// `server_id`, e.g. `Icecast 2.4.4`.
    pub server_id: Option<String>,
    pub server_start: Option<String>,
    pub mounts: Vec<MountStats>,
}

/// One listener from `/admin/listclients`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub id: String,
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub connected_secs: u64,
    /// A per-listener byte counter, when the server provides one.
    pub bytes: Option<u64>,
}

/// Parses `/admin/stats`.
pub fn parse_stats(text: &str) -> Result<ServerStats, xml::XmlError> {
    let root = xml::parse(text)?;
    if root.name != "icestats" {
        return Err(xml::XmlError(format!(
            "expected <icestats>, found <{}>",
            root.name
        )));
    }
    let mounts = root
        .children_named("source")
        .filter_map(|s| {
            let mount = s.attr("mount")?.to_string();
            let bitrate = ["bitrate", "audio_bitrate", "ice-bitrate"]
                .iter()
                .find_map(|k| s.parse_child::<f64>(k))
                .map(|b| if b > 10_000.0 { b / 1000.0 } else { b });
            Some(MountStats {
                mount,
                total_bytes_sent: s.parse_child("total_bytes_sent").unwrap_or(0),
                total_bytes_read: s.parse_child("total_bytes_read").unwrap_or(0),
                listeners: s.parse_child("listeners").unwrap_or(0),
                publishing: s.child_text("source_ip").is_some_and(|ip| !ip.is_empty()),
                bitrate_kbps: bitrate,
            })
        })
        .collect();
    Ok(ServerStats {
        server_id: root.child_text("server_id").map(str::to_string),
        server_start: root
            .child_text("server_start_iso8601")
            .or_else(|| root.child_text("server_start"))
            .map(str::to_string),
        mounts,
    })
}

/// Parses `/admin/listmounts` into mount names.
pub fn parse_listmounts(text: &str) -> Result<Vec<String>, xml::XmlError> {
    let root = xml::parse(text)?;
    Ok(root
        .children_named("source")
        .filter_map(|s| s.attr("mount").map(str::to_string))
        .collect())
}

/// Parses `/admin/listclients?mount=…`.
pub fn parse_listclients(text: &str) -> Result<Vec<Listener>, xml::XmlError> {
    let root = xml::parse(text)?;
    let mut out = Vec::new();
    for source in root.children_named("source") {
        for l in source.children_named("listener") {
            if let Some(listener) = parse_listener(l) {
                out.push(listener);
            }
        }
    }
    Ok(out)
}

fn parse_listener(l: &Element) -> Option<Listener> {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| l.child_text(n))
            .map(str::to_string)
    };
    let ip = field(&["IP", "ip"])?.trim().parse().ok()?;
    let id = field(&["ID", "id"]).or_else(|| l.attr("id").map(str::to_string))?;
    Some(Listener {
        id,
        ip,
        user_agent: field(&["UserAgent", "useragent"]).filter(|u| !u.is_empty()),
        connected_secs: field(&["Connected", "connected"])
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0),
        bytes: field(&["bytes", "Bytes", "BytesSent", "bytes_sent"])
            .and_then(|b| b.trim().parse().ok()),
    })
}

/// Application and stream for a mount.
pub fn mount_key(mount: &str) -> StreamKey {
    let m = mount.trim_start_matches('/');
    match m.split_once('/') {
        Some((app, rest)) if !app.is_empty() && !rest.is_empty() => StreamKey::new(app, rest),
        _ => StreamKey::new("icecast", if m.is_empty() { "_" } else { m }),
    }
}

/// The `icecast` collector.
#[derive(Debug)]
pub struct Icecast {
    fetcher: Fetcher,
    tag: String,
    counters: HashMap<String, (u64, u64)>,
    server_start: Option<String>,
    tracker: Tracker,
    last_poll: Option<i64>,
}

impl Icecast {
    /// `fetcher` points at the Icecast base URL and carries the admin credentials.
    pub fn new(fetcher: Fetcher, tag: String) -> Icecast {
        Icecast {
            fetcher,
            tag,
            counters: HashMap::new(),
            server_start: None,
            tracker: Tracker::default(),
            last_poll: None,
        }
    }

    /// Turns one poll's pages into the interval's streams.
    pub fn process(
        &mut self,
        stats: &ServerStats,
        listeners: &[(String, Vec<Listener>)],
        now: i64,
    ) -> Collection {
        let primed = self.last_poll.is_some();
        let interval = self.last_poll.map(|t| (now - t).max(1) as u64).unwrap_or(1);
        let restarted =
            primed && stats.server_start.is_some() && stats.server_start != self.server_start;
        let epoch = stats
            .server_start
            .as_deref()
            .and_then(|s| {
                crate::model::report::parse_time(s)
                    .ok()
                    .or_else(|| jiff_rfc2822(s))
            })
            .unwrap_or(0);
        let mut set = StreamSet::default();
        let mut counters = HashMap::new();
        let mut egress: HashMap<String, u64> = HashMap::new();
        for m in &stats.mounts {
            let key = mount_key(&m.mount);
            let previous = if restarted {
                Some((0, 0))
            } else {
                self.counters
                    .get(&m.mount)
                    .copied()
                    .or(if primed { Some((0, 0)) } else { None })
            };
            egress.insert(
                m.mount.clone(),
                counter_delta(previous.map(|p| p.0), m.total_bytes_sent),
            );
            let s = set.stream(&key);
            s.publishing = Some(m.publishing);
            s.ingress_bytes = Some(counter_delta(previous.map(|p| p.1), m.total_bytes_read));
            if m.publishing {
                s.protocol = Some("icecast".to_string());
                s.ingress_kbps = m.bitrate_kbps;
            }
            counters.insert(m.mount.clone(), (m.total_bytes_sent, m.total_bytes_read));
        }
        for (mount, list) in listeners {
            let key = mount_key(mount);
            let weights: u64 = list
                .iter()
                .filter(|l| l.bytes.is_none())
                .map(|l| l.connected_secs.clamp(1, interval))
                .sum();
            let total = egress.get(mount).copied().unwrap_or(0);
            for l in list {
                let session = format!(
                    "{}-{epoch}-{}-{}",
                    self.tag,
                    mount.trim_start_matches('/'),
                    l.id
                );
                let seen = Seen {
                    key: key.clone(),
                    ip: l.ip,
                    user_agent: l.user_agent.clone(),
                    protocol: Some("icecast".to_string()),
                    seconds: l.connected_secs,
                    counter: l.bytes,
                    reported: 0,
                };
                let mut bytes = self.tracker.live(&session, seen.clone());
                if l.bytes.is_none() && primed && weights > 0 {
                    bytes = (total as u128 * l.connected_secs.clamp(1, interval) as u128
                        / weights as u128) as u64;
                    self.tracker.add_reported(&session, bytes);
                }
                if !primed {
                    bytes = 0;
                }
                set.viewer(&key, seen.to_viewer(&session, bytes, false));
            }
        }
        for (session, seen) in self.tracker.finish() {
            set.viewer(&seen.key.clone(), seen.to_viewer(&session, 0, true));
        }
        self.counters = counters;
        self.server_start = stats.server_start.clone().or(self.server_start.take());
        self.last_poll = Some(now);
        let (software, version) = match stats.server_id.as_deref().and_then(|s| s.split_once(' ')) {
            Some((name, v)) => (name.to_ascii_lowercase(), Some(v.to_string())),
            None => ("icecast".to_string(), None),
        };
        Collection {
            streams: set.into_streams(),
            software: Some(software),
            version,
        }
    }
}

/// `2026-11-25T11:59:51+0000` or `Wed, 25 Nov 2026 11:59:51 +0000` → Unix seconds.
fn jiff_rfc2822(text: &str) -> Option<i64> {
    if let Ok(t) = jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", text.trim())
        && let Ok(ts) = t.to_timestamp()
    {
        return Some(ts.as_second());
    }
    jiff::fmt::rfc2822::parse(text)
        .ok()
        .map(|z| z.timestamp().as_second())
}

impl Collector for Icecast {
    fn describe(&self) -> String {
        format!("icecast {}", self.fetcher.base())
    }

    fn collect(&mut self, now: i64) -> Result<Collection, CollectError> {
        let parse_err = |what: &str, e: xml::XmlError| CollectError::Parse {
            what: format!("Icecast {what} from {}", self.fetcher.base()),
            message: e.to_string(),
        };
        let stats = parse_stats(&self.fetcher.get_text("/admin/stats")?)
            .map_err(|e| parse_err("/admin/stats", e))?;
        let mounts = parse_listmounts(&self.fetcher.get_text("/admin/listmounts")?)
            .map_err(|e| parse_err("/admin/listmounts", e))?;
        let mut listeners = Vec::with_capacity(mounts.len());
        for mount in mounts {
            let text = self.fetcher.get_text(&format!(
                "/admin/listclients?mount={}",
                encode_component(&mount)
            ))?;
            let list = parse_listclients(&text).map_err(|e| parse_err("/admin/listclients", e))?;
            listeners.push((mount, list));
        }
        Ok(self.process(&stats, &listeners, now))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::agent::testutil::{Reply, TestServer};
    use std::time::Duration;

    const STATS: &str = include_str!("../../tests/fixtures/agent/icecast_admin_stats.xml");
    const LISTMOUNTS: &str =
        include_str!("../../tests/fixtures/agent/icecast_admin_listmounts.xml");
    const LISTCLIENTS: &str =
        include_str!("../../tests/fixtures/agent/icecast_admin_listclients.xml");

    #[test]
    fn parses_the_captured_admin_pages() {
        let s = parse_stats(STATS).unwrap();
        assert_eq!(s.server_id.as_deref(), Some("Icecast 2.4.4"));
        assert_eq!(s.mounts.len(), 1);
        assert_eq!(s.mounts[0].mount, "/live.mp3");
        assert_eq!(s.mounts[0].total_bytes_sent, 442_024);
        assert_eq!(s.mounts[0].total_bytes_read, 147_584);
        assert!(s.mounts[0].publishing);
        assert_eq!(parse_listmounts(LISTMOUNTS).unwrap(), vec!["/live.mp3"]);
        let l = parse_listclients(LISTCLIENTS).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].ip, "127.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(
            l[0].user_agent.as_deref(),
            Some("Mozilla/5.0 (curl listener)")
        );
        assert_eq!(l[0].connected_secs, 8);
        assert_eq!(l[0].id, "1");
        assert_eq!(l[0].bytes, None);
        assert_eq!(
            mount_key("/live.mp3"),
            StreamKey::new("icecast", "live.mp3")
        );
        assert_eq!(
            mount_key("/radio/hi.ogg"),
            StreamKey::new("radio", "hi.ogg")
        );
    }

    #[test]
    fn polls_with_basic_auth_and_shares_mount_bytes() {
        let server = TestServer::routes(vec![
            ("/admin/stats", Reply::xml(STATS)),
            ("/admin/listmounts", Reply::xml(LISTMOUNTS)),
            (
                "/admin/listclients?mount=%2Flive.mp3",
                Reply::xml(LISTCLIENTS),
            ),
        ]);
        let fetcher = Fetcher::new(
            &server.url(""),
            Some("admin:adminpass".into()),
            Duration::from_secs(2),
        );
        let mut c = Icecast::new(fetcher, "ice".into());
        c.prime(1000).unwrap();
        let later = STATS.replace("<total_bytes_sent>442024<", "<total_bytes_sent>922024<");
        server.set_route("/admin/stats", Reply::xml(&later));
        let out = c.collect(1030).unwrap();
        assert_eq!(out.software.as_deref(), Some("icecast"));
        assert_eq!(out.version.as_deref(), Some("2.4.4"));
        let s = &out.streams[0];
        assert_eq!((s.app.as_str(), s.stream.as_str()), ("icecast", "live.mp3"));
        assert_eq!(s.viewers.len(), 3);
        assert_eq!(s.viewers.iter().map(|v| v.bytes).sum::<u64>(), 480_000);
        assert!(
            s.viewers
                .iter()
                .all(|v| v.protocol.as_deref() == Some("icecast"))
        );
        let auth = server.requests()[0].header("authorization").unwrap();
        assert_eq!(auth, "Basic YWRtaW46YWRtaW5wYXNz");

        // A listener leaves: reported once as ended.
        let two = LISTCLIENTS.replacen("<listener><IP>127.0.0.9</IP><UserAgent>Mozilla/5.0 (curl listener)</UserAgent><Connected>8</Connected><ID>1</ID></listener>", "", 1);
        server.set_route("/admin/listclients?mount=%2Flive.mp3", Reply::xml(&two));
        let out = c.collect(1060).unwrap();
        let ended: Vec<_> = out.streams[0].viewers.iter().filter(|v| v.ended).collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].ip, "127.0.0.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn wrong_credentials_say_so() {
        let server = TestServer::routes(vec![("/admin/stats", Reply::status(401))]);
        let mut c = Icecast::new(
            Fetcher::new(&server.url(""), None, Duration::from_secs(2)),
            "ice".into(),
        );
        let e = c.collect(1000).unwrap_err().to_string();
        assert!(e.contains("401") && e.contains("--source-auth"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn fuzz_admin_pages(cut in 0usize..1500, insert in "[<>/a-zA-Z0-9&;\" =]{0,12}") {
            for page in [STATS, LISTCLIENTS, LISTMOUNTS] {
                let cut = cut.min(page.len());
                let text = format!("{}{}{}", &page[..cut], insert, &page[cut..]);
                let _ = parse_stats(&text);
                let _ = parse_listclients(&text);
                let _ = parse_listmounts(&text);
            }
        }
    }
}
