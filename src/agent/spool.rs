//! The on-disk spool: every report is written here (gzip-compressed JSON, exactly the request
//! body) before it is sent, and deleted only when the panel acknowledges it.
//!
//! - Writes are atomic: a dot-prefixed temp file is written, fsynced, renamed into place, and
//!   the directory fsynced. A crash leaves either the whole report or a stray temp file, which
//!   the next start deletes.
//! - File names are `TIME-SEQ.json.gz` with fixed-width numbers, so lexical order is time order
//!   and the sender drains oldest first.
//! - The spool is bounded: past `max_bytes` the oldest reports are deleted and counted.
//! - Reports the panel refuses for good are moved to `rejected/` with the reason beside them.
//! - `seq` persists the next report sequence number, so report ids stay unique across restarts.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::model::report::Report;

/// Most files kept in `rejected/`.
const MAX_REJECTED: usize = 1000;

/// One spooled report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpoolEntry {
    /// File name, e.g. `01795608030-0000000042.json.gz`.
    pub name: String,
    pub size: u64,
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    seq: Mutex<u64>,
    dropped: AtomicU64,
    /// Serialises writes, trims and removals so they never race on the same files.
    lock: Mutex<()>,
}

/// Whether `name` is a finished spool file (`TIME-SEQ.json.gz`).
fn is_report_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json.gz") else {
        return false;
    };
    let Some((time, seq)) = stem.split_once('-') else {
        return false;
    };
    time.len() == 11
        && seq.len() == 10
        && time.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit())
}

impl Spool {
    /// Opens (creating) the spool at `dir`, deletes stray temp files of an interrupted write and
    /// reads the persisted sequence number.
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Spool> {
        fs::create_dir_all(dir)?;
        fs::create_dir_all(dir.join("rejected"))?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".tmp-") {
                tracing::warn!(file = %name.to_string_lossy(), "removing a half-written spool file left by a crash");
                let _ = fs::remove_file(entry.path());
            }
        }
        let seq = fs::read_to_string(dir.join("seq"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            seq: Mutex::new(seq),
            dropped: AtomicU64::new(0),
            lock: Mutex::new(()),
        })
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Hands out the next report sequence number and persists the one after it.
    pub fn allocate_seq(&self) -> u64 {
        let mut seq = self.seq.lock().unwrap_or_else(|p| p.into_inner());
        let current = *seq;
        *seq = current.wrapping_add(1);
        if let Err(e) = write_atomic(&self.dir, "seq", seq.to_string().as_bytes()) {
            tracing::warn!(error = %e, "cannot persist the report sequence number");
        }
        current
    }

    /// Serialises, compresses and stores a report. Returns how many old reports were dropped to
    /// stay within the bound.
    pub fn push(&self, report: &Report, seq: u64) -> std::io::Result<usize> {
        let json = serde_json::to_vec(report).map_err(std::io::Error::other)?;
        let mut gz = GzEncoder::new(
            Vec::with_capacity(json.len() / 4 + 64),
            Compression::default(),
        );
        gz.write_all(&json)?;
        let body = gz.finish()?;
        self.push_bytes(report.time.0, seq, &body)
    }

    /// Stores an already compressed body under `TIME-SEQ.json.gz`.
    pub fn push_bytes(&self, time: i64, seq: u64, body: &[u8]) -> std::io::Result<usize> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let name = format!("{:011}-{:010}.json.gz", time.max(0), seq % 10_000_000_000);
        write_atomic(&self.dir, &name, body)?;
        self.trim_locked()
    }

    fn trim_locked(&self) -> std::io::Result<usize> {
        let entries = self.list()?;
        let mut total: u64 = entries.iter().map(|e| e.size).sum();
        let mut dropped = 0;
        // The newest report is always kept, even if it alone exceeds the bound.
        for e in entries.iter().take(entries.len().saturating_sub(1)) {
            if total <= self.max_bytes {
                break;
            }
            match fs::remove_file(self.dir.join(&e.name)) {
                Ok(()) => {
                    total -= e.size;
                    dropped += 1;
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => total -= e.size,
                Err(err) => return Err(err),
            }
        }
        self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
        Ok(dropped)
    }

    /// Spooled reports, oldest first.
    pub fn list(&self) -> std::io::Result<Vec<SpoolEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_report_name(&name)
                && let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                out.push(SpoolEntry {
                    name,
                    size: meta.len(),
                });
            }
        }
        out.sort();
        Ok(out)
    }

    /// The oldest spooled report.
    pub fn oldest(&self) -> Option<SpoolEntry> {
        self.list().ok()?.into_iter().next()
    }

    /// Number of spooled reports.
    pub fn len(&self) -> usize {
        self.list().map(|l| l.len()).unwrap_or(0)
    }

    /// Whether the spool holds no report.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reports dropped to respect the bound since start.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The stored (gzip) body of a report.
    pub fn read(&self, entry: &SpoolEntry) -> std::io::Result<Vec<u8>> {
        fs::read(self.dir.join(&entry.name))
    }

    /// Deletes an acknowledged report. A report already gone (dropped meanwhile) is fine.
    pub fn remove(&self, entry: &SpoolEntry) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        match fs::remove_file(self.dir.join(&entry.name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Moves a report the panel refused for good to `rejected/`, with the reason in
    /// `NAME.error.txt`, and keeps that folder bounded.
    pub fn reject(&self, entry: &SpoolEntry, reason: &str) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let rejected = self.dir.join("rejected");
        fs::create_dir_all(&rejected)?;
        match fs::rename(self.dir.join(&entry.name), rejected.join(&entry.name)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        }
        fs::write(rejected.join(format!("{}.error.txt", entry.name)), reason)?;
        let mut names: Vec<String> = fs::read_dir(&rejected)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_report_name(n))
            .collect();
        names.sort();
        for old in names.iter().take(names.len().saturating_sub(MAX_REJECTED)) {
            let _ = fs::remove_file(rejected.join(old));
            let _ = fs::remove_file(rejected.join(format!("{old}.error.txt")));
        }
        Ok(())
    }
}

