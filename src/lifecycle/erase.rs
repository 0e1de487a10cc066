//! Erasure (data-subject right): a user, or a whole account, is removed down to the files.
//!
//! An account goes in this order, so that nothing of it can be written again once it started:
//! 1. its servers (and their ingest tokens and report ids) are removed: new reports get 401;
//! 2. the writer forgets it: folds what it holds, drops its sessions and live state from the
//!    checkpoint snapshot, and refuses reports still in flight for it;
//! 3. its statistics partitions are deleted (directories) and its salts destroyed (files);
//! 4. its users (with their login sessions and API tokens), slices, invitations, branding,
//!    activity log, settings and account record are removed from the meta database; activity
//!    entries elsewhere (the instance's log) that name its users, servers or itself are
//!    pseudonymised; then the meta database is **compacted** (rewritten and swapped, see
//!    `store::handle`), because sled keeps removed bytes in its files.
//!
//! A user erasing themselves loses their record, sessions, tokens and the invitations they
//! sent; activity entries keep the action, with a pseudonym for the person.
//!
//! A crash between steps leaves an account record without servers, or statistics without an
//! account record; the retention run deletes the latter, and repeating the erasure finishes
//! the former.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::{Lifecycle, retention};
use crate::activity::Entry;
use crate::ingest::writer::{WriteError, Writer};
use crate::model::account::{Id, Role, User};
use crate::store::StoreError;

/// Why an erasure did not happen.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The request is understood but would leave the instance or account unmanageable.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the writer did not confirm: {0}")]
    Writer(#[from] WriteError),
    #[error("the erasure task failed: {0}")]
    Task(String),
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Erased {
    pub users: u64,
    pub servers: u64,
    pub api_tokens: u64,
    pub login_sessions: u64,
    /// Activity entries removed with the account.
    pub activity_entries: u64,
    /// Activity entries elsewhere rewritten to name a pseudonym instead.
    pub pseudonymised_entries: u64,
    /// Bytes given back to the file system (statistics, salts, meta compaction).
    pub bytes: u64,
    /// The pseudonym that now stands for the erased person in the activity log (user erasure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EraseError> + Send + 'static,
) -> Result<T, EraseError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EraseError::Task(e.to_string()))?
}

/// Text replacements applied to activity entries that stay.
type Replacements = Vec<(String, String)>;

fn pseudonymise(lc: &Lifecycle, repl: &Replacements) -> Result<u64, StoreError> {
    if repl.is_empty() {
        return Ok(0);
    }
    let n = lc.meta.rewrite_activity(&|e: &Entry| {
        let mut out = e.clone();
        for (from, to) in repl {
            if out.actor.contains(from.as_str()) {
                out.actor = out.actor.replace(from.as_str(), to);
            }
            if out.target.contains(from.as_str()) {
                out.target = out.target.replace(from.as_str(), to);
            }
        }
        (out != *e).then_some(out)
    })?;
    Ok(n as u64)
}

fn remove_user_records(lc: &Lifecycle, u: &User) -> Result<(u64, u64), StoreError> {
    let tokens = lc.meta.api_tokens_of(u.id)?.len() as u64;
    let sessions = lc.meta.login_sessions_of(u.id)?.len() as u64;
    for inv in lc
        .meta
        .invitations_of(u.account_id)?
        .into_iter()
        .filter(|i| i.invited_by == u.email)
    {
        lc.meta.remove_invitation(u.account_id, inv.id)?;
    }
    // Removes the user with their login sessions and API tokens (and their indexes).
    lc.meta.remove_user(u.id)?;
    Ok((tokens, sessions))
}

