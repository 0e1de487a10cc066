//! The ingest journal: append-only segment files that make a report durable before it is
//! acknowledged. One `fdatasync` covers every report of a group commit.
//!
//! Segment `wal/<checkpoint:016x>.wal` holds the records accumulated towards that checkpoint;
//! once the checkpoint is folded into storage the segment is unlinked. Record framing:
//! `len: u32 LE ‖ crc32: u32 LE ‖ payload`. A torn tail (crash mid-write) fails its length or CRC
//! and is dropped: it was never acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::enrich::Enriched;
use crate::store::{StoreError, io_error};

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WalEntry {
    /// Dictionary entries first used by the reports that follow.
    Dims(Vec<(u32, String)>),
    /// An accepted report.
    Report(Enriched),
}

/// Largest record accepted when reading (a guard against a corrupt length).
const MAX_RECORD: usize = 256 << 20;

/// The open segment being appended to.
pub struct Wal {
    dir: PathBuf,
    file: File,
    segment: u64,
    bytes: u64,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.wal"))
}

/// Segment numbers present in `dir`, ascending.
pub fn segments(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_error(e)),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(hex) = name.strip_suffix(".wal")
            && let Ok(seq) = u64::from_str_radix(hex, 16)
        {
            out.push(seq);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads every intact record of a segment, stopping at the first torn or corrupt one.
pub fn read_segment(dir: &Path, seq: u64) -> Result<Vec<WalEntry>, StoreError> {
    Ok(read_valid(dir, seq)?.0)
}

/// Cuts a segment back to its intact prefix, so appends never follow a torn record (which
/// would hide them from the next replay). Returns the bytes removed.
pub fn truncate_torn_tail(dir: &Path, seq: u64) -> Result<u64, StoreError> {
    let (_, valid) = read_valid(dir, seq)?;
    let path = segment_path(dir, seq);
    let len = std::fs::metadata(&path).map_err(io_error)?.len();
    if len > valid as u64 {
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_error)?;
        f.set_len(valid as u64).map_err(io_error)?;
        f.sync_all().map_err(io_error)?;
    }
    Ok(len.saturating_sub(valid as u64))
}

fn read_valid(dir: &Path, seq: u64) -> Result<(Vec<WalEntry>, usize), StoreError> {
    let mut bytes = Vec::new();
    File::open(segment_path(dir, seq))
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_error)?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let crc = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        let start = pos + 8;
        if len > MAX_RECORD || start + len > bytes.len() {
            break;
        }
        let payload = &bytes[start..start + len];
        if crc32fast::hash(payload) != crc {
            break;
        }
        match postcard::from_bytes::<WalEntry>(payload) {
            Ok(entry) => out.push(entry),
            Err(_) => break,
        }
        pos = start + len;
    }
    Ok((out, pos))
}

/// Deletes the segments numbered `<= upto` (their content is in storage).
pub fn delete_segments_through(dir: &Path, upto: u64) -> Result<(), StoreError> {
    for seq in segments(dir)? {
        if seq <= upto {
            std::fs::remove_file(segment_path(dir, seq)).map_err(io_error)?;
        }
    }
    Ok(())
}

impl Wal {
    /// Opens (creating) segment `seq` for appending.
    pub fn open(dir: &Path, seq: u64) -> Result<Wal, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let path = segment_path(dir, seq);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error)?;
        let bytes = file.metadata().map_err(io_error)?.len();
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Wal {
            dir: dir.to_path_buf(),
            file,
            segment: seq,
            bytes,
        })
    }

    /// Current segment number.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Bytes in the current segment.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends records and makes them durable with one sync.
    pub fn append(&mut self, entries: &[WalEntry]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(64 * 1024);
        for e in entries {
            let payload = postcard::to_stdvec(e)
                .map_err(|e| StoreError::Corrupt(format!("journal encode: {e}")))?;
            buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            buf.extend_from_slice(&payload);
        }
        if let Err(e) = self
            .file
            .write_all(&buf)
            .and_then(|_| self.file.sync_data())
        {
            // A partial append must not be followed by good records: cut it off so the
            // segment stays a clean prefix of acknowledged reports.
            let _ = self.file.set_len(self.bytes);
            return Err(io_error(e));
        }
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// Starts segment `seq` (the previous one stays until deleted).
    pub fn rotate(&mut self, seq: u64) -> Result<(), StoreError> {
        *self = Wal::open(&self.dir, seq)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tails_are_dropped_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 3).unwrap();
        wal.append(&[WalEntry::Dims(vec![(1, "hls".into())])])
            .unwrap();
        let first = wal.bytes();
        wal.append(&[WalEntry::Dims(vec![(2, "rtmp".into())])])
            .unwrap();
        let path = segment_path(dir.path(), 3);
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        assert_eq!(
            read_segment(dir.path(), 3).unwrap(),
            vec![WalEntry::Dims(vec![(1, "hls".into())])]
        );
        let mut garbage = full.clone();
        let n = garbage.len();
        garbage[n - 1] ^= 0xff;
        std::fs::write(&path, &garbage).unwrap();
        assert_eq!(read_segment(dir.path(), 3).unwrap().len(), 1);
        assert_eq!(
            truncate_torn_tail(dir.path(), 3).unwrap(),
            full.len() as u64 - first
        );
        let mut wal = Wal::open(dir.path(), 3).unwrap();
        wal.append(&[WalEntry::Dims(vec![(3, "dash".into())])])
            .unwrap();
        assert_eq!(read_segment(dir.path(), 3).unwrap().len(), 2);
        assert_eq!(segments(dir.path()).unwrap(), vec![3]);
    }
}
