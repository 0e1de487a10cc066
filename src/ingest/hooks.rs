//! Hook receiver state: turns pushed media-server notifications (see [`super::hook_events`])
//! into the same reports agents send, so hook servers land in the same statistics, live view
//! and alerts.
//!
//! The writer counts from *server snapshots*: each report lists every viewer connected during
//! its interval, the latest report is the server's live state, and a stream's publish flag
//! turning on or off is a publish up/down event. Hook events are transitions, so this module
//! keeps, per server, the open viewer sessions and the publish state of each stream, and the
//! flusher ([`run_flusher`]) submits a snapshot of it to the writer: soon after a change (at
//! most every [`EVENT_SPACING_S`]) and every [`HEARTBEAT_S`] while anything is open, which keeps
//! the server "online", the writer's sessions alive and view time growing.
//!
//! **No IP is kept**: a play resolves the address through the enricher (country, region, city,
//! ASN, the day's unique-viewer hash) at once, and a session holds only those results.
//! Memory is bounded: at most [`MAX_SESSIONS_PER_SERVER`] open sessions per server and
//! [`MAX_SESSIONS_TOTAL`] overall (plays past the cap are allowed but not counted), and a session
//! that stops hearing from its media server expires (see [`Hooks::take_due`]).
//! State lives in memory; a clean shutdown saves it ([`Hooks::save`], without the unique-viewer
//! hashes) and the next start restores it ([`Hooks::load`]). After a crash it is lost: sessions
//! open before are not seen to end (the writer ends them after its own timeout).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::enrich::{
    Enriched, EnrichedStream, EnrichedViewer, Enricher, HookViewer, ViewerDims, report_hash,
};
use super::hook_events::{HookEvent, Kind, Source};
use super::writer::{WriteError, Writer};
use crate::model::account::Id;
use crate::store::{MetaStore, StoreError, codec, io_error, write_atomic};

/// Least time between two event-driven snapshots of one server, seconds.
pub const EVENT_SPACING_S: i64 = 5;
/// Snapshot period of a server with open sessions or publishing streams, seconds. Shorter than
/// the "online" window of a report of [`EVENT_SPACING_S`] (2 × 5 + 15 s), so a hook server
/// never looks late between snapshots.
pub const HEARTBEAT_S: i64 = 15;
/// Most open sessions tracked per server (a snapshot must stay a valid report).
pub const MAX_SESSIONS_PER_SERVER: usize = 100_000;
/// Most open sessions tracked over all servers.
pub const MAX_SESSIONS_TOTAL: usize = 1_000_000;
/// Most streams tracked per server.
pub const MAX_STREAMS_PER_SERVER: usize = 10_000;
/// How long a stopped SRS session waits for its `on_close` (which carries the byte counters).
const CLOSE_GRACE_S: i64 = 10;
/// A session or publisher whose media server sends `on_update` heartbeats expires after three
/// missed heartbeats, but not sooner than this.
const MIN_UPDATE_IDLE_S: i64 = 90;
/// A viewer session without heartbeats expires after this long without any event: a lost
/// `on_done` (media server killed) must not count a viewer forever.
const IDLE_WITHOUT_UPDATES_S: i64 = 24 * 3600;

/// Whose state an event changes (from the hook secret, never from the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub account: Id,
    pub server: Id,
}

/// Counters exported on `/metrics`.
#[derive(Default)]
pub struct HookStats {
    /// Events applied (ignored calls included).
    pub events: AtomicU64,
    /// Plays allowed but not tracked: a cap was reached, or storage failed while counting.
    pub dropped: AtomicU64,
    /// Snapshots accepted by the writer.
    pub reports: AtomicU64,
    /// Snapshots the writer refused (retried at the next tick).
    pub report_failures: AtomicU64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    /// Unique per process, so a media server reusing a client id starts a new session.
    generation: u64,
    app: String,
    stream: String,
    hash: u64,
    uniq: u64,
    dims: ViewerDims,
    started: i64,
    last_event: i64,
    /// Seconds between the last two heartbeats, once two were seen.
    update_gap: Option<i64>,
    /// End time, once ended.
    ended: Option<i64>,
    /// SRS: stopped, waiting until then for `on_close` and its byte counts.
    close_wait_until: Option<i64>,
    /// Bytes sent to the viewer and not yet reported.
    bytes: u64,
}

