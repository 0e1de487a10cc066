//! Rollup partitions: one sled database per account, storage class and time period.
//!
//! Directory: `stats/<account>/<class>/<period>/`. A period is a UTC hour of minute rollups
//! (`2026-11-25T12h`), a UTC day of five-minute rollups (`2026-11-25`), a month of hour rollups
//! and unique-viewer sketches (`2026-11`), a year of day rollups (`2026`); partitions of earlier
//! builds (six hours or a day of minute rollups, `2026-11-25T12` and `2026-11-25`; a month of
//! five-minute rollups) stay where they are.
//! Retention and erasure remove whole directories, which is the only way to make sled forget
//! bytes. Each database holds the trees `scalars`, `dims`, `hll` (sketch partitions), `series`
//! (catalog: id → names) and `state` (the last checkpoint folded in, for crash-safe replay).
//!
//! Handles are opened on demand and closed when idle; only the writer thread writes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::civil::Date;
use parking_lot::{Condvar, Mutex};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError as Abort;

use super::{StoreError, codec, io_error, keys};
use crate::model::account::Id;
use crate::model::hll::{Hll, StoredHll};
use crate::model::rollup::{DimKey, DimStat, Dims, Resolution, Scalars};
use crate::model::series::SeriesInfo;

/// What a partition stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Rollup(Resolution),
    /// Daily unique-viewer sketches.
    Sketch,
}

impl Class {
    /// Every class.
    pub const ALL: [Class; 5] = [
        Class::Rollup(Resolution::Minute),
        Class::Rollup(Resolution::FiveMinutes),
        Class::Rollup(Resolution::Hour),
        Class::Rollup(Resolution::Day),
        Class::Sketch,
    ];

    /// Directory name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Rollup(r) => r.name(),
            Class::Sketch => "unique_viewers",
        }
    }

    /// Start of the period containing `t` in the layout this build writes, and the start of
    /// the next one: an hour of minute rollups, a day of five-minute rollups, a month of hour
    /// rollups and sketches, a year of day rollups.
    ///
    /// Periods are kept to a few hundred buckets per series because an open sled database
    /// keeps roughly 50 bytes of memory per stored key: a month of five-minute rollups for a
    /// thousand series (two keys per bucket) held about a gigabyte by the month's end, and six
    /// hours of minute rollups for 1,100 series grew the process by 20 MB before the period
    /// closed. The minute period, which receives every report, is the shortest.
    pub fn period(self, t: i64) -> (i64, i64) {
        match self {
            Class::Rollup(Resolution::Minute) => aligned(t, 3600),
            Class::Rollup(Resolution::FiveMinutes) => aligned(t, 86_400),
            Class::Rollup(Resolution::Day) => {
                calendar(utc_date(t).first_of_year(), jiff::Span::new().years(1))
            }
            _ => month(t),
        }
    }

    /// The periods containing `t` in the layouts of earlier builds, where they differ, longest
    /// first: a UTC day (schema 1) or six hours (schema 2) of minute rollups, a month of
    /// five-minute rollups (schema 1). Such partitions stay readable and keep receiving the
    /// data of their period (see [`Partitions::resolve`]).
    fn legacy_periods(self, t: i64) -> Vec<(i64, i64)> {
        match self {
            Class::Rollup(Resolution::Minute) => vec![aligned(t, 86_400), aligned(t, SIX_HOURS)],
            Class::Rollup(Resolution::FiveMinutes) => vec![month(t)],
            _ => Vec::new(),
        }
    }

    /// Directory name of the period `[start, end)`.
    fn label(self, start: i64, end: i64) -> String {
        let d = utc_date(start);
        let hour = start.rem_euclid(86_400) / 3600;
        match self {
            Class::Rollup(Resolution::Minute) if end - start == 3600 => {
                format!("{}T{hour:02}h", d.strftime("%Y-%m-%d"))
            }
            Class::Rollup(Resolution::Minute) if end - start == SIX_HOURS => {
                format!("{}T{hour:02}", d.strftime("%Y-%m-%d"))
            }
            Class::Rollup(Resolution::Minute | Resolution::FiveMinutes)
                if end - start == 86_400 =>
            {
                d.strftime("%Y-%m-%d").to_string()
            }
            Class::Rollup(Resolution::Day) => d.strftime("%Y").to_string(),
            _ => d.strftime("%Y-%m").to_string(),
        }
    }

    /// The period a directory name stands for, in this build's layout or an earlier one.
    fn parse_label(self, label: &str) -> Option<(i64, i64)> {
        let start = match label.len() {
            13 | 14 if label.as_bytes()[10] == b'T' => {
                let date: Date = label.get(..10)?.parse().ok()?;
                let hour: i64 = label.get(11..13)?.parse().ok()?;
                day_seconds(date) + hour * 3600
            }
            10 => day_seconds(label.parse().ok()?),
            7 => day_seconds(format!("{label}-01").parse().ok()?),
            4 => day_seconds(format!("{label}-01-01").parse().ok()?),
            _ => return None,
        };
        std::iter::once(self.period(start))
            .chain(self.legacy_periods(start))
            .find(|&(s, e)| s == start && self.label(s, e) == label)
    }
}

