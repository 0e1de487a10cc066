//! The writer: the single thread that owns aggregation state and storage writes.
//!
//! HTTP workers validate and enrich reports and push them into a bounded queue. The writer
//! takes whatever is queued (group commit), checks for duplicates, appends the batch to the
//! journal with one sync, applies it to in-memory state, then acknowledges every report in the
//! batch. Every few seconds (or when a query asks for fresh data) a **checkpoint** folds the
//! accumulated minute deltas into the rollup partitions at all resolutions, flushes them,
//! writes a state snapshot and deletes the journal segment. Each partition records the last
//! checkpoint it absorbed, so replay after a crash never counts anything twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::dict::DimDict;
use super::enrich::{Enriched, HostSample, ViewerDims};
use super::wal::{self, Wal, WalEntry};
use crate::model::account::Id;
use crate::model::hll::{Hll, StoredHll};
use crate::model::rollup::{DimKey, DimStat, Dims, Resolution, Scalars, duration_bucket};
use crate::model::series::SeriesInfo;
use crate::store::partitions::{Class, Fold, PartitionId, Partitions};
use crate::store::{MetaStore, StoreError, write_atomic};

/// Result of one accepted (or duplicate) report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub duplicate: bool,
    pub streams: usize,
    pub viewers: usize,
}

/// Why a report was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the writer queue is full")]
    Busy,
    #[error("the writer has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a report's outcome is sent.
type AckSender = oneshot::Sender<Result<Ack, WriteError>>;

enum Job {
    Report(Box<Enriched>, oneshot::Sender<Result<Ack, WriteError>>),
    Sync(oneshot::Sender<Result<(), WriteError>>),
    ForgetServer(Id),
    ForgetAccount(Id, oneshot::Sender<Result<(), WriteError>>),
    Shutdown(oneshot::Sender<Result<(), WriteError>>),
    /// The checkpoint thread finished checkpoint `id`.
    CheckpointDone(u64, Vec<u8>),
}

/// What the panel knows right now about one stream (from its server's latest report).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamLive {
    pub viewers: u32,
    pub publishing: Option<bool>,
    pub ingress_kbps: Option<f64>,
    pub bytes_out: u64,
    pub last_seen: i64,
}

/// What the panel knows right now about one server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerLive {
    pub account: Option<Id>,
    pub last_report_at: i64,
    /// Wall-clock second the server's latest report arrived (this process's start for one
    /// restored from the snapshot). A server that stops reporting ends its sessions by this,
    /// not by the report times, which run hours behind the clock while an agent back-fills.
    #[serde(skip, default = "crate::now")]
    pub heard_at: i64,
    pub interval_s: u32,
    pub software: Option<String>,
    pub version: Option<String>,
    pub host: Option<HostSample>,
    pub streams: HashMap<(String, String), StreamLive>,
}

impl ServerLive {
    /// Viewers in the latest report.
    pub fn viewers(&self) -> u64 {
        self.streams.values().map(|s| s.viewers as u64).sum()
    }

    /// Outgoing bandwidth of the latest interval, bits per second.
    pub fn bandwidth_bps(&self) -> f64 {
        let bytes: u64 = self.streams.values().map(|s| s.bytes_out).sum();
        bytes as f64 * 8.0 / self.interval_s.max(1) as f64
    }
}

/// Live state shared with the query side.
pub type Live = Arc<RwLock<HashMap<Id, ServerLive>>>;

/// Counters exported on `/metrics`.
#[derive(Default)]
pub struct WriterStats {
    pub reports: AtomicU64,
    pub viewers: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected_busy: AtomicU64,
    pub write_errors: AtomicU64,
    pub queued_viewers: AtomicUsize,
    pub commits: AtomicU64,
    pub commit_us_total: AtomicU64,
    pub checkpoints: AtomicU64,
    pub checkpoint_us_last: AtomicU64,
    pub sessions: AtomicUsize,
    /// Times the writer waited for the checkpoint thread because too much was pending.
    pub backpressure_waits: AtomicU64,
}

/// Handle used by HTTP workers to submit reports.
#[derive(Clone)]
pub struct Writer {
    tx: SyncSender<Job>,
    max_queued_viewers: usize,
    pub stats: Arc<WriterStats>,
    pub live: Live,
    gate: Arc<RwLock<()>>,
}

impl Writer {
    /// The checkpoint gate: while someone holds it for writing (a backup copying the
    /// partitions), no checkpoint is written, so the partitions and the checkpoint snapshot
    /// stay still; the writer keeps journaling and acknowledging reports meanwhile.
    pub fn checkpoint_gate(&self) -> Arc<RwLock<()>> {
        self.gate.clone()
    }

