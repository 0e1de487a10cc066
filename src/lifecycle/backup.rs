//! Backups: a consistent online snapshot of the data directory as a tar archive, and restore.
//!
//! **What a snapshot holds**: the meta database, every rollup partition and the writer's
//! checkpoint snapshot (`state/checkpoint.bin`), all as of one checkpoint. **What it leaves
//! out**: the ingest journal (`wal/`: after the checkpoint it only holds reports newer than the
//! snapshot, possibly mid-write), the day's salts (`salts/`: a salt must die with its day, and a
//! backup kept for a month would keep it alive — after a restore, a viewer seen both before
//! and after it on the same day counts twice in that day's unique viewers), certificates and
//! ACME keys (re-issued after a restore), and leftovers of compactions.
//!
//! **How it stays consistent while ingest goes on**: the writer is asked for a checkpoint,
//! then the checkpoint gate is held, so the writer keeps journaling and acknowledging reports
//! but folds nothing into the partitions; each database is *copied record by record* into a
//! fresh database in a staging directory (never its live files, which sled may be writing),
//! the meta database under its exclusive lock. The gate is released as soon as the copies are
//! made, and the archive is then streamed from the staging copy, which is deleted afterwards.
//!
//! **Archive layout**: the files, then `MANIFEST.json` (format, versions, every file's size and
//! SHA-256), then `CHECKSUM` (SHA-256 of every archive byte before it). Restore verifies both
//! before writing anything, and refuses a non-empty or running data directory.

use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::Ordering;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Lifecycle;
use super::tar::{TarWriter, read_entries};
use crate::store::partitions::Class;
use crate::store::{MetaStore, StoreError, io_error, remove_tree};

/// Name of the archive format in the manifest.
pub const FORMAT: &str = "tally-backup";
/// Version of the archive layout.
pub const VERSION: u32 = 1;
const MANIFEST: &str = "MANIFEST.json";
const CHECKSUM: &str = "CHECKSUM";
/// Prefix of staging directories inside the data directory (removed at start-up).
pub const STAGING_PREFIX: &str = "backup-staging-";

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The archive is not a complete, intact Tally backup.
    #[error("the backup is not valid: {0}")]
    Invalid(String),
    /// The target cannot be restored into.
    #[error("{0}")]
    Refused(String),
}

/// One archived file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// The archive's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Version of the Tally that wrote it.
    pub tally_version: String,
    /// Storage schema of the data inside.
    pub schema: u32,
    pub created_at: i64,
    pub files: Vec<FileEntry>,
}

/// A consistent copy of the data directory waiting to be archived; deleted when dropped.
pub struct Staged {
    dir: PathBuf,
    files: Vec<(String, PathBuf, u64)>,
    created_at: i64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = remove_tree(&self.dir);
    }
}

impl Staged {
    /// Files in the snapshot.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the snapshot holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Total bytes of the files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.2).sum()
    }
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf, u64)>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let meta = e.metadata()?;
        if meta.is_dir() {
            list_files(root, &path, out)?;
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(root)
                .map_err(|e| io::Error::other(e.to_string()))?;
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, path, meta.len()));
        }
    }
    Ok(())
}

/// Takes a consistent snapshot into a staging directory. The caller asked the writer for a
/// checkpoint first; `gate` is the writer's checkpoint gate.
pub fn stage(lc: &Lifecycle, gate: &RwLock<()>, now: i64) -> Result<Staged, BackupError> {
    let _busy = lc.exclusive.lock();
    let dir = lc
        .data_dir
        .join(format!("{STAGING_PREFIX}{:016x}", rand::random::<u64>()));
    // From here the staging directory is removed on every exit path.
    let mut staged = Staged {
        dir: dir.clone(),
        files: Vec::new(),
        created_at: now,
    };
    std::fs::create_dir_all(&dir).map_err(io_error)?;
    restrict(&dir);
    {
        let _still = gate.write();
        let snap = lc.data_dir.join("state").join("checkpoint.bin");
        if snap.exists() {
            std::fs::create_dir_all(dir.join("state")).map_err(io_error)?;
            std::fs::copy(&snap, dir.join("state").join("checkpoint.bin")).map_err(io_error)?;
        }
        for account in lc.parts.accounts() {
            for class in Class::ALL {
                for pid in lc.parts.list(account, class) {
                    let live = lc.parts.dir(&pid);
                    let rel = live
                        .strip_prefix(&lc.data_dir)
                        .map_err(|e| BackupError::Invalid(e.to_string()))?;
                    lc.parts.copy_to(&pid, &dir.join(rel))?;
                }
            }
        }
        let meta_dir = dir.join("meta");
        lc.meta.copy_to(&meta_dir)?;
    }
    list_files(&dir, &dir, &mut staged.files)?;
    lc.stats.backups.fetch_add(1, Ordering::Relaxed);
    Ok(staged)
}