const SIX_HOURS: i64 = 6 * 3600;

/// The period of `len` seconds (a divisor of a day) containing `t`, aligned to UTC midnight.
fn aligned(t: i64, len: i64) -> (i64, i64) {
    let s = t.div_euclid(len) * len;
    (s, s + len)
}

/// The UTC calendar month containing `t`.
fn month(t: i64) -> (i64, i64) {
    calendar(utc_date(t).first_of_month(), jiff::Span::new().months(1))
}

/// The calendar period of length `span` starting on `first`, in Unix seconds.
fn calendar(first: Date, span: jiff::Span) -> (i64, i64) {
    (
        day_seconds(first),
        day_seconds(first.checked_add(span).unwrap_or(first)),
    )
}

fn utc_date(t: i64) -> Date {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date())
        .unwrap_or(Date::constant(1970, 1, 1))
}

fn day_seconds(d: Date) -> i64 {
    d.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(0)
}

/// Identifies one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    pub account: Id,
    pub class: Class,
    /// Start of the period (Unix seconds, UTC).
    pub start: i64,
    /// End of the period (exclusive).
    pub end: i64,
}

impl PartitionId {
    /// The partition holding time `t` in this build's layout.
    pub fn at(account: Id, class: Class, t: i64) -> PartitionId {
        let (start, end) = class.period(t);
        PartitionId {
            account,
            class,
            start,
            end,
        }
    }
}

/// An open partition.
pub struct Part {
    db: sled::Db,
    scalars: sled::Tree,
    dims: sled::Tree,
    hll: sled::Tree,
    series: sled::Tree,
    state: sled::Tree,
}

/// Everything one checkpoint folds into one partition.
#[derive(Default)]
pub struct Fold {
    pub scalars: HashMap<(u64, i64), Scalars>,
    pub dims: HashMap<(u64, i64), Dims>,
    pub hll: HashMap<(u64, i64), Hll>,
    pub series: HashMap<u64, SeriesInfo>,
}

impl Fold {
    /// True when nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.dims.is_empty() && self.hll.is_empty()
    }
}

const APPLIED: &[u8] = b"applied_checkpoint";

/// Records merged per transaction by [`Part::apply`].
pub const APPLY_CHUNK: usize = 2048;

/// How far a checkpoint got into a partition: stored under [`APPLIED`] as the checkpoint id
/// (8 bytes, complete) or the id and the chunks stored (12 bytes, interrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Done(u64),
    Partial(u64, u32),
}

impl Progress {
    fn decode(v: Option<&[u8]>) -> Progress {
        let id = |b: &[u8]| {
            b.get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        match v {
            Some(b) if b.len() == 12 => match (id(b), b[8..12].try_into().ok()) {
                (Some(c), Some(n)) => Progress::Partial(c, u32::from_be_bytes(n)),
                _ => Progress::Done(0),
            },
            Some(b) => Progress::Done(id(b).unwrap_or(0)),
            None => Progress::Done(0),
        }
    }

    fn encode(self) -> Vec<u8> {
        match self {
            Progress::Done(c) => c.to_be_bytes().to_vec(),
            Progress::Partial(c, n) => [c.to_be_bytes().as_slice(), &n.to_be_bytes()].concat(),
        }
    }
}

/// One write of a chunked apply: `(tree, key, value)`, trees numbered series 0, scalars 1,
/// dims 2, sketches 3.
type ChunkWrite = (u8, Vec<u8>, Vec<u8>);

/// Sort key of a series catalog write within a chunked apply.
fn series_op_key(id: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k
}
/// Set in the `state` tree before expired records are removed and never copied by compaction:
/// a partition still carrying it was not compacted yet (a crash interrupted it).
const COMPACT_PENDING: &[u8] = b"compact_pending";

/// What retention would remove from (or removed in) a partition straddling its cutoff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Records of buckets before the cutoff.
    pub records: u64,
    /// Their key and value bytes (an estimate of what compaction gives back).
    pub bytes: u64,
    /// A compaction was started and not finished.
    pub pending: bool,
}

impl Part {
    fn from_db(db: sled::Db) -> Result<Part, StoreError> {
        Ok(Part {
            scalars: db.open_tree("scalars")?,
            dims: db.open_tree("dims")?,
            hll: db.open_tree("hll")?,
            series: db.open_tree("series")?,
            state: db.open_tree("state")?,
            db,
        })
    }

    /// Records of buckets before `cutoff`, and whether a compaction is pending.
    pub fn expired(&self, cutoff: i64) -> Result<Expired, StoreError> {
        let mut out = Expired {
            pending: self.state.contains_key(COMPACT_PENDING)?,
            ..Default::default()
        };
        for tree in [&self.scalars, &self.dims, &self.hll] {
            for item in tree.iter() {
                let (k, v) = item?;
                if keys::parse_rollup(&k).is_some_and(|(_, b)| b < cutoff) {
                    out.records += 1;
                    out.bytes += (k.len() + v.len()) as u64;
                }
            }
        }
        Ok(out)
    }

