//! Data lifecycle: what Tally keeps, for how long, and how it lets go of it.
//!
//! - [`retention`]: per-class retention settings and the run that deletes what expired —
//!   whole partitions are deleted, the one straddling a cutoff is compacted, closed days' salts
//!   are destroyed, expired meta records are removed and the meta database compacted;
//! - [`erase`]: erasure of a user or a whole account (data-subject right), down to the files;
//! - [`export`]: machine-readable exports of an account or a user (data-subject right);
//! - [`notice`]: the privacy notice generated from the live configuration;
//! - [`backup`]: consistent online snapshots and their restore.
//!
//! Retention runs, erasures and the copying phase of a backup exclude each other through
//! [`Lifecycle::exclusive`]; all of them run on blocking threads, never on the async runtime.
//! This module never names sled: it works through `store`.

pub mod backup;
pub mod erase;
pub mod export;
pub mod notice;
pub mod retention;
mod tar;
mod zip;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::ingest::salt::Salts;
use crate::store::partitions::PartitionId;
use crate::store::{MetaStore, Partitions};

/// Counters exported on `/metrics`.
#[derive(Default)]
pub struct LifecycleStats {
    /// Bytes given back to the file system by retention, erasure and compaction.
    pub reclaimed_bytes: AtomicU64,
    pub retention_runs: AtomicU64,
    pub retention_last_run_at: AtomicI64,
    pub partitions_dropped: AtomicU64,
    pub partitions_compacted: AtomicU64,
    pub records_removed: AtomicU64,
    pub meta_compactions: AtomicU64,
    pub erasures: AtomicU64,
    pub backups: AtomicU64,
    /// Unix time of the last meta compaction (throttles compaction after routine expiry).
    pub meta_compacted_at: AtomicI64,
    /// When expired meta records were first removed since the last compaction (0: none).
    pub meta_dirty_since: AtomicI64,
}

impl LifecycleStats {
    /// Adds reclaimed bytes.
    pub fn reclaimed(&self, bytes: u64) {
        self.reclaimed_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Everything the lifecycle tasks work on; shared by the server (in `AppState`) and the
/// offline CLI verbs.
pub struct Lifecycle {
    pub data_dir: PathBuf,
    pub meta: MetaStore,
    pub parts: Arc<Partitions>,
    pub salts: Arc<Salts>,
    pub stats: LifecycleStats,
    /// Held by a retention run, an erasure, or a backup while it copies.
    pub exclusive: Mutex<()>,
    /// Straddling partitions already trimmed to a cutoff (cutoffs move once a day, so the hourly
    /// runs in between need not scan them again).
    pub trimmed: Mutex<HashMap<PartitionId, i64>>,
}

impl Lifecycle {
    /// The lifecycle of the instance whose data lives in `data_dir`.
    pub fn new(
        data_dir: PathBuf,
        meta: MetaStore,
        parts: Arc<Partitions>,
        salts: Arc<Salts>,
    ) -> Lifecycle {
        Lifecycle {
            data_dir,
            meta,
            parts,
            salts,
            stats: LifecycleStats::default(),
            exclusive: Mutex::new(()),
            trimmed: Mutex::new(HashMap::new()),
        }
    }

    /// Compacts the meta database and accounts for it.
    pub fn compact_meta(
        &self,
        now: i64,
    ) -> Result<crate::store::Compaction, crate::store::StoreError> {
        let c = self.meta.compact()?;
        self.stats.meta_compactions.fetch_add(1, Ordering::Relaxed);
        self.stats.meta_compacted_at.store(now, Ordering::Relaxed);
        self.stats.reclaimed(c.reclaimed());
        Ok(c)
    }
}

/// Salts whose days follow each account's time zone, as stored in the meta database.
pub fn salts_for(data_dir: &std::path::Path, meta: &MetaStore) -> Salts {
    let meta = meta.clone();
    Salts::with_zones(
        data_dir.join("salts"),
        Box::new(move |id| meta.account(id).ok().flatten().map(|a| a.timezone)),
    )
}
