//! Rollup partitions: one sled database per account, storage class and time period.
//!
//! Directory: `stats/<account>/<class>/<period>/`. A period is a UTC day for minute rollups, a
//! month for five-minute and hour rollups and unique-viewer sketches, a year for day rollups.
//! Retention and erasure remove whole directories, which is the only way to make sled forget
//! bytes. Each database holds the trees `scalars`, `dims`, `hll` (sketch partitions), `series`
//! (catalog: id → names) and `state` (the last checkpoint folded in, for crash-safe replay).
//!
//! Handles are opened on demand and closed when idle; only the writer thread writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::civil::Date;
use parking_lot::Mutex;
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

    /// Start of the period containing `t`, and the start of the next one.
    pub fn period(self, t: i64) -> (i64, i64) {
        let date = jiff::Timestamp::from_second(t)
            .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date())
            .unwrap_or(Date::constant(1970, 1, 1));
        let (start, next) = match self {
            Class::Rollup(Resolution::Minute) => (date, date.tomorrow().unwrap_or(date)),
            Class::Rollup(Resolution::Day) => {
                let y = date.first_of_year();
                (y, y.checked_add(jiff::Span::new().years(1)).unwrap_or(y))
            }
            _ => {
                let m = date.first_of_month();
                (m, m.checked_add(jiff::Span::new().months(1)).unwrap_or(m))
            }
        };
        (day_seconds(start), day_seconds(next))
    }

    fn label(self, period_start: i64) -> String {
        let d = jiff::Timestamp::from_second(period_start)
            .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date())
            .unwrap_or(Date::constant(1970, 1, 1));
        match self {
            Class::Rollup(Resolution::Minute) => d.strftime("%Y-%m-%d").to_string(),
            Class::Rollup(Resolution::Day) => d.strftime("%Y").to_string(),
            _ => d.strftime("%Y-%m").to_string(),
        }
    }

    fn parse_label(self, label: &str) -> Option<i64> {
        let full = match self {
            Class::Rollup(Resolution::Minute) => label.to_string(),
            Class::Rollup(Resolution::Day) => format!("{label}-01-01"),
            _ => format!("{label}-01"),
        };
        let date: Date = full.parse().ok()?;
        let start = day_seconds(date);
        (self.label(start) == label).then_some(start)
    }
}

fn day_seconds(d: Date) -> i64 {
    d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp().as_second()).unwrap_or(0)
}

/// Identifies one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    pub account: Id,
    pub class: Class,
    /// Start of the period (Unix seconds, UTC).
    pub start: i64,
}

impl PartitionId {
    /// The partition holding time `t`.
    pub fn at(account: Id, class: Class, t: i64) -> PartitionId {
        PartitionId { account, class, start: class.period(t).0 }
    }

