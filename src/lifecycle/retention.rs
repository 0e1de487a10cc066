//! Retention: how long each data class is kept, and the run that deletes what expired.
//!
//! The operator sets instance values (the defaults, and the maximum every account is held to);
//! an account may shorten any class, never lengthen it past the instance value. Cutoffs are
//! whole UTC days (`midnight(now − days)`), so a record goes in the first run after it is
//! `days` old plus at most one day, and a straddling partition is compacted at most once a day.
//!
//! What a run does, per account and rollup class:
//! - partitions whose whole period ended before the cutoff are **deleted** (directories);
//! - the one partition straddling the cutoff loses its expired records and is **compacted**
//!   (rewritten and swapped, see `store::partitions`), so those bytes leave the files too;
//! - statistics of accounts that no longer exist (an interrupted erasure) are deleted;
//! - salts of closed local days are destroyed;
//! - expired meta records (login sessions; activity entries when the activity log exists) are
//!   removed, and the meta database is compacted within a day of such removals.
//!
//! Work goes partition by partition on a blocking thread; only the partition being compacted
//! is unavailable meanwhile, so ingest of current data never waits.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::Lifecycle;
use crate::model::account::Id;
use crate::model::rollup::Resolution;
use crate::store::meta::INSTANCE;
use crate::store::partitions::{Class, PartitionId};
use crate::store::{MetaStore, StoreError, codec, dir_size};

/// Longest retention the instance accepts (100 years).
pub const MAX_DAYS: u32 = 36_500;
/// How long after a routine removal of meta records the meta database may keep their bytes.
pub const META_COMPACT_EVERY_S: i64 = 20 * 3600;

/// A data class with its own retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataClass {
    Minute,
    FiveMinute,
    Hour,
    Day,
    UniqueViewers,
    Activity,
    AlertHistory,
}

impl DataClass {
    /// Every class, in display order.
    pub const ALL: [DataClass; 7] = [
        DataClass::Minute,
        DataClass::FiveMinute,
        DataClass::Hour,
        DataClass::Day,
        DataClass::UniqueViewers,
        DataClass::Activity,
        DataClass::AlertHistory,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            DataClass::Minute => "minute",
            DataClass::FiveMinute => "five_minute",
            DataClass::Hour => "hour",
            DataClass::Day => "day",
            DataClass::UniqueViewers => "unique_viewers",
            DataClass::Activity => "activity",
            DataClass::AlertHistory => "alert_history",
        }
    }

    /// Key in the settings API: `<class>_days`.
    pub fn key(self) -> &'static str {
        match self {
            DataClass::Minute => "minute_days",
            DataClass::FiveMinute => "five_minute_days",
            DataClass::Hour => "hour_days",
            DataClass::Day => "day_days",
            DataClass::UniqueViewers => "unique_viewers_days",
            DataClass::Activity => "activity_days",
            DataClass::AlertHistory => "alert_history_days",
        }
    }

    /// Instance default.
    pub fn default_days(self) -> u32 {
        match self {
            DataClass::Minute => 14,
            DataClass::FiveMinute => 400,
            DataClass::Hour => 730,
            DataClass::Day => 1825,
            DataClass::UniqueViewers => 400,
            DataClass::Activity => 365,
            DataClass::AlertHistory => 365,
        }
    }

    /// What the class holds, and what shortening it costs (for the settings screen and notice).
    pub fn holds(self) -> &'static str {
        match self {
            DataClass::Minute => {
                "Per-minute statistics per server, app and stream (viewers, views, traffic, countries, players). \
                 Charts of the last days are drawn from them; after they go, those periods show 5-minute detail."
            }
            DataClass::FiveMinute => {
                "Five-minute statistics, used for 95th-percentile bandwidth billing. After they go, billing \
                 reports for those periods cannot be produced."
            }
            DataClass::Hour => "Hourly statistics, for charts spanning weeks and months.",
            DataClass::Day => "Daily statistics, for long-term trends and daily reports.",
            DataClass::UniqueViewers => {
                "Daily unique-viewer sketches (HyperLogLog registers of salted hashes; the salts are destroyed \
                 when each day ends). After they go, unique-viewer counts of those days are unavailable."
            }
            DataClass::Activity => {
                "The activity log: who did what in the panel, when, and from which truncated address."
            }
            DataClass::AlertHistory => "Alerts that fired and when they cleared.",
        }
    }

    /// The rollup partitions this class lives in, if any.
    pub fn partitions(self) -> Option<Class> {
        Some(match self {
            DataClass::Minute => Class::Rollup(Resolution::Minute),
            DataClass::FiveMinute => Class::Rollup(Resolution::FiveMinutes),
            DataClass::Hour => Class::Rollup(Resolution::Hour),
            DataClass::Day => Class::Rollup(Resolution::Day),
            DataClass::UniqueViewers => Class::Sketch,
            DataClass::Activity | DataClass::AlertHistory => return None,
        })
    }

    /// Parses a `<class>_days` key.
    pub fn from_key(key: &str) -> Option<DataClass> {
        DataClass::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// One value per class (days, or an account's optional shortening). Stored with postcard:
/// fields are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PerClass<T> {
    pub minute_days: T,
    pub five_minute_days: T,
    pub hour_days: T,
    pub day_days: T,
    pub unique_viewers_days: T,
    pub activity_days: T,
    pub alert_history_days: T,
}

