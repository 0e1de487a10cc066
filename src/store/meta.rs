//! The `meta` database: tenancy records, the dimension dictionary, report de-duplication and
//! instance settings. One sled `Tree` per record family; secondary indexes are updated in the
//! same multi-tree transaction as their record.

use std::path::Path;

use serde::{Serialize, de::DeserializeOwned};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError as Abort;

use super::{StoreError, codec, keys};
use crate::model::account::{Account, ApiToken, Id, LoginSession, Server, User};

/// The open meta database and its trees. Reached through [`super::MetaStore`], which can
/// swap in a compacted copy underneath every clone.
pub struct MetaDb {
    db: sled::Db,
    accounts: sled::Tree,
    users: sled::Tree,
    users_by_email: sled::Tree,
    servers: sled::Tree,
    servers_by_token: sled::Tree,
    login_sessions: sled::Tree,
    api_tokens: sled::Tree,
    dims: sled::Tree,
    dedupe: sled::Tree,
    settings: sled::Tree,
}

fn get<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|v| codec::decode(&v)).transpose()
}

fn all<T: DeserializeOwned>(tree: &sled::Tree) -> Result<Vec<T>, StoreError> {
    tree.iter().values().map(|v| codec::decode(&v?)).collect()
}

fn put<T: Serialize>(tree: &sled::Tree, key: &[u8], value: &T) -> Result<(), StoreError> {
    tree.insert(key, codec::encode(value)?)?;
    Ok(())
}