struct HashingReader<'a, R> {
    r: R,
    hash: &'a mut Sha256,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Writes the archive of a staged snapshot.
pub fn write_archive<W: Write>(staged: &Staged, out: W) -> io::Result<W> {
    let mut tar = TarWriter::new(out, staged.created_at);
    let mut files = Vec::with_capacity(staged.files.len());
    for (rel, path, size) in &staged.files {
        let mut hash = Sha256::new();
        let mut r = HashingReader {
            r: std::fs::File::open(path)?,
            hash: &mut hash,
        };
        tar.append(rel, *size, &mut r)?;
        files.push(FileEntry {
            path: rel.clone(),
            size: *size,
            sha256: hex::encode(hash.finalize()),
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        tally_version: env!("CARGO_PKG_VERSION").into(),
        schema: crate::store::migrations::CURRENT,
        created_at: staged.created_at,
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    tar.append_bytes(MANIFEST, &json)?;
    let digest = hex::encode(tar.digest());
    tar.append_bytes(CHECKSUM, format!("{digest}\n").as_bytes())?;
    tar.finish()
}

/// Rejects absolute paths, `..` and anything that is not a plain relative path.
fn safe_path(p: &str) -> Result<PathBuf, BackupError> {
    let path = Path::new(p);
    if p.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(BackupError::Invalid(format!(
            "unsafe path in the archive: {p:?}"
        )));
    }
    Ok(path.to_path_buf())
}

/// Reads a whole archive, checking every file against the manifest and the archive against its
/// final checksum; `sink` receives each file's content (or `None` to only verify).
fn scan(r: impl Read, sink: Option<&Path>) -> Result<Manifest, BackupError> {
    let mut seen: Vec<FileEntry> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let mut checksum_ok = false;
    let mut after_checksum = false;
    read_entries(r, |e| {
        if after_checksum {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "entries after the checksum",
            ));
        }
        match e.path.as_str() {
            MANIFEST => {
                let mut buf = Vec::new();
                e.data.take(16 << 20).read_to_end(&mut buf)?;
                manifest = Some(serde_json::from_slice(&buf).map_err(|err| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("manifest: {err}"))
                })?);
            }
            CHECKSUM => {
                let mut buf = String::new();
                e.data.take(200).read_to_string(&mut buf)?;
                checksum_ok = buf.trim() == hex::encode(e.digest_before);
                after_checksum = true;
            }
            other => {
                if manifest.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "files after the manifest",
                    ));
                }
                let rel = safe_path(other)
                    .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))?;
                let mut hash = Sha256::new();
                let mut r = HashingReader {
                    r: e.data,
                    hash: &mut hash,
                };
                match sink {
                    Some(root) => {
                        let target = root.join(&rel);
                        if let Some(parent) = target.parent() {
                            std::fs::create_dir_all(parent)?;
                        }
                        let mut f = std::fs::File::create(&target)?;
                        io::copy(&mut r, &mut f)?;
                        f.sync_all()?;
                    }
                    None => {
                        io::copy(&mut r, &mut io::sink())?;
                    }
                }
                seen.push(FileEntry {
                    path: other.to_string(),
                    size: e.size,
                    sha256: hex::encode(hash.finalize()),
                });
            }
        }
        Ok(())
    })
    .map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            BackupError::Invalid(e.to_string())
        }
        _ => BackupError::Io(e),
    })?;
    let manifest = manifest
        .ok_or_else(|| BackupError::Invalid("no manifest: the archive is truncated".into()))?;
    if !after_checksum {
        return Err(BackupError::Invalid(
            "no checksum: the archive is truncated".into(),
        ));
    }
    if !checksum_ok {
        return Err(BackupError::Invalid(
            "the SHA-256 checksum does not match: the archive is damaged".into(),
        ));
    }
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(BackupError::Invalid(format!(
            "format {} version {} is not one this Tally reads ({FORMAT} {VERSION})",
            manifest.format, manifest.version
        )));
    }
    if manifest.schema > crate::store::migrations::CURRENT {
        return Err(BackupError::Invalid(format!(
            "it was made by a newer Tally ({}, storage schema {}); restore it with that version",
            manifest.tally_version, manifest.schema
        )));
    }
    if manifest.files != seen {
        return Err(BackupError::Invalid(
            "the files do not match the manifest (sizes or SHA-256 differ)".into(),
        ));
    }
    Ok(manifest)
}