impl<T: Copy> PerClass<T> {
    /// The value of one class.
    pub fn get(&self, c: DataClass) -> T {
        match c {
            DataClass::Minute => self.minute_days,
            DataClass::FiveMinute => self.five_minute_days,
            DataClass::Hour => self.hour_days,
            DataClass::Day => self.day_days,
            DataClass::UniqueViewers => self.unique_viewers_days,
            DataClass::Activity => self.activity_days,
            DataClass::AlertHistory => self.alert_history_days,
        }
    }

    /// Sets the value of one class.
    pub fn set(&mut self, c: DataClass, v: T) {
        let slot = match c {
            DataClass::Minute => &mut self.minute_days,
            DataClass::FiveMinute => &mut self.five_minute_days,
            DataClass::Hour => &mut self.hour_days,
            DataClass::Day => &mut self.day_days,
            DataClass::UniqueViewers => &mut self.unique_viewers_days,
            DataClass::Activity => &mut self.activity_days,
            DataClass::AlertHistory => &mut self.alert_history_days,
        };
        *slot = v;
    }
}

/// Days each class is kept.
pub type Retention = PerClass<u32>;
/// An account's shortenings; `None` follows the instance value.
pub type Overrides = PerClass<Option<u32>>;

impl Retention {
    /// The built-in defaults.
    pub fn defaults() -> Retention {
        let mut r = PerClass::default();
        for c in DataClass::ALL {
            r.set(c, c.default_days());
        }
        r
    }

    /// `self` shortened by an account's overrides.
    pub fn shortened_by(&self, o: &Overrides) -> Retention {
        let mut r = *self;
        for c in DataClass::ALL {
            if let Some(v) = o.get(c) {
                r.set(c, v.min(self.get(c)));
            }
        }
        r
    }
}

const INSTANCE_KEY: &str = "lifecycle.retention";
const ACCOUNT_PREFIX: &str = "lifecycle.retention.";

fn account_key(account: Id) -> String {
    format!("{ACCOUNT_PREFIX}{account}")
}

/// The instance values (defaults and maxima).
pub fn instance(meta: &MetaStore) -> Result<Retention, StoreError> {
    match meta.setting(INSTANCE_KEY)? {
        Some(v) => codec::decode(&v),
        None => Ok(Retention::defaults()),
    }
}

/// Stores the instance values.
pub fn set_instance(meta: &MetaStore, r: &Retention) -> Result<(), StoreError> {
    meta.set_setting(INSTANCE_KEY, &codec::encode(r)?)?;
    meta.flush()
}

/// An account's shortenings.
pub fn overrides(meta: &MetaStore, account: Id) -> Result<Overrides, StoreError> {
    match meta.setting(&account_key(account))? {
        Some(v) => codec::decode(&v),
        None => Ok(Overrides::default()),
    }
}