impl MetaDb {
    /// Opens (creating) the meta database and migrates its schema.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<MetaDb, StoreError> {
        let db = super::open_db(path, cache_bytes)?;
        super::migrations::migrate(&db)?;
        Self::from_db(db)
    }

    /// The underlying database (compaction and backup copy it whole).
    pub fn sled(&self) -> &sled::Db {
        &self.db
    }

    fn from_db(db: sled::Db) -> Result<MetaDb, StoreError> {
        Ok(MetaDb {
            accounts: db.open_tree("accounts")?,
            users: db.open_tree("users")?,
            users_by_email: db.open_tree("users_by_email")?,
            servers: db.open_tree("servers")?,
            servers_by_token: db.open_tree("servers_by_token")?,
            login_sessions: db.open_tree("login_sessions")?,
            api_tokens: db.open_tree("api_tokens")?,
            dims: db.open_tree("dims")?,
            dedupe: db.open_tree("dedupe")?,
            settings: db.open_tree("settings")?,
            db,
        })
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    // --- settings -------------------------------------------------------------------------

    /// Reads a raw setting.
    pub fn setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.settings.get(name)?.map(|v| v.to_vec()))
    }

    /// Writes a raw setting.
    pub fn set_setting(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.settings.insert(name, value)?;
        Ok(())
    }

    /// Removes a setting.
    pub fn remove_setting(&self, name: &str) -> Result<(), StoreError> {
        self.settings.remove(name)?;
        Ok(())
    }

    /// A 32-byte secret created on first use and kept for the life of the instance.
    pub fn instance_secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        if let Some(v) = self.settings.get(name)?
            && let Ok(key) = <[u8; 32]>::try_from(v.as_ref())
        {
            return Ok(key);
        }
        let key: [u8; 32] = rand::random();
        self.settings.insert(name, &key)?;
        self.db.flush()?;
        Ok(key)
    }

    // --- accounts -------------------------------------------------------------------------

    /// Stores an account (insert or replace).
    pub fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        put(&self.accounts, &keys::id(account.id), account)
    }

    /// One account.
    pub fn account(&self, id: Id) -> Result<Option<Account>, StoreError> {
        get(&self.accounts, &keys::id(id))
    }

    /// All accounts, oldest first.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut v: Vec<Account> = all(&self.accounts)?;
        v.sort_by_key(|a| (a.created_at, a.id));
        Ok(v)
    }

    // --- users ----------------------------------------------------------------------------

    /// Inserts a new user; fails with `Ok(false)` when the e-mail is taken.
    pub fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        let value = codec::encode(user)?;
        let id = keys::id(user.id);
        let email = user.email.as_bytes().to_vec();
        let res = (&self.users, &self.users_by_email).transaction(|(users, by_email)| {
            if by_email.get(&email)?.is_some() {
                return Err(Abort::Abort(()));
            }
            by_email.insert(email.as_slice(), &id)?;
            users.insert(&id, value.as_slice())?;
            Ok(())
        });
        match res {
            Ok(()) => Ok(true),
            Err(sled::transaction::TransactionError::Abort(())) => Ok(false),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Replaces an existing user record (the e-mail index is kept in step).
    pub fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let old = self.user(user.id)?;
        let value = codec::encode(user)?;
        let id = keys::id(user.id);
        let new_email = user.email.as_bytes().to_vec();
        let old_email = old.map(|u| u.email.into_bytes());
        (&self.users, &self.users_by_email).transaction(|(users, by_email)| {
            if let Some(old) = &old_email
                && old != &new_email
            {
                by_email.remove(old.as_slice())?;
            }
            by_email.insert(new_email.as_slice(), &id)?;
            users.insert(&id, value.as_slice())?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Removes a user and their e-mail index entry.
    pub fn remove_user(&self, id: Id) -> Result<(), StoreError> {
        if let Some(u) = self.user(id)? {
            self.users_by_email.remove(u.email.as_bytes())?;
            self.users.remove(keys::id(id))?;
        }
        Ok(())
    }

    /// One user.
    pub fn user(&self, id: Id) -> Result<Option<User>, StoreError> {
        get(&self.users, &keys::id(id))
    }

    /// User by (lower-cased) e-mail.
    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        match self.users_by_email.get(email.as_bytes())? {
            Some(id) => match keys::parse_id(&id) {
                Some(id) => self.user(id),
                None => Err(StoreError::Corrupt("users_by_email".into())),
            },
            None => Ok(None),
        }
    }

    /// All users.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let mut v: Vec<User> = all(&self.users)?;
        v.sort_by_key(|u| (u.created_at, u.id));
        Ok(v)
    }

    /// True when at least one user exists.
    pub fn has_users(&self) -> Result<bool, StoreError> {
        Ok(self.users.first()?.is_some())
    }

    // --- servers --------------------------------------------------------------------------

    /// Inserts a server with its token index.
    pub fn insert_server(&self, server: &Server) -> Result<(), StoreError> {
        let value = codec::encode(server)?;
        let id = keys::id(server.id);
        (&self.servers, &self.servers_by_token).transaction(|(servers, by_token)| {
            servers.insert(&id, value.as_slice())?;
            by_token.insert(&server.token_hash, &id)?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Replaces a server record (name changes); the token index is untouched.
    pub fn update_server(&self, server: &Server) -> Result<(), StoreError> {
        put(&self.servers, &keys::id(server.id), server)
    }

    /// Removes a server and its token.
    pub fn remove_server(&self, id: Id) -> Result<Option<Server>, StoreError> {
        let Some(server) = self.server(id)? else { return Ok(None) };
        (&self.servers, &self.servers_by_token).transaction(|(servers, by_token)| {
            servers.remove(&keys::id(id))?;
            by_token.remove(&server.token_hash)?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(Some(server))
    }

    /// One server.
    pub fn server(&self, id: Id) -> Result<Option<Server>, StoreError> {
        get(&self.servers, &keys::id(id))
    }

    /// The server an ingest token belongs to.
    pub fn server_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<Server>, StoreError> {
        match self.servers_by_token.get(token_hash)? {
            Some(id) => match keys::parse_id(&id) {
                Some(id) => self.server(id),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// All servers (of every account).
    pub fn servers(&self) -> Result<Vec<Server>, StoreError> {
        let mut v: Vec<Server> = all(&self.servers)?;
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    // --- login sessions and API tokens -----------------------------------------------------

    /// Stores a login session under the hash of its cookie value.
    pub fn put_login_session(&self, hash: &[u8; 32], s: &LoginSession) -> Result<(), StoreError> {
        put(&self.login_sessions, hash, s)
    }

    /// Looks up a login session.
    pub fn login_session(&self, hash: &[u8; 32]) -> Result<Option<LoginSession>, StoreError> {
        get(&self.login_sessions, hash)
    }

    /// Ends a login session.
    pub fn remove_login_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.login_sessions.remove(hash)?;
        Ok(())
    }

    /// Removes login sessions that expired before `now`; returns how many.
    pub fn purge_login_sessions(&self, now: i64) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.login_sessions.iter() {
            let (k, v) = item?;
            let s: LoginSession = codec::decode(&v)?;
            if s.expires_at < now {
                self.login_sessions.remove(k)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Stores an API token under its hash.
    pub fn put_api_token(&self, hash: &[u8; 32], t: &ApiToken) -> Result<(), StoreError> {
        put(&self.api_tokens, hash, t)
    }

    /// Looks up an API token.
    pub fn api_token(&self, hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        get(&self.api_tokens, hash)
    }

    // --- dimension dictionary --------------------------------------------------------------

    /// All dictionary entries.
    pub fn dims(&self) -> Result<Vec<(u32, String)>, StoreError> {
        self.dims
            .iter()
            .map(|item| {
                let (k, v) = item?;
                let id = u32::from_be_bytes(
                    k.as_ref().try_into().map_err(|_| StoreError::Corrupt("dims key".into()))?,
                );
                Ok((id, String::from_utf8_lossy(&v).into_owned()))
            })
            .collect()
    }

    /// Records dictionary entries.
    pub fn put_dims(&self, entries: &[(u32, String)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (id, text) in entries {
            batch.insert(&keys::dim(*id), text.as_bytes());
        }
        self.dims.apply_batch(batch)?;
        Ok(())
    }

    // --- report de-duplication -------------------------------------------------------------

    /// True when the server already delivered a report with this id hash.
    pub fn seen_report(&self, server: Id, report_hash: u64) -> Result<bool, StoreError> {
        Ok(self.dedupe.contains_key(keys::dedupe(server, report_hash))?)
    }

    /// Remembers delivered reports (`server`, `hash`, report time).
    pub fn remember_reports(&self, items: &[(Id, u64, i64)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (server, hash, time) in items {
            batch.insert(&keys::dedupe(*server, *hash), &time.to_be_bytes());
        }
        self.dedupe.apply_batch(batch)?;
        Ok(())
    }

    /// Forgets report ids older than `cutoff` (report time); returns how many.
    pub fn forget_reports_before(&self, cutoff: i64) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in self.dedupe.iter() {
            let (k, v) = item?;
            let t = i64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]));
            if t < cutoff {
                batch.remove(k);
                n += 1;
            }
        }
        self.dedupe.apply_batch(batch)?;
        Ok(n)
    }

    /// Forgets every report id of a server (when it is deleted).
    pub fn forget_server_reports(&self, server: Id) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for k in self.dedupe.scan_prefix(keys::id(server)).keys() {
            batch.remove(k?);
        }
        self.dedupe.apply_batch(batch)?;
        Ok(())
    }
}

/// Scans used by data-subject requests (export, erasure) and retention. They walk whole trees:
/// these requests are rare, and the trees they walk are small.
impl MetaDb {
    /// Every API token (without its hash).
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        all(&self.api_tokens)
    }

    /// Every login session (without its hash).
    pub fn login_sessions(&self) -> Result<Vec<LoginSession>, StoreError> {
        all(&self.login_sessions)
    }

    /// Removes the login sessions `pred` selects; returns how many.
    pub fn remove_login_sessions_where(
        &self,
        pred: &dyn Fn(&LoginSession) -> bool,
    ) -> Result<usize, StoreError> {
        remove_where(&self.login_sessions, pred)
    }

    /// Removes the API tokens `pred` selects; returns how many.
    pub fn remove_api_tokens_where(
        &self,
        pred: &dyn Fn(&ApiToken) -> bool,
    ) -> Result<usize, StoreError> {
        remove_where(&self.api_tokens, pred)
    }

    /// Removes an account record (erasure; its users, servers and the rest go first).
    pub fn remove_account_record(&self, id: Id) -> Result<(), StoreError> {
        self.accounts.remove(keys::id(id))?;
        Ok(())
    }

    /// Settings whose name starts with `prefix`.
    pub fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.settings
            .scan_prefix(prefix.as_bytes())
            .map(|item| {
                let (k, v) = item?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }
}

fn remove_where<T: DeserializeOwned>(
    tree: &sled::Tree,
    pred: &dyn Fn(&T) -> bool,
) -> Result<usize, StoreError> {
    let mut batch = sled::Batch::default();
    let mut n = 0;
    for item in tree.iter() {
        let (k, v) = item?;
        if pred(&codec::decode(&v)?) {
            batch.remove(k);
            n += 1;
        }
    }
    tree.apply_batch(batch)?;
    Ok(n)
}
