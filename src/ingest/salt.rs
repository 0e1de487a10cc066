//! Daily salts for unique-viewer hashing.
//!
//! One random 32-byte salt per account and **local day** (the account's time zone), in
//! `salts/<account>/<YYYY-MM-DD>.salt`. When that day closes in the account's zone the file is
//! unlinked (by the minute job, at start-up and by every retention run), so hashes can no
//! longer be re-linked to anyone. A report for a day whose salt is already gone counts with a
//! one-off salt that only ever lives in memory.
//!
//! Sketches are still keyed by UTC day (a query property of the core); for an account outside
//! UTC a viewer seen on both sides of local midnight within one UTC day can count twice that
//! day. That is the price of never keeping a salt past the local day it belongs to.

use std::collections::HashMap;
use std::path::PathBuf;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use parking_lot::Mutex;

use crate::model::account::Id;
use crate::store::{StoreError, io_error, write_atomic};

/// Looks up an account's IANA time zone name (`None`: UTC).
pub type ZoneLookup = Box<dyn Fn(Id) -> Option<String> + Send + Sync>;

/// The salt store.
pub struct Salts {
    dir: PathBuf,
    cache: Mutex<HashMap<(Id, Date), [u8; 32]>>,
    zones: ZoneLookup,
}

/// The calendar day of `t` in `tz`.
pub fn local_day(t: i64, tz: &TimeZone) -> Date {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.to_zoned(tz.clone()).date())
        .unwrap_or(Date::constant(1970, 1, 1))
}

impl Salts {
    /// Salts under `dir`, with every account on UTC days.
    pub fn new(dir: PathBuf) -> Salts {
        Self::with_zones(dir, Box::new(|_| None))
    }

    /// Salts under `dir`, with each account's days in the zone `zones` names.
    pub fn with_zones(dir: PathBuf, zones: ZoneLookup) -> Salts {
        Salts {
            dir,
            cache: Mutex::new(HashMap::new()),
            zones,
        }
    }

    /// The account's time zone (UTC when unknown or unparseable).
    pub fn zone(&self, account: Id) -> TimeZone {
        (self.zones)(account)
            .and_then(|name| TimeZone::get(&name).ok())
            .unwrap_or(TimeZone::UTC)
    }

    /// Salt for a report of `account` at `time`: the salt of its local day. Days before the
    /// local today that have no file get a one-off salt.
    pub fn for_time(&self, account: Id, time: i64, now: i64) -> Result<[u8; 32], StoreError> {
        let tz = self.zone(account);
        let (day, today) = (local_day(time, &tz), local_day(now, &tz));
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

    fn path(&self, account: Id, day: Date) -> PathBuf {
        self.dir
            .join(account.to_string())
            .join(format!("{day}.salt"))
    }

    /// Destroys, on disk and in memory, every salt of a day that has closed in its account's
    /// time zone at `now`; returns how many files went.
    pub fn destroy_closed(&self, now: i64) -> Result<usize, StoreError> {
        let mut today: HashMap<Id, Date> = HashMap::new();
        let mut today_of = |account: Id| {
            *today
                .entry(account)
                .or_insert_with(|| local_day(now, &self.zone(account)))
        };
        self.cache
            .lock()
            .retain(|(account, day), _| *day >= today_of(*account));
        let mut n = 0;
        let Ok(accounts) = std::fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        for acc in accounts.flatten() {
            let name = acc.file_name().to_string_lossy().into_owned();
            // Unknown entries are left alone; an account directory holds only salt files.
            let Some(account) = Id::parse(&name) else {
                continue;
            };
            let local_today = today_of(account).to_string();
            let Ok(files) = std::fs::read_dir(acc.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                let label = name
                    .strip_suffix(".salt")
                    .or_else(|| name.strip_suffix(".tmp"))
                    .unwrap_or(&name);
                if label < local_today.as_str() {
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

    const DAY: i64 = 86_400;

    #[test]
    fn salts_persist_for_the_day_and_die_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let salts = Salts::new(dir.path().to_path_buf());
        let today = 1_795_564_800; // a UTC midnight
        let a = salts.for_time(Id(1), today + 10, today + 20).unwrap();
        assert_eq!(
            Salts::new(dir.path().to_path_buf())
                .for_time(Id(1), today + 99, today + 20)
                .unwrap(),
            a
        );
        let old = salts.for_time(Id(1), today - DAY, today).unwrap();
        assert_ne!(old, a);
        assert_eq!(salts.destroy_closed(today + DAY).unwrap(), 1);
        assert_ne!(
            Salts::new(dir.path().to_path_buf())
                .for_time(Id(1), today, today + DAY)
                .unwrap(),
            a
        );
    }

    #[test]
    fn days_close_at_the_accounts_local_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let zones: ZoneLookup = Box::new(|id| (id == Id(2)).then(|| "Etc/GMT-14".to_string()));
        let salts = Salts::with_zones(dir.path().to_path_buf(), zones);
        let midnight = 1_795_564_800; // 2026-11-25T00:00Z
        let t = midnight + 9 * 3600; // 09:00 UTC = 23:00 local (UTC+14) on the 25th
        salts.for_time(Id(1), t, t).unwrap();
        salts.for_time(Id(2), t, t).unwrap();
        assert!(
            dir.path()
                .join(Id(1).to_string())
                .join("2026-11-25.salt")
                .exists()
        );
        assert!(
            dir.path()
                .join(Id(2).to_string())
                .join("2026-11-25.salt")
                .exists()
        );
        // 10:30 UTC: the 25th has closed at UTC+14, not in UTC.
        assert_eq!(salts.destroy_closed(t + 5400).unwrap(), 1);
        assert!(
            dir.path()
                .join(Id(1).to_string())
                .join("2026-11-25.salt")
                .exists()
        );
        assert!(
            !dir.path()
                .join(Id(2).to_string())
                .join("2026-11-25.salt")
                .exists()
        );
        assert_eq!(salts.destroy_closed(midnight + DAY).unwrap(), 1);
    }
}
