//! The `meta` database: tenancy records, the dimension dictionary, report de-duplication,
//! instance settings, the activity log and brand settings. One sled `Tree` per record family;
//! secondary indexes are updated in the same multi-tree transaction as their record.
//!
//! Records are postcard, which is not self-describing; when a record type gains fields, the
//! layout written before is still read here (see `legacy`), and rewritten on the next update.

use std::path::Path;

use serde::{Serialize, de::DeserializeOwned};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError as Abort;

use super::{StoreError, codec, keys};
use crate::activity::Entry;
use crate::alerts::rules::{Event as AlertEvent, Rule as AlertRule, TargetState};
use crate::model::account::{
    Account, ApiToken, BrandAsset, Branding, HookSecret, Id, Invitation, LoginSession, Server,
    Slice, User,
};

/// Activity entries with their `(time, nonce)` position, as paged.
pub type ActivityPage = Vec<((i64, u32), Entry)>;

/// The id under which instance-wide records (branding, activity) are kept.
pub const INSTANCE: Id = Id(0);

/// Record layouts written by earlier builds, read when the current layout does not decode.
mod legacy {
    use serde::Deserialize;

    use crate::model::account::{Account, Id, Limits, Role, User};

    /// `Account` before `limits`.
    #[derive(Deserialize)]
    pub struct AccountV1 {
        id: Id,
        name: String,
        created_at: i64,
        domains: Vec<String>,
        processing_restricted: bool,
        timezone: String,
    }

    impl From<AccountV1> for Account {
        fn from(a: AccountV1) -> Account {
            Account {
                id: a.id,
                name: a.name,
                created_at: a.created_at,
                domains: a.domains,
                processing_restricted: a.processing_restricted,
                timezone: a.timezone,
                limits: Limits::default(),
            }
        }
    }

    /// `User` before `totp` and `slices`.
    #[derive(Deserialize)]
    pub struct UserV1 {
        id: Id,
        account_id: Id,
        email: String,
        name: String,
        role: Role,
        operator: bool,
        password_hash: String,
        created_at: i64,
    }

    impl From<UserV1> for User {
        fn from(u: UserV1) -> User {
            User {
                id: u.id,
                account_id: u.account_id,
                email: u.email,
                name: u.name,
                role: u.role,
                operator: u.operator,
                password_hash: u.password_hash,
                created_at: u.created_at,
                totp: None,
                slices: Vec::new(),
            }
        }
    }
}

/// Decodes the current layout, else the earlier one. Postcard ignores trailing bytes, so the
/// current (longer) layout must be tried first; an old record is too short for it.
fn decode_or<T: DeserializeOwned, Old: DeserializeOwned + Into<T>>(
    bytes: &[u8],
) -> Result<T, StoreError> {
    match codec::decode::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(e) => codec::decode::<Old>(bytes).map(Into::into).map_err(|_| e),
    }
}

fn decode_account(bytes: &[u8]) -> Result<Account, StoreError> {
    decode_or::<Account, legacy::AccountV1>(bytes)
}

fn decode_user(bytes: &[u8]) -> Result<User, StoreError> {
    decode_or::<User, legacy::UserV1>(bytes)
}

/// The open meta database and its trees. Reached through [`super::MetaStore`], which can
/// swap in a compacted copy underneath every clone.
pub struct MetaDb {
    db: sled::Db,
    accounts: sled::Tree,
    users: sled::Tree,
    users_by_email: sled::Tree,
    servers: sled::Tree,
    servers_by_token: sled::Tree,
    /// Server id → [`HookSecret`].
    server_hooks: sled::Tree,
    /// SHA-256 of a hook secret → server id.
    servers_by_hook: sled::Tree,
    login_sessions: sled::Tree,
    sessions_by_user: sled::Tree,
    api_tokens: sled::Tree,
    tokens_by_user: sled::Tree,
    slices: sled::Tree,
    invitations: sled::Tree,
    invitations_by_account: sled::Tree,
    activity: sled::Tree,
    branding: sled::Tree,
    branding_assets: sled::Tree,
    dims: sled::Tree,
    report_ids: sled::Tree,
    /// Serialises the read-modify-writes of report id groups (checkpoints and the daily job).
    report_ids_lock: parking_lot::Mutex<()>,
    settings: sled::Tree,
    alert_rules: sled::Tree,
    alert_state: sled::Tree,
    alert_events: sled::Tree,
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

    /// Wraps a database that is already migrated (tests of migrations).
    #[cfg(test)]
    pub(crate) fn open_migrated(db: sled::Db) -> Result<MetaDb, StoreError> {
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
            server_hooks: db.open_tree("server_hooks")?,
            servers_by_hook: db.open_tree("servers_by_hook")?,
            login_sessions: db.open_tree("login_sessions")?,
            sessions_by_user: db.open_tree("sessions_by_user")?,
            api_tokens: db.open_tree("api_tokens")?,
            tokens_by_user: db.open_tree("tokens_by_user")?,
            slices: db.open_tree("slices")?,
            invitations: db.open_tree("invitations")?,
            invitations_by_account: db.open_tree("invitations_by_account")?,
            activity: db.open_tree("activity")?,
            branding: db.open_tree("branding")?,
            branding_assets: db.open_tree("branding_assets")?,
            dims: db.open_tree("dims")?,
            report_ids: db.open_tree(REPORT_IDS)?,
            report_ids_lock: parking_lot::Mutex::new(()),
            settings: db.open_tree("settings")?,
            alert_rules: db.open_tree("alert_rules")?,
            alert_state: db.open_tree("alert_state")?,
            alert_events: db.open_tree("alert_events")?,
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
        self.accounts
            .get(keys::id(id))?
            .map(|v| decode_account(&v))
            .transpose()
    }