    /// Queues a report and waits until it is durable (or rejected).
    pub async fn submit(&self, report: Enriched) -> Result<Ack, WriteError> {
        let n = report.viewer_count().max(1);
        let queued = self.stats.queued_viewers.fetch_add(n, Ordering::AcqRel);
        if queued + n > self.max_queued_viewers && queued > 0 {
            self.stats.queued_viewers.fetch_sub(n, Ordering::AcqRel);
            self.stats.rejected_busy.fetch_add(1, Ordering::Relaxed);
            return Err(WriteError::Busy);
        }
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send(Job::Report(Box::new(report), tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.queued_viewers.fetch_sub(n, Ordering::AcqRel);
                self.stats.rejected_busy.fetch_add(1, Ordering::Relaxed);
                return Err(WriteError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.stats.queued_viewers.fetch_sub(n, Ordering::AcqRel);
                return Err(WriteError::Stopped);
            }
        }
        rx.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// Waits until everything acknowledged so far is visible to queries.
    pub async fn sync(&self) -> Result<(), WriteError> {
        let (tx, rx) = oneshot::channel();
        self.send_blocking_free(Job::Sync(tx))?;
        rx.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// Drops live state of a deleted server.
    pub fn forget_server(&self, server: Id) {
        let _ = self.send_blocking_free(Job::ForgetServer(server));
    }

    /// Drops every trace of an account from writer state (erasure).
    pub async fn forget_account(&self, account: Id) -> Result<(), WriteError> {
        let (tx, rx) = oneshot::channel();
        self.send_blocking_free(Job::ForgetAccount(account, tx))?;
        rx.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// Final checkpoint and stop.
    pub async fn shutdown(&self) -> Result<(), WriteError> {
        let (tx, rx) = oneshot::channel();
        self.send_blocking_free(Job::Shutdown(tx))?;
        rx.await.unwrap_or(Err(WriteError::Stopped))
    }

    fn send_blocking_free(&self, job: Job) -> Result<(), WriteError> {
        // Control messages may wait briefly for room; they are rare and small.
        let mut job = job;
        for _ in 0..2000 {
            match self.tx.try_send(job) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(j)) => {
                    job = j;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Disconnected(_)) => return Err(WriteError::Stopped),
            }
        }
        Err(WriteError::Busy)
    }
}

/// A viewer session being tracked.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    account: Id,
    server: Id,
    app: String,
    stream: String,
    dims: ViewerDims,
    last_seconds: u64,
    last_time: i64,
    ended: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct StreamMinute {
    account: Id,
    server: Id,
    app: String,
    stream: String,
    minute: i64,
}

#[derive(Default)]
struct Delta {
    scalars: Scalars,
    dims: Dims,
}

/// Everything accumulated since the last checkpoint.
#[derive(Default)]
struct Pending {
    streams: HashMap<StreamMinute, Delta>,
    hosts: HashMap<(Id, Id, i64), Scalars>,
    peaks: HashMap<(Id, u64, i64), u32>,
    series: HashMap<(Id, u64), SeriesInfo>,
    uniq: HashMap<StreamMinute, Hll>,
    dedupe: Vec<(Id, u64, i64)>,
    dedupe_set: HashSet<(Id, u64)>,
    dims: Vec<(u32, String)>,
    dirty: bool,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    checkpoint: u64,
    sessions: Vec<(u64, Box<Session>)>,
    live: Vec<(Id, ServerLive)>,
    concurrent: Vec<((Id, u64), i64)>,
}

/// [`Snapshot`] as the writer encodes it, straight from its state: no copy, not even a list of
/// references (same encoding: serde writes a reference like the value, and a map's entries as
/// a sequence of pairs like a `Vec` of pairs).
#[derive(Serialize)]
struct SnapshotRef<'a> {
    checkpoint: u64,
    sessions: Pairs<'a, u64, Box<Session>>,
    live: Pairs<'a, Id, ServerLive>,
    concurrent: Vec<((Id, u64), i64)>,
}

/// A map serialized as the sequence of its `(key, value)` pairs.
struct Pairs<'a, K, V>(&'a HashMap<K, V>);

impl<K: Serialize, V: Serialize> Serialize for Pairs<'_, K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

/// One checkpoint handed from the writer to the checkpoint thread.
struct Work {
    id: u64,
    pending: Pending,
    /// The encoded [`Snapshot`].
    snap: Vec<u8>,
}

/// Rough size of what the writer holds for the next checkpoint, in bytes. Past it the next
/// checkpoint starts at once (after the one in flight, if any: then ingest meets a full queue,
/// 429, rather than memory growing).
pub const PENDING_LIMIT_BYTES: usize = 16 << 20;

/// Checkpoints asked for by queries start no sooner than this many times the duration of the
/// last checkpoint after it ended (see `State::query_checkpoint_at`).
const QUERY_CHECKPOINT_SPACING: u32 = 2;

/// Partitions nobody used for this long are closed (sled keeps much of an open database in
/// memory; a closed one costs nothing until it is read again).
const PARTITION_IDLE: Duration = Duration::from_secs(30);

impl Pending {
    fn approx_bytes(&self) -> usize {
        const ENTRY: usize = 64;
        let dims: usize = self.streams.values().map(|d| d.dims.0.capacity()).sum();
        self.streams.capacity() * 160
            + dims * ENTRY
            + self.uniq.capacity() * (4096 + 96)
            + (self.hosts.capacity() + self.peaks.capacity() + self.series.capacity()) * ENTRY
            + self.dedupe.capacity() * 24
            + self.dedupe_set.capacity() * 24
    }
}

/// Folds checkpoints into storage. Runs on its own thread so that ingest acknowledgements never
/// wait for rollup writes; the writer keeps journaling meanwhile.
struct Checkpointer {
    dir: PathBuf,
    meta: MetaStore,
    parts: Arc<Partitions>,
    stats: Arc<WriterStats>,
    done: Arc<(parking_lot::Mutex<u64>, parking_lot::Condvar)>,
    /// See [`Writer::checkpoint_gate`].
    gate: Arc<RwLock<()>>,
}

