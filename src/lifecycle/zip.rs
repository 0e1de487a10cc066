//! A minimal ZIP writer (stored entries, no compression) for exports: enough for every unzip
//! tool, without another dependency. Entries must stay below 4 GiB (exports are far smaller).

/// Builds a ZIP archive in memory.
#[derive(Default)]
pub struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

/// 1980-01-01 00:00 in MS-DOS format: exports carry their own timestamps inside.
const DOS_DATE: u16 = (1 << 5) | 1;
/// General-purpose flag: file names are UTF-8.
const UTF8: u16 = 1 << 11;

impl ZipWriter {
    /// Adds a file.
    pub fn add(&mut self, name: &str, data: &[u8]) {
        let crc = crc32fast::hash(data);
        let offset = self.out.len() as u32;
        let (size, name_len) = (data.len() as u32, name.len() as u16);
        let o = &mut self.out;
        o.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, UTF8, 0, 0, DOS_DATE] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        o.extend_from_slice(&name_len.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes());
        o.extend_from_slice(name.as_bytes());
        o.extend_from_slice(data);
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, UTF8, 0, 0, DOS_DATE] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        self.entries += 1;
    }

    /// The finished archive.
    pub fn finish(mut self) -> Vec<u8> {
        let cd_offset = self.out.len() as u32;
        let cd_size = self.central.len() as u32;
        self.out.extend_from_slice(&self.central);
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, self.entries, self.entries] {
            self.out.extend_from_slice(&v.to_le_bytes());
        }
        self.out.extend_from_slice(&cd_size.to_le_bytes());
        self.out.extend_from_slice(&cd_offset.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unzip_reads_it() {
        let mut z = ZipWriter::default();
        z.add("a.json", b"{\"x\":1}");
        z.add("dir/b.csv", b"h\n1\n");
        let bytes = z.finish();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.zip");
        std::fs::write(&path, &bytes).unwrap();
        // Structural checks that do not need an unzip tool: both entries and the end record.
        assert_eq!(&bytes[..4], &[0x50, 0x4b, 0x03, 0x04]);
        assert_eq!(
            bytes
                .windows(4)
                .filter(|w| *w == [0x50, 0x4b, 0x01, 0x02])
                .count(),
            2
        );
        if let Ok(out) = std::process::Command::new("unzip")
            .arg("-t")
            .arg(&path)
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}
