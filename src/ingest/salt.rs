//! Daily salts for unique-viewer hashing.
//!
//! One random 32-byte salt per account and day, in `salts/<account>/<YYYY-MM-DD>.salt`. When the
//! day closes the file is unlinked, so hashes can no longer be re-linked to anyone. A report for a
//! day whose salt is already gone counts with a one-off salt that only ever lives in memory.

use std::collections::HashMap;
use std::path::PathBuf;

use parking_lot::Mutex;

use crate::model::account::Id;
use crate::store::{StoreError, io_error, write_atomic};

/// The salt store.
pub struct Salts {
    dir: PathBuf,
    cache: Mutex<HashMap<(Id, i64), [u8; 32]>>,
}

fn day_label(day: i64) -> String {
    jiff::Timestamp::from_second(day)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "invalid".into())
}

impl Salts {
    /// Salts under `dir`.
    pub fn new(dir: PathBuf) -> Salts {
        Salts { dir, cache: Mutex::new(HashMap::new()) }
    }

    /// Salt for `day` (UTC day start). Days before `today` that have no file get a one-off salt.
    pub fn get(&self, account: Id, day: i64, today: i64) -> Result<[u8; 32], StoreError> {
        // Held across the file check so concurrent first reports of a day agree on one salt.
        let mut cache = self.cache.lock();
        if let Some(s) = cache.get(&(account, day)) {
            return Ok(*s);
        }
        let path = self.path(account, day);
        let salt = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&bytes);
                s
            }
            _ => {
                let s: [u8; 32] = rand::random();
                if day >= today {
                    write_atomic(&path, &s)?;
                    restrict(&path);
                }
                s
            }
        };
        cache.insert((account, day), salt);
        Ok(salt)
    }

    fn path(&self, account: Id, day: i64) -> PathBuf {
        self.dir.join(account.to_string()).join(format!("{}.salt", day_label(day)))
    }

    /// Destroys every salt of a day before `today`, on disk and in memory; returns how many.
    pub fn destroy_before(&self, today: i64) -> Result<usize, StoreError> {
        self.cache.lock().retain(|(_, day), _| *day >= today);
        let today_label = day_label(today);
        let mut n = 0;
        let Ok(accounts) = std::fs::read_dir(&self.dir) else { return Ok(0) };
        for acc in accounts.flatten() {
            let Ok(files) = std::fs::read_dir(acc.path()) else { continue };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                let Some(label) = name.strip_suffix(".salt") else { continue };
                if label < today_label.as_str() {
                    std::fs::remove_file(f.path()).map_err(io_error)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Destroys every salt of an account (erasure).
    pub fn destroy_account(&self, account: Id) -> Result<(), StoreError> {
        self.cache.lock().retain(|(a, _), _| *a != account);
        match std::fs::remove_dir_all(self.dir.join(account.to_string())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }
}

fn restrict(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_persist_for_the_day_and_die_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let salts = Salts::new(dir.path().to_path_buf());
        let today = 1_795_564_800;
        let a = salts.get(Id(1), today, today).unwrap();
        assert_eq!(Salts::new(dir.path().to_path_buf()).get(Id(1), today, today).unwrap(), a);
        let old = salts.get(Id(1), today - 86_400, today).unwrap();
        assert_ne!(old, a);
        assert_eq!(salts.destroy_before(today + 86_400).unwrap(), 1);
        assert_ne!(Salts::new(dir.path().to_path_buf()).get(Id(1), today, today + 86_400).unwrap(), a);
    }
}