    /// Series that still have records (catalog entries of the others are dropped by compaction,
    /// since they name streams whose data expired).
    fn live_series(&self) -> Result<HashSet<u64>, StoreError> {
        let mut ids = HashSet::new();
        for tree in [&self.scalars, &self.dims, &self.hll] {
            for k in tree.iter().keys() {
                if let Some((id, _)) = keys::parse_rollup(&k?) {
                    ids.insert(id);
                }
            }
        }
        Ok(ids)
    }

    /// The last checkpoint folded into this partition completely.
    pub fn applied(&self) -> Result<u64, StoreError> {
        Ok(match self.progress()? {
            Progress::Done(c) => c,
            Progress::Partial(c, _) => c.saturating_sub(1),
        })
    }

    fn progress(&self) -> Result<Progress, StoreError> {
        Ok(Progress::decode(self.state.get(APPLIED)?.as_deref()))
    }

    /// Merges `fold` into the stored records and marks `checkpoint` applied. The writes go in
    /// transactions of at most [`APPLY_CHUNK`] records, each recording how far it got, so a
    /// crash leaves every record either merged once or not at all, and a replay of the same
    /// checkpoint resumes after the last chunk stored. (One transaction for a whole back-fill
    /// checkpoint would hold every write in memory at once.)
    pub fn apply(&self, checkpoint: u64, fold: &Fold) -> Result<(), StoreError> {
        let skip = match self.progress()? {
            Progress::Done(c) if c >= checkpoint => return Ok(()),
            Progress::Partial(c, _) if c > checkpoint => return Ok(()),
            Progress::Partial(c, n) if c == checkpoint => n as usize,
            _ => 0,
        };
        // A deterministic order, so a replay cuts the same chunks.
        let mut ops: Vec<(u8, [u8; 16])> = Vec::with_capacity(
            fold.scalars.len() + fold.dims.len() + fold.hll.len() + fold.series.len(),
        );
        ops.extend(fold.series.keys().map(|id| (0, series_op_key(*id))));
        ops.extend(fold.scalars.keys().map(|(s, b)| (1, keys::rollup(*s, *b))));
        ops.extend(fold.dims.keys().map(|(s, b)| (2, keys::rollup(*s, *b))));
        ops.extend(fold.hll.keys().map(|(s, b)| (3, keys::rollup(*s, *b))));
        ops.sort_unstable();
        let chunks: Vec<&[(u8, [u8; 16])]> = ops.chunks(APPLY_CHUNK).collect();
        let total = chunks.len().max(1);
        for (i, chunk) in chunks.iter().enumerate().skip(skip) {
            let writes = self.merged(chunk, fold)?;
            let marker = if i + 1 == total {
                Progress::Done(checkpoint)
            } else {
                Progress::Partial(checkpoint, (i + 1) as u32)
            };
            self.write_chunk(&writes, marker)?;
        }
        if chunks.is_empty() {
            self.write_chunk(&[], Progress::Done(checkpoint))?;
        }
        Ok(())
    }

    /// Reads and merges the records of one chunk (outside the transaction: only the
    /// checkpoint thread writes). Returns `(tree, key, value)` writes.
    fn merged(&self, chunk: &[(u8, [u8; 16])], fold: &Fold) -> Result<Vec<ChunkWrite>, StoreError> {
        let mut out = Vec::with_capacity(chunk.len());
        for (tree, key) in chunk {
            match tree {
                0 => {
                    let id = u64::from_be_bytes(key[..8].try_into().unwrap_or_default());
                    let k = keys::series(id);
                    if let Some(info) = fold.series.get(&id)
                        && !self.series.contains_key(k)?
                    {
                        out.push((0, k.to_vec(), codec::encode(info)?));
                    }
                }
                _ => {
                    let Some((series, bucket)) = keys::parse_rollup(key) else {
                        continue;
                    };
                    let fk = (series, bucket);
                    let value = match tree {
                        1 => {
                            let Some(add) = fold.scalars.get(&fk) else {
                                continue;
                            };
                            let mut cur: Scalars = match self.scalars.get(key)? {
                                Some(v) => codec::decode(&v)?,
                                None => Scalars::default(),
                            };
                            cur.merge(add);
                            codec::encode(&cur)?
                        }
                        2 => {
                            let Some(add) = fold.dims.get(&fk) else {
                                continue;
                            };
                            let mut cur = match self.dims.get(key)? {
                                Some(v) => Dims(
                                    codec::decode::<Vec<(DimKey, DimStat)>>(&v)?
                                        .into_iter()
                                        .collect(),
                                ),
                                None => Dims::default(),
                            };
                            cur.merge(add);
                            codec::encode(&cur.to_sorted())?
                        }
                        _ => {
                            let Some(add) = fold.hll.get(&fk) else {
                                continue;
                            };
                            let mut cur = match self.hll.get(key)? {
                                Some(v) => Hll::from_stored(&codec::decode::<StoredHll>(&v)?),
                                None => Hll::default(),
                            };
                            cur.merge(add);
                            codec::encode(&cur.to_stored())?
                        }
                    };
                    out.push((*tree, key.to_vec(), value));
                }
            }
        }
        Ok(out)
    }

