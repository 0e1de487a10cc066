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

pub mod codec;
pub mod keys;
pub mod meta;
pub mod migrations;
pub mod partitions;

use std::path::{Path, PathBuf};

pub use meta::MetaStore;
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
            sled::Error::Corruption { at, .. } => StoreError::Corrupt(format!("sled corruption at {at:?}")),
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
pub fn open_db(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(path).map_err(io_error)?;
    sled::Config::new()
        .path(path)
        .cache_capacity(cache_bytes)
        .flush_every_ms(None)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                StoreError::Locked(path.to_path_buf())
            }
            sled::Error::Io(io) if io.to_string().contains("lock") => StoreError::Locked(path.to_path_buf()),
            other => other.into(),
        })
}

/// Total size of the regular files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
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
