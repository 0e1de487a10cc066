//! [`MetaStore`]: the handle every part of the server holds on the meta database, and the
//! compaction that makes the meta database forget.
//!
//! sled cannot be made to forget a removed key: the bytes stay in its files until a segment
//! happens to be reused, which may be never. After an erasure (or when expired activity entries
//! are deleted) the meta database is therefore **compacted**: its live records are rewritten
//! into a fresh database in `meta.compact/`, which replaces `meta/`; the old directory, with
//! every removed byte in it, is deleted.
//!
//! Why compaction and not crypto-shredding (encrypting each account's personal strings with a
//! key kept in its own file, deleted on erasure, and indexing e-mails by keyed hash): shredding
//! only protects the fields someone remembered to encrypt, in every record family, forever —
//! user e-mails and names, server names, activity actors and targets, branding contacts, slice
//! filters naming streams, invitation addresses, token names, and the plaintext e-mail index
//! keys. Compaction is indifferent to what the records hold, also serves retention of the
//! activity log (which shredding cannot: entries expire one by one, not per key), and the meta
//! database is small (tenancy records and a bounded de-duplication window), so a rewrite takes
//! milliseconds to a second. Its cost is that meta calls wait while the copy is made.
//!
//! The store is cloned into the writer, the enricher and every handler, so the swap needs an
//! indirection: all clones share one `RwLock<Option<MetaDb>>`; each call holds the read lock
//! for its duration and compaction holds the write lock, so no write can land in the old copy
//! after it was read. `None` only appears if re-opening after a swap failed: calls then fail
//! instead of silently using an empty database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::meta::MetaDb;
use super::meta::{ActivityPage, AlertEventPage};
use super::{
    Compaction, StoreError, copy_db, dir_size, io_error, open_db, recover_swap, remove_tree,
    swap_in, swap_paths, sync_dir,
};
use crate::activity::Entry;
use crate::alerts::rules::{Event as AlertEvent, Rule as AlertRule, TargetState};
use crate::model::account::{
    Account, ApiToken, BrandAsset, Branding, HookSecret, Id, Invitation, LoginSession, Server,
    Slice, User,
};

struct Shared {
    path: PathBuf,
    cache_bytes: u64,
    db: RwLock<Option<MetaDb>>,
    /// Set while [`MetaStore::reopen`] could not open the database for lack of space, so
    /// calls meanwhile answer "disk full" (507) rather than a generic failure.
    reopen_no_space: std::sync::atomic::AtomicBool,
    /// `<path>.lock`, held exclusively while the store is open: sled locks only its own files,
    /// and those change during a swap, so this lock is what keeps a second process (an offline
    /// CLI verb) from "recovering" a compaction the server is in the middle of.
    _lock: std::fs::File,
}

/// Handle on the meta database. Cheap to clone; every clone reaches the same database, also
/// after [`MetaStore::compact`] replaced it.
#[derive(Clone)]
pub struct MetaStore {
    shared: Arc<Shared>,
}

fn unavailable() -> StoreError {
    StoreError::Sled(
        "the meta database could not be re-opened after compaction; restart tally".into(),
    )
}

/// Forwards calls to [`MetaDb`] under the read lock. Every method of `MetaDb` that the rest of
/// the server uses is listed here once.
macro_rules! forward {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty; )*) => {
        impl MetaStore {
            $(
                #[doc = concat!("See [`MetaDb::", stringify!($name), "`].")]
                pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match self.shared.db.read().as_ref() {
                        Some(db) => db.$name($($arg),*),
                        None => Err(self.unavailable()),
                    }
                }
            )*
        }
    };
}