/// Stores an account's shortenings (all `None` removes the record).
pub fn set_overrides(meta: &MetaStore, account: Id, o: &Overrides) -> Result<(), StoreError> {
    if *o == Overrides::default() {
        meta.remove_setting(&account_key(account))?;
    } else {
        meta.set_setting(&account_key(account), &codec::encode(o)?)?;
    }
    meta.flush()
}

/// Forgets an account's settings (erasure).
pub fn remove_account(meta: &MetaStore, account: Id) -> Result<(), StoreError> {
    meta.remove_setting(&account_key(account))
}

/// The retention that applies to an account.
pub fn effective(meta: &MetaStore, account: Id) -> Result<Retention, StoreError> {
    Ok(instance(meta)?.shortened_by(&overrides(meta, account)?))
}

/// Records before this time are expired: `now − days`, rounded down to a UTC midnight.
pub fn cutoff(now: i64, days: u32) -> i64 {
    (now - days as i64 * 86_400).div_euclid(86_400) * 86_400
}

/// What a run removed (or, in a dry run, would remove) for one class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClassReport {
    pub class: &'static str,
    pub partitions_dropped: u64,
    pub partitions_compacted: u64,
    pub records: u64,
    pub bytes: u64,
}

/// What a run removed (or would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub dry_run: bool,
    pub started_at: i64,
    pub finished_at: i64,
    /// Whole partitions deleted.
    pub partitions_dropped: u64,
    /// Partitions straddling a cutoff, rewritten without their expired records.
    pub partitions_compacted: u64,
    /// Records removed (rollups, sketches, meta records).
    pub records: u64,
    /// Bytes given back to the file system (dry run: an estimate).
    pub bytes: u64,
    pub classes: Vec<ClassReport>,
    /// Statistics directories of accounts that no longer exist, deleted.
    pub orphaned_accounts: u64,
    pub salts_destroyed: u64,
    /// Expired meta records (login sessions, activity entries) removed.
    pub meta_records: u64,
    pub meta_compacted: bool,
    /// Problems met; the run carries on past each.
    pub errors: Vec<String>,
}

impl RunReport {
    fn class(&mut self, c: DataClass) -> &mut ClassReport {
        let i = match self.classes.iter().position(|r| r.class == c.name()) {
            Some(i) => i,
            None => {
                self.classes.push(ClassReport {
                    class: c.name(),
                    ..Default::default()
                });
                self.classes.len() - 1
            }
        };
        &mut self.classes[i]
    }
}

/// Runs retention unless another lifecycle task is running (then `None`).
pub fn try_run(lc: &Lifecycle, now: i64, dry_run: bool) -> Option<RunReport> {
    let _busy = lc.exclusive.try_lock()?;
    Some(run_locked(lc, now, dry_run))
}

/// Runs retention, waiting for other lifecycle tasks first.
pub fn run(lc: &Lifecycle, now: i64, dry_run: bool) -> RunReport {
    let _busy = lc.exclusive.lock();
    run_locked(lc, now, dry_run)
}