    /// Writes one chunk and its progress marker in one transaction.
    fn write_chunk(&self, writes: &[ChunkWrite], marker: Progress) -> Result<(), StoreError> {
        let marker = marker.encode();
        (
            &self.scalars,
            &self.dims,
            &self.hll,
            &self.series,
            &self.state,
        )
            .transaction(|(ts, td, th, tser, tst)| {
                for (tree, k, v) in writes {
                    let t = match tree {
                        0 => tser,
                        1 => ts,
                        2 => td,
                        _ => th,
                    };
                    t.insert(k.as_slice(), v.as_slice())?;
                }
                tst.insert(APPLIED, marker.as_slice())?;
                Ok::<_, Abort<StoreError>>(())
            })?;
        Ok(())
    }

    /// Makes the partition durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Scalars of one series for buckets in `[from, to)`.
    pub fn scalars(
        &self,
        series: u64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Scalars)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .scalars
            .range(keys::rollup(series, from)..keys::rollup(series, to))
        {
            let (k, v) = item?;
            if let Some((_, bucket)) = keys::parse_rollup(&k) {
                out.push((bucket, codec::decode(&v)?));
            }
        }
        Ok(out)
    }

    /// Breakdown maps of one series, merged over buckets in `[from, to)`, into `into`.
    pub fn dims_into(
        &self,
        series: u64,
        from: i64,
        to: i64,
        into: &mut Dims,
    ) -> Result<(), StoreError> {
        for item in self
            .dims
            .range(keys::rollup(series, from)..keys::rollup(series, to))
        {
            let (_, v) = item?;
            for (k, s) in codec::decode::<Vec<(DimKey, DimStat)>>(&v)? {
                into.add(k, s);
            }
        }
        Ok(())
    }

    /// Daily sketches of one series for days in `[from, to)`.
    pub fn sketches(&self, series: u64, from: i64, to: i64) -> Result<Vec<(i64, Hll)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .hll
            .range(keys::rollup(series, from)..keys::rollup(series, to))
        {
            let (k, v) = item?;
            if let Some((_, day)) = keys::parse_rollup(&k) {
                out.push((day, Hll::from_stored(&codec::decode(&v)?)));
            }
        }
        Ok(out)
    }

    /// The series catalog.
    pub fn series(&self) -> Result<Vec<(u64, SeriesInfo)>, StoreError> {
        let mut out = Vec::new();
        for item in self.series.iter() {
            let (k, v) = item?;
            let id = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("series key".into()))?,
            );
            out.push((id, codec::decode(&v)?));
        }
        Ok(out)
    }

    /// Removes rollups of buckets before `cutoff` (for the partition straddling a retention
    /// boundary); returns how many records went.
    pub fn remove_before(&self, cutoff: i64) -> Result<usize, StoreError> {
        let mut n = 0;
        for tree in [&self.scalars, &self.dims, &self.hll] {
            let mut batch = sled::Batch::default();
            for k in tree.iter().keys() {
                let k = k?;
                if keys::parse_rollup(&k).is_some_and(|(_, b)| b < cutoff) {
                    batch.remove(k);
                    n += 1;
                }
            }
            tree.apply_batch(batch)?;
        }
        Ok(n)
    }
}

struct Slot {
    part: Arc<Part>,
    last_used: Instant,
}

/// All rollup partitions of the instance.
pub struct Partitions {
    root: PathBuf,
    cache_bytes: u64,
    open: Mutex<HashMap<PartitionId, Slot>>,
    /// Serialises opening so two threads never open the same directory (sled locks it).
    opening: Mutex<()>,
    /// Partitions being compacted: [`Partitions::get`] waits for them.
    busy: Mutex<HashSet<PartitionId>>,
    busy_done: Condvar,
}

/// Marks a partition busy; un-marks it and wakes waiters when dropped.
struct BusyGuard<'a> {
    parts: &'a Partitions,
    id: PartitionId,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.parts.busy.lock().remove(&self.id);
        self.parts.busy_done.notify_all();
    }
}

/// Most partitions kept open at once; older idle ones are closed.
const MAX_OPEN: usize = 48;

impl Partitions {
    /// Partitions under `root` (the `stats` directory).
    pub fn new(root: PathBuf, cache_bytes: u64) -> Partitions {
        Partitions {
            root,
            cache_bytes,
            open: Mutex::new(HashMap::new()),
            opening: Mutex::new(()),
            busy: Mutex::new(HashSet::new()),
            busy_done: Condvar::new(),
        }
    }

    /// Directory of one partition.
    pub fn dir(&self, id: &PartitionId) -> PathBuf {
        self.root
            .join(id.account.to_string())
            .join(id.class.name())
            .join(id.class.label(id.start, id.end))
    }