impl Session {
    fn idle_limit(&self) -> i64 {
        self.update_gap
            .map_or(IDLE_WITHOUT_UPDATES_S, |g| (3 * g).max(MIN_UPDATE_IDLE_S))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StreamState {
    publishing: Option<bool>,
    /// Client id of the publisher, while publishing.
    publisher: Option<String>,
    /// Client id of the latest publisher, until its connection closes: SRS sends
    /// `on_unpublish` before the `on_close` that carries the received bytes.
    last_publisher: Option<String>,
    /// Bytes received from publishers and not yet reported.
    ingress_bytes: u64,
    last_event: i64,
    update_gap: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ServerState {
    account: Id,
    source: Source,
    /// Open sessions (and SRS sessions waiting for `on_close`), by client id.
    sessions: HashMap<String, Session>,
    /// Ended sessions, reported once more (with `ended`) and then dropped.
    finished: Vec<Session>,
    streams: BTreeMap<(String, String), StreamState>,
    /// Time of the last accepted snapshot.
    last_emit: i64,
    /// Changed since the last snapshot was taken.
    dirty: bool,
    /// A snapshot is on its way to the writer.
    in_flight: bool,
}

impl ServerState {
    fn is_idle(&self) -> bool {
        self.sessions.is_empty()
            && self.finished.is_empty()
            && self.streams.is_empty()
            && !self.dirty
            && !self.in_flight
    }

    fn stream_room(&self, key: &(String, String)) -> bool {
        self.streams.contains_key(key) || self.streams.len() < MAX_STREAMS_PER_SERVER
    }
}

#[derive(Default)]
struct Inner {
    servers: HashMap<Id, ServerState>,
    /// Open sessions over all servers.
    sessions: usize,
}

/// Layout version of the saved state.
const SAVED_VERSION: u8 = 1;

/// The open hook state as saved across a restart.
#[derive(Serialize, Deserialize)]
struct Saved {
    version: u8,
    servers: Vec<(Id, SavedServer)>,
}

#[derive(Serialize, Deserialize)]
struct SavedServer {
    account: Id,
    source: Source,
    sessions: Vec<(String, Session)>,
    streams: Vec<((String, String), StreamState)>,
}

/// What a taken snapshot contained, to clear once the writer accepted it.
#[derive(Debug, Default)]
pub struct Taken {
    finished: Vec<u64>,
    bytes: Vec<(String, u64, u64)>,
    ingress: Vec<((String, String), u64)>,
    /// Streams reported down with nothing else left: dropped once reported.
    drop_streams: Vec<(String, String)>,
}

/// A snapshot ready for the writer.
pub struct Due {
    pub server: Id,
    pub report: Enriched,
    pub taken: Taken,
}

/// The streams of one snapshot, found by borrowed names (no allocation per viewer).
#[derive(Default)]
struct StreamsBuilder<'a> {
    index: HashMap<(&'a str, &'a str), usize>,
    out: Vec<EnrichedStream>,
}

impl<'a> StreamsBuilder<'a> {
    fn get(&mut self, app: &'a str, stream: &'a str) -> &mut EnrichedStream {
        let i = *self.index.entry((app, stream)).or_insert_with(|| {
            self.out.push(EnrichedStream {
                app: app.to_string(),
                stream: stream.to_string(),
                publishing: None,
                ingress_bytes: 0,
                ingress_kbps: None,
                viewers: Vec::new(),
            });
            self.out.len() - 1
        });
        &mut self.out[i]
    }
}

/// The hook receiver state of every server.
pub struct Hooks {
    enricher: Arc<Enricher>,
    inner: Mutex<Inner>,
    /// Process-unique session generations and report ids.
    seq: AtomicU64,
    /// Random per process: report ids and session ids never repeat across restarts.
    nonce: u64,
    pub stats: HookStats,
}

impl Hooks {
    /// Empty state; `enricher` resolves viewer addresses.
    pub fn new(enricher: Arc<Enricher>) -> Hooks {
        Hooks {
            enricher,
            inner: Mutex::new(Inner::default()),
            seq: AtomicU64::new(1),
            nonce: rand::random(),
            stats: HookStats::default(),
        }
    }

    /// Open sessions over all servers.
    pub fn open_sessions(&self) -> usize {
        self.inner.lock().sessions
    }

    /// Applies one event at `now`. Consumes it: the viewer IP of a play is resolved here and
    /// not kept.
    pub fn apply(&self, target: Target, ev: HookEvent, now: i64) -> Result<(), StoreError> {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        let HookEvent {
            source,
            kind,
            client,
            app,
            stream,
            user_agent,
            protocol,
        } = ev;
        // The address lookup runs before the lock is taken: only its results go inside.
        let resolved = match kind {
            Kind::Play { ip } => {
                if self.full(target.server) {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let generation = self.seq.fetch_add(1, Ordering::Relaxed);
                let id = format!("{client}#{:016x}.{generation}", self.nonce);
                let viewer = HookViewer {
                    session: &id,
                    ip,
                    user_agent: user_agent.as_deref(),
                    protocol,
                };
                let (hash, uniq, dims) =
                    self.enricher
                        .enrich_session(target.account, target.server, viewer, now)?;
                Some(Session {
                    generation,
                    app: app.clone(),
                    stream: stream.clone(),
                    hash,
                    uniq,
                    dims,
                    started: now,
                    last_event: now,
                    update_gap: None,
                    ended: None,
                    close_wait_until: None,
                    bytes: 0,
                })
            }
            _ => None,
        };
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let creates = matches!(kind, Kind::Play { .. } | Kind::Publish | Kind::Unpublish);
        if !creates && !inner.servers.contains_key(&target.server) {
            return Ok(());
        }
        let srv = inner
            .servers
            .entry(target.server)
            .or_insert_with(|| ServerState {
                account: target.account,
                source,
                sessions: HashMap::new(),
                finished: Vec::new(),
                streams: BTreeMap::new(),
                last_emit: 0,
                dirty: false,
                in_flight: false,
            });
        srv.source = source;
        let key = (app, stream);
        match kind {
            Kind::Ignored => {}
            Kind::Play { .. } => {
                let Some(session) = resolved else {
                    return Ok(());
                };
                if srv.sessions.len() >= MAX_SESSIONS_PER_SERVER
                    || inner.sessions >= MAX_SESSIONS_TOTAL
                    || !srv.stream_room(&key)
                {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                srv.streams.entry(key).or_default();
                match srv.sessions.insert(client, session) {
                    // A reused client id: the media server restarted without telling.
                    Some(mut old) => {
                        old.ended = Some(old.ended.unwrap_or(old.last_event));
                        srv.finished.push(old);
                    }
                    None => inner.sessions += 1,
                }
                srv.dirty = true;
            }
            Kind::Publish => {
                if !srv.stream_room(&key) {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let st = srv.streams.entry(key).or_default();
                st.publishing = Some(true);
                st.last_publisher = Some(client.clone());
                st.publisher = Some(client);
                st.last_event = now;
                st.update_gap = None;
                srv.dirty = true;
            }
            Kind::Unpublish => {
                if !srv.stream_room(&key) {
                    return Ok(());
                }
                let st = srv.streams.entry(key).or_default();
                st.publishing = Some(false);
                st.publisher = None;
                st.last_event = now;
                srv.dirty = true;
            }
            Kind::Stop => {
                if let Some(s) = srv.sessions.get_mut(&client)
                    && s.ended.is_none()
                {
                    s.ended = Some(now);
                    s.last_event = now;
                    if source == Source::Srs {
                        s.close_wait_until = Some(now + CLOSE_GRACE_S);
                    } else if let Some(s) = srv.sessions.remove(&client) {
                        inner.sessions -= 1;
                        srv.finished.push(s);
                    }
                    srv.dirty = true;
                }
            }
            Kind::Done => {
                if let Some(mut s) = srv.sessions.remove(&client) {
                    inner.sessions -= 1;
                    s.ended = Some(s.ended.unwrap_or(now));
                    srv.finished.push(s);
                    srv.dirty = true;
                } else if let Some(st) = srv.streams.get_mut(&key)
                    && st.publisher.as_deref() == Some(client.as_str())
                {
                    st.publishing = Some(false);
                    st.publisher = None;
                    st.last_event = now;
                    srv.dirty = true;
                }
            }
            Kind::Close {
                send_bytes,
                recv_bytes,
            } => {
                if let Some(mut s) = srv.sessions.remove(&client) {
                    inner.sessions -= 1;
                    s.bytes += send_bytes;
                    s.ended = Some(s.ended.unwrap_or(now));
                    s.close_wait_until = None;
                    srv.finished.push(s);
                    srv.dirty = true;
                } else if let Some(st) = srv
                    .streams
                    .values_mut()
                    .find(|st| st.last_publisher.as_deref() == Some(client.as_str()))
                {
                    st.ingress_bytes += recv_bytes;
                    st.last_publisher = None;
                    if st.publisher.as_deref() == Some(client.as_str()) {
                        // The connection dropped without on_unpublish.
                        st.publishing = Some(false);
                        st.publisher = None;
                        st.last_event = now;
                    }
                    srv.dirty = true;
                }
            }
            Kind::Update => {
                if let Some(s) = srv.sessions.get_mut(&client) {
                    s.update_gap = Some((now - s.last_event).max(1));
                    s.last_event = now;
                } else if let Some(st) = srv.streams.get_mut(&key)
                    && st.publisher.as_deref() == Some(client.as_str())
                {
                    st.update_gap = Some((now - st.last_event).max(1));
                    st.last_event = now;
                }
            }
        }
        Ok(())
    }

    fn full(&self, server: Id) -> bool {
        let inner = self.inner.lock();
        inner.sessions >= MAX_SESSIONS_TOTAL
            || inner
                .servers
                .get(&server)
                .is_some_and(|s| s.sessions.len() >= MAX_SESSIONS_PER_SERVER)
    }

    /// Servers with hook state.
    pub fn servers(&self) -> Vec<Id> {
        self.inner.lock().servers.keys().copied().collect()
    }

    /// Drops a server's state (deleted server, erased or restricted account).
    pub fn forget_server(&self, server: Id) {
        let mut inner = self.inner.lock();
        if let Some(s) = inner.servers.remove(&server) {
            inner.sessions -= s.sessions.len();
        }
    }

    /// Snapshots due at `now` (all that have anything to say when `force`). Expires what went
    /// silent first.
    pub fn take_due(&self, now: i64, force: bool) -> Vec<Due> {
        // One server at a time, releasing the lock in between: building a large server's
        // snapshot must not hold up the plays of every other server.
        let ids = self.servers();
        let mut out = Vec::new();
        for id in ids {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            let Some(srv) = inner.servers.get_mut(&id) else {
                continue;
            };
            if srv.in_flight || now <= srv.last_emit {
                continue;
            }
            // Expiry: stopped SRS sessions whose on_close did not come, and silent sessions.
            let expired: Vec<String> = srv
                .sessions
                .iter()
                .filter(|(_, s)| match s.close_wait_until {
                    Some(t) => now >= t,
                    None => now - s.last_event > s.idle_limit(),
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in expired {
                if let Some(mut s) = srv.sessions.remove(&k) {
                    inner.sessions -= 1;
                    s.ended = Some(s.ended.unwrap_or(s.last_event));
                    srv.finished.push(s);
                    srv.dirty = true;
                }
            }
            for st in srv.streams.values_mut() {
                if st.publishing == Some(true)
                    && let Some(gap) = st.update_gap
                    && now - st.last_event > (3 * gap).max(MIN_UPDATE_IDLE_S)
                {
                    st.publishing = Some(false);
                    st.publisher = None;
                    srv.dirty = true;
                }
            }
            let since = now - srv.last_emit;
            let active = !srv.sessions.is_empty() || !srv.streams.is_empty();
            let due = (srv.dirty && (since >= EVENT_SPACING_S || force))
                || (active && (since >= HEARTBEAT_S || force));
            if due {
                out.push(self.snapshot(id, srv, now));
            } else if srv.is_idle() {
                inner.servers.remove(&id);
            }
        }
        out
    }

    fn snapshot(&self, id: Id, srv: &mut ServerState, now: i64) -> Due {
        let mut taken = Taken::default();
        let mut streams = StreamsBuilder::default();
        for ((app, stream), st) in &srv.streams {
            let e = streams.get(app, stream);
            e.publishing = st.publishing;
            e.ingress_bytes = st.ingress_bytes;
            if st.ingress_bytes > 0 {
                taken
                    .ingress
                    .push(((app.clone(), stream.clone()), st.ingress_bytes));
            }
        }
        for (client, s) in &srv.sessions {
            // A stopped SRS session is no longer watching; it is reported when it closes.
            if s.close_wait_until.is_some() {
                continue;
            }
            streams.get(&s.app, &s.stream).viewers.push(EnrichedViewer {
                session: s.hash,
                uniq: s.uniq,
                dims: s.dims,
                bytes: s.bytes,
                seconds: (now - s.started).max(0) as u64,
                ended: false,
            });
            if s.bytes > 0 {
                taken.bytes.push((client.clone(), s.generation, s.bytes));
            }
        }
        for s in &srv.finished {
            let end = s.ended.unwrap_or(now);
            streams.get(&s.app, &s.stream).viewers.push(EnrichedViewer {
                session: s.hash,
                uniq: s.uniq,
                dims: s.dims,
                bytes: s.bytes,
                seconds: (end - s.started).max(0) as u64,
                ended: true,
            });
            taken.finished.push(s.generation);
        }
        for (key, st) in &srv.streams {
            let watched = srv
                .sessions
                .values()
                .any(|s| s.app == key.0 && s.stream == key.1);
            if st.publishing != Some(true) && !watched {
                taken.drop_streams.push(key.clone());
            }
        }
        let interval = if srv.last_emit > 0 {
            (now - srv.last_emit).clamp(1, HEARTBEAT_S)
        } else {
            EVENT_SPACING_S
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        srv.dirty = false;
        srv.in_flight = true;
        Due {
            server: id,
            report: Enriched {
                account: srv.account,
                server: id,
                report_hash: report_hash(&format!("hooks-{:016x}-{seq}", self.nonce)),
                time: now,
                interval_s: interval as u32,
                software: Some(srv.source.software().to_string()),
                version: None,
                host: None,
                streams: streams.out,
            },
            taken,
        }
    }

    /// Writes the open state to `path` (at shutdown, after the last snapshot was stored), so a
    /// restart neither loses the viewers watching now nor misses their end. The unique-viewer
    /// hashes are left out: with the day's salt beside them they would identify addresses.
    pub fn save(&self, path: &Path) -> Result<usize, StoreError> {
        let inner = self.inner.lock();
        let mut servers: Vec<(Id, &ServerState)> = inner
            .servers
            .iter()
            .filter(|(_, s)| !s.sessions.is_empty() || !s.streams.is_empty())
            .map(|(id, s)| (*id, s))
            .collect();
        servers.sort_by_key(|(id, _)| *id);
        if servers.is_empty() {
            return Ok(0);
        }
        let saved = Saved {
            version: SAVED_VERSION,
            servers: servers
                .into_iter()
                .map(|(id, s)| {
                    let mut s = SavedServer {
                        account: s.account,
                        source: s.source,
                        sessions: s.sessions.clone().into_iter().collect(),
                        streams: s.streams.clone().into_iter().collect(),
                    };
                    for (_, sess) in &mut s.sessions {
                        sess.uniq = 0;
                    }
                    (id, s)
                })
                .collect(),
        };
        let bytes = codec::encode(&saved)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error)?;
        }
        write_atomic(path, &bytes)?;
        Ok(inner.sessions)
    }

    /// Restores what [`Hooks::save`] wrote, for the servers `keep` accepts (deleted servers and
    /// restricted accounts are dropped), and deletes the file. Returns the sessions restored.
    pub fn load(&self, path: &Path, keep: impl Fn(Id) -> bool) -> Result<usize, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_error(e)),
        };
        std::fs::remove_file(path).map_err(io_error)?;
        let saved = match codec::decode::<Saved>(&bytes) {
            Ok(s) if s.version == SAVED_VERSION => s,
            // Another layout: the state is lost, as after a crash; nothing else depends on it.
            _ => return Ok(0),
        };
        let mut inner = self.inner.lock();
        let mut restored = 0;
        for (id, s) in saved.servers {
            if !keep(id) || inner.servers.contains_key(&id) {
                continue;
            }
            // A restored session's viewer was counted today already; one stand-in hash per
            // server keeps it from being counted as unique again more than once.
            let uniq = id.0.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
            let sessions: HashMap<String, Session> = s
                .sessions
                .into_iter()
                .map(|(k, mut sess)| {
                    sess.uniq = uniq;
                    (k, sess)
                })
                .collect();
            restored += sessions.len();
            inner.sessions += sessions.len();
            inner.servers.insert(
                id,
                ServerState {
                    account: s.account,
                    source: s.source,
                    sessions,
                    finished: Vec::new(),
                    streams: s.streams.into_iter().collect(),
                    last_emit: 0,
                    dirty: true,
                    in_flight: false,
                },
            );
        }
        Ok(restored)
    }

    /// The writer accepted the snapshot taken at `time`: clears what it reported.
    pub fn acknowledge(&self, server: Id, time: i64, taken: Taken) {
        let mut inner = self.inner.lock();
        let Some(srv) = inner.servers.get_mut(&server) else {
            return;
        };
        srv.in_flight = false;
        srv.last_emit = time;
        let reported_end = !taken.finished.is_empty() || !taken.drop_streams.is_empty();
        srv.finished
            .retain(|s| !taken.finished.contains(&s.generation));
        for (client, generation, bytes) in taken.bytes {
            if let Some(s) = srv.sessions.get_mut(&client)
                && s.generation == generation
            {
                s.bytes = s.bytes.saturating_sub(bytes);
            }
        }
        for (key, bytes) in taken.ingress {
            if let Some(st) = srv.streams.get_mut(&key) {
                st.ingress_bytes = st.ingress_bytes.saturating_sub(bytes);
            }
        }
        for key in taken.drop_streams {
            let watched = srv
                .sessions
                .values()
                .any(|s| s.app == key.0 && s.stream == key.1);
            if let Some(st) = srv.streams.get(&key)
                && st.publishing != Some(true)
                && st.ingress_bytes == 0
                && !watched
            {
                srv.streams.remove(&key);
            }
        }
        // The live view shows the latest snapshot; one more, without what just ended, makes
        // it show the present.
        if reported_end {
            srv.dirty = true;
        }
        if srv.is_idle() {
            inner.servers.remove(&server);
        }
    }

    /// The writer refused the snapshot: it is taken again at the next tick.
    pub fn retry(&self, server: Id) {
        let mut inner = self.inner.lock();
        if let Some(srv) = inner.servers.get_mut(&server) {
            srv.in_flight = false;
            srv.dirty = true;
        }
    }
}

/// Submits due snapshots to the writer once a second until `stop` resolves, then once more with
/// everything pending. Servers deleted meanwhile, or of accounts whose processing is
/// restricted, lose their hook state instead.
pub async fn run_flusher(
    hooks: Arc<Hooks>,
    writer: Writer,
    meta: MetaStore,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut stop = stop;
    loop {
        let stopping = *stop.borrow();
        flush(&hooks, &writer, &meta, crate::now(), stopping).await;
        if stopping {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One flusher pass at `now`.
pub async fn flush(hooks: &Hooks, writer: &Writer, meta: &MetaStore, now: i64, force: bool) {
    for id in hooks.servers() {
        let keep = match meta.server(id) {
            Ok(Some(s)) => match meta.account(s.account_id) {
                Ok(Some(a)) => !a.processing_restricted,
                Ok(None) => false,
                Err(_) => true,
            },
            Ok(None) => false,
            // A storage hiccup: keep the state and try again.
            Err(_) => true,
        };
        if !keep {
            hooks.forget_server(id);
        }
    }
    let due = hooks.take_due(now, force);
    let results = futures::future::join_all(due.into_iter().map(|d| async move {
        let time = d.report.time;
        let res = writer.submit(d.report).await;
        (d.server, time, d.taken, res)
    }))
    .await;
    for (server, time, taken, res) in results {
        match res {
            Ok(_) => {
                hooks.stats.reports.fetch_add(1, Ordering::Relaxed);
                hooks.acknowledge(server, time, taken);
            }
            // An erased account, or the writer stopping: nothing more to say for it.
            Err(WriteError::Stopped) => hooks.forget_server(server),
            Err(e) => {
                hooks.stats.report_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(server = %server, error = %e, "hook snapshot not stored; retrying");
                hooks.retry(server);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geoip::{GeoIp, GeoIpConfig};
    use crate::ingest::dict::DimDict;
    use crate::ingest::salt::Salts;
    use crate::ingest::useragent::UserAgents;

    const T: i64 = 1_795_608_000;
    const TARGET: Target = Target {
        account: Id(3),
        server: Id(5),
    };

    fn hooks(dir: &tempfile::TempDir) -> Hooks {
        let geo = Arc::new(GeoIp::open(&GeoIpConfig::default()).unwrap());
        let ua = Arc::new(UserAgents::new().unwrap());
        let dict = Arc::new(DimDict::from_entries(Vec::new()));
        let salts = Arc::new(Salts::new(dir.path().to_path_buf()));
        Hooks::new(Arc::new(Enricher::new(geo, ua, dict, salts, &[7; 32])))
    }

    fn ev(source: Source, kind: Kind, client: &str, stream: &str) -> HookEvent {
        HookEvent {
            source,
            kind,
            client: client.into(),
            app: "live".into(),
            stream: stream.into(),
            user_agent: None,
            protocol: "rtmp",
        }
    }

    fn play() -> Kind {
        Kind::Play {
            ip: "81.2.69.142".parse().unwrap(),
        }
    }

    /// Takes the one due snapshot at `now` and acknowledges it.
    fn take(h: &Hooks, now: i64) -> Option<Enriched> {
        let mut due = h.take_due(now, false);
        assert!(due.len() <= 1);
        let d = due.pop()?;
        let report = d.report.clone();
        h.acknowledge(d.server, report.time, d.taken);
        Some(report)
    }

    fn viewers(r: &Enriched) -> Vec<(u64, u64, bool)> {
        r.streams
            .iter()
            .flat_map(|s| s.viewers.iter().map(|v| (v.seconds, v.bytes, v.ended)))
            .collect()
    }

    #[test]
    fn nginx_play_and_done_make_one_ended_session_then_the_server_goes_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let n = Source::NginxRtmp;
        h.apply(TARGET, ev(n, Kind::Publish, "1", "s"), T).unwrap();
        h.apply(TARGET, ev(n, play(), "4", "s"), T).unwrap();
        let r = take(&h, T + 1).unwrap();
        assert_eq!(r.streams[0].publishing, Some(true));
        assert_eq!(viewers(&r), vec![(1, 0, false)]);
        assert_eq!(r.software.as_deref(), Some("nginx-rtmp"));
        // Nothing changed: no snapshot until the heartbeat.
        assert!(take(&h, T + 10).is_none());
        assert_eq!(viewers(&take(&h, T + 16).unwrap()), vec![(16, 0, false)]);
        h.apply(TARGET, ev(n, Kind::Stop, "4", "s"), T + 20)
            .unwrap();
        h.apply(TARGET, ev(n, Kind::Done, "4", "s"), T + 20)
            .unwrap();
        h.apply(TARGET, ev(n, Kind::Unpublish, "1", "s"), T + 20)
            .unwrap();
        assert_eq!(h.open_sessions(), 0);
        // Event snapshots are spaced: the next one comes 5 s after the last.
        assert!(take(&h, T + 20).is_none());
        let r = take(&h, T + 21).unwrap();
        assert_eq!(viewers(&r), vec![(20, 0, true)]);
        assert_eq!(r.streams[0].publishing, Some(false));
        // One more, empty, so the live view shows nobody; then the server is forgotten.
        let r = take(&h, T + 26).unwrap();
        assert!(r.streams.is_empty(), "{r:?}");
        assert!(take(&h, T + 60).is_none());
        assert!(h.servers().is_empty());
    }

    #[test]
    fn srs_stop_waits_for_close_and_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let s = Source::Srs;
        h.apply(TARGET, ev(s, play(), "a", "s"), T).unwrap();
        h.apply(TARGET, ev(s, play(), "b", "s"), T).unwrap();
        take(&h, T + 1).unwrap();
        h.apply(TARGET, ev(s, Kind::Stop, "a", "s"), T + 10)
            .unwrap();
        h.apply(TARGET, ev(s, Kind::Stop, "b", "s"), T + 10)
            .unwrap();
        // Stopped: no longer live, not yet reported as ended.
        assert!(viewers(&take(&h, T + 11).unwrap()).is_empty());
        let close = Kind::Close {
            send_bytes: 500,
            recv_bytes: 3,
        };
        h.apply(TARGET, ev(s, close, "a", ""), T + 12).unwrap();
        assert_eq!(viewers(&take(&h, T + 16).unwrap()), vec![(10, 500, true)]);
        // b never closes: it ends without bytes when the grace runs out.
        assert_eq!(viewers(&take(&h, T + 21).unwrap()), vec![(10, 0, true)]);
    }

    #[test]
    fn a_reused_client_id_is_a_new_session() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let n = Source::NginxRtmp;
        h.apply(TARGET, ev(n, play(), "7", "s"), T).unwrap();
        h.apply(TARGET, ev(n, play(), "7", "s"), T + 3).unwrap();
        let r = take(&h, T + 4).unwrap();
        let v = &r.streams[0].viewers;
        assert_eq!(v.len(), 2);
        assert_ne!(v[0].session, v[1].session);
        assert_eq!(v.iter().filter(|v| v.ended).count(), 1);
        assert_eq!(h.open_sessions(), 1);
    }

    #[test]
    fn silent_sessions_and_publishers_expire() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let n = Source::NginxRtmp;
        h.apply(TARGET, ev(n, Kind::Publish, "1", "s"), T).unwrap();
        h.apply(TARGET, ev(n, play(), "4", "s"), T).unwrap();
        h.apply(TARGET, ev(n, Kind::Update, "1", "s"), T + 30)
            .unwrap();
        h.apply(TARGET, ev(n, Kind::Update, "4", "s"), T + 30)
            .unwrap();
        take(&h, T + 31).unwrap();
        // Three missed 30 s heartbeats: ended at the last sign of life.
        let r = take(&h, T + 125).unwrap();
        assert_eq!(viewers(&r), vec![(30, 0, true)]);
        assert_eq!(r.streams[0].publishing, Some(false));
        assert_eq!(h.open_sessions(), 0);
    }

    #[test]
    fn refused_snapshots_are_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let n = Source::NginxRtmp;
        h.apply(TARGET, ev(n, play(), "4", "s"), T).unwrap();
        h.apply(TARGET, ev(n, Kind::Done, "4", "s"), T + 2).unwrap();
        let d = h.take_due(T + 3, false).pop().unwrap();
        assert!(
            h.take_due(T + 4, false).is_empty(),
            "one snapshot in flight at a time"
        );
        h.retry(d.server);
        assert_eq!(viewers(&take(&h, T + 5).unwrap()), vec![(2, 0, true)]);
    }

    #[test]
    fn events_for_servers_without_state_create_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let n = Source::NginxRtmp;
        for kind in [Kind::Done, Kind::Stop, Kind::Update, Kind::Ignored] {
            h.apply(TARGET, ev(n, kind, "4", "s"), T).unwrap();
        }
        assert!(h.servers().is_empty());
        h.forget_server(TARGET.server);
        assert_eq!(h.open_sessions(), 0);
    }

    #[test]
    fn a_full_server_allows_plays_without_tracking_them() {
        let dir = tempfile::tempdir().unwrap();
        let h = hooks(&dir);
        let n = Source::NginxRtmp;
        let started = std::time::Instant::now();
        for i in 0..=MAX_SESSIONS_PER_SERVER {
            let ip = std::net::Ipv4Addr::from(0x5100_0000 + i as u32).into();
            h.apply(TARGET, ev(n, Kind::Play { ip }, &i.to_string(), "s"), T)
                .unwrap();
        }
        let applied = started.elapsed();
        assert_eq!(h.open_sessions(), MAX_SESSIONS_PER_SERVER);
        assert_eq!(h.stats.dropped.load(Ordering::Relaxed), 1);
        let started = std::time::Instant::now();
        let d = h.take_due(T + 1, false).pop().unwrap();
        let took = started.elapsed();
        assert_eq!(d.report.viewer_count(), MAX_SESSIONS_PER_SERVER);
        eprintln!(
            "{MAX_SESSIONS_PER_SERVER} plays applied in {applied:?}, snapshot taken in {took:?}"
        );
    }
}