impl Checkpointer {
    fn write(&self, work: &Work) -> Result<(), StoreError> {
        let _gate = self.gate.read();
        let started = Instant::now();
        // One storage class at a time: the folds of every resolution at once would hold several
        // copies of the pending breakdowns.
        for class in Class::ALL {
            let folds = build_folds(&work.pending, class, |id| self.parts.resolve(id));
            for (pid, fold) in &folds {
                if fold.is_empty() {
                    continue;
                }
                let Some(part) = self.parts.get(pid, true)? else {
                    continue;
                };
                if part.applied()? >= work.id {
                    continue;
                }
                part.apply(work.id, fold)?;
                part.flush()?;
            }
        }
        self.meta.put_dims(&work.pending.dims)?;
        self.meta.remember_reports(&work.pending.dedupe)?;
        self.meta.flush()?;
        write_atomic(&snapshot_path(&self.dir), &work.snap)?;
        wal::delete_segments_through(&self.dir.join("wal"), work.id)?;
        self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        self.stats
            .checkpoint_us_last
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        let (lock, cv) = &*self.done;
        let mut done = lock.lock();
        *done = (*done).max(work.id);
        cv.notify_all();
        Ok(())
    }

    /// Retries until the checkpoint is stored: its journal segment is only deleted afterwards,
    /// so nothing is lost meanwhile (a full disk also stops new reports with 507).
    ///
    /// After a failure every database handle is dropped and re-opened before the next try: sled
    /// keeps failing every call of a database whose write once failed (a full disk), even after
    /// space came back. Re-opening recovers it from its files like after a crash, and the
    /// checkpoint id each partition stores with its data keeps the retry from counting twice.
    fn write_until_stored(&self, work: &Work) {
        let mut failures = 0u32;
        loop {
            match self.write(work) {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(
                            checkpoint = work.id,
                            failures,
                            "checkpoint stored after retrying"
                        );
                    }
                    return;
                }
                Err(e) => {
                    self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                    if failures == 0 {
                        tracing::error!(error = %e, checkpoint = work.id, "checkpoint failed; retrying");
                    }
                    failures += 1;
                    std::thread::sleep(Duration::from_millis(250 * u64::from(failures.min(8))));
                    self.reopen_stores();
                }
            }
        }
    }

    /// Drops the open partitions and re-opens the meta database if it fails too (see
    /// [`Checkpointer::write_until_stored`]). A healthy meta database is kept: its handle is
    /// shared with every request.
    fn reopen_stores(&self) {
        self.parts.close_all();
        if self.meta.flush().is_err()
            && let Err(e) = self.meta.reopen()
        {
            tracing::warn!(error = %e, "re-opening the meta database failed; retrying");
        }
    }

    fn wait_for(&self, id: u64) {
        let (lock, cv) = &*self.done;
        let mut done = lock.lock();
        while *done < id {
            cv.wait(&mut done);
        }
    }
}

struct State {
    meta: MetaStore,
    parts: Arc<Partitions>,
    dict: Arc<DimDict>,
    live: Live,
    stats: Arc<WriterStats>,
    ckpt: Arc<Checkpointer>,
    ckpt_tx: Option<SyncSender<Work>>,
    /// Checkpoint being written by the checkpoint thread.
    busy: Option<u64>,
    /// Queries waiting for a checkpoint `>= id`.
    waiters: Vec<(u64, oneshot::Sender<Result<(), WriteError>>)>,
    wal: Wal,

    checkpoint: u64,
    /// Sessions by keyed session hash. Boxed: under churn the table settles at twice the
    /// buckets its live entries need (hashbrown grows instead of clearing tombstones while
    /// more than half full), so every byte of an entry counts twice; with the session inline
    /// (120 bytes a bucket) 335,000 sessions went from a 63 MB table to a 127 MB one in one
    /// step, 25 to 50 minutes into a soak; boxed it is 9 MB, then 18 MB, plus 38 MB of sessions.
    sessions: HashMap<u64, Box<Session>>,
    concurrent: HashMap<(Id, u64), i64>,
    pending: Pending,
    /// Dictionary entries whose journal append failed; logged with the next batch.
    retry_dims: Vec<(u32, String)>,
    /// The buffer of a written snapshot, handed back by the checkpoint thread for the next one.
    spare_snapshot: Vec<u8>,
    /// When the last checkpoint started.
    last_checkpoint: Instant,
    /// Earliest a query may start a checkpoint: see [`State::query_checkpoint_at`].
    query_checkpoint_at: Instant,
    /// Erased accounts: reports still in flight for them are refused, so nothing of them is
    /// written again after the erasure.
    forgotten: HashSet<Id>,
    /// See [`WriterConfig::reserve_bytes`].
    reserve_bytes: u64,
    /// Free space was below the reserve at the last commit.
    low_space: bool,
}

/// Writer settings.
pub struct WriterConfig {
    pub data_dir: PathBuf,
    pub max_queued_viewers: usize,
    pub checkpoint_every: Duration,
    /// Free space kept back for checkpoints: new reports are refused (507) once less than this
    /// is available. See [`DISK_RESERVE_BYTES`].
    pub reserve_bytes: u64,
}

/// Default for [`WriterConfig::reserve_bytes`].
///
/// Why a reserve: sled turns the first failed write of a database into an error it returns
/// for every later call until the database is re-opened. Refusing reports while this much
/// space is still free leaves room for the checkpoints that fold what was already acknowledged,
/// and for logins and settings, so a full disk normally never reaches sled at all. When it does
/// anyway (another process filled the disk in one go), the checkpoint re-opens the databases
/// and retries; see [`Checkpointer::write_until_stored`].
pub const DISK_RESERVE_BYTES: u64 = 16 << 20;

fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join("state").join("checkpoint.bin")
}