fn run_locked(lc: &Lifecycle, now: i64, dry_run: bool) -> RunReport {
    let mut rep = RunReport {
        dry_run,
        started_at: now,
        ..Default::default()
    };
    for c in DataClass::ALL {
        rep.class(c);
    }
    let mut accounts: Vec<Id> = match lc.meta.accounts() {
        Ok(a) => a.into_iter().map(|a| a.id).collect(),
        Err(e) => {
            rep.errors.push(format!("accounts: {e}"));
            Vec::new()
        }
    };
    for id in lc.parts.accounts() {
        if !accounts.contains(&id) {
            accounts.push(id);
        }
    }
    for account in accounts {
        match lc.meta.account(account) {
            Ok(Some(_)) => {}
            Ok(None) => {
                orphan(lc, account, dry_run, &mut rep);
                continue;
            }
            Err(e) => {
                rep.errors.push(format!("account {account}: {e}"));
                continue;
            }
        }
        let days = match effective(&lc.meta, account) {
            Ok(r) => r,
            Err(e) => {
                rep.errors.push(format!("retention of {account}: {e}"));
                continue;
            }
        };
        for c in DataClass::ALL {
            let Some(class) = c.partitions() else {
                continue;
            };
            expire_partitions(
                lc,
                account,
                c,
                class,
                cutoff(now, days.get(c)),
                dry_run,
                &mut rep,
            );
        }
    }
    if !dry_run {
        match lc.salts.destroy_closed(now) {
            Ok(n) => rep.salts_destroyed = n as u64,
            Err(e) => rep.errors.push(format!("salts: {e}")),
        }
        expire_meta(lc, now, &mut rep);
    }
    rep.partitions_dropped = rep.classes.iter().map(|c| c.partitions_dropped).sum();
    rep.partitions_compacted = rep.classes.iter().map(|c| c.partitions_compacted).sum();
    rep.records += rep.classes.iter().map(|c| c.records).sum::<u64>();
    rep.bytes += rep.classes.iter().map(|c| c.bytes).sum::<u64>();
    rep.finished_at = crate::now().max(now);
    if !dry_run {
        let s = &lc.stats;
        s.retention_runs.fetch_add(1, Ordering::Relaxed);
        s.retention_last_run_at.store(now, Ordering::Relaxed);
        s.partitions_dropped
            .fetch_add(rep.partitions_dropped, Ordering::Relaxed);
        s.partitions_compacted
            .fetch_add(rep.partitions_compacted, Ordering::Relaxed);
        s.records_removed.fetch_add(rep.records, Ordering::Relaxed);
        s.reclaimed(rep.classes.iter().map(|c| c.bytes).sum());
    }
    rep
}

fn orphan(lc: &Lifecycle, account: Id, dry_run: bool, rep: &mut RunReport) {
    rep.orphaned_accounts += 1;
    if dry_run {
        rep.bytes += dir_size(&lc.parts.account_dir(account));
        return;
    }
    match lc.parts.drop_account(account) {
        Ok(bytes) => {
            rep.bytes += bytes;
            lc.stats.reclaimed(bytes);
        }
        Err(e) => rep
            .errors
            .push(format!("statistics of removed account {account}: {e}")),
    }
    if let Err(e) = lc.salts.destroy_account(account) {
        rep.errors
            .push(format!("salts of removed account {account}: {e}"));
    }
    tracing::info!(account = %account, "deleted the statistics of an account that no longer exists");
}

fn expire_partitions(
    lc: &Lifecycle,
    account: Id,
    c: DataClass,
    class: Class,
    cutoff: i64,
    dry_run: bool,
    rep: &mut RunReport,
) {
    for pid in lc.parts.list(account, class) {
        if pid.start >= cutoff {
            break;
        }
        let res = if pid.end <= cutoff {
            drop_whole(lc, &pid, dry_run, rep.class(c))
        } else {
            trim_straddling(lc, &pid, cutoff, dry_run, rep.class(c))
        };
        if let Err(e) = res {
            rep.errors
                .push(format!("{}: {e}", lc.parts.dir(&pid).display()));
        }
    }
}

fn drop_whole(
    lc: &Lifecycle,
    pid: &PartitionId,
    dry_run: bool,
    rep: &mut ClassReport,
) -> Result<(), StoreError> {
    let records = lc.parts.expired(pid, i64::MAX)?.map_or(0, |e| e.records);
    let bytes = if dry_run {
        dir_size(&lc.parts.dir(pid))
    } else {
        lc.parts.drop_partition(pid)?
    };
    rep.partitions_dropped += 1;
    rep.records += records;
    rep.bytes += bytes;
    Ok(())
}

fn trim_straddling(
    lc: &Lifecycle,
    pid: &PartitionId,
    cutoff: i64,
    dry_run: bool,
    rep: &mut ClassReport,
) -> Result<(), StoreError> {
    if !dry_run && lc.trimmed.lock().get(pid) == Some(&cutoff) {
        return Ok(());
    }
    let Some(expired) = lc.parts.expired(pid, cutoff)? else {
        return Ok(());
    };
    if expired.records == 0 && !expired.pending {
        if !dry_run {
            lc.trimmed.lock().insert(*pid, cutoff);
        }
        return Ok(());
    }
    if dry_run {
        rep.partitions_compacted += 1;
        rep.records += expired.records;
        rep.bytes += expired.bytes;
        return Ok(());
    }
    if let Some((removed, c)) = lc.parts.compact(pid, cutoff)? {
        rep.partitions_compacted += 1;
        rep.records += removed as u64;
        rep.bytes += c.reclaimed();
    }
    let mut trimmed = lc.trimmed.lock();
    // Forget partitions that have since expired whole, so the map stays small.
    trimmed.retain(|p, c| p.end > *c);
    trimmed.insert(*pid, cutoff);
    Ok(())
}