    /// End (exclusive) of the period.
    pub fn end(&self) -> i64 {
        self.class.period(self.start).1
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

impl Part {
    /// The last checkpoint folded into this partition.
    pub fn applied(&self) -> Result<u64, StoreError> {
        Ok(self
            .state
            .get(APPLIED)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Merges `fold` into the stored records and marks `checkpoint` applied, atomically.
    pub fn apply(&self, checkpoint: u64, fold: &Fold) -> Result<(), StoreError> {
        // Read-merge outside the transaction (only the writer thread writes), then write all
        // trees in one transaction so a crash leaves either none or all of it.
        let mut scalars = Vec::with_capacity(fold.scalars.len());
        for ((series, bucket), add) in &fold.scalars {
            let key = keys::rollup(*series, *bucket);
            let mut cur: Scalars = match self.scalars.get(key)? {
                Some(v) => codec::decode(&v)?,
                None => Scalars::default(),
            };
            cur.merge(add);
            scalars.push((key, codec::encode(&cur)?));
        }
        let mut dims = Vec::with_capacity(fold.dims.len());
        for ((series, bucket), add) in &fold.dims {
            let key = keys::rollup(*series, *bucket);
            let mut cur = match self.dims.get(key)? {
                Some(v) => Dims(codec::decode::<Vec<(DimKey, DimStat)>>(&v)?.into_iter().collect()),
                None => Dims::default(),
            };
            cur.merge(add);
            dims.push((key, codec::encode(&cur.to_sorted())?));
        }
        let mut hlls = Vec::with_capacity(fold.hll.len());
        for ((series, day), add) in &fold.hll {
            let key = keys::rollup(*series, *day);
            let mut cur = match self.hll.get(key)? {
                Some(v) => Hll::from_stored(&codec::decode::<StoredHll>(&v)?),
                None => Hll::default(),
            };
            cur.merge(add);
            hlls.push((key, codec::encode(&cur.to_stored())?));
        }
        let mut series = Vec::new();
        for (id, info) in &fold.series {
            if !self.series.contains_key(keys::series(*id))? {
                series.push((keys::series(*id), codec::encode(info)?));
            }
        }
        (&self.scalars, &self.dims, &self.hll, &self.series, &self.state).transaction(
            |(ts, td, th, tser, tst)| {
                for (k, v) in &scalars {
                    ts.insert(k, v.as_slice())?;
                }
                for (k, v) in &dims {
                    td.insert(k, v.as_slice())?;
                }
                for (k, v) in &hlls {
                    th.insert(k, v.as_slice())?;
                }
                for (k, v) in &series {
                    tser.insert(k, v.as_slice())?;
                }
                tst.insert(APPLIED, &checkpoint.to_be_bytes())?;
                Ok::<_, Abort<StoreError>>(())
            },
        )?;
        Ok(())
    }

    /// Makes the partition durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Scalars of one series for buckets in `[from, to)`.
    pub fn scalars(&self, series: u64, from: i64, to: i64) -> Result<Vec<(i64, Scalars)>, StoreError> {
        let mut out = Vec::new();
        for item in self.scalars.range(keys::rollup(series, from)..keys::rollup(series, to)) {
            let (k, v) = item?;
            if let Some((_, bucket)) = keys::parse_rollup(&k) {
                out.push((bucket, codec::decode(&v)?));
            }
        }
        Ok(out)
    }

    /// Breakdown maps of one series, merged over buckets in `[from, to)`, into `into`.
    pub fn dims_into(&self, series: u64, from: i64, to: i64, into: &mut Dims) -> Result<(), StoreError> {
        for item in self.dims.range(keys::rollup(series, from)..keys::rollup(series, to)) {
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
        for item in self.hll.range(keys::rollup(series, from)..keys::rollup(series, to)) {
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
            let id = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| StoreError::Corrupt("series key".into()))?);
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
}

/// Most partitions kept open at once; older idle ones are closed.
const MAX_OPEN: usize = 48;

impl Partitions {
    /// Partitions under `root` (the `stats` directory).
    pub fn new(root: PathBuf, cache_bytes: u64) -> Partitions {
        Partitions { root, cache_bytes, open: Mutex::new(HashMap::new()), opening: Mutex::new(()) }
    }

    /// Directory of one partition.
    pub fn dir(&self, id: &PartitionId) -> PathBuf {
        self.root.join(id.account.to_string()).join(id.class.name()).join(id.class.label(id.start))
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
        let _guard = self.opening.lock();
        if let Some(slot) = self.open.lock().get_mut(id) {
            return Ok(Some(slot.part.clone()));
        }
        let dir = self.dir(id);
        if !create && !dir.exists() {
            return Ok(None);
        }
        let db = super::open_db(&dir, self.cache_bytes)?;
        let part = Arc::new(Part {
            scalars: db.open_tree("scalars")?,
            dims: db.open_tree("dims")?,
            hll: db.open_tree("hll")?,
            series: db.open_tree("series")?,
            state: db.open_tree("state")?,
            db,
        });
        let mut open = self.open.lock();
        if open.len() >= MAX_OPEN {
            let idle = Instant::now() - Duration::from_secs(5);
            let mut victims: Vec<_> =
                open.iter().filter(|(_, s)| s.last_used < idle).map(|(k, s)| (*k, s.last_used)).collect();
            victims.sort_by_key(|(_, t)| *t);
            for (k, _) in victims.into_iter().take(open.len() + 1 - MAX_OPEN) {
                open.remove(&k);
            }
        }
        open.insert(*id, Slot { part: part.clone(), last_used: Instant::now() });
        Ok(Some(part))
    }

    /// Closes partitions unused for `idle`.
    pub fn close_idle(&self, idle: Duration) {
        let cutoff = Instant::now() - idle;
        self.open.lock().retain(|_, s| s.last_used >= cutoff);
    }

    /// Existing partitions of an account and class, by period start.
    pub fn list(&self, account: Id, class: Class) -> Vec<PartitionId> {
        let dir = self.account_dir(account).join(class.name());
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut out: Vec<PartitionId> = entries
            .flatten()
            .filter_map(|e| {
                let label = e.file_name().to_string_lossy().into_owned();
                class.parse_label(&label).map(|start| PartitionId { account, class, start })
            })
            .collect();
        out.sort();
        out
    }

    /// Accounts with statistics on disk.
    pub fn accounts(&self) -> Vec<Id> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        entries.flatten().filter_map(|e| Id::parse(&e.file_name().to_string_lossy())).collect()
    }

    /// Existing partitions overlapping `[from, to)`.
    pub fn overlapping(&self, account: Id, class: Class, from: i64, to: i64) -> Vec<PartitionId> {
        self.list(account, class).into_iter().filter(|p| p.start < to && p.end() > from).collect()
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
        assert_eq!(e - s, 86_400);
        assert_eq!(minute.label(s), "2026-11-25");
        assert_eq!(minute.parse_label("2026-11-25"), Some(s));
        let hour = Class::Rollup(Resolution::Hour);
        assert_eq!(hour.label(hour.period(t).0), "2026-11");
        assert_eq!(hour.period(t).1 - hour.period(t).0, 30 * 86_400);
        let day = Class::Rollup(Resolution::Day);
        assert_eq!(day.label(day.period(t).0), "2026");
        assert_eq!(hour.parse_label("2026-13"), None);
        assert_eq!(hour.parse_label("../x"), None);
    }

    #[test]
    fn fold_apply_merges_and_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(dir.path().to_path_buf(), 1 << 20);
        let id = PartitionId::at(Id(1), Class::Rollup(Resolution::Minute), 1_795_608_030);
        let p = parts.get(&id, true).unwrap().unwrap();
        let mut fold = Fold::default();
        fold.scalars.insert((5, 60), Scalars { views: 2, ..Default::default() });
        fold.series.insert(5, SeriesInfo::total());
        p.apply(1, &fold).unwrap();
        p.apply(2, &fold).unwrap();
        assert_eq!(p.applied().unwrap(), 2);
        let got = p.scalars(5, 0, 120).unwrap();
        assert_eq!(got, vec![(60, Scalars { views: 4, ..Default::default() })]);
        assert_eq!(p.series().unwrap().len(), 1);
        drop(p);
        assert_eq!(parts.list(Id(1), id.class), vec![id]);
        assert!(parts.drop_partition(&id).unwrap() > 0);
        assert!(parts.list(Id(1), id.class).is_empty());
    }
}