/// The state snapshot of the last checkpoint, `None` before the first one. A damaged file is
/// reported with its path: the sessions in it cannot be rebuilt from anything else.
fn read_snapshot(dir: &Path) -> Result<Option<Snapshot>, StoreError> {
    let path = snapshot_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => crate::store::codec::decode(&bytes).map(Some).map_err(|e| {
            StoreError::Corrupt(format!(
                "{} cannot be read ({e}); restore the data directory from a backup \
                 (tally restore)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::store::io_error(e)),
    }
}

/// For `tally check`: the checkpoint and the number of sessions in the state snapshot of the
/// stopped data directory `dir` (`None` before the first checkpoint).
pub fn inspect_snapshot(dir: &Path) -> Result<Option<(u64, usize)>, StoreError> {
    Ok(read_snapshot(dir)?.map(|s| (s.checkpoint, s.sessions.len())))
}

/// Starts the writer thread after recovering state from the snapshot and the journal.
pub fn start(
    cfg: WriterConfig,
    meta: MetaStore,
    parts: Arc<Partitions>,
    dict: Arc<DimDict>,
) -> Result<(Writer, std::thread::JoinHandle<()>), StoreError> {
    let live: Live = Arc::new(RwLock::new(HashMap::new()));
    let stats = Arc::new(WriterStats::default());
    let mut state = State::recover(
        &cfg.data_dir,
        cfg.reserve_bytes,
        meta,
        parts,
        dict,
        live.clone(),
        stats.clone(),
    )?;
    let (tx, rx) = std::sync::mpsc::sync_channel(4096);
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Work>(1);
    let ckpt = state.ckpt.clone();
    let gate = state.ckpt.gate.clone();
    let notify = tx.clone();
    std::thread::Builder::new()
        .name("tally-checkpoint".into())
        .spawn(move || {
            while let Ok(work) = work_rx.recv() {
                ckpt.write_until_stored(&work);
                if notify
                    .send(Job::CheckpointDone(work.id, work.snap))
                    .is_err()
                {
                    return;
                }
            }
        })
        .map_err(StoreError::Io)?;
    state.ckpt_tx = Some(work_tx);
    let every = cfg.checkpoint_every;

    let handle = std::thread::Builder::new()
        .name("tally-writer".into())
        .spawn(move || state.run(rx, every))
        .map_err(StoreError::Io)?;
    Ok((
        Writer {
            tx,
            max_queued_viewers: cfg.max_queued_viewers,
            stats,
            live,
            gate,
        },
        handle,
    ))
}

impl State {
    fn recover(
        dir: &Path,
        reserve_bytes: u64,
        meta: MetaStore,
        parts: Arc<Partitions>,
        dict: Arc<DimDict>,
        live: Live,
        stats: Arc<WriterStats>,
    ) -> Result<State, StoreError> {
        let wal_dir = dir.join("wal");
        let mut checkpoint = 0;
        let mut sessions = HashMap::new();
        let mut concurrent = HashMap::new();
        if let Some(snap) = read_snapshot(dir)? {
            checkpoint = snap.checkpoint;
            sessions = snap.sessions.into_iter().collect();
            concurrent = snap.concurrent.into_iter().collect();
            *live.write() = snap.live.into_iter().collect();
        }
        let segments: Vec<u64> = wal::segments(&wal_dir)?
            .into_iter()
            .filter(|s| *s > checkpoint)
            .collect();
        let last = segments.last().copied();
        if let Some(seq) = last {
            let cut = wal::truncate_torn_tail(&wal_dir, seq)?;
            if cut > 0 {
                tracing::warn!(
                    bytes = cut,
                    "dropped a torn journal tail (a report that was never acknowledged)"
                );
            }
        }
        let ckpt = Arc::new(Checkpointer {
            dir: dir.to_path_buf(),
            meta: meta.clone(),
            parts: parts.clone(),
            stats: stats.clone(),
            done: Arc::new((
                parking_lot::Mutex::new(checkpoint),
                parking_lot::Condvar::new(),
            )),
            gate: Arc::new(RwLock::new(())),
        });
        let mut state = State {
            meta,
            parts,
            dict,
            live,
            stats,
            ckpt,
            ckpt_tx: None,
            busy: None,
            waiters: Vec::new(),
            wal: Wal::open(&wal_dir, last.map_or(checkpoint + 1, |l| l + 1))?,
            checkpoint,
            sessions,
            concurrent,
            pending: Pending::default(),
            retry_dims: Vec::new(),
            spare_snapshot: Vec::new(),
            last_checkpoint: Instant::now(),
            query_checkpoint_at: Instant::now(),
            forgotten: HashSet::new(),
            reserve_bytes,
            low_space: false,
        };
        // Replay segment by segment, checkpointing each under its own id: a partition that
        // already absorbed a segment before the crash recognises the id and skips it.
        let mut replayed = 0usize;
        for seq in &segments {
            for entry in wal::read_segment(&wal_dir, *seq)? {
                match entry {
                    WalEntry::Dims(d) => {
                        state.dict.restore(&d);
                        state.pending.dims.extend(d);
                    }
                    WalEntry::Report(r) => {
                        state.apply(&r);
                        replayed += 1;
                    }
                }
            }
            state.pending.dirty = true;
            let work = state.make_work(*seq)?;
            state.ckpt.write(&work)?;
            state.checkpoint = *seq;
        }
        if replayed > 0 {
            tracing::info!(
                reports = replayed,
                segments = segments.len(),
                "replayed the ingest journal"
            );
        }
        state
            .stats
            .sessions
            .store(state.sessions.len(), Ordering::Relaxed);
        Ok(state)
    }

    fn run(&mut self, rx: Receiver<Job>, every: Duration) {
        let mut batch: Vec<Job> = Vec::with_capacity(512);
        let mut last_bound_check = Instant::now();
        let mut last_idle_close = Instant::now();
        loop {
            let mut wait = every.saturating_sub(self.last_checkpoint.elapsed());
            if !self.waiters.is_empty() && self.busy.is_none() {
                wait = wait.min(
                    self.query_checkpoint_at
                        .saturating_duration_since(Instant::now()),
                );
            }
            let wait = wait.max(Duration::from_millis(5));
            match rx.recv_timeout(wait) {
                Ok(job) => batch.push(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.checkpoint_inline(crate::now());
                    return;
                }
            }
            while batch.len() < 512 {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let mut stop = None;
            let mut reports = Vec::new();
            for job in batch.drain(..) {
                match job {
                    Job::Report(r, ack) => reports.push((r, ack)),
                    Job::Sync(ack) => {
                        // Everything acknowledged so far is in the current segment or earlier.
                        match (self.pending.dirty, self.busy) {
                            (false, None) => {
                                let _ = ack.send(Ok(()));
                            }
                            (false, Some(b)) => self.waiters.push((b, ack)),
                            (true, _) => self.waiters.push((self.wal.segment(), ack)),
                        }
                    }
                    Job::CheckpointDone(id, snap) => {
                        self.spare_snapshot = snap;
                        self.busy = None;
                        self.query_checkpoint_at =
                            Self::query_checkpoint_at(self.last_checkpoint.elapsed());
                        self.checkpoint = self.checkpoint.max(id);
                        self.release_waiters();
                    }
                    Job::ForgetServer(id) => {
                        self.live.write().remove(&id);
                    }
                    Job::ForgetAccount(account, ack) => {
                        let res = self.forget_account(account);
                        let _ = ack.send(res);
                    }
                    Job::Shutdown(ack) => stop = Some(ack),
                }
            }
            if !reports.is_empty() {
                self.commit(reports);
                if last_bound_check.elapsed() >= Duration::from_millis(50) {
                    last_bound_check = Instant::now();
                    self.bound_pending();
                }
            }
            if let Some(ack) = stop {
                let res = self
                    .checkpoint_inline(crate::now())
                    .map_err(WriteError::Store);
                self.release_waiters();
                let _ = ack.send(res);
                return;
            }
            let due = self.last_checkpoint.elapsed() >= every;
            let asked = !self.waiters.is_empty() && Instant::now() >= self.query_checkpoint_at;
            if self.busy.is_none() && (due || asked) {
                self.start_checkpoint(crate::now());
            }
            // Checked on its own clock: under load checkpoints start early and `due` stays false.
            if last_idle_close.elapsed() >= every {
                last_idle_close = Instant::now();
                self.parts.close_idle(PARTITION_IDLE);
            }
        }
    }

    /// Earliest a query may start the next checkpoint, set when one that `took` ends: twice
    /// that long after. A query must see every report acknowledged before it, so it waits for a
    /// checkpoint, and a checkpoint costs about the same however little is pending (0.3 s at
    /// 316,000 sessions). Started back to back for four people watching the panel, they raised
    /// the acknowledgements' p90 from 19.5 to 158 ms; spaced like this the checkpoints queries
    /// ask for keep the checkpoint thread at most a third busy (docs/performance.md, "Reading
    /// the panel while it ingests"). On a quiet panel a checkpoint takes milliseconds, so
    /// queries hardly wait.
    fn query_checkpoint_at(took: Duration) -> Instant {
        Instant::now() + took * QUERY_CHECKPOINT_SPACING
    }

    /// Answers the queries whose data is now in storage.
    fn release_waiters(&mut self) {
        let done = self.checkpoint;
        let (ready, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|(need, _)| *need <= done);
        self.waiters = wait;
        for (_, ack) in ready {
            let _ = ack.send(Ok(()));
        }
    }

    /// Takes everything pending into a checkpoint with the state snapshot that goes with it.
    fn make_work(&mut self, id: u64) -> Result<Work, StoreError> {
        let live = self.live.read();
        let snap = crate::store::codec::encode_into(
            &SnapshotRef {
                checkpoint: id,
                sessions: Pairs(&self.sessions),
                live: Pairs(&*live),
                concurrent: self
                    .concurrent
                    .iter()
                    .filter(|(_, v)| **v != 0)
                    .map(|(k, v)| (*k, *v))
                    .collect(),
            },
            std::mem::take(&mut self.spare_snapshot),
        )?;
        drop(live);
        let pending = std::mem::take(&mut self.pending);
        Ok(Work { id, pending, snap })
    }

    /// Once the next checkpoint has grown past [`PENDING_LIMIT_BYTES`] it starts at once, so
    /// what one checkpoint holds stays bounded whatever the rate. If the previous one is still
    /// being written the writer waits for it first; meanwhile reports wait in the queue, and
    /// once that is full ingest answers 429.
    fn bound_pending(&mut self) {
        if self.pending.approx_bytes() < PENDING_LIMIT_BYTES {
            return;
        }
        if let Some(b) = self.busy.take() {
            self.stats
                .backpressure_waits
                .fetch_add(1, Ordering::Relaxed);
            self.ckpt.wait_for(b);
            self.checkpoint = self.checkpoint.max(b);
            self.release_waiters();
        }
        self.start_checkpoint(crate::now());
    }

    /// Hands the pending data to the checkpoint thread and journals new reports meanwhile.
    fn start_checkpoint(&mut self, now: i64) {
        self.sweep_sessions(now);
        self.last_checkpoint = Instant::now();
        if !self.pending.dirty {
            self.release_waiters();
            return;
        }
        let id = self.wal.segment();
        if let Err(e) = self.wal.rotate(id + 1) {
            self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "cannot start a new journal segment; checkpoint postponed");
            return;
        }
        let work = match self.make_work(id) {
            Ok(w) => w,
            Err(e) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "cannot encode the checkpoint snapshot; checkpoint postponed");
                return;
            }
        };
        match &self.ckpt_tx {
            Some(tx) => match tx.send(work) {
                Ok(()) => self.busy = Some(id),
                Err(_) => tracing::error!("the checkpoint thread has stopped"),
            },
            None => {
                self.ckpt.write_until_stored(&work);
                self.checkpoint = id;
                self.release_waiters();
            }
        }
    }

    /// Waits for any checkpoint in flight, then checkpoints everything pending on this thread.
    fn checkpoint_inline(&mut self, now: i64) -> Result<(), StoreError> {
        if let Some(b) = self.busy.take() {
            self.ckpt.wait_for(b);
            self.checkpoint = self.checkpoint.max(b);
        }
        self.sweep_sessions(now);
        self.last_checkpoint = Instant::now();
        if !self.pending.dirty {
            return Ok(());
        }
        let id = self.wal.segment();
        self.wal.rotate(id + 1)?;
        let work = self.make_work(id)?;
        self.ckpt.write(&work)?;
        self.checkpoint = id;
        Ok(())
    }

    fn commit(&mut self, reports: Vec<(Box<Enriched>, AckSender)>) {
        let started = Instant::now();
        let mut accepted = Vec::with_capacity(reports.len());
        let mut entries = Vec::with_capacity(reports.len() + 1);
        let mut dims = std::mem::take(&mut self.retry_dims);
        dims.extend(self.dict.take_unlogged());
        if !dims.is_empty() {
            entries.push(WalEntry::Dims(dims.clone()));
        }
        let mut batch_ids = HashSet::new();
        for (r, ack) in reports {
            let n = r.viewer_count().max(1);
            self.stats.queued_viewers.fetch_sub(n, Ordering::AcqRel);
            if self.forgotten.contains(&r.account) {
                let _ = ack.send(Err(WriteError::Stopped));
                continue;
            }
            let key = (r.server, r.report_hash);
            let dup = self.pending.dedupe_set.contains(&key)
                || batch_ids.contains(&key)
                || self
                    .meta
                    .seen_report(r.server, r.report_hash)
                    .unwrap_or(false);
            let info = Ack {
                duplicate: dup,
                streams: r.streams.len(),
                viewers: r.viewer_count(),
            };
            if dup {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                let _ = ack.send(Ok(info));
                continue;
            }
            batch_ids.insert(key);
            entries.push(WalEntry::Report(*r));
            accepted.push((info, ack));
        }
        if accepted.is_empty() && dims.is_empty() {
            return;
        }
        let appended = if self.space_below_reserve() {
            Err(StoreError::NoSpace)
        } else {
            self.wal.append(&entries).inspect_err(|e| {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "journal append failed; reports rejected");
            })
        };
        if let Err(e) = appended {
            for (_, ack) in accepted {
                let _ = ack.send(Err(WriteError::Store(match &e {
                    StoreError::NoSpace => StoreError::NoSpace,
                    other => StoreError::Sled(other.to_string()),
                })));
            }
            // The dictionary entries must reach the journal with the next batch.
            self.retry_dims = dims;
            return;
        }
        self.pending.dims.extend(dims);
        for entry in &entries {
            if let WalEntry::Report(r) = entry {
                self.apply(r);
            }
        }
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .commit_us_total
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats
            .sessions
            .store(self.sessions.len(), Ordering::Relaxed);
        for (info, ack) in accepted {
            self.stats.reports.fetch_add(1, Ordering::Relaxed);
            self.stats
                .viewers
                .fetch_add(info.viewers as u64, Ordering::Relaxed);
            let _ = ack.send(Ok(info));
        }
    }

    /// Whether less than the reserve is free (one `statvfs` per group commit); new journal
    /// records are refused meanwhile. An unknown amount of free space does not block ingest.
    /// Logs when the state changes, not for every refused batch.
    fn space_below_reserve(&mut self) -> bool {
        let low = matches!(
            fs2::available_space(&self.ckpt.dir),
            Ok(free) if free < self.reserve_bytes
        );
        if low != self.low_space {
            self.low_space = low;
            if low {
                tracing::error!(
                    reserve_mib = self.reserve_bytes >> 20,
                    "the data directory's disk is nearly full; refusing reports (507) until space is freed"
                );
            } else {
                tracing::info!("free disk space is back above the reserve; accepting reports");
            }
        }
        low
    }

    /// Applies one durable report to in-memory state. Deterministic (replay gives the same
    /// result) but for the times it was applied: the server's `heard_at` and the arrival time
    /// remembered with the report id.
    fn apply(&mut self, r: &Enriched) {
        let now = crate::now();
        let p = &mut self.pending;
        p.dirty = true;
        p.dedupe.push((r.server, r.report_hash, now));
        p.dedupe_set.insert((r.server, r.report_hash));
        let minute = Resolution::Minute.bucket(r.time - 1);
        let day = Resolution::Day.bucket(r.time - 1);
        let interval = r.interval_s.max(1) as u64;
        let mut live = self.live.write();
        let srv = live.entry(r.server).or_default();
        srv.account = Some(r.account);
        srv.heard_at = now;
        let is_latest = r.time >= srv.last_report_at;
        let mut new_counts: HashMap<(String, String), StreamLive> = HashMap::new();
        for s in &r.streams {
            let key = StreamMinute {
                account: r.account,
                server: r.server,
                app: s.app.clone(),
                stream: s.stream.clone(),
                minute,
            };
            let prev_publishing = srv
                .streams
                .get(&(s.app.clone(), s.stream.clone()))
                .and_then(|l| l.publishing);
            let d = p.streams.entry(key.clone()).or_default();
            // Disjoint fields of `p`: the stream's delta and its day sketch are updated together.
            let n = s.viewers.len() as u64;
            d.scalars.viewer_seconds += n * interval;
            d.scalars.bytes_in += s.ingress_bytes;
            if let Some(k) = s.ingress_kbps {
                d.scalars.ingress_samples += 1;
                d.scalars.ingress_kbps_sum += k;
                d.scalars.ingress_kbps_max = d.scalars.ingress_kbps_max.max(k);
            }
            if is_latest {
                match (prev_publishing, s.publishing) {
                    (Some(false) | None, Some(true)) => d.scalars.publish_up += 1,
                    (Some(true), Some(false)) => d.scalars.publish_down += 1,
                    _ => {}
                }
            }
            let mut bytes_out = 0u64;
            let uniq = p
                .uniq
                .entry(StreamMinute { minute: day, ..key })
                .or_default();
            for v in &s.viewers {
                bytes_out += v.bytes;
                let mut stat = DimStat {
                    viewer_seconds: interval,
                    bytes_out: v.bytes,
                    ..Default::default()
                };
                let mut ended_secs = None;
                match self.sessions.get_mut(&v.session) {
                    Some(sess) => {
                        if v.seconds > sess.last_seconds {
                            stat.view_time_s = v.seconds - sess.last_seconds;
                            sess.last_seconds = v.seconds;
                        }
                        sess.last_time = sess.last_time.max(r.time);
                        if v.ended && !sess.ended {
                            sess.ended = true;
                            ended_secs = Some(sess.last_seconds);
                        }
                    }
                    None => {
                        stat.views = 1;
                        stat.view_time_s = v.seconds;
                        self.sessions.insert(
                            v.session,
                            Box::new(Session {
                                account: r.account,
                                server: r.server,
                                app: s.app.clone(),
                                stream: s.stream.clone(),
                                dims: v.dims,
                                last_seconds: v.seconds,
                                last_time: r.time,
                                ended: v.ended,
                            }),
                        );
                        if v.ended {
                            ended_secs = Some(v.seconds);
                        }
                    }
                }
                d.scalars.views += stat.views;
                d.scalars.view_time_s += stat.view_time_s;
                add_dims(&mut d.dims, &v.dims, stat);
                if let Some(secs) = ended_secs {
                    d.dims.add(
                        DimKey::Duration(duration_bucket(secs)),
                        DimStat {
                            views: 1,
                            ..Default::default()
                        },
                    );
                }
                uniq.insert_hash(v.uniq);
            }
            d.scalars.bytes_out += bytes_out;
            let e = new_counts
                .entry((s.app.clone(), s.stream.clone()))
                .or_default();
            e.viewers += s.viewers.len() as u32;
            e.bytes_out += bytes_out;
            e.publishing = s.publishing.or(e.publishing);
            e.ingress_kbps = s.ingress_kbps.or(e.ingress_kbps);
            e.last_seen = r.time;
        }
        if let Some(h) = &r.host {
            let hs = p.hosts.entry((r.account, r.server, minute)).or_default();
            hs.host_samples += 1;
            let cpu = h.cpu_pct.unwrap_or(0.0);
            hs.cpu_sum += cpu;
            hs.cpu_max = hs.cpu_max.max(cpu);
            let ram = h.ram_used_bytes.unwrap_or(0);
            hs.ram_used_sum += ram;
            hs.ram_used_max = hs.ram_used_max.max(ram);
            hs.ram_total = hs.ram_total.max(h.ram_total_bytes.unwrap_or(0));
            hs.net_in_bytes += h.net_in_bytes.unwrap_or(0);
            hs.net_out_bytes += h.net_out_bytes.unwrap_or(0);
        }
        // Concurrent viewers: a filter's peak is the peak of the sum over servers, so keep the
        // running sum per series and sample it at every report instant.
        let mut touched: HashSet<u64> = HashSet::new();
        if is_latest {
            let mut keys: HashSet<(String, String)> = srv.streams.keys().cloned().collect();
            keys.extend(new_counts.keys().cloned());
            for k in keys {
                let old = srv.streams.get(&k).map_or(0, |l| l.viewers) as i64;
                let new = new_counts.get(&k).map_or(0, |l| l.viewers) as i64;
                for info in SeriesInfo::scopes(r.server, &k.0, &k.1) {
                    let id = info.id();
                    *self.concurrent.entry((r.account, id)).or_default() += new - old;
                    if touched.insert(id) {
                        p.series.entry((r.account, id)).or_insert(info);
                    }
                }
            }
            for id in &touched {
                let c = self
                    .concurrent
                    .get(&(r.account, *id))
                    .copied()
                    .unwrap_or(0)
                    .max(0) as u32;
                let peak = p.peaks.entry((r.account, *id, minute)).or_default();
                *peak = (*peak).max(c);
            }
            srv.last_report_at = r.time;
            srv.interval_s = r.interval_s;
            if r.software.is_some() {
                srv.software = r.software.clone();
            }
            if r.version.is_some() {
                srv.version = r.version.clone();
            }
            if r.host.is_some() {
                srv.host = r.host.clone();
            }
            srv.streams = new_counts;
        } else {
            // A late (back-filled) report: its own counts are a lower bound of each peak.
            let mut sums: HashMap<u64, (SeriesInfo, u32)> = HashMap::new();
            for ((app, stream), l) in &new_counts {
                for info in SeriesInfo::scopes(r.server, app, stream) {
                    let e = sums.entry(info.id()).or_insert((info, 0));
                    e.1 += l.viewers;
                }
            }
            for (id, (info, c)) in sums {
                p.series.entry((r.account, id)).or_insert(info);
                let peak = p.peaks.entry((r.account, id, minute)).or_default();
                *peak = (*peak).max(c);
            }
        }
    }

    /// Ends sessions that stopped appearing — missing from their server's reports for three
    /// intervals (at least 90 s of report time), or their server silent for as long (at least
    /// 15 minutes of wall clock) — and drops tombstones of ended sessions an hour on.
    fn sweep_sessions(&mut self, now: i64) {
        let live = self.live.read();
        let mut ended = Vec::new();
        self.sessions.retain(|_, s| {
            // A deleted server's sessions end now.
            let (latest, interval, heard) = live
                .get(&s.server)
                .map_or((s.last_time, 30, i64::MIN / 2), |l| {
                    (l.last_report_at, l.interval_s as i64, l.heard_at)
                });
            let gap = interval.max(30) * 3;
            if s.ended {
                return s.last_time > latest - 3600 && heard > now - 3600;
            }
            if s.last_time < latest - gap || heard < now - gap.max(900) {
                ended.push(s.clone());
                return false;
            }
            true
        });
        drop(live);
        for s in ended {
            let key = StreamMinute {
                account: s.account,
                server: s.server,
                app: s.app,
                stream: s.stream,
                minute: Resolution::Minute.bucket(s.last_time - 1),
            };
            self.pending.dirty = true;
            self.pending.streams.entry(key).or_default().dims.add(
                DimKey::Duration(duration_bucket(s.last_seconds)),
                DimStat {
                    views: 1,
                    ..Default::default()
                },
            );
        }
    }

    fn forget_account(&mut self, account: Id) -> Result<(), WriteError> {
        self.forgotten.insert(account);
        self.checkpoint_inline(crate::now())?;
        self.sessions.retain(|_, s| s.account != account);
        self.concurrent.retain(|(a, _), _| *a != account);
        self.live.write().retain(|_, l| l.account != Some(account));
        self.pending.dirty = true;
        // A checkpoint rewrites the snapshot without the account's sessions and names.
        self.checkpoint_inline(crate::now())?;
        Ok(())
    }
}