/// Verifies an archive without writing anything.
pub fn verify(r: impl Read) -> Result<Manifest, BackupError> {
    scan(r, None)
}

/// Restores an archive into `data_dir`, which must not exist or be empty. The archive is
/// verified completely before anything is written, and again while it is written.
pub fn restore(file: &Path, data_dir: &Path) -> Result<Manifest, BackupError> {
    let open = || std::fs::File::open(file).map(io::BufReader::new);
    if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir)?;
        if entries.next().is_some() {
            let running = data_dir.join("meta").exists()
                && MetaStore::open(&data_dir.join("meta"), 1 << 20).is_err();
            return Err(BackupError::Refused(format!(
                "{} is not empty{}; restore into a new directory (or an empty one) and point --data-dir at it",
                data_dir.display(),
                if running {
                    " and a running tally is using it"
                } else {
                    ""
                }
            )));
        }
    }
    verify(open()?)?;
    let created = !data_dir.exists();
    std::fs::create_dir_all(data_dir)?;
    restrict(data_dir);
    let res = scan(open()?, Some(data_dir)).and_then(|m| {
        // The restored database must open with this build (schema checks, sled's own checks).
        drop(MetaStore::open(&data_dir.join("meta"), 1 << 20)?);
        Ok(m)
    });
    if res.is_err() {
        // Leave the target as it was: nothing half-restored.
        if created {
            let _ = std::fs::remove_dir_all(data_dir);
        } else if let Ok(entries) = std::fs::read_dir(data_dir) {
            for e in entries.flatten() {
                let _ = if e.path().is_dir() {
                    std::fs::remove_dir_all(e.path())
                } else {
                    std::fs::remove_file(e.path())
                };
            }
        }
    }
    res
}

/// Removes staging directories a crash left behind (at start-up).
pub fn remove_stale_staging(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
            let _ = remove_tree(&e.path());
        }
    }
}

fn restrict(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750));
    }
}

/// Sends what is written through a channel in chunks (the HTTP response body).
pub struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl ChannelWriter {
    /// A writer feeding `tx`.
    pub fn new(tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, io::Error>>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged_with(dir: &Path, files: &[(&str, &[u8])]) -> Staged {
        let mut s = Staged {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            created_at: 1_700_000_000,
        };
        for (rel, data) in files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        }
        list_files(dir, dir, &mut s.files).unwrap();
        s
    }

    #[test]
    fn archives_verify_and_damage_is_caught() {
        let tmp = tempfile::tempdir().unwrap();
        let s = staged_with(
            &tmp.path().join("stage"),
            &[("state/checkpoint.bin", b"snap"), ("stats/a/b", b"rollups")],
        );
        let bytes = write_archive(&s, Vec::new()).unwrap();
        let m = verify(&bytes[..]).unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(m.files[0].path, "state/checkpoint.bin");
        // Any flipped byte inside a file is caught by its hash or the archive checksum.
        let pos = bytes.windows(7).position(|w| w == b"rollups").unwrap();
        let mut bad = bytes.clone();
        bad[pos] ^= 0x20;
        assert!(matches!(verify(&bad[..]), Err(BackupError::Invalid(_))));
        // A truncated archive is refused.
        assert!(verify(&bytes[..bytes.len() - 2048]).is_err());
        // Staged snapshots clean up after themselves.
        let dir = s.dir.clone();
        drop(s);
        assert!(!dir.exists());
    }

    #[test]
    fn restore_refuses_non_empty_targets_and_unsafe_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("data");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("x"), b"1").unwrap();
        let file = tmp.path().join("b.tar");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            restore(&file, &target),
            Err(BackupError::Refused(_))
        ));
        assert!(safe_path("../etc/passwd").is_err());
        assert!(safe_path("/etc/passwd").is_err());
        assert!(safe_path("stats/a/b").is_ok());
    }
}
