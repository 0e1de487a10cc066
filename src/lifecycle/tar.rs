//! Just enough ustar to write and read backups: regular files only, long paths through the
//! ustar prefix field, sizes past 8 GiB in the GNU base-256 form. Both sides hash every byte
//! that passes, so an archive can end with a checksum of everything before it.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

const BLOCK: usize = 512;

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
}

fn header(path: &str, size: u64, mtime: i64) -> io::Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    let bytes = path.as_bytes();
    let (prefix, name) = if bytes.len() <= 100 {
        (&b""[..], bytes)
    } else {
        let split = bytes
            .iter()
            .enumerate()
            .filter(|(i, b)| **b == b'/' && *i <= 155 && bytes.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("path too long for a tar archive: {path}"),
                )
            })?;
        (&bytes[..split], &bytes[split + 1..])
    };
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], 0o640);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if size < 1 << 33 {
        octal(&mut h[124..136], size);
    } else {
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    octal(&mut h[136..148], mtime.max(0) as u64);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    octal(&mut h[148..155], sum as u64);
    h[155] = b' ';
    Ok(h)
}

/// Writes an archive, hashing everything written.
pub struct TarWriter<W: Write> {
    w: W,
    hash: Sha256,
    mtime: i64,
}

impl<W: Write> TarWriter<W> {
    /// An archive whose entries carry `mtime`.
    pub fn new(w: W, mtime: i64) -> Self {
        TarWriter {
            w,
            hash: Sha256::new(),
            mtime,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.w.write_all(bytes)
    }

    /// SHA-256 of everything written so far.
    pub fn digest(&self) -> [u8; 32] {
        self.hash.clone().finalize().into()
    }

    /// Appends a file of `size` bytes read from `data` (which must yield exactly that many).
    pub fn append(&mut self, path: &str, size: u64, data: &mut dyn Read) -> io::Result<()> {
        self.put(&header(path, size, self.mtime)?)?;
        let mut left = size;
        let mut buf = vec![0u8; 256 * 1024];
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = data.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{path} shrank while it was archived"),
                ));
            }
            self.put(&buf[..n])?;
            left -= n as u64;
        }
        let pad = (BLOCK - (size as usize % BLOCK)) % BLOCK;
        self.put(&vec![0u8; pad])
    }

    /// Appends a file from memory.
    pub fn append_bytes(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.append(path, data.len() as u64, &mut &data[..])
    }

    /// Writes the end-of-archive blocks and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.put(&[0u8; 2 * BLOCK])?;
        self.w.flush()?;
        Ok(self.w)
    }
}

struct HashRead<R> {
    r: R,
    hash: Sha256,
}

impl<R: Read> HashRead<R> {
    fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.r.read_exact(buf)?;
        self.hash.update(&*buf);
        Ok(())
    }
}

/// One file of an archive being read.
pub struct Entry<'a> {
    pub path: String,
    pub size: u64,
    /// SHA-256 of the archive bytes before this entry's header.
    pub digest_before: [u8; 32],
    /// The file's content (exactly `size` bytes).
    pub data: &'a mut dyn Read,
}

struct Limited<'a, R> {
    inner: &'a mut HashRead<R>,
    left: u64,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.left) as usize;
        let n = self.inner.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a file",
            ));
        }
        self.inner.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn parse_octal(field: &[u8]) -> io::Result<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v = 0u64;
        for b in &field[1..] {
            v = v.checked_mul(256).ok_or_else(|| bad("size overflows"))? | *b as u64;
        }
        return Ok(v);
    }
    let text: String = field
        .iter()
        .take_while(|b| **b != 0 && **b != b' ')
        .map(|b| *b as char)
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text.trim(), 8).map_err(|_| bad("corrupt number in a tar header"))
}

fn cstr(field: &[u8]) -> io::Result<String> {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8(field[..end].to_vec()).map_err(|_| bad("a path in the archive is not UTF-8"))
}

/// Reads every entry of an archive, calling `f` for each; stops at the end-of-archive blocks.
/// Returns the SHA-256 of everything read.
pub fn read_entries<R: Read>(
    r: R,
    mut f: impl FnMut(Entry<'_>) -> io::Result<()>,
) -> io::Result<[u8; 32]> {
    let mut hr = HashRead {
        r,
        hash: Sha256::new(),
    };
    loop {
        let digest_before: [u8; 32] = hr.hash.clone().finalize().into();
        let mut h = [0u8; BLOCK];
        hr.exact(&mut h)?;
        if h.iter().all(|b| *b == 0) {
            let mut second = [0u8; BLOCK];
            hr.exact(&mut second)?;
            if second.iter().any(|b| *b != 0) {
                return Err(bad("data after the end-of-archive block"));
            }
            return Ok(hr.hash.finalize().into());
        }
        let stored = parse_octal(&h[148..156])?;
        let mut copy = h;
        copy[148..156].fill(b' ');
        if copy.iter().map(|b| *b as u64).sum::<u64>() != stored {
            return Err(bad(
                "a tar header checksum does not match: the archive is damaged",
            ));
        }
        if h[156] != b'0' && h[156] != 0 {
            return Err(bad("the archive holds something other than regular files"));
        }
        let name = cstr(&h[..100])?;
        let prefix = cstr(&h[345..500])?;
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let size = parse_octal(&h[124..136])?;
        let mut data = Limited {
            inner: &mut hr,
            left: size,
        };
        f(Entry {
            path,
            size,
            digest_before,
            data: &mut data,
        })?;
        io::copy(&mut data, &mut io::sink())?;
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        let mut p = vec![0u8; pad];
        hr.exact(&mut p)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_long_paths_and_digests() {
        let mut w = TarWriter::new(Vec::new(), 1_700_000_000);
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        w.append_bytes("a.txt", b"hello").unwrap();
        w.append_bytes(&long, &vec![7u8; 1000]).unwrap();
        let before_last = w.digest();
        w.append_bytes("CHECKSUM", b"x").unwrap();
        let bytes = w.finish().unwrap();
        let mut seen = Vec::new();
        read_entries(&bytes[..], |e| {
            let mut v = Vec::new();
            e.data.read_to_end(&mut v)?;
            seen.push((e.path.clone(), v.len(), e.digest_before));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1].0, long);
        assert_eq!(seen[1].1, 1000);
        assert_eq!(seen[2].2, before_last);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(out) = std::process::Command::new("tar")
            .arg("-tf")
            .arg(&path)
            .output()
        {
            assert!(out.status.success());
            assert!(String::from_utf8_lossy(&out.stdout).contains("a.txt"));
        }
        let mut damaged = bytes.clone();
        damaged[10] ^= 1;
        assert!(read_entries(&damaged[..], |_| Ok(())).is_err());
        assert!(read_entries(&bytes[..600], |_| Ok(())).is_err());
    }
}