    /// Directory of one account's statistics.
    pub fn account_dir(&self, account: Id) -> PathBuf {
        self.root.join(account.to_string())
    }

    /// Opens a partition; `create` makes it when missing, otherwise a missing one is `None`.
    pub fn get(&self, id: &PartitionId, create: bool) -> Result<Option<Arc<Part>>, StoreError> {
        if let Some(slot) = self.open.lock().get_mut(id) {
            slot.last_used = Instant::now();
            return Ok(Some(slot.part.clone()));
        }
        let _guard = loop {
            {
                let mut busy = self.busy.lock();
                while busy.contains(id) {
                    self.busy_done.wait(&mut busy);
                }
            }
            let guard = self.opening.lock();
            // A compaction marks its partition while holding `opening`: re-check under it.
            if !self.busy.lock().contains(id) {
                break guard;
            }
        };
        if let Some(slot) = self.open.lock().get_mut(id) {
            return Ok(Some(slot.part.clone()));
        }
        let dir = self.dir(id);
        if !create && !dir.exists() {
            return Ok(None);
        }
        let db = super::open_db(&dir, self.cache_bytes)?;
        let part = Arc::new(Part::from_db(db)?);
        let mut open = self.open.lock();
        if open.len() >= MAX_OPEN {
            let idle = Instant::now() - Duration::from_secs(5);
            let mut victims: Vec<_> = open
                .iter()
                .filter(|(_, s)| s.last_used < idle)
                .map(|(k, s)| (*k, s.last_used))
                .collect();
            victims.sort_by_key(|(_, t)| *t);
            for (k, _) in victims.into_iter().take(open.len() + 1 - MAX_OPEN) {
                open.remove(&k);
            }
        }
        open.insert(
            *id,
            Slot {
                part: part.clone(),
                last_used: Instant::now(),
            },
        );
        Ok(Some(part))
    }

    /// Partitions open right now.
    pub fn open_count(&self) -> usize {
        self.open.lock().len()
    }

    /// Closes partitions unused for `idle`.
    pub fn close_idle(&self, idle: Duration) {
        let cutoff = Instant::now() - idle;
        self.open.lock().retain(|_, s| s.last_used >= cutoff);
    }

    /// Closes every shared handle (the next [`Partitions::get`] opens the files again). sled
    /// closes a database when the last handle drops, so readers holding one finish first.
    pub fn close_all(&self) {
        let _guard = self.opening.lock();
        self.open.lock().clear();
    }

    /// Existing partitions of an account and class, by period start.
    pub fn list(&self, account: Id, class: Class) -> Vec<PartitionId> {
        let dir = self.account_dir(account).join(class.name());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<PartitionId> = entries
            .flatten()
            .filter_map(|e| {
                let label = e.file_name().to_string_lossy().into_owned();
                class.parse_label(&label).map(|(start, end)| PartitionId {
                    account,
                    class,
                    start,
                    end,
                })
            })
            .collect();
        out.sort();
        out
    }