/// Writes `dir/name` atomically: temp file, fsync, rename, fsync of the directory.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if let Err(e) = fs::rename(&tmp, dir.join(name)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::report::ReportTime;

    fn report(id: &str, time: i64) -> Report {
        Report {
            report_id: id.to_string(),
            time: ReportTime(time),
            interval_s: Some(30),
            server: None,
            host: None,
            streams: Vec::new(),
        }
    }

    fn decode(bytes: &[u8]) -> Report {
        let mut json = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut json).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn lexical_order_is_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        // Pushed out of order, including a time with fewer digits and a high sequence number.
        spool.push(&report("c", 1_800_000_030), 2).unwrap();
        spool.push(&report("a", 999_999_999), 11).unwrap();
        spool.push(&report("b", 1_800_000_000), 1).unwrap();
        let ids: Vec<String> = spool
            .list()
            .unwrap()
            .iter()
            .map(|e| decode(&spool.read(e).unwrap()).report_id)
            .collect();
        assert_eq!(ids, vec!["a", "b", "c"]);
        let oldest = spool.oldest().unwrap();
        spool.remove(&oldest).unwrap();
        spool.remove(&oldest).unwrap();
        assert_eq!(spool.len(), 2);
    }

    #[test]
    fn the_bound_drops_the_oldest_first_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let one = {
            let s = Spool::open(dir.path(), u64::MAX).unwrap();
            s.push(&report("x", 1_800_000_000), 0).unwrap();
            let size = s.list().unwrap()[0].size;
            s.remove(&s.oldest().unwrap()).unwrap();
            size
        };
        let spool = Spool::open(dir.path(), one * 3).unwrap();
        let mut dropped = 0;
        for i in 0..10 {
            dropped += spool
                .push(&report(&format!("r{i}"), 1_800_000_000 + i as i64 * 30), i)
                .unwrap();
        }
        assert_eq!(dropped, 7);
        assert_eq!(spool.dropped_total(), 7);
        let ids: Vec<String> = spool
            .list()
            .unwrap()
            .iter()
            .map(|e| decode(&spool.read(e).unwrap()).report_id)
            .collect();
        assert_eq!(ids, vec!["r7", "r8", "r9"]);
    }

    #[test]
    fn a_half_written_temp_file_is_ignored_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(dir.path(), 1 << 20).unwrap();
            spool.push(&report("kept", 1_800_000_000), 0).unwrap();
        }
        // A crash in the middle of a write leaves a truncated temp file and no rename.
        fs::write(
            dir.path().join(".tmp-01800000030-0000000001.json.gz-77"),
            b"\x1f\x8b\x08half",
        )
        .unwrap();
        fs::write(dir.path().join("notes.txt"), b"not a report").unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let entries = spool.list().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(decode(&spool.read(&entries[0]).unwrap()).report_id, "kept");
        assert!(
            !dir.path()
                .join(".tmp-01800000030-0000000001.json.gz-77")
                .exists()
        );
    }

    #[test]
    fn sequence_numbers_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(a.allocate_seq(), 0);
        assert_eq!(a.allocate_seq(), 1);
        drop(a);
        let b = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(b.allocate_seq(), 2);
    }

    #[test]
    fn rejected_reports_move_aside_with_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.push(&report("bad", 1_800_000_000), 0).unwrap();
        let e = spool.oldest().unwrap();
        spool
            .reject(&e, "HTTP 400: streams[0].app must not be empty")
            .unwrap();
        assert!(spool.is_empty());
        let moved = dir.path().join("rejected").join(&e.name);
        assert!(moved.exists());
        let reason = fs::read_to_string(
            dir.path()
                .join("rejected")
                .join(format!("{}.error.txt", e.name)),
        )
        .unwrap();
        assert!(reason.contains("HTTP 400"));
    }
}