    /// All accounts, oldest first.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut v: Vec<Account> = self
            .accounts
            .iter()
            .values()
            .map(|v| decode_account(&v?))
            .collect::<Result<_, _>>()?;
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

    /// Removes a user, their e-mail index entry, login sessions and API tokens.
    pub fn remove_user(&self, id: Id) -> Result<(), StoreError> {
        if let Some(u) = self.user(id)? {
            self.remove_login_sessions_of(id, None)?;
            for (t, _) in self.api_tokens_of(id)? {
                self.remove_api_token(id, t.id)?;
            }
            self.users_by_email.remove(u.email.as_bytes())?;
            self.users.remove(keys::id(id))?;
        }
        Ok(())
    }

    /// One user.
    pub fn user(&self, id: Id) -> Result<Option<User>, StoreError> {
        self.users
            .get(keys::id(id))?
            .map(|v| decode_user(&v))
            .transpose()
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
        let mut v: Vec<User> = self
            .users
            .iter()
            .values()
            .map(|v| decode_user(&v?))
            .collect::<Result<_, _>>()?;
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
        let Some(server) = self.server(id)? else {
            return Ok(None);
        };
        let hook: Option<HookSecret> = get(&self.server_hooks, &keys::id(id))?;
        (
            &self.servers,
            &self.servers_by_token,
            &self.server_hooks,
            &self.servers_by_hook,
        )
            .transaction(|(servers, by_token, hooks, by_hook)| {
                servers.remove(&keys::id(id))?;
                by_token.remove(&server.token_hash)?;
                hooks.remove(&keys::id(id))?;
                if let Some(h) = &hook {
                    by_hook.remove(&h.hash)?;
                }
                Ok::<_, Abort<StoreError>>(())
            })?;
        Ok(Some(server))
    }

