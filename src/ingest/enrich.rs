//! Enrichment: turns a validated report into an [`Enriched`] one — sessions keyed by a keyed
//! hash, viewer IPs resolved to country/region/city/ASN, user agents to player and device, and
//! a salted unique-viewer hash. **The IP address ends here**: nothing downstream of this module
//! (journal, writer, storage, logs) ever receives it.
//!
//! Runs on the HTTP worker threads, so enrichment scales with them; the single writer thread
//! only aggregates.

use std::collections::HashMap;
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher13;

use super::dict::{DimDict, SEP};
use super::salt::Salts;
use super::useragent::UserAgents;
use crate::geoip::GeoIp;
use crate::model::account::Id;
use crate::model::report::Report;
use crate::store::StoreError;

/// Breakdown attributes of a viewer, resolved once per session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewerDims {
    /// ISO alpha-2, `[0, 0]` when unknown.
    pub country: [u8; 2],
    pub region: u32,
    pub city: u32,
    pub asn: u32,
    pub asn_org: u32,
    pub protocol: u32,
    pub player: u32,
    pub device: u8,
}

/// One viewer after enrichment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedViewer {
    /// Keyed hash of (server, session id).
    pub session: u64,
    /// Keyed hash of (day salt, IP, user agent), for unique-viewer sketches.
    pub uniq: u64,
    pub dims: ViewerDims,
    pub bytes: u64,
    pub seconds: u64,
    pub ended: bool,
}

/// One stream after enrichment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedStream {
    pub app: String,
    pub stream: String,
    pub publishing: Option<bool>,
    pub ingress_bytes: u64,
    pub ingress_kbps: Option<f64>,
    pub viewers: Vec<EnrichedViewer>,
}

/// Host metrics of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    pub cpu_pct: Option<f64>,
    pub ram_used_bytes: Option<u64>,
    pub ram_total_bytes: Option<u64>,
    pub net_in_bytes: Option<u64>,
    pub net_out_bytes: Option<u64>,
}

/// A viewer starting a session announced by a media-server hook.
#[derive(Debug, Clone, Copy)]
pub struct HookViewer<'a> {
    /// Session id, unique per server.
    pub session: &'a str,
    pub ip: IpAddr,
    pub user_agent: Option<&'a str>,
    /// Delivery protocol.
    pub protocol: &'a str,
}

/// A report ready for the writer: no IP address inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enriched {
    pub account: Id,
    pub server: Id,
    pub report_hash: u64,
    pub time: i64,
    pub interval_s: u32,
    pub software: Option<String>,
    pub version: Option<String>,
    pub host: Option<HostSample>,
    pub streams: Vec<EnrichedStream>,
}

impl Enriched {
    /// Number of viewer records.
    pub fn viewer_count(&self) -> usize {
        self.streams.iter().map(|s| s.viewers.len()).sum()
    }
}

const SHARDS: usize = 16;
const SHARD_CAP: usize = 8 * 1024;

/// Per-session cache of resolved dimensions, so GeoIP and user-agent parsing run once per
/// session rather than once per report. Keyed by the session hash, never by IP.
struct DimsCache {
    shards: Vec<Mutex<HashMap<u64, ViewerDims>>>,
}