    /// Accounts with statistics on disk.
    pub fn accounts(&self) -> Vec<Id> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| Id::parse(&e.file_name().to_string_lossy()))
            .collect()
    }

    /// Where the data of partition `id` (this build's layout) goes: the partition of an
    /// earlier build's layout covering its period when one exists on disk, so that a period
    /// is never split between two layouts (a crash replay must find every record of a
    /// checkpoint where the interrupted write put them), otherwise `id` itself.
    pub fn resolve(&self, id: PartitionId) -> PartitionId {
        id.class
            .legacy_periods(id.start)
            .into_iter()
            .map(|(start, end)| PartitionId { start, end, ..id })
            .find(|legacy| self.dir(legacy).is_dir())
            .unwrap_or(id)
    }

    /// Existing partitions overlapping `[from, to)`.
    pub fn overlapping(&self, account: Id, class: Class, from: i64, to: i64) -> Vec<PartitionId> {
        self.list(account, class)
            .into_iter()
            .filter(|p| p.start < to && p.end > from)
            .collect()
    }

    /// Deletes a partition directory; returns the bytes freed.
    pub fn drop_partition(&self, id: &PartitionId) -> Result<u64, StoreError> {
        let _guard = self.opening.lock();
        if let Some(slot) = self.open.lock().remove(id) {
            // Wait briefly for readers holding the handle; sled closes when the last drops.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Arc::strong_count(&slot.part) > 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let dir = self.dir(id);
        let freed = super::dir_size(&dir);
        remove_dir(&dir)?;
        Ok(freed)
    }

    /// Takes a partition away from everyone: marks it busy (so [`Partitions::get`] waits),
    /// closes the shared handle and waits for the holders of earlier handles to let go.
    fn claim(&self, id: &PartitionId) -> Result<BusyGuard<'_>, StoreError> {
        let slot = {
            let _guard = self.opening.lock();
            self.busy.lock().insert(*id);
            self.open.lock().remove(id)
        };
        let guard = BusyGuard {
            parts: self,
            id: *id,
        };
        if let Some(slot) = slot {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Arc::strong_count(&slot.part) > 1 {
                if Instant::now() >= deadline {
                    // Give the handle back, so nobody opens the directory a second time while
                    // its holder still uses it.
                    self.open.lock().insert(*id, slot);
                    return Err(StoreError::InUse(self.dir(id).display().to_string()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Ok(guard)
    }

    /// What retention would remove from a partition before `cutoff` (`None`: no partition).
    pub fn expired(&self, id: &PartitionId, cutoff: i64) -> Result<Option<Expired>, StoreError> {
        match self.get(id, false)? {
            Some(part) => Ok(Some(part.expired(cutoff)?)),
            None => Ok(None),
        }
    }

    /// Removes the records of buckets before `cutoff` from a partition, then **compacts** it:
    /// the live records (and the catalog entries of series that still have some) are rewritten
    /// into a fresh database beside it, which replaces it, and the old directory is deleted —
    /// so the removed records leave the files. Readers and the writer wait for this partition
    /// only. Returns `None` when the partition does not exist.
    pub fn compact(
        &self,
        id: &PartitionId,
        cutoff: i64,
    ) -> Result<Option<(usize, super::Compaction)>, StoreError> {
        let _busy = self.claim(id)?;
        let dir = self.dir(id);
        super::recover_swap(&dir)?;
        if !dir.exists() {
            return Ok(None);
        }
        let bytes_before = super::dir_size(&dir);
        let (tmp, ready, _) = super::swap_paths(&dir);
        let (removed, records) = {
            let part = Part::from_db(super::open_db(&dir, self.cache_bytes)?)?;
            part.state.insert(COMPACT_PENDING, &[1])?;
            part.db.flush()?;
            let removed = part.remove_before(cutoff)?;
            let live = part.live_series()?;
            super::remove_tree(&tmp)?;
            let fresh = super::open_db(&tmp, self.cache_bytes)?;
            let records = super::copy_db(&part.db, &fresh, |tree, key| match tree {
                b"series" => {
                    <[u8; 8]>::try_from(key).is_ok_and(|k| live.contains(&u64::from_be_bytes(k)))
                }
                b"state" => key != COMPACT_PENDING,
                _ => true,
            })?;
            (removed, records)
            // Both databases close here, before any directory moves.
        };
        std::fs::rename(&tmp, &ready).map_err(io_error)?;
        super::sync_dir(dir.parent().unwrap_or(Path::new(".")));
        super::swap_in(&dir)?;
        Ok(Some((
            removed,
            super::Compaction {
                records,
                bytes_before,
                bytes_after: super::dir_size(&dir),
            },
        )))
    }

    /// Copies a partition record by record into a fresh database at `dest` (backups); returns
    /// the records copied. The caller keeps the writer from folding meanwhile.
    pub fn copy_to(&self, id: &PartitionId, dest: &Path) -> Result<u64, StoreError> {
        let Some(part) = self.get(id, false)? else {
            return Ok(0);
        };
        let fresh = super::open_db(dest, 4 << 20)?;
        super::copy_db(&part.db, &fresh, |_, _| true)
    }

    /// Finishes compactions a crash interrupted (see [`super::recover_swap`]); run at start-up.
    pub fn recover(&self) -> Result<(), StoreError> {
        for account in self.accounts() {
            for class in Class::ALL {
                let Ok(entries) = std::fs::read_dir(self.account_dir(account).join(class.name()))
                else {
                    continue;
                };
                let mut dirs = HashSet::new();
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let base = [".compact.tmp", ".compact", ".old"]
                        .iter()
                        .find_map(|s| name.strip_suffix(s));
                    if let Some(base) = base {
                        dirs.insert(e.path().with_file_name(base));
                    }
                }
                for dir in dirs {
                    super::recover_swap(&dir)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes every partition of an account; returns the bytes freed.
    pub fn drop_account(&self, account: Id) -> Result<u64, StoreError> {
        let _guard = self.opening.lock();
        self.open.lock().retain(|k, _| k.account != account);
        let dir = self.account_dir(account);
        let freed = super::dir_size(&dir);
        remove_dir(&dir)?;
        Ok(freed)
    }

    /// Bytes on disk of all partitions.
    pub fn size_on_disk(&self) -> u64 {
        super::dir_size(&self.root)
    }

    /// Flushes every open partition.
    pub fn flush_all(&self) -> Result<(), StoreError> {
        let parts: Vec<_> = self.open.lock().values().map(|s| s.part.clone()).collect();
        for p in parts {
            p.flush()?;
        }
        Ok(())
    }
}

fn remove_dir(dir: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_labels_round_trip() {
        let t = 1_795_608_030; // 2026-11-25T12:00:30Z
        let minute = Class::Rollup(Resolution::Minute);
        let (s, e) = minute.period(t);
        assert_eq!((s, e - s), (1_795_608_000, 3600));
        assert_eq!(minute.label(s, e), "2026-11-25T12h");
        assert_eq!(minute.parse_label("2026-11-25T12h"), Some((s, e)));
        assert_eq!(
            minute.parse_label("2026-11-25T13h"),
            Some((s + 3600, e + 3600))
        );
        let five = Class::Rollup(Resolution::FiveMinutes);
        let (s5, e5) = five.period(t);
        assert_eq!(e5 - s5, 86_400);
        assert_eq!(five.label(s5, e5), "2026-11-25");
        assert_eq!(five.parse_label("2026-11-25"), Some((s5, e5)));
        let hour = Class::Rollup(Resolution::Hour);
        let (sh, eh) = hour.period(t);
        assert_eq!(
            (hour.label(sh, eh), eh - sh),
            ("2026-11".into(), 30 * 86_400)
        );
        let day = Class::Rollup(Resolution::Day);
        assert_eq!(day.label(day.period(t).0, day.period(t).1), "2026");
        assert_eq!(
            Class::Sketch.parse_label("2026-11"),
            Some(Class::Sketch.period(t))
        );
        for bad in [
            "2026-13",
            "../x",
            "2026-11-25T07",
            "2026-11-25T-6",
            "2026-11-25X12",
            "2026-11-25T12x",
            "2026-11-25T24h",
            "2026-11-25T1h",
            "",
        ] {
            assert_eq!(hour.parse_label(bad), None, "{bad}");
            assert_eq!(minute.parse_label(bad), None, "{bad}");
        }
        // Earlier builds' layouts still parse: a day or six hours of minute rollups, a month of
        // five-minute rollups.
        assert_eq!(
            minute.parse_label("2026-11-25"),
            Some((1_795_564_800, 1_795_564_800 + 86_400))
        );
        assert_eq!(minute.parse_label("2026-11-25T12"), Some((s, s + 6 * 3600)));
        assert_eq!(five.parse_label("2026-11-25T12h"), None);
        assert_eq!(five.parse_label("2026-11"), Some(hour.period(t)));
        assert_eq!(hour.parse_label("2026-11-25"), None);
        assert_eq!(day.parse_label("2026-11"), None);
    }

    #[test]
    fn a_period_stored_in_an_earlier_layout_keeps_its_partition() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(dir.path().to_path_buf(), 1 << 20);
        let (a, t) = (Id(1), 1_795_608_030);
        let minute = Class::Rollup(Resolution::Minute);
        let five = Class::Rollup(Resolution::FiveMinutes);
        // Nothing on disk: this build's layout.
        assert_eq!(
            parts.resolve(PartitionId::at(a, minute, t)),
            PartitionId::at(a, minute, t)
        );
        // A day of minute rollups and a month of five-minute rollups written by an earlier build.
        for (class, label) in [(minute, "2026-11-25"), (five, "2026-11")] {
            let d = dir
                .path()
                .join(a.to_string())
                .join(class.name())
                .join(label);
            std::fs::create_dir_all(&d).unwrap();
        }
        let legacy_minute = parts.resolve(PartitionId::at(a, minute, t));
        assert_eq!(
            (legacy_minute.start, legacy_minute.end),
            (1_795_564_800, 1_795_651_200)
        );
        let legacy_five = parts.resolve(PartitionId::at(a, five, t));
        assert_eq!(
            (legacy_five.start, legacy_five.end),
            five.legacy_periods(t)[0]
        );
        // The next day and month are written in this build's layout.
        let later = t + 40 * 86_400;
        assert_eq!(
            parts.resolve(PartitionId::at(a, five, later)),
            PartitionId::at(a, five, later)
        );
        // Both layouts are listed and found by time.
        let p = parts.get(&legacy_minute, true).unwrap().unwrap();
        let mut fold = Fold::default();
        fold.scalars.insert(
            (5, Resolution::Minute.bucket(t)),
            Scalars {
                views: 3,
                ..Default::default()
            },
        );
        p.apply(1, &fold).unwrap();
        let fresh = PartitionId::at(a, minute, later);
        parts.get(&fresh, true).unwrap();
        assert_eq!(parts.list(a, minute), vec![legacy_minute, fresh]);
        assert_eq!(parts.overlapping(a, minute, t, t + 60), vec![legacy_minute]);
        assert!(parts.dir(&legacy_minute).ends_with("minute/2026-11-25"));
        assert!(parts.dir(&fresh).ends_with("minute/2027-01-04T12h"));
        // Six hours of minute rollups (schema 2) keep receiving their period too.
        let six = dir
            .path()
            .join(a.to_string())
            .join(minute.name())
            .join("2027-01-04T12");
        std::fs::create_dir_all(&six).unwrap();
        let legacy_six = parts.resolve(PartitionId::at(a, minute, later + 3 * 3600));
        assert!(parts.dir(&legacy_six).ends_with("minute/2027-01-04T12"));
        assert_eq!(legacy_six.end - legacy_six.start, 6 * 3600);
        assert_eq!(
            parts.resolve(PartitionId::at(a, minute, later + 6 * 3600)),
            PartitionId::at(a, minute, later + 6 * 3600)
        );
    }

    #[test]
    fn fold_apply_merges_and_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(dir.path().to_path_buf(), 1 << 20);
        let id = PartitionId::at(Id(1), Class::Rollup(Resolution::Minute), 1_795_608_030);
        let p = parts.get(&id, true).unwrap().unwrap();
        let mut fold = Fold::default();
        fold.scalars.insert(
            (5, 60),
            Scalars {
                views: 2,
                ..Default::default()
            },
        );
        fold.series.insert(5, SeriesInfo::total());
        p.apply(1, &fold).unwrap();
        p.apply(2, &fold).unwrap();
        assert_eq!(p.applied().unwrap(), 2);
        let got = p.scalars(5, 0, 120).unwrap();
        assert_eq!(
            got,
            vec![(
                60,
                Scalars {
                    views: 4,
                    ..Default::default()
                }
            )]
        );
        assert_eq!(p.series().unwrap().len(), 1);
        drop(p);
        assert_eq!(parts.list(Id(1), id.class), vec![id]);
        assert!(parts.drop_partition(&id).unwrap() > 0);
        assert!(parts.list(Id(1), id.class).is_empty());
    }

    #[test]
    fn a_large_fold_goes_in_chunks_and_an_interrupted_apply_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(dir.path().to_path_buf(), 1 << 20);
        let id = PartitionId::at(Id(1), Class::Rollup(Resolution::Minute), 1_795_608_030);
        let p = parts.get(&id, true).unwrap().unwrap();
        let mut fold = Fold::default();
        let n = APPLY_CHUNK * 2 + 100;
        for s in 0..n as u64 {
            fold.scalars.insert(
                (s, 60),
                Scalars {
                    views: 1,
                    ..Default::default()
                },
            );
        }
        p.apply(1, &fold).unwrap();
        assert_eq!(p.applied().unwrap(), 1);
        p.apply(1, &fold).unwrap();
        let views = |s: u64| p.scalars(s, 0, 120).unwrap()[0].1.views;
        assert!(
            (0..n as u64).all(|s| views(s) == 1),
            "a replay merges nothing twice"
        );
        // As if checkpoint 2 had stopped after its first chunk: a replay does the rest only.
        p.write_chunk(&[], Progress::Partial(2, 1)).unwrap();
        assert_eq!(p.applied().unwrap(), 1);
        p.apply(2, &fold).unwrap();
        assert_eq!(p.applied().unwrap(), 2);
        let twice = (0..n as u64).filter(|s| views(*s) == 2).count();
        assert_eq!(
            twice,
            n - APPLY_CHUNK,
            "the first chunk was not merged again"
        );
        assert_eq!(
            Progress::decode(Some(&Progress::Partial(7, 3).encode())),
            Progress::Partial(7, 3)
        );
        assert_eq!(
            Progress::decode(Some(&9u64.to_be_bytes())),
            Progress::Done(9)
        );
    }

    fn bytes_under(dir: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(bytes_under(&e.path()));
            } else {
                out.extend(std::fs::read(e.path()).unwrap());
            }
        }
        out
    }

    #[test]
    fn compaction_forgets_expired_records_and_their_stream_names() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(dir.path().to_path_buf(), 1 << 20);
        let hour = Class::Rollup(Resolution::Hour);
        let t0 = 1_795_608_000; // inside one month
        let id = PartitionId::at(Id(1), hour, t0);
        let old = SeriesInfo::scopes(Id(2), "live", "zebra-expired-stream")[3].clone();
        let new = SeriesInfo::scopes(Id(2), "live", "recent-stream")[3].clone();
        let p = parts.get(&id, true).unwrap().unwrap();
        let mut fold = Fold::default();
        fold.scalars.insert(
            (old.id(), t0),
            Scalars {
                views: 1,
                ..Default::default()
            },
        );
        fold.scalars.insert(
            (new.id(), t0 + 7200),
            Scalars {
                views: 2,
                ..Default::default()
            },
        );
        fold.series.insert(old.id(), old.clone());
        fold.series.insert(new.id(), new.clone());
        p.apply(1, &fold).unwrap();
        p.flush().unwrap();
        assert_eq!(p.expired(t0 + 3600).unwrap().records, 1);
        let reader = p.clone();
        drop(p);
        // A reader holding a handle delays the compaction until it lets go.
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(reader);
        });
        let (removed, c) = parts.compact(&id, t0 + 3600).unwrap().unwrap();
        t.join().unwrap();
        assert_eq!(removed, 1);
        assert!(c.records >= 3);
        let raw = bytes_under(&parts.dir(&id));
        assert!(!raw.windows(20).any(|w| w == b"zebra-expired-stream"));
        assert!(raw.windows(13).any(|w| w == b"recent-stream"));
        let p = parts.get(&id, false).unwrap().unwrap();
        assert_eq!(p.scalars(new.id(), 0, i64::MAX).unwrap().len(), 1);
        assert!(p.scalars(old.id(), 0, i64::MAX).unwrap().is_empty());
        assert_eq!(p.applied().unwrap(), 1);
        assert_eq!(p.series().unwrap().len(), 1);
        assert!(!p.expired(t0 + 3600).unwrap().pending);
        assert_eq!(parts.list(Id(1), hour), vec![id]);
    }
}