    /// Sets (or replaces) a server's hook secret; the previous one stops working at once.
    pub fn set_hook_secret(&self, server: Id, secret: &HookSecret) -> Result<(), StoreError> {
        let old: Option<HookSecret> = get(&self.server_hooks, &keys::id(server))?;
        let value = codec::encode(secret)?;
        let id = keys::id(server);
        (&self.server_hooks, &self.servers_by_hook).transaction(|(hooks, by_hook)| {
            if let Some(o) = &old {
                by_hook.remove(&o.hash)?;
            }
            hooks.insert(&id, value.as_slice())?;
            by_hook.insert(&secret.hash, &id)?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Removes a server's hook secret (its hook URLs answer 404 from then on).
    pub fn remove_hook_secret(&self, server: Id) -> Result<bool, StoreError> {
        let Some(old): Option<HookSecret> = get(&self.server_hooks, &keys::id(server))? else {
            return Ok(false);
        };
        let id = keys::id(server);
        (&self.server_hooks, &self.servers_by_hook).transaction(|(hooks, by_hook)| {
            by_hook.remove(&old.hash)?;
            hooks.remove(&id)?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(true)
    }

    /// A server's hook secret record, if hooks are enabled for it.
    pub fn hook_secret(&self, server: Id) -> Result<Option<HookSecret>, StoreError> {
        get(&self.server_hooks, &keys::id(server))
    }

    /// The server a hook secret belongs to.
    pub fn server_by_hook(&self, hash: &[u8; 32]) -> Result<Option<Server>, StoreError> {
        match self.servers_by_hook.get(hash)? {
            Some(id) => match keys::parse_id(&id) {
                Some(id) => self.server(id),
                None => Ok(None),
            },
            None => Ok(None),
        }
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

    /// Stores a login session under the hash of its token, indexed by user.
    pub fn put_login_session(&self, hash: &[u8; 32], s: &LoginSession) -> Result<(), StoreError> {
        let value = codec::encode(s)?;
        let index = keys::owned(s.user_id, s.id);
        (&self.login_sessions, &self.sessions_by_user).transaction(|(sessions, by_user)| {
            sessions.insert(&hash[..], value.as_slice())?;
            by_user.insert(&index[..], &hash[..])?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Looks up a login session. Sessions written by earlier builds (without an id) read as
    /// absent: their holders log in again.
    pub fn login_session(&self, hash: &[u8; 32]) -> Result<Option<LoginSession>, StoreError> {
        Ok(self
            .login_sessions
            .get(hash)?
            .and_then(|v| codec::decode(&v).ok()))
    }

    /// Ends a login session.
    pub fn remove_login_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        if let Some(v) = self.login_sessions.remove(hash)?
            && let Ok(s) = codec::decode::<LoginSession>(&v)
        {
            self.sessions_by_user.remove(keys::owned(s.user_id, s.id))?;
        }
        Ok(())
    }

    /// A user's login sessions with their token hashes, oldest first.
    pub fn login_sessions_of(&self, user: Id) -> Result<Vec<(LoginSession, [u8; 32])>, StoreError> {
        let mut out = Vec::new();
        for item in self.sessions_by_user.scan_prefix(keys::id(user)) {
            let (_, hash) = item?;
            let Ok(hash) = <[u8; 32]>::try_from(hash.as_ref()) else {
                continue;
            };
            if let Some(s) = self.login_session(&hash)? {
                out.push((s, hash));
            }
        }
        out.sort_by_key(|(s, _)| (s.created_at, s.id));
        Ok(out)
    }

    /// Ends every login session of a user except `keep` (a token hash); returns how many.
    pub fn remove_login_sessions_of(
        &self,
        user: Id,
        keep: Option<&[u8; 32]>,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.sessions_by_user.scan_prefix(keys::id(user)) {
            let (k, hash) = item?;
            if keep.is_some_and(|h| h[..] == hash[..]) {
                continue;
            }
            self.login_sessions.remove(&hash)?;
            self.sessions_by_user.remove(k)?;
            n += 1;
        }
        Ok(n)
    }

    /// Removes login sessions that expired before `now` (and unreadable ones); returns how many.
    pub fn purge_login_sessions(&self, now: i64) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.login_sessions.iter() {
            let (k, v) = item?;
            match codec::decode::<LoginSession>(&v) {
                Ok(s) if s.expires_at >= now => continue,
                Ok(s) => {
                    self.sessions_by_user.remove(keys::owned(s.user_id, s.id))?;
                }
                Err(_) => {}
            }
            self.login_sessions.remove(k)?;
            n += 1;
        }
        Ok(n)
    }

    /// Stores an API token under its hash, indexed by user.
    pub fn put_api_token(&self, hash: &[u8; 32], t: &ApiToken) -> Result<(), StoreError> {
        let value = codec::encode(t)?;
        let index = keys::owned(t.user_id, t.id);
        (&self.api_tokens, &self.tokens_by_user).transaction(|(tokens, by_user)| {
            tokens.insert(&hash[..], value.as_slice())?;
            by_user.insert(&index[..], &hash[..])?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Looks up an API token.
    pub fn api_token(&self, hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        get(&self.api_tokens, hash)
    }

    /// A user's API tokens with their hashes, oldest first.
    pub fn api_tokens_of(&self, user: Id) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError> {
        let mut out = Vec::new();
        for item in self.tokens_by_user.scan_prefix(keys::id(user)) {
            let (_, hash) = item?;
            let Ok(hash) = <[u8; 32]>::try_from(hash.as_ref()) else {
                continue;
            };
            if let Some(t) = self.api_token(&hash)? {
                out.push((t, hash));
            }
        }
        out.sort_by_key(|(t, _)| (t.created_at, t.id));
        Ok(out)
    }

    /// Revokes one of a user's tokens; `Ok(None)` when the user has no such token.
    pub fn remove_api_token(&self, user: Id, id: Id) -> Result<Option<ApiToken>, StoreError> {
        let index = keys::owned(user, id);
        let Some(hash) = self.tokens_by_user.get(index)? else {
            return Ok(None);
        };
        let token = self
            .api_tokens
            .get(&hash)?
            .map(|v| codec::decode::<ApiToken>(&v))
            .transpose()?;
        (&self.api_tokens, &self.tokens_by_user).transaction(|(tokens, by_user)| {
            tokens.remove(&hash)?;
            by_user.remove(&index[..])?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(token)
    }

    // --- slices ---------------------------------------------------------------------------

    /// Stores a slice (insert or replace).
    pub fn put_slice(&self, slice: &Slice) -> Result<(), StoreError> {
        put(
            &self.slices,
            &keys::owned(slice.account_id, slice.id),
            slice,
        )
    }

    /// One slice of an account (`None` also for another account's slice).
    pub fn slice(&self, account: Id, id: Id) -> Result<Option<Slice>, StoreError> {
        get(&self.slices, &keys::owned(account, id))
    }

    /// The slices of an account, by name.
    pub fn slices_of(&self, account: Id) -> Result<Vec<Slice>, StoreError> {
        let mut v: Vec<Slice> = self
            .slices
            .scan_prefix(keys::id(account))
            .values()
            .map(|v| codec::decode(&v?))
            .collect::<Result<_, _>>()?;
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// Removes a slice and takes it off every user limited to it (callers refuse to remove a
    /// slice in use; this keeps the records consistent regardless).
    pub fn remove_slice(&self, account: Id, id: Id) -> Result<(), StoreError> {
        for mut u in self
            .users()?
            .into_iter()
            .filter(|u| u.account_id == account && u.slices.contains(&id))
        {
            u.slices.retain(|s| *s != id);
            self.update_user(&u)?;
        }
        self.slices.remove(keys::owned(account, id))?;
        Ok(())
    }

    // --- invitations ----------------------------------------------------------------------

    /// Stores an invitation under the hash of its link token.
    pub fn put_invitation(&self, hash: &[u8; 32], inv: &Invitation) -> Result<(), StoreError> {
        let value = codec::encode(inv)?;
        let index = keys::owned(inv.account_id, inv.id);
        (&self.invitations, &self.invitations_by_account).transaction(|(invs, by_account)| {
            invs.insert(&hash[..], value.as_slice())?;
            by_account.insert(&index[..], &hash[..])?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Looks up an invitation by the hash of its link token.
    pub fn invitation(&self, hash: &[u8; 32]) -> Result<Option<Invitation>, StoreError> {
        get(&self.invitations, hash)
    }

    /// Pending invitations of an account, oldest first.
    pub fn invitations_of(&self, account: Id) -> Result<Vec<Invitation>, StoreError> {
        let mut out = Vec::new();
        for item in self.invitations_by_account.scan_prefix(keys::id(account)) {
            let (_, hash) = item?;
            if let Ok(hash) = <[u8; 32]>::try_from(hash.as_ref())
                && let Some(inv) = self.invitation(&hash)?
            {
                out.push(inv);
            }
        }
        out.sort_by_key(|i| (i.created_at, i.id));
        Ok(out)
    }

    /// Removes an invitation of an account; `Ok(None)` when there is none with this id.
    pub fn remove_invitation(&self, account: Id, id: Id) -> Result<Option<Invitation>, StoreError> {
        let index = keys::owned(account, id);
        let Some(hash) = self.invitations_by_account.get(index)? else {
            return Ok(None);
        };
        let inv = self
            .invitations
            .get(&hash)?
            .map(|v| codec::decode::<Invitation>(&v))
            .transpose()?;
        (&self.invitations, &self.invitations_by_account).transaction(|(invs, by_account)| {
            invs.remove(&hash)?;
            by_account.remove(&index[..])?;
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(inv)
    }

    /// Takes an invitation by token hash exactly once: the first caller gets it, later ones
    /// get `None` (a link cannot be used twice, even by two simultaneous requests).
    pub fn take_invitation(&self, hash: &[u8; 32]) -> Result<Option<Invitation>, StoreError> {
        let Some(v) = self.invitations.remove(hash)? else {
            return Ok(None);
        };
        let inv: Invitation = codec::decode(&v)?;
        self.invitations_by_account
            .remove(keys::owned(inv.account_id, inv.id))?;
        Ok(Some(inv))
    }

    // --- activity log ---------------------------------------------------------------------

    /// Appends an activity entry under `account` ([`INSTANCE`] for instance-level events).
    pub fn append_activity(&self, account: Id, entry: &Entry) -> Result<(), StoreError> {
        let value = codec::encode(entry)?;
        // A random nonce keeps simultaneous entries apart; retry on the rare collision so
        // nothing is overwritten (the log is append-only).
        for _ in 0..8 {
            let key = keys::activity(account, entry.time, rand::random());
            if self
                .activity
                .compare_and_swap(key, None as Option<&[u8]>, Some(value.as_slice()))?
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(StoreError::Corrupt("activity key collisions".into()))
    }

    /// Entries of `account` with `from <= time`, strictly before the position `before`
    /// (`(time, nonce)`), newest first, at most `limit` of those `keep` accepts.
    pub fn activity_page(
        &self,
        account: Id,
        from: i64,
        before: (i64, u32),
        limit: usize,
        keep: &dyn Fn(&Entry) -> bool,
    ) -> Result<ActivityPage, StoreError> {
        let lo = keys::activity(account, from, 0);
        let hi = keys::activity(account, before.0, before.1);
        let mut out = Vec::new();
        for item in self.activity.range(lo..hi).rev() {
            let (k, v) = item?;
            let Some((_, time, nonce)) = keys::parse_activity(&k) else {
                continue;
            };
            let entry: Entry = codec::decode(&v)?;
            if keep(&entry) {
                out.push(((time, nonce), entry));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Deletes activity entries older than `cutoff` in every account; returns how many.
    pub fn purge_activity_before(&self, cutoff: i64) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self.activity.iter().keys() {
            let k = k?;
            if keys::parse_activity(&k).is_some_and(|(_, t, _)| t < cutoff) {
                batch.remove(k);
                n += 1;
            }
        }
        self.activity.apply_batch(batch)?;
        Ok(n)
    }

    // --- branding -------------------------------------------------------------------------

    /// Brand settings of an account, or of the instance with [`INSTANCE`].
    pub fn branding(&self, owner: Id) -> Result<Branding, StoreError> {
        Ok(get(&self.branding, &keys::id(owner))?.unwrap_or_default())
    }

    /// Replaces brand settings.
    pub fn put_branding(&self, owner: Id, branding: &Branding) -> Result<(), StoreError> {
        put(&self.branding, &keys::id(owner), branding)
    }

    /// An uploaded brand image (`kind`: 1 logo, 2 favicon).
    pub fn brand_asset(&self, owner: Id, kind: u8) -> Result<Option<BrandAsset>, StoreError> {
        get(&self.branding_assets, &keys::owned(owner, Id(kind as u64)))
    }

    /// Stores or (with `None`) removes a brand image.
    pub fn put_brand_asset(
        &self,
        owner: Id,
        kind: u8,
        asset: Option<&BrandAsset>,
    ) -> Result<(), StoreError> {
        let key = keys::owned(owner, Id(kind as u64));
        match asset {
            Some(a) => put(&self.branding_assets, &key, a),
            None => {
                self.branding_assets.remove(key)?;
                Ok(())
            }
        }
    }

    // --- dimension dictionary --------------------------------------------------------------

    /// All dictionary entries.
    pub fn dims(&self) -> Result<Vec<(u32, String)>, StoreError> {
        self.dims
            .iter()
            .map(|item| {
                let (k, v) = item?;
                let id = u32::from_be_bytes(
                    k.as_ref()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("dims key".into()))?,
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

    /// True when the server already delivered a report with this id hash. Runs for every
    /// report on the writer thread, so it searches the stored group without decoding it.
    pub fn seen_report(&self, server: Id, report_hash: u64) -> Result<bool, StoreError> {
        match self
            .report_ids
            .get(keys::report_group(server, report_hash))?
        {
            Some(v) => ReportGroup::stored_contains(&v, report_hash),
            None => Ok(false),
        }
    }

    /// Remembers delivered reports (`server`, `hash`, arrival time); each server keeps about
    /// its latest [`REPORTS_KEPT`].
    pub fn remember_reports(&self, items: &[(Id, u64, i64)]) -> Result<(), StoreError> {
        let _lock = self.report_ids_lock.lock();
        remember_report_ids(&self.report_ids, items)
    }

    /// Forgets report ids that arrived before `cutoff`; returns how many.
    pub fn forget_reports_before(&self, cutoff: i64) -> Result<usize, StoreError> {
        let _lock = self.report_ids_lock.lock();
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in self.report_ids.iter() {
            let (k, v) = item?;
            let mut group = ReportGroup::decode(&v)?;
            let before = group.0.len();
            group.0.retain(|(_, t)| *t >= cutoff);
            if group.0.len() == before {
                continue;
            }
            n += before - group.0.len();
            if group.0.is_empty() {
                batch.remove(k);
            } else {
                batch.insert(k, group.encode());
            }
        }
        self.report_ids.apply_batch(batch)?;
        Ok(n)
    }

    /// Forgets every report id of a server (when it is deleted).
    pub fn forget_server_reports(&self, server: Id) -> Result<(), StoreError> {
        let _lock = self.report_ids_lock.lock();
        let mut batch = sled::Batch::default();
        for k in self.report_ids.scan_prefix(keys::id(server)).keys() {
            batch.remove(k?);
        }
        self.report_ids.apply_batch(batch)?;
        Ok(())
    }
}

/// Tree of the report ids remembered for de-duplication (schema 4 on; see [`ReportGroup`]).
pub(crate) const REPORT_IDS: &str = "recent_reports";

/// About how many of its latest report ids each server keeps: 16 groups of at most
/// [`ReportGroup::CAP`].
///
/// De-duplication exists for re-sends: a report whose acknowledgement was lost is sent again
/// by the same server, before or right after its next reports (the agent sends its spool
/// oldest first, one at a time). Whatever the outage, such a re-send is among the server's
/// latest deliveries, so a window counted in reports per server covers it, and stays the same
/// size whether a server reports every second or every minute, and however many servers there
/// are. The 14-day limit (`jobs::DEDUPE_DAYS`) still applies on top.
pub const REPORTS_KEPT: usize = 16 * ReportGroup::CAP;

/// Merges report ids into their groups (also used by the schema migration). Callers that
/// share the tree with other writers hold `report_ids_lock`.
pub(crate) fn remember_report_ids(
    tree: &sled::Tree,
    items: &[(Id, u64, i64)],
) -> Result<(), StoreError> {
    let mut groups: std::collections::BTreeMap<[u8; 9], Vec<(u64, i64)>> = Default::default();
    for (server, hash, time) in items {
        groups
            .entry(keys::report_group(*server, *hash))
            .or_default()
            .push((*hash, *time));
    }
    let mut batch = sled::Batch::default();
    for (key, add) in groups {
        let mut group = match tree.get(key)? {
            Some(v) => ReportGroup::decode(&v)?,
            None => ReportGroup::default(),
        };
        for (hash, time) in add {
            group.insert(hash, time);
        }
        batch.insert(&key, group.encode());
    }
    tree.apply_batch(batch)?;
    Ok(())
}

/// The report ids of one group: `(hash, arrival time)` sorted by hash, at most [`Self::CAP`]
/// (the latest arrivals). Stored as a version byte and 16 bytes per id. One record per group
/// rather than per report keeps the key count small: sled holds about 50 bytes of memory per
/// key of an open database.
///
/// An id leaves its group once 64 later ones have landed in it: after about 1,024 later
/// reports of its server on average, and practically never before 500.
#[derive(Default)]
pub(crate) struct ReportGroup(pub(crate) Vec<(u64, i64)>);

impl ReportGroup {
    const VERSION: u8 = 1;
    /// Ids kept per group.
    pub(crate) const CAP: usize = 64;

    /// The 16-byte entries of a stored group.
    fn entries(v: &[u8]) -> Result<&[u8], StoreError> {
        match v.split_first() {
            Some((&Self::VERSION, body)) if body.len() % 16 == 0 => Ok(body),
            _ => Err(StoreError::Corrupt("report id group".into())),
        }
    }

    /// Binary search of a stored group for `hash`.
    fn stored_contains(v: &[u8], hash: u64) -> Result<bool, StoreError> {
        let body = Self::entries(v)?;
        let at =
            |i: usize| u64::from_be_bytes(body[i * 16..i * 16 + 8].try_into().unwrap_or_default());
        let (mut lo, mut hi) = (0, body.len() / 16);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match at(mid).cmp(&hash) {
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(false)
    }

    pub(crate) fn decode(v: &[u8]) -> Result<ReportGroup, StoreError> {
        Ok(ReportGroup(
            Self::entries(v)?
                .chunks_exact(16)
                .map(|c| {
                    let (h, t) = c.split_at(8);
                    (
                        u64::from_be_bytes(h.try_into().unwrap_or_default()),
                        i64::from_be_bytes(t.try_into().unwrap_or_default()),
                    )
                })
                .collect(),
        ))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.0.len() * 16);
        out.push(Self::VERSION);
        for (h, t) in &self.0 {
            out.extend_from_slice(&h.to_be_bytes());
            out.extend_from_slice(&t.to_be_bytes());
        }
        out
    }

    /// Adds an id (a known one keeps the later time), then drops the earliest arrival if the
    /// group holds more than [`Self::CAP`].
    fn insert(&mut self, hash: u64, time: i64) {
        match self.0.binary_search_by_key(&hash, |(h, _)| *h) {
            Ok(i) => self.0[i].1 = self.0[i].1.max(time),
            Err(i) => self.0.insert(i, (hash, time)),
        }
        if self.0.len() > Self::CAP
            && let Some(oldest) = (0..self.0.len()).min_by_key(|&i| self.0[i].1)
        {
            self.0.remove(oldest);
        }
    }
}

/// Used by data-subject requests (export, erasure) and retention. Some walk whole trees: these
/// requests are rare, and the trees they walk are small.
impl MetaDb {
    /// Every activity entry of an account (or of the instance, [`INSTANCE`]), oldest first.
    pub fn activity_of(&self, account: Id) -> Result<Vec<Entry>, StoreError> {
        self.activity
            .scan_prefix(keys::id(account))
            .values()
            .map(|v| codec::decode(&v?))
            .collect()
    }

    /// Removes an account's activity entries older than `cutoff` (retention per account);
    /// returns how many.
    pub fn purge_account_activity_before(
        &self,
        account: Id,
        cutoff: i64,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self
            .activity
            .range(keys::activity(account, i64::MIN, 0)..keys::activity(account, cutoff, 0))
            .keys()
        {
            batch.remove(k?);
            n += 1;
        }
        self.activity.apply_batch(batch)?;
        Ok(n)
    }

    /// Removes every activity entry of an account (erasure); returns how many.
    pub fn remove_activity_of(&self, account: Id) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self.activity.scan_prefix(keys::id(account)).keys() {
            batch.remove(k?);
            n += 1;
        }
        self.activity.apply_batch(batch)?;
        Ok(n)
    }

    /// Rewrites the activity entries `f` changes (pseudonymisation); returns how many.
    pub fn rewrite_activity(
        &self,
        f: &dyn Fn(&Entry) -> Option<Entry>,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in self.activity.iter() {
            let (k, v) = item?;
            if let Some(new) = f(&codec::decode(&v)?) {
                batch.insert(k, codec::encode(&new)?);
                n += 1;
            }
        }
        self.activity.apply_batch(batch)?;
        Ok(n)
    }

    /// Removes an owner's brand settings and images (erasure).
    pub fn remove_branding(&self, owner: Id) -> Result<(), StoreError> {
        self.branding.remove(keys::id(owner))?;
        let mut batch = sled::Batch::default();
        for k in self.branding_assets.scan_prefix(keys::id(owner)).keys() {
            batch.remove(k?);
        }
        self.branding_assets.apply_batch(batch)?;
        Ok(())
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

/// Alert history entries with their `(time, nonce)` position, newest first.
pub type AlertEventPage = Vec<((i64, u32), AlertEvent)>;

impl MetaDb {
    // --- alerts ---------------------------------------------------------------------------

    /// Stores an alert rule (insert or replace).
    pub fn put_alert_rule(&self, rule: &AlertRule) -> Result<(), StoreError> {
        put(&self.alert_rules, &keys::owned(rule.account, rule.id), rule)
    }

    /// One rule of an account (`None` also for another account's rule).
    pub fn alert_rule(&self, account: Id, id: Id) -> Result<Option<AlertRule>, StoreError> {
        get(&self.alert_rules, &keys::owned(account, id))
    }

    /// The rules of an account, oldest first.
    pub fn alert_rules_of(&self, account: Id) -> Result<Vec<AlertRule>, StoreError> {
        let mut v: Vec<AlertRule> = self
            .alert_rules
            .scan_prefix(keys::id(account))
            .values()
            .map(|v| codec::decode(&v?))
            .collect::<Result<_, _>>()?;
        v.sort_by_key(|r| (r.created_at, r.id));
        Ok(v)
    }

    /// Every rule of every account (for evaluation).
    pub fn alert_rules(&self) -> Result<Vec<AlertRule>, StoreError> {
        all(&self.alert_rules)
    }

    /// Removes a rule and its evaluation state.
    pub fn remove_alert_rule(&self, account: Id, id: Id) -> Result<bool, StoreError> {
        let existed = self.alert_rules.remove(keys::owned(account, id))?.is_some();
        self.clear_alert_states(id)?;
        Ok(existed)
    }

    /// Forgets the evaluation state of a rule (after its definition changed).
    pub fn clear_alert_states(&self, rule: Id) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for k in self.alert_state.scan_prefix(keys::id(rule)).keys() {
            batch.remove(k?);
        }
        self.alert_state.apply_batch(batch)?;
        Ok(())
    }

    /// The evaluation states of a rule by target.
    pub fn alert_states(&self, rule: Id) -> Result<Vec<(String, TargetState)>, StoreError> {
        let mut out = Vec::new();
        for item in self.alert_state.scan_prefix(keys::id(rule)) {
            let (k, v) = item?;
            if let Some((_, target)) = keys::parse_alert_state(&k) {
                out.push((target, codec::decode(&v)?));
            }
        }
        Ok(out)
    }

    /// Writes changed states (`None` removes one) in one batch.
    pub fn put_alert_states(
        &self,
        changes: &[(Id, String, Option<TargetState>)],
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (rule, target, state) in changes {
            let key = keys::alert_state(*rule, target);
            match state {
                Some(s) => batch.insert(key, codec::encode(s)?),
                None => batch.remove(key),
            }
        }
        self.alert_state.apply_batch(batch)?;
        Ok(())
    }

    /// Appends a history entry; returns its `(time, nonce)` position for later updates.
    pub fn append_alert_event(&self, event: &AlertEvent) -> Result<(i64, u32), StoreError> {
        let value = codec::encode(event)?;
        for _ in 0..8 {
            let nonce: u32 = rand::random();
            let key = keys::alert_event(event.account, event.time, nonce);
            if self
                .alert_events
                .compare_and_swap(key, None as Option<&[u8]>, Some(value.as_slice()))?
                .is_ok()
            {
                return Ok((event.time, nonce));
            }
        }
        Err(StoreError::Corrupt("alert event key collisions".into()))
    }

    /// Replaces a history entry at its position (adding delivery attempts).
    pub fn update_alert_event(
        &self,
        pos: (i64, u32),
        event: &AlertEvent,
    ) -> Result<(), StoreError> {
        put(
            &self.alert_events,
            &keys::alert_event(event.account, pos.0, pos.1),
            event,
        )
    }

    /// Removes an account's alert history older than `cutoff` (retention); returns how many.
    pub fn purge_alert_events_before(&self, account: Id, cutoff: i64) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self
            .alert_events
            .range(keys::alert_event(account, i64::MIN, 0)..keys::alert_event(account, cutoff, 0))
            .keys()
        {
            batch.remove(k?);
            n += 1;
        }
        self.alert_events.apply_batch(batch)?;
        Ok(n)
    }

    /// Removes every alert rule, evaluation state and history entry of an account (erasure);
    /// returns how many history entries went.
    pub fn remove_alerts_of(&self, account: Id) -> Result<usize, StoreError> {
        for rule in self.alert_rules_of(account)? {
            self.remove_alert_rule(account, rule.id)?;
        }
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self.alert_events.scan_prefix(keys::id(account)).keys() {
            batch.remove(k?);
            n += 1;
        }
        self.alert_events.apply_batch(batch)?;
        Ok(n)
    }

    /// The newest `limit` history entries of an account.
    pub fn alert_events_of(&self, account: Id, limit: usize) -> Result<AlertEventPage, StoreError> {
        let mut out = Vec::new();
        for item in self.alert_events.scan_prefix(keys::id(account)).rev() {
            let (k, v) = item?;
            let Some((_, time, nonce)) = keys::parse_alert_event(&k) else {
                continue;
            };
            out.push(((time, nonce), codec::decode(&v)?));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::account::Role;

    #[test]
    fn records_written_before_fields_were_appended_still_read() {
        #[derive(Serialize)]
        struct OldUser<'a>(Id, Id, &'a str, &'a str, Role, bool, &'a str, i64);
        let old = codec::encode(&OldUser(
            Id(7),
            Id(9),
            "a@b.c",
            "",
            Role::Viewer,
            false,
            "$argon2id$x",
            5,
        ))
        .unwrap();
        let u = decode_user(&old).unwrap();
        assert_eq!(
            (
                u.id,
                u.email.as_str(),
                u.totp.is_none(),
                u.slices.is_empty()
            ),
            (Id(7), "a@b.c", true, true)
        );
        let new = User {
            slices: vec![Id(3)],
            ..u
        };
        assert_eq!(decode_user(&codec::encode(&new).unwrap()).unwrap(), new);
        #[derive(Serialize)]
        struct OldAccount<'a>(Id, &'a str, i64, Vec<String>, bool, &'a str);
        let old = codec::encode(&OldAccount(
            Id(9),
            "Acme",
            1,
            vec!["a.example".into()],
            true,
            "UTC",
        ))
        .unwrap();
        let a = decode_account(&old).unwrap();
        assert_eq!(
            (
                a.name.as_str(),
                a.processing_restricted,
                a.limits.max_servers
            ),
            ("Acme", true, None)
        );
    }

    #[test]
    fn report_id_groups_search_in_place_and_refuse_damaged_values() {
        let mut g = ReportGroup::default();
        for h in [u64::MAX, 0, 42, 7, 1 << 63] {
            g.insert(h, 10);
        }
        g.insert(42, 20);
        let stored = g.encode();
        for h in [u64::MAX, 0, 42, 7, 1 << 63] {
            assert!(ReportGroup::stored_contains(&stored, h).unwrap(), "{h}");
        }
        for h in [1, 41, 43, u64::MAX - 1] {
            assert!(!ReportGroup::stored_contains(&stored, h).unwrap(), "{h}");
        }
        assert_eq!(ReportGroup::decode(&stored).unwrap().0[2], (42, 20));
        assert!(!ReportGroup::stored_contains(&[ReportGroup::VERSION], 0).unwrap());
        // Damaged values are named errors, never a panic or a wrong answer.
        let mut wrong_version = stored.clone();
        wrong_version[0] = 9;
        for bad in [&[][..], &stored[..stored.len() - 1], &wrong_version[..]] {
            assert!(ReportGroup::stored_contains(bad, 42).is_err());
            assert!(ReportGroup::decode(bad).is_err());
        }
    }

    #[test]
    fn each_server_keeps_its_latest_report_ids() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let meta = MetaDb::from_db(db).unwrap();
        let hash = |i: u64| crate::ingest::enrich::report_hash(&format!("edge-{i}"));
        // Server 1 delivers 20,000 reports, one a second; server 2 one report, long before.
        meta.remember_reports(&[(Id(2), hash(0), 0)]).unwrap();
        for chunk in (0..20_000u64).collect::<Vec<_>>().chunks(1_000) {
            let items: Vec<_> = chunk
                .iter()
                .map(|&i| (Id(1), hash(i), 1_000 + i as i64))
                .collect();
            meta.remember_reports(&items).unwrap();
        }
        // The latest ids of the busy server are all there, its oldest are forgotten, and it
        // keeps a bounded number however many it sent.
        for i in 20_000 - 400..20_000 {
            assert!(meta.seen_report(Id(1), hash(i)).unwrap(), "{i}");
        }
        assert!(!meta.seen_report(Id(1), hash(0)).unwrap());
        let kept: usize = meta
            .report_ids
            .scan_prefix(keys::id(Id(1)))
            .values()
            .map(|v| ReportGroup::decode(&v.unwrap()).unwrap().0.len())
            .sum();
        assert_eq!(kept, REPORTS_KEPT);
        // Another server's window is its own.
        assert!(meta.seen_report(Id(2), hash(0)).unwrap());
        // The time limit still applies on top.
        assert_eq!(meta.forget_reports_before(1).unwrap(), 1);
        assert!(!meta.seen_report(Id(2), hash(0)).unwrap());
    }

    #[test]
    fn sessions_tokens_and_activity_are_indexed() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let meta = MetaDb::from_db(db).unwrap();
        let s = LoginSession {
            user_id: Id(1),
            created_at: 1,
            expires_at: 10,
            id: Id(5),
            ip: None,
            user_agent: String::new(),
        };
        meta.put_login_session(&[1; 32], &s).unwrap();
        meta.put_login_session(
            &[2; 32],
            &LoginSession {
                id: Id(6),
                ..s.clone()
            },
        )
        .unwrap();
        assert_eq!(meta.login_sessions_of(Id(1)).unwrap().len(), 2);
        assert_eq!(
            meta.remove_login_sessions_of(Id(1), Some(&[2; 32]))
                .unwrap(),
            1
        );
        assert!(meta.login_session(&[1; 32]).unwrap().is_none());
        assert_eq!(meta.purge_login_sessions(11).unwrap(), 1);
        assert!(meta.login_sessions_of(Id(1)).unwrap().is_empty());
        let e = |t: i64| Entry {
            time: t,
            actor: "a".into(),
            action: "login".into(),
            target: String::new(),
            ip: None,
            country: None,
        };
        for t in [5, 6, 6, 7] {
            meta.append_activity(Id(3), &e(t)).unwrap();
        }
        meta.append_activity(Id(4), &e(6)).unwrap();
        let page = meta
            .activity_page(Id(3), i64::MIN, (i64::MAX, 0), 10, &|_| true)
            .unwrap();
        assert_eq!(
            page.iter().map(|(_, e)| e.time).collect::<Vec<_>>(),
            vec![7, 6, 6, 5]
        );
        let next = meta
            .activity_page(Id(3), i64::MIN, page[1].0, 10, &|_| true)
            .unwrap();
        assert_eq!(next.len(), 2);
        assert_eq!(meta.purge_activity_before(6).unwrap(), 1);
    }
}