forward! {
    fn flush(&self) -> Result<(), StoreError>;
    fn setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn set_setting(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;
    fn remove_setting(&self, name: &str) -> Result<(), StoreError>;
    fn instance_secret(&self, name: &str) -> Result<[u8; 32], StoreError>;
    fn put_account(&self, account: &Account) -> Result<(), StoreError>;
    fn account(&self, id: Id) -> Result<Option<Account>, StoreError>;
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    fn insert_user(&self, user: &User) -> Result<bool, StoreError>;
    fn update_user(&self, user: &User) -> Result<(), StoreError>;
    fn remove_user(&self, id: Id) -> Result<(), StoreError>;
    fn user(&self, id: Id) -> Result<Option<User>, StoreError>;
    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    fn users(&self) -> Result<Vec<User>, StoreError>;
    fn has_users(&self) -> Result<bool, StoreError>;
    fn insert_server(&self, server: &Server) -> Result<(), StoreError>;
    fn update_server(&self, server: &Server) -> Result<(), StoreError>;
    fn remove_server(&self, id: Id) -> Result<Option<Server>, StoreError>;
    fn server(&self, id: Id) -> Result<Option<Server>, StoreError>;
    fn server_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<Server>, StoreError>;
    fn servers(&self) -> Result<Vec<Server>, StoreError>;
    fn set_hook_secret(&self, server: Id, secret: &HookSecret) -> Result<(), StoreError>;
    fn remove_hook_secret(&self, server: Id) -> Result<bool, StoreError>;
    fn hook_secret(&self, server: Id) -> Result<Option<HookSecret>, StoreError>;
    fn server_by_hook(&self, hash: &[u8; 32]) -> Result<Option<Server>, StoreError>;
    fn put_login_session(&self, hash: &[u8; 32], s: &LoginSession) -> Result<(), StoreError>;
    fn login_session(&self, hash: &[u8; 32]) -> Result<Option<LoginSession>, StoreError>;
    fn remove_login_session(&self, hash: &[u8; 32]) -> Result<(), StoreError>;
    fn login_sessions_of(&self, user: Id) -> Result<Vec<(LoginSession, [u8; 32])>, StoreError>;
    fn remove_login_sessions_of(&self, user: Id, keep: Option<&[u8; 32]>) -> Result<usize, StoreError>;
    fn purge_login_sessions(&self, now: i64) -> Result<usize, StoreError>;
    fn put_api_token(&self, hash: &[u8; 32], t: &ApiToken) -> Result<(), StoreError>;
    fn api_token(&self, hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError>;
    fn api_tokens_of(&self, user: Id) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError>;
    fn remove_api_token(&self, user: Id, id: Id) -> Result<Option<ApiToken>, StoreError>;
    fn put_slice(&self, slice: &Slice) -> Result<(), StoreError>;
    fn slice(&self, account: Id, id: Id) -> Result<Option<Slice>, StoreError>;
    fn slices_of(&self, account: Id) -> Result<Vec<Slice>, StoreError>;
    fn remove_slice(&self, account: Id, id: Id) -> Result<(), StoreError>;
    fn put_invitation(&self, hash: &[u8; 32], inv: &Invitation) -> Result<(), StoreError>;
    fn invitation(&self, hash: &[u8; 32]) -> Result<Option<Invitation>, StoreError>;
    fn invitations_of(&self, account: Id) -> Result<Vec<Invitation>, StoreError>;
    fn remove_invitation(&self, account: Id, id: Id) -> Result<Option<Invitation>, StoreError>;
    fn take_invitation(&self, hash: &[u8; 32]) -> Result<Option<Invitation>, StoreError>;
    fn append_activity(&self, account: Id, entry: &Entry) -> Result<(), StoreError>;
    fn purge_activity_before(&self, cutoff: i64) -> Result<usize, StoreError>;
    fn branding(&self, owner: Id) -> Result<Branding, StoreError>;
    fn put_branding(&self, owner: Id, branding: &Branding) -> Result<(), StoreError>;
    fn brand_asset(&self, owner: Id, kind: u8) -> Result<Option<BrandAsset>, StoreError>;
    fn put_brand_asset(&self, owner: Id, kind: u8, asset: Option<&BrandAsset>) -> Result<(), StoreError>;
    fn dims(&self) -> Result<Vec<(u32, String)>, StoreError>;
    fn put_dims(&self, entries: &[(u32, String)]) -> Result<(), StoreError>;
    fn seen_report(&self, server: Id, report_hash: u64) -> Result<bool, StoreError>;
    fn remember_reports(&self, items: &[(Id, u64, i64)]) -> Result<(), StoreError>;
    fn forget_reports_before(&self, cutoff: i64) -> Result<usize, StoreError>;
    fn forget_server_reports(&self, server: Id) -> Result<(), StoreError>;
    fn activity_of(&self, account: Id) -> Result<Vec<Entry>, StoreError>;
    fn purge_account_activity_before(&self, account: Id, cutoff: i64) -> Result<usize, StoreError>;
    fn remove_activity_of(&self, account: Id) -> Result<usize, StoreError>;
    fn rewrite_activity(&self, f: &dyn Fn(&Entry) -> Option<Entry>) -> Result<usize, StoreError>;
    fn activity_page(&self, account: Id, from: i64, before: (i64, u32), limit: usize, keep: &dyn Fn(&Entry) -> bool) -> Result<ActivityPage, StoreError>;
    fn remove_branding(&self, owner: Id) -> Result<(), StoreError>;
    fn remove_account_record(&self, id: Id) -> Result<(), StoreError>;
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    fn put_alert_rule(&self, rule: &AlertRule) -> Result<(), StoreError>;
    fn alert_rule(&self, account: Id, id: Id) -> Result<Option<AlertRule>, StoreError>;
    fn alert_rules_of(&self, account: Id) -> Result<Vec<AlertRule>, StoreError>;
    fn alert_rules(&self) -> Result<Vec<AlertRule>, StoreError>;
    fn remove_alert_rule(&self, account: Id, id: Id) -> Result<bool, StoreError>;
    fn clear_alert_states(&self, rule: Id) -> Result<(), StoreError>;
    fn alert_states(&self, rule: Id) -> Result<Vec<(String, TargetState)>, StoreError>;
    fn put_alert_states(&self, changes: &[(Id, String, Option<TargetState>)]) -> Result<(), StoreError>;
    fn append_alert_event(&self, event: &AlertEvent) -> Result<(i64, u32), StoreError>;
    fn update_alert_event(&self, pos: (i64, u32), event: &AlertEvent) -> Result<(), StoreError>;
    fn alert_events_of(&self, account: Id, limit: usize) -> Result<AlertEventPage, StoreError>;
    fn purge_alert_events_before(&self, account: Id, cutoff: i64) -> Result<usize, StoreError>;
    fn remove_alerts_of(&self, account: Id) -> Result<usize, StoreError>;
}

impl MetaStore {
    /// Opens (creating) the meta database at `path`, first finishing a compaction a crash may
    /// have interrupted, and migrates its schema.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<MetaStore, StoreError> {
        use fs2::FileExt;
        let parent = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io_error)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.with_file_name(format!("{name}.lock")))
            .map_err(io_error)?;
        lock.try_lock_exclusive()
            .map_err(|_| StoreError::Locked(path.to_path_buf()))?;
        recover_swap(path)?;
        let db = MetaDb::open(path, cache_bytes)?;
        Ok(MetaStore {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                cache_bytes,
                db: RwLock::new(Some(db)),
                reopen_no_space: std::sync::atomic::AtomicBool::new(false),
                _lock: lock,
            }),
        })
    }

    fn unavailable(&self) -> StoreError {
        if self
            .shared
            .reopen_no_space
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            StoreError::NoSpace
        } else {
            unavailable()
        }
    }

    /// Directory of the database.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Bytes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.shared
            .db
            .read()
            .as_ref()
            .map_or(0, MetaDb::size_on_disk)
    }

    /// Copies every record into a fresh database at `dest` while every other call waits, so
    /// the copy is one consistent state of all trees (backups). Returns the records copied.
    pub fn copy_to(&self, dest: &Path) -> Result<u64, StoreError> {
        let guard = self.shared.db.write();
        let Some(db) = guard.as_ref() else {
            return Err(unavailable());
        };
        let fresh = open_db(dest, 4 << 20)?;
        copy_db(db.sled(), &fresh, |_, _| true)
    }

    /// Closes and re-opens the database: sled fails every call after one of its writes failed
    /// (a full disk) until it is re-opened, which recovers it from its files like after a crash.
    /// Every other meta call waits meanwhile.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self.shared.db.write();
        drop(guard.take());
        let reopened = MetaDb::open(&self.shared.path, self.shared.cache_bytes);
        self.shared.reopen_no_space.store(
            matches!(&reopened, Err(e) if e.is_no_space()),
            std::sync::atomic::Ordering::Relaxed,
        );
        *guard = Some(reopened?);
        Ok(())
    }

    /// Rewrites the database with only its live records and swaps the copy in, so that removed
    /// records leave the files. Every other meta call waits meanwhile.
    pub fn compact(&self) -> Result<Compaction, StoreError> {
        let path = self.shared.path.clone();
        let parent = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut guard = self.shared.db.write();
        let Some(db) = guard.as_ref() else {
            return Err(unavailable());
        };
        db.flush()?;
        let bytes_before = dir_size(&path);
        let (tmp, ready, _) = swap_paths(&path);
        remove_tree(&tmp)?;
        remove_tree(&ready)?;
        let copied = open_db(&tmp, self.shared.cache_bytes)
            .and_then(|fresh| copy_db(db.sled(), &fresh, |_, _| true));
        let records = match copied {
            Ok(n) => n,
            Err(e) => {
                let _ = remove_tree(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, &ready).map_err(io_error)?;
        sync_dir(&parent);
        // Close the old database before its directory moves: sled writes some files by path,
        // and those must not land in the new directory.
        drop(guard.take());
        let swapped = swap_in(&path).or_else(|e| {
            tracing::error!(error = %e, "meta swap failed; recovering");
            recover_swap(&path)
        });
        let reopened = MetaDb::open(&path, self.shared.cache_bytes);
        match reopened {
            Ok(db) => *guard = Some(db),
            Err(e) => {
                tracing::error!(error = %e, "the meta database could not be re-opened after compaction");
                return Err(e);
            }
        }
        swapped?;
        Ok(Compaction {
            records,
            bytes_before,
            bytes_after: dir_size(&path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_bytes(dir: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(file_bytes(&e.path()));
            } else {
                out.extend(std::fs::read(e.path()).unwrap());
            }
        }
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn compaction_forgets_removed_records_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta");
        let meta = MetaStore::open(&path, 1 << 20).unwrap();
        let clone = meta.clone();
        meta.set_setting("gone", b"forget-me-please-0xC0FFEE")
            .unwrap();
        meta.set_setting("kept", b"keep-me").unwrap();
        meta.flush().unwrap();
        assert!(contains(&file_bytes(&path), b"forget-me-please-0xC0FFEE"));
        meta.remove_setting("gone").unwrap();
        meta.flush().unwrap();
        let c = meta.compact().unwrap();
        assert!(c.records >= 1);
        assert!(!contains(&file_bytes(&path), b"forget-me-please-0xC0FFEE"));
        // Every clone sees the new database, and it stays writable.
        assert_eq!(
            clone.setting("kept").unwrap().as_deref(),
            Some(&b"keep-me"[..])
        );
        clone.set_setting("after", b"1").unwrap();
        drop((meta, clone));
        let again = MetaStore::open(&path, 1 << 20).unwrap();
        assert_eq!(again.setting("after").unwrap().as_deref(), Some(&b"1"[..]));
        assert!(!swap_paths(&path).1.exists() && !swap_paths(&path).2.exists());
    }

    #[test]
    fn reopen_keeps_flushed_records_and_every_clone_follows() {
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open(&dir.path().join("meta"), 1 << 20).unwrap();
        let clone = meta.clone();
        meta.set_setting("k", b"v").unwrap();
        meta.flush().unwrap();
        clone.reopen().unwrap();
        assert_eq!(meta.setting("k").unwrap().as_deref(), Some(&b"v"[..]));
        meta.set_setting("k2", b"w").unwrap();
        assert_eq!(clone.setting("k2").unwrap().as_deref(), Some(&b"w"[..]));
    }

    #[test]
    fn an_interrupted_swap_is_finished_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta");
        {
            let meta = MetaStore::open(&path, 1 << 20).unwrap();
            meta.set_setting("k", b"v").unwrap();
            meta.flush().unwrap();
        }
        // A finished copy next to the original: the copy wins.
        let (_, ready, old) = swap_paths(&path);
        {
            let fresh = open_db(&ready, 1 << 20).unwrap();
            let src = open_db(&path, 1 << 20).unwrap();
            copy_db(&src, &fresh, |_, _| true).unwrap();
            fresh
                .open_tree("settings")
                .unwrap()
                .insert("marker", b"copy")
                .unwrap();
            fresh.flush().unwrap();
        }
        std::fs::create_dir_all(&old).unwrap();
        let meta = MetaStore::open(&path, 1 << 20).unwrap();
        assert_eq!(
            meta.setting("marker").unwrap().as_deref(),
            Some(&b"copy"[..])
        );
        assert_eq!(meta.setting("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(!ready.exists() && !old.exists());
    }
}
