//! Series: the (server, app, stream) scopes rollups are kept for.
//!
//! Every report updates six scopes — the whole account, the server, server+app,
//! server+app+stream, app (all servers) and app+stream (all servers) — so that each common
//! filter is answered from exactly one series, and a filter's peak is the peak of the sum
//! (computed when reports arrive, not by adding peaks afterwards).

use std::hash::Hasher;

use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher13;

use super::account::Id;

/// Which scope a series covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SeriesKind {
    Total,
    Server,
    ServerApp,
    ServerStream,
    App,
    AppStream,
}

/// Names of a series, stored in each partition's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesInfo {
    pub kind: SeriesKind,
    pub server: Option<Id>,
    pub app: Option<String>,
    pub stream: Option<String>,
}

impl SeriesInfo {
    /// The account-wide series.
    pub fn total() -> SeriesInfo {
        SeriesInfo {
            kind: SeriesKind::Total,
            server: None,
            app: None,
            stream: None,
        }
    }

    /// The six scopes one stream of one server contributes to.
    pub fn scopes(server: Id, app: &str, stream: &str) -> [SeriesInfo; 6] {
        let s = |kind, server: Option<Id>, app: Option<&str>, stream: Option<&str>| SeriesInfo {
            kind,
            server,
            app: app.map(str::to_string),
            stream: stream.map(str::to_string),
        };
        [
            s(SeriesKind::Total, None, None, None),
            s(SeriesKind::Server, Some(server), None, None),
            s(SeriesKind::ServerApp, Some(server), Some(app), None),
            s(
                SeriesKind::ServerStream,
                Some(server),
                Some(app),
                Some(stream),
            ),
            s(SeriesKind::App, None, Some(app), None),
            s(SeriesKind::AppStream, None, Some(app), Some(stream)),
        ]
    }

    /// The server-wide series.
    pub fn server(server: Id) -> SeriesInfo {
        SeriesInfo {
            kind: SeriesKind::Server,
            server: Some(server),
            app: None,
            stream: None,
        }
    }

    /// Stable 64-bit id. The hash key is fixed forever: ids are part of the storage format.
    pub fn id(&self) -> u64 {
        let mut h = SipHasher13::new_with_keys(0x7461_6c6c_7973_6572, 0x6965_7369_6473_0001);
        h.write_u8(self.kind as u8);
        h.write_u64(self.server.map_or(0, |s| s.0));
        for part in [&self.app, &self.stream] {
            match part {
                Some(text) => {
                    h.write_u8(1);
                    h.write_usize(text.len());
                    h.write(text.as_bytes());
                }
                None => h.write_u8(0),
            }
        }
        h.finish()
    }
}

/// A query filter on server / app / stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub server: Option<Id>,
    pub app: Option<String>,
    pub stream: Option<String>,
}

impl Filter {
    /// The single series answering this filter, when one exists.
    pub fn series(&self) -> Option<SeriesInfo> {
        let kind = match (
            self.server.is_some(),
            self.app.is_some(),
            self.stream.is_some(),
        ) {
            (false, false, false) => SeriesKind::Total,
            (true, false, false) => SeriesKind::Server,
            (true, true, false) => SeriesKind::ServerApp,
            (true, true, true) => SeriesKind::ServerStream,
            (false, true, false) => SeriesKind::App,
            (false, true, true) => SeriesKind::AppStream,
            // Stream without app: summed over the matching per-stream series.
            _ => return None,
        };
        Some(SeriesInfo {
            kind,
            server: self.server,
            app: self.app.clone(),
            stream: self.stream.clone(),
        })
    }

    /// For filters without a single series: does a finest-grained series match?
    pub fn matches_stream_series(&self, info: &SeriesInfo) -> bool {
        let kind = if self.server.is_some() {
            SeriesKind::ServerStream
        } else {
            SeriesKind::AppStream
        };
        info.kind == kind
            && (self.server.is_none() || info.server == self.server)
            && (self.app.is_none() || info.app == self.app)
            && (self.stream.is_none() || info.stream == self.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let scopes = SeriesInfo::scopes(Id(1), "live", "news");
        let mut ids: Vec<u64> = scopes.iter().map(SeriesInfo::id).collect();
        assert_eq!(ids[0], SeriesInfo::total().id());
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 6);
        // "ab"+"c" must differ from "a"+"bc".
        let a = SeriesInfo::scopes(Id(1), "ab", "c")[3].id();
        let b = SeriesInfo::scopes(Id(1), "a", "bc")[3].id();
        assert_ne!(a, b);
    }

    #[test]
    fn filters_pick_their_series() {
        let f = Filter {
            server: None,
            app: Some("live".into()),
            stream: Some("news".into()),
        };
        assert_eq!(
            f.series().unwrap().id(),
            SeriesInfo::scopes(Id(9), "live", "news")[5].id()
        );
        let f = Filter {
            stream: Some("news".into()),
            ..Default::default()
        };
        assert!(f.series().is_none());
        assert!(f.matches_stream_series(&SeriesInfo::scopes(Id(9), "live", "news")[5]));
    }
}