impl DimsCache {
    fn new() -> Self {
        DimsCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn get(&self, key: u64) -> Option<ViewerDims> {
        self.shards[(key as usize) % SHARDS]
            .lock()
            .get(&key)
            .copied()
    }

    fn put(&self, key: u64, dims: ViewerDims) {
        let mut shard = self.shards[(key as usize) % SHARDS].lock();
        if shard.len() >= SHARD_CAP {
            // Bounded memory: dropping the cache only costs re-resolution.
            shard.clear();
        }
        shard.insert(key, dims);
    }
}

/// Enrichment context shared by the HTTP workers.
pub struct Enricher {
    geo: Arc<GeoIp>,
    ua: Arc<UserAgents>,
    dict: Arc<DimDict>,
    salts: Arc<Salts>,
    session_key: (u64, u64),
    cache: DimsCache,
}

fn key_pair(secret: &[u8; 32]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&secret[..8]);
    b.copy_from_slice(&secret[8..16]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

/// Hash of a report id, for de-duplication.
pub fn report_hash(report_id: &str) -> u64 {
    let mut h = SipHasher13::new_with_keys(0x7265_706f_7274, 0x6964_7321);
    h.write(report_id.as_bytes());
    h.finish()
}

impl Enricher {
    /// Builds the context; `secret` keys the session hashes.
    pub fn new(
        geo: Arc<GeoIp>,
        ua: Arc<UserAgents>,
        dict: Arc<DimDict>,
        salts: Arc<Salts>,
        secret: &[u8; 32],
    ) -> Enricher {
        Enricher {
            geo,
            ua,
            dict,
            salts,
            session_key: key_pair(secret),
            cache: DimsCache::new(),
        }
    }

    /// The shared dictionary.
    pub fn dict(&self) -> &Arc<DimDict> {
        &self.dict
    }

    /// The GeoIP readers.
    pub fn geo(&self) -> &Arc<GeoIp> {
        &self.geo
    }

    /// Enriches a validated report. Consumes it so that the IPs are dropped here.
    pub fn enrich(
        &self,
        account: Id,
        server: Id,
        report: Report,
        now: i64,
    ) -> Result<Enriched, StoreError> {
        let time = report.time.0;
        let salt = self.salts.for_time(account, time, now)?;
        let salt_key = key_pair(&salt);
        let mut streams = Vec::with_capacity(report.streams.len());
        for s in report.streams {
            let mut viewers = Vec::with_capacity(s.viewers.len());
            for v in s.viewers {
                let (session, uniq, dims) = self.identify(
                    server,
                    &v.session,
                    v.ip,
                    v.user_agent.as_deref(),
                    v.protocol.as_deref().or(s.protocol.as_deref()),
                    salt_key,
                );
                viewers.push(EnrichedViewer {
                    session,
                    uniq,
                    dims,
                    bytes: v.bytes,
                    seconds: v.seconds,
                    ended: v.ended,
                });
            }
            streams.push(EnrichedStream {
                app: s.app,
                stream: s.stream,
                publishing: s.publishing,
                ingress_bytes: s.ingress_bytes.unwrap_or(0),
                ingress_kbps: s.ingress_kbps,
                viewers,
            });
        }
        let (software, version) = match report.server {
            Some(info) => (info.software, info.version),
            None => (None, None),
        };
        Ok(Enriched {
            account,
            server,
            report_hash: report_hash(&report.report_id),
            time,
            interval_s: report.interval_s.unwrap_or(30),
            software,
            version,
            host: report.host.map(|h| HostSample {
                cpu_pct: h.cpu_pct,
                ram_used_bytes: h.ram_used_bytes,
                ram_total_bytes: h.ram_total_bytes,
                net_in_bytes: h.net_in_bytes,
                net_out_bytes: h.net_out_bytes,
            }),
            streams,
        })
    }

    /// Resolves one viewer session pushed by a media-server hook: the keyed session hash, the
    /// unique-viewer hash of the day of `now`, and the breakdown attributes. Takes the viewer
    /// by value and keeps nothing of its IP: the caller holds only what this returns.
    pub fn enrich_session(
        &self,
        account: Id,
        server: Id,
        viewer: HookViewer<'_>,
        now: i64,
    ) -> Result<(u64, u64, ViewerDims), StoreError> {
        let salt = self.salts.for_time(account, now, now)?;
        Ok(self.identify(
            server,
            viewer.session,
            viewer.ip,
            viewer.user_agent,
            Some(viewer.protocol),
            key_pair(&salt),
        ))
    }

    /// Session hash, unique-viewer hash and dimensions of one viewer (cached per session).
    fn identify(
        &self,
        server: Id,
        session_id: &str,
        ip: IpAddr,
        user_agent: Option<&str>,
        protocol: Option<&str>,
        salt_key: (u64, u64),
    ) -> (u64, u64, ViewerDims) {
        let session = {
            let mut h = SipHasher13::new_with_keys(self.session_key.0, self.session_key.1);
            h.write_u64(server.0);
            h.write(session_id.as_bytes());
            h.finish()
        };
        let uniq = {
            let mut h = SipHasher13::new_with_keys(salt_key.0, salt_key.1);
            match ip {
                IpAddr::V4(ip) => h.write(&ip.octets()),
                IpAddr::V6(ip) => h.write(&ip.octets()),
            }
            h.write_u8(0xff);
            h.write(user_agent.unwrap_or("").as_bytes());
            h.finish()
        };
        let dims = match self.cache.get(session) {
            Some(d) => d,
            None => {
                let d = self.resolve(ip, user_agent, protocol);
                self.cache.put(session, d);
                d
            }
        };
        (session, uniq, dims)
    }

    fn resolve(&self, ip: IpAddr, ua: Option<&str>, protocol: Option<&str>) -> ViewerDims {
        let geo = self.geo.lookup(ip);
        let player = self.ua.classify(ua);
        let protocol = protocol.unwrap_or("unknown").trim().to_ascii_lowercase();
        ViewerDims {
            country: geo.country.unwrap_or([0, 0]),
            region: geo.region.map_or(0, |r| {
                self.dict.intern(&format!("{}{SEP}{}", r.code, r.name))
            }),
            city: geo.city.map_or(0, |c| {
                let cc = geo
                    .country
                    .map(|c| String::from_utf8_lossy(&c).into_owned())
                    .unwrap_or_default();
                self.dict
                    .intern(&format!("{}{SEP}{}{SEP}{}", c.id, c.name, cc))
            }),
            asn: geo.asn.as_ref().map_or(0, |a| a.number),
            asn_org: geo.asn.as_ref().map_or(0, |a| self.dict.intern(&a.org)),
            protocol: self.dict.intern(&protocol),
            player: self.dict.intern(&player.family),
            device: player.device as u8,
        }
    }
}
