//! Follows a growing log file like `tail -F`: returns the complete lines appended since the last
//! call, keeps a trailing partial line for later, and survives rotation (the path now names a
//! new inode: the rest of the old file is read first, then the new one from its start) and
//! truncation (the file shrank: read again from the start). A missing file is not an error; it
//! is picked up when it appears.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Most bytes read per call; the rest is read on the next call.
const MAX_READ_PER_CALL: u64 = 64 * 1024 * 1024;
/// Longest line kept; longer lines are cut (their tail is dropped).
const MAX_LINE: usize = 64 * 1024;

/// A followed log file.
#[derive(Debug)]
pub struct Tailer {
    path: PathBuf,
    file: Option<File>,
    identity: (u64, u64),
    offset: u64,
    partial: Vec<u8>,
    /// Whether a file seen for the first time is read from its end (start-up) or start.
    skip_existing: bool,
}

impl Tailer {
    /// Follows `path`, skipping what the file holds now: only lines written from now on are read.
    pub fn from_end(path: impl Into<PathBuf>) -> Tailer {
        Tailer {
            path: path.into(),
            file: None,
            identity: (0, 0),
            offset: 0,
            partial: Vec::new(),
            skip_existing: true,
        }
    }

    /// Follows `path` from its first byte.
    pub fn from_start(path: impl Into<PathBuf>) -> Tailer {
        Tailer {
            skip_existing: false,
            ..Tailer::from_end(path)
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file now (at its end for [`Tailer::from_end`]) so that lines written from
    /// here on are read by the next [`Tailer::read_lines`].
    pub fn prime(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            self.try_open()?;
        }
        Ok(())
    }

    fn try_open(&mut self) -> std::io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A file that appears later was created after start-up: read all of it.
                self.skip_existing = false;
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        self.identity = (meta.dev(), meta.ino());
        self.offset = if self.skip_existing { meta.len() } else { 0 };
        self.skip_existing = false;
        self.partial.clear();
        self.file = Some(file);
        Ok(true)
    }

    /// Returns the complete lines appended since the last call (without line endings).
    pub fn read_lines(&mut self) -> std::io::Result<Vec<String>> {
        let mut lines = Vec::new();
        if self.file.is_none() && !self.try_open()? {
            return Ok(lines);
        }
        match std::fs::metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) != self.identity => {
                // Rotated: finish the old file, then start the new one from its beginning.
                self.read_available(&mut lines)?;
                self.flush_partial(&mut lines);
                self.file = None;
                self.skip_existing = false;
                if self.try_open()? {
                    self.read_available(&mut lines)?;
                }
                return Ok(lines);
            }
            Ok(meta) if meta.len() < self.offset => {
                // Truncated in place (copytruncate): start over.
                self.offset = 0;
                self.partial.clear();
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Moved away and not yet recreated: keep reading the old file.
            }
            Err(e) => return Err(e),
        }
        self.read_available(&mut lines)?;
        Ok(lines)
    }

    fn read_available(&mut self, lines: &mut Vec<String>) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        let read = file.take(MAX_READ_PER_CALL).read_to_end(&mut buf)?;
        self.offset += read as u64;
        let mut start = 0;
        for (i, b) in buf.iter().enumerate() {
            if *b == b'\n' {
                self.push_piece(&buf[start..i]);
                let line = std::mem::take(&mut self.partial);
                lines.push(to_line(line));
                start = i + 1;
            }
        }
        self.push_piece(&buf[start..]);
        Ok(())
    }

    fn push_piece(&mut self, piece: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&piece[..piece.len().min(room)]);
    }

    fn flush_partial(&mut self, lines: &mut Vec<String>) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            lines.push(to_line(line));
        }
    }
}

fn to_line(mut bytes: Vec<u8>) -> String {
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follows_appends_partial_lines_rotation_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        append(&path, "old line\n");
        let mut t = Tailer::from_end(&path);
        t.prime().unwrap();
        assert!(t.read_lines().unwrap().is_empty());
        append(&path, "one\ntw");
        assert_eq!(t.read_lines().unwrap(), vec!["one"]);
        append(&path, "o\r\n");
        assert_eq!(t.read_lines().unwrap(), vec!["two"]);

        // Rotation: the old file gets a last line after the rename, then a new file appears.
        std::fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        append(&dir.path().join("access.log.1"), "last of old\n");
        assert_eq!(t.read_lines().unwrap(), vec!["last of old"]);
        append(&path, "first of new\n");
        assert_eq!(t.read_lines().unwrap(), vec!["first of new"]);

        // Truncation in place (copytruncate), noticed before the file outgrows the old offset.
        std::fs::write(&path, "").unwrap();
        assert!(t.read_lines().unwrap().is_empty());
        append(&path, "after truncate\n");
        assert_eq!(t.read_lines().unwrap(), vec!["after truncate"]);
    }

    #[test]
    fn a_missing_file_is_read_from_its_start_once_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let mut t = Tailer::from_end(&path);
        t.prime().unwrap();
        assert!(t.read_lines().unwrap().is_empty());
        append(&path, "hello\n");
        assert_eq!(t.read_lines().unwrap(), vec!["hello"]);
    }
}