fn add_dims(dims: &mut Dims, v: &ViewerDims, stat: DimStat) {
    if v.country != [0, 0] {
        dims.add(DimKey::Country(v.country), stat);
    }
    if v.region != 0 {
        dims.add(DimKey::Region(v.region), stat);
    }
    if v.city != 0 {
        dims.add(DimKey::City(v.city), stat);
    }
    if v.asn != 0 {
        dims.add(DimKey::Asn(v.asn, v.asn_org), stat);
    }
    dims.add(DimKey::Protocol(v.protocol), stat);
    dims.add(DimKey::Player(v.player), stat);
    dims.add(DimKey::Device(v.device), stat);
}

/// Spreads minute deltas over every scope and resolution, grouped by target partition;
/// `resolve` maps a partition of this build's layout to the one that stores its period.
fn build_folds(
    p: &Pending,
    class: Class,
    resolve: impl Fn(PartitionId) -> PartitionId,
) -> HashMap<PartitionId, Fold> {
    let mut folds: HashMap<PartitionId, Fold> = HashMap::new();
    let mut resolved: HashMap<PartitionId, PartitionId> = HashMap::new();
    let mut at = |account: Id, class: Class, t: i64| {
        let id = PartitionId::at(account, class, t);
        *resolved.entry(id).or_insert_with(|| resolve(id))
    };
    let Class::Rollup(res) = class else {
        for (k, hll) in &p.uniq {
            let pid = at(k.account, Class::Sketch, k.minute);
            let fold = folds.entry(pid).or_default();
            for info in SeriesInfo::scopes(k.server, &k.app, &k.stream) {
                let id = info.id();
                fold.hll.entry((id, k.minute)).or_default().merge(hll);
                fold.series.entry(id).or_insert_with(|| info.clone());
            }
        }
        return folds;
    };
    for (k, d) in &p.streams {
        let scalars = Scalars {
            peak_viewers: 0,
            ..d.scalars.clone()
        };
        let pid = at(k.account, class, k.minute);
        let bucket = res.bucket(k.minute);
        let fold = folds.entry(pid).or_default();
        for info in SeriesInfo::scopes(k.server, &k.app, &k.stream) {
            let id = info.id();
            fold.scalars
                .entry((id, bucket))
                .or_default()
                .merge(&scalars);
            if !d.dims.0.is_empty() {
                fold.dims.entry((id, bucket)).or_default().merge(&d.dims);
            }
            fold.series.entry(id).or_insert_with(|| info.clone());
        }
    }
    for ((account, server, minute), h) in &p.hosts {
        let pid = at(*account, class, *minute);
        let fold = folds.entry(pid).or_default();
        for info in [SeriesInfo::total(), SeriesInfo::server(*server)] {
            let id = info.id();
            fold.scalars
                .entry((id, res.bucket(*minute)))
                .or_default()
                .merge(h);
            fold.series.entry(id).or_insert_with(|| info.clone());
        }
    }
    for ((account, id, minute), peak) in &p.peaks {
        let pid = at(*account, class, *minute);
        let fold = folds.entry(pid).or_default();
        let s = fold.scalars.entry((*id, res.bucket(*minute))).or_default();
        s.peak_viewers = s.peak_viewers.max(*peak);
        if let Some(info) = p.series.get(&(*account, *id)) {
            fold.series.entry(*id).or_insert_with(|| info.clone());
        }
    }
    folds
}

/// Decodes a stored sketch (used by queries).
pub fn sketch(stored: &StoredHll) -> Hll {
    Hll::from_stored(stored)
}