fn expire_meta(lc: &Lifecycle, now: i64, rep: &mut RunReport) {
    match lc.meta.purge_login_sessions(now) {
        Ok(n) => {
            rep.meta_records += n as u64;
            // Activity entries are counted with their class below.
            rep.records += n as u64;
        }
        Err(e) => rep.errors.push(format!("login sessions: {e}")),
    }
    // The activity log: each account's entries after its own period, the instance's after
    // the instance value.
    // The alert history likewise, per account.
    let mut owners: Vec<(Id, u32, Option<u32>)> = Vec::new();
    match instance(&lc.meta) {
        Ok(r) => owners.push((INSTANCE, r.activity_days, None)),
        Err(e) => rep.errors.push(format!("retention settings: {e}")),
    }
    if let Ok(accounts) = lc.meta.accounts() {
        for a in accounts {
            match effective(&lc.meta, a.id) {
                Ok(r) => owners.push((a.id, r.activity_days, Some(r.alert_history_days))),
                Err(e) => rep.errors.push(format!("retention of {}: {e}", a.id)),
            }
        }
    }
    for (owner, days, alert_days) in owners {
        match lc
            .meta
            .purge_account_activity_before(owner, cutoff(now, days))
        {
            Ok(n) => {
                rep.meta_records += n as u64;
                rep.class(DataClass::Activity).records += n as u64;
            }
            Err(e) => rep.errors.push(format!("activity of {owner}: {e}")),
        }
        let Some(alert_days) = alert_days else {
            continue;
        };
        match lc
            .meta
            .purge_alert_events_before(owner, cutoff(now, alert_days))
        {
            Ok(n) => {
                rep.meta_records += n as u64;
                rep.class(DataClass::AlertHistory).records += n as u64;
            }
            Err(e) => rep.errors.push(format!("alert history of {owner}: {e}")),
        }
    }
    let s = &lc.stats;
    if rep.meta_records > 0 {
        let _ = s
            .meta_dirty_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }
    let dirty = s.meta_dirty_since.load(Ordering::Relaxed);
    if dirty != 0 && now - s.meta_compacted_at.load(Ordering::Relaxed) >= META_COMPACT_EVERY_S {
        match lc.compact_meta(now) {
            Ok(c) => {
                rep.meta_compacted = true;
                rep.bytes += c.reclaimed();
                s.meta_dirty_since.store(0, Ordering::Relaxed);
            }
            Err(e) => rep.errors.push(format!("meta compaction: {e}")),
        }
    }
}

