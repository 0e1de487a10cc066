//! Storage: the only module that names sled.
//!
//! Layout of the data directory:
//! - `meta/` — one sled database: accounts, users, servers, tokens, login sessions, the
//!   dimension dictionary, report de-duplication, settings, schema version;
//! - `stats/<account>/<class>/<period>/` — rollups, one sled database per account, resolution
//!   and time period, so retention and erasure delete whole directories (sled reclaims space
//!   lazily, so deleting keys would leave the bytes in its files);
//! - `wal/` and `state/` — the ingest journal and checkpoint (see `ingest::writer`);
//! - `salts/` — one file per account and day, unlinked when the day closes.
//!
//! What cannot be dropped whole (the meta database after an erasure, the rollup partition that
//! straddles a retention cutoff) is *compacted*: its live records are rewritten into a fresh
//! database in a sibling directory (`<dir>.compact`), which then replaces the original; the old
//! directory, with every removed byte, is deleted. See [`copy_db`] and [`swap_in`].

pub mod codec;
pub mod handle;
pub mod keys;
pub mod meta;
pub mod migrations;
pub mod partitions;

use std::path::{Path, PathBuf};

pub use handle::MetaStore;
pub use partitions::Partitions;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk holding the data directory is full")]
    NoSpace,
    #[error(
        "data directory {0} is in use by another tally process; stop it first (or, for user \
         commands, let them reach the running server)"
    )]
    Locked(PathBuf),
    #[error(
        "data directory was written by a newer Tally (schema {found}, this binary knows up to \
         {known}); install the newer binary again or restore a backup made with this version"
    )]
    TooNew { found: u32, known: u32 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage failed: {0}")]
    Sled(String),
    /// A database stayed in use longer than a maintenance task could wait.
    #[error("{0} is in use; try again shortly")]
    InUse(String),
}

impl StoreError {
    /// True when the cause is a full disk.
    pub fn is_no_space(&self) -> bool {
        matches!(self, StoreError::NoSpace)
    }
}

/// Maps an I/O error, recognising a full disk.
pub fn io_error(err: std::io::Error) -> StoreError {
    if err.kind() == std::io::ErrorKind::StorageFull || err.raw_os_error() == Some(28) {
        StoreError::NoSpace
    } else {
        StoreError::Io(err)
    }
}

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        match err {
            sled::Error::Io(io) => io_error(io),
            sled::Error::Corruption { at, .. } => {
                StoreError::Corrupt(format!("sled corruption at {at:?}"))
            }
            other => StoreError::Sled(other.to_string()),
        }
    }
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(err: sled::transaction::TransactionError<StoreError>) -> Self {
        match err {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => e.into(),
        }
    }
}

/// Opens a sled database with the settings every Tally database shares.
///
/// The background flusher is off: durability comes from the ingest journal and explicit
/// flushes at checkpoints, and one thread per open partition would add up.
///
/// sled's file lock goes with the last reference to a database, and its I/O threads can hold
/// one for a moment after the handle is dropped; a lock found taken is retried for up to a
/// second before it is reported as held by another process.
pub fn open_db(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(path).map_err(io_error)?;
    let mut tries = 0;
    loop {
        match open_db_once(path, cache_bytes) {
            Err(StoreError::Locked(_)) if tries < LOCK_RETRIES => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

const LOCK_RETRIES: u32 = 20;

fn open_db_once(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .cache_capacity(cache_bytes)
        .flush_every_ms(None)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                StoreError::Locked(path.to_path_buf())
            }
            sled::Error::Io(io) if io.to_string().contains("lock") => {
                StoreError::Locked(path.to_path_buf())
            }
            other => other.into(),
        })
}

/// Total size of the regular files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// Writes a file atomically: temp file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error)?;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io_error)?;
        f.write_all(bytes).map_err(io_error)?;
        f.sync_all().map_err(io_error)?;
    }
    std::fs::rename(&tmp, path).map_err(io_error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Live records rewritten.
    pub records: u64,
    /// Size of the directory before.
    pub bytes_before: u64,
    /// Size of the directory after.
    pub bytes_after: u64,
}

impl Compaction {
    /// Bytes given back to the file system.
    pub fn reclaimed(&self) -> u64 {
        self.bytes_before.saturating_sub(self.bytes_after)
    }
}

/// Fsyncs a directory so that renames inside it are durable.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes a directory tree; a missing one is fine.
pub fn remove_tree(dir: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

/// The sibling paths used while `dir` is replaced by a rewritten copy: the copy being built,
/// the finished copy, and the original set aside.
pub fn swap_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sib = |suffix: &str| dir.with_file_name(format!("{name}{suffix}"));
    (sib(".compact.tmp"), sib(".compact"), sib(".old"))
}

/// Copies every tree of `src` into the fresh database `dst`, in batches, keeping the records
/// for which `keep(tree name, key)` is true. Returns the number of records copied.
///
/// Only live records are read, so the copy holds none of the bytes sled still keeps for
/// removed keys: this is how a database is made to forget.
pub fn copy_db(
    src: &sled::Db,
    dst: &sled::Db,
    keep: impl Fn(&[u8], &[u8]) -> bool,
) -> Result<u64, StoreError> {
    const BATCH: usize = 10_000;
    let mut copied = 0u64;
    for name in src.tree_names() {
        let from = src.open_tree(&name)?;
        let to = dst.open_tree(&name)?;
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for item in from.iter() {
            let (k, v) = item?;
            if !keep(&name, &k) {
                continue;
            }
            batch.insert(k, v);
            n += 1;
            copied += 1;
            if n == BATCH {
                to.apply_batch(std::mem::take(&mut batch))?;
                n = 0;
            }
        }
        if n > 0 {
            to.apply_batch(batch)?;
        }
    }
    dst.flush()?;
    Ok(copied)
}

/// Replaces `dir` with its finished copy (`<dir>.compact`, see [`swap_paths`]) and deletes the
/// original. Each step is a rename, so a crash leaves a state [`recover_swap`] completes.
pub fn swap_in(dir: &Path) -> Result<(), StoreError> {
    let (_, ready, old) = swap_paths(dir);
    let parent = dir.parent().unwrap_or(Path::new("."));
    remove_tree(&old)?;
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(io_error)?;
    }
    std::fs::rename(&ready, dir).map_err(io_error)?;
    sync_dir(parent);
    remove_tree(&old)?;
    sync_dir(parent);
    Ok(())
}

/// Finishes or undoes a replacement interrupted by a crash: an unfinished copy is deleted, a
/// finished one replaces the original, a set-aside original is deleted.
pub fn recover_swap(dir: &Path) -> Result<(), StoreError> {
    let (tmp, ready, old) = swap_paths(dir);
    remove_tree(&tmp)?;
    if ready.exists() {
        tracing::info!(dir = %dir.display(), "finishing an interrupted compaction");
        // The finished copy holds every live record; the original (if still present) is the
        // pre-compaction database and may be discarded.
        remove_tree(dir)?;
        std::fs::rename(&ready, dir).map_err(io_error)?;
    }
    remove_tree(&old)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent);
    }
    Ok(())
}