/// Erases an account and everything stored for it.
pub async fn erase_account(
    lc: Arc<Lifecycle>,
    writer: &Writer,
    account: Id,
    now: i64,
) -> Result<Erased, EraseError> {
    let l = lc.clone();
    let servers = blocking(move || {
        let servers: Vec<_> = l
            .meta
            .servers()?
            .into_iter()
            .filter(|s| s.account_id == account)
            .collect();
        for s in &servers {
            l.meta.remove_server(s.id)?;
            l.meta.forget_server_reports(s.id)?;
        }
        l.meta.flush()?;
        Ok(servers)
    })
    .await?;
    writer.forget_account(account).await?;
    blocking(move || {
        let _busy = lc.exclusive.lock();
        let mut out = Erased {
            servers: servers.len() as u64,
            ..Default::default()
        };
        let mut repl: Replacements = Vec::new();
        if let Some(a) = lc.meta.account(account)? {
            repl.push((
                format!("{} ({})", a.id, a.name),
                format!("{} (erased)", a.id),
            ));
        }
        for s in &servers {
            repl.push((
                format!("{} ({})", s.id, s.name),
                format!("{} (erased)", s.id),
            ));
        }
        let freed = lc.parts.drop_account(account)?;
        // Counted here; the meta compaction below counts its own share.
        lc.stats.reclaimed(freed);
        out.bytes += freed;
        lc.salts.destroy_account(account)?;
        for u in lc
            .meta
            .users()?
            .into_iter()
            .filter(|u| u.account_id == account)
        {
            let (t, s) = remove_user_records(&lc, &u)?;
            out.api_tokens += t;
            out.login_sessions += s;
            out.users += 1;
            repl.push((u.email.clone(), pseudonym()));
        }
        for inv in lc.meta.invitations_of(account)? {
            lc.meta.remove_invitation(account, inv.id)?;
        }
        for slice in lc.meta.slices_of(account)? {
            lc.meta.remove_slice(account, slice.id)?;
        }
        lc.meta.remove_branding(account)?;
        out.activity_entries = lc.meta.remove_activity_of(account)? as u64;
        lc.meta.remove_alerts_of(account)?;
        out.pseudonymised_entries = pseudonymise(&lc, &repl)?;
        retention::remove_account(&lc.meta, account)?;
        lc.meta.remove_account_record(account)?;
        lc.meta.flush()?;
        out.bytes += lc.compact_meta(now)?.reclaimed();
        lc.stats.erasures.fetch_add(1, Ordering::Relaxed);
        tracing::info!(event = "account_erased", account = %account, "account erased");
        Ok(out)
    })
    .await
}

/// Checks that `user` may erase themselves: an account keeps an owner, and the instance keeps
/// an operator.
pub fn check_user_erasable(lc: &Lifecycle, user: &User) -> Result<(), EraseError> {
    let users = lc.meta.users()?;
    if user.operator && !users.iter().any(|u| u.operator && u.id != user.id) {
        return Err(EraseError::Refused(
            "you are the only instance operator; make another user operator first".into(),
        ));
    }
    let others: Vec<&User> = users
        .iter()
        .filter(|u| u.account_id == user.account_id && u.id != user.id)
        .collect();
    if user.role == Role::Owner
        && !others.is_empty()
        && !others.iter().any(|u| u.role == Role::Owner)
    {
        return Err(EraseError::Refused(
            "you are the account's only owner; make another user owner first (or ask the operator to delete the account)".into(),
        ));
    }
    Ok(())
}

/// Erases one user: their record, login sessions, API tokens and the invitations they sent;
/// activity entries keep the action with a pseudonym for them. The meta database is then
/// compacted so their e-mail address leaves the files.
pub async fn erase_user(lc: Arc<Lifecycle>, user: User, now: i64) -> Result<Erased, EraseError> {
    blocking(move || {
        let _busy = lc.exclusive.lock();
        check_user_erasable(&lc, &user)?;
        let (tokens, sessions) = remove_user_records(&lc, &user)?;
        let alias = pseudonym();
        let rewritten = pseudonymise(&lc, &vec![(user.email.clone(), alias.clone())])?;
        lc.meta.flush()?;
        let bytes = lc.compact_meta(now)?.reclaimed();
        lc.stats.erasures.fetch_add(1, Ordering::Relaxed);
        tracing::info!(event = "user_erased", user = %user.id, "user erased");
        Ok(Erased {
            users: 1,
            api_tokens: tokens,
            login_sessions: sessions,
            pseudonymised_entries: rewritten,
            bytes,
            pseudonym: Some(alias),
            ..Default::default()
        })
    })
    .await
}

/// A pseudonym that replaces an erased person in records that must keep the action (activity
/// entries): random, so it links to nobody; one per person and erasure, so one person's
/// entries still read as one actor.
pub fn pseudonym() -> String {
    format!("erased-{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_random_and_say_what_they_are() {
        let (a, b) = (pseudonym(), pseudonym());
        assert!(a.starts_with("erased-") && a.len() == 15);
        assert_ne!(a, b);
    }
}