/// What the next run would remove from one account with the retention `days` (the effect of
/// a settings change, shown before it is saved).
pub fn preview(lc: &Lifecycle, account: Id, days: &Retention, now: i64) -> Vec<ClassReport> {
    let mut rep = RunReport {
        dry_run: true,
        ..Default::default()
    };
    for c in DataClass::ALL {
        rep.class(c);
        if let Some(class) = c.partitions() {
            expire_partitions(
                lc,
                account,
                c,
                class,
                cutoff(now, days.get(c)),
                true,
                &mut rep,
            );
        }
    }
    rep.classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_are_utc_midnights_at_least_days_old() {
        let now = 1_795_608_030; // 2026-11-25T12:00:30Z
        let c = cutoff(now, 14);
        assert_eq!(c % 86_400, 0);
        assert!(c <= now - 14 * 86_400 && c > now - 15 * 86_400);
        assert_eq!(cutoff(1_795_564_800, 1), 1_795_564_800 - 86_400);
    }

    #[test]
    fn accounts_only_shorten() {
        let inst = Retention::defaults();
        let mut o = Overrides::default();
        o.set(DataClass::Minute, Some(3));
        o.set(DataClass::Day, Some(99_999));
        let e = inst.shortened_by(&o);
        assert_eq!(e.minute_days, 3);
        assert_eq!(e.day_days, 1825);
        assert_eq!(e.hour_days, 730);
        assert_eq!(
            DataClass::from_key("unique_viewers_days"),
            Some(DataClass::UniqueViewers)
        );
        assert_eq!(
            DataClass::ALL
                .iter()
                .filter(|c| c.partitions().is_some())
                .count(),
            5
        );
    }

    #[test]
    fn settings_round_trip_in_meta() {
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open(&dir.path().join("meta"), 1 << 20).unwrap();
        assert_eq!(instance(&meta).unwrap(), Retention::defaults());
        let r = Retention {
            hour_days: 100,
            ..Retention::defaults()
        };
        set_instance(&meta, &r).unwrap();
        let o = Overrides {
            hour_days: Some(50),
            ..Default::default()
        };
        set_overrides(&meta, Id(7), &o).unwrap();
        assert_eq!(effective(&meta, Id(7)).unwrap().hour_days, 50);
        assert_eq!(effective(&meta, Id(8)).unwrap().hour_days, 100);
        set_overrides(&meta, Id(7), &Overrides::default()).unwrap();
        assert!(meta.setting(&account_key(Id(7))).unwrap().is_none());
    }

    #[test]
    fn activity_expires_per_account_and_the_meta_database_is_compacted() {
        use crate::activity::Entry;
        use crate::model::account::Account;
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open(&dir.path().join("meta"), 1 << 20).unwrap();
        let parts = std::sync::Arc::new(crate::store::Partitions::new(
            dir.path().join("stats"),
            1 << 20,
        ));
        let salts = std::sync::Arc::new(crate::ingest::salt::Salts::new(dir.path().join("salts")));
        let lc = Lifecycle::new(dir.path().to_path_buf(), meta.clone(), parts, salts);
        let now = 1_795_608_030;
        let (short, long) = (Id(11), Id(12));
        for id in [short, long] {
            let a = Account {
                id,
                name: format!("acc-{id}"),
                created_at: 0,
                domains: Vec::new(),
                processing_restricted: false,
                timezone: "UTC".into(),
                limits: Default::default(),
            };
            meta.put_account(&a).unwrap();
        }
        set_overrides(
            &meta,
            short,
            &Overrides {
                activity_days: Some(10),
                ..Default::default()
            },
        )
        .unwrap();
        let entry = |t: i64, who: &str| Entry {
            time: t,
            actor: who.into(),
            action: "login".into(),
            target: String::new(),
            ip: None,
            country: None,
        };
        meta.append_activity(
            short,
            &entry(now - 20 * 86_400, "gone-after-10-days@example.org"),
        )
        .unwrap();
        meta.append_activity(short, &entry(now - 86_400, "recent@example.org"))
            .unwrap();
        meta.append_activity(long, &entry(now - 20 * 86_400, "kept-365-days@example.org"))
            .unwrap();
        meta.append_activity(
            INSTANCE,
            &entry(now - 400 * 86_400, "instance-old@example.org"),
        )
        .unwrap();
        meta.flush().unwrap();
        let mut rep = run(&lc, now, false);
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
        assert_eq!(rep.class(DataClass::Activity).records, 2);
        assert!(rep.meta_compacted);
        assert_eq!(meta.activity_of(short).unwrap().len(), 1);
        assert_eq!(meta.activity_of(long).unwrap().len(), 1);
        assert!(meta.activity_of(INSTANCE).unwrap().is_empty());
        let mut raw = Vec::new();
        for e in std::fs::read_dir(dir.path().join("meta"))
            .unwrap()
            .flatten()
        {
            if e.path().is_file() {
                raw.extend(std::fs::read(e.path()).unwrap());
            }
        }
        assert!(!raw.windows(22).any(|w| w == b"gone-after-10-days@exa"));
        assert!(raw.windows(18).any(|w| w == b"recent@example.org"));
    }
}
