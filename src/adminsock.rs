//! The local admin socket: lets `tally user add|reset-password|list` work while `tally serve`
//! holds the data directory (sled locks it for one process).
//!
//! `<data_dir>/admin.sock` is a Unix socket readable and writable by the owner only (mode
//! 0600, created inside a private directory and moved into place, so it is never open to
//! anyone else, not even briefly). Protocol: one JSON request per line, one JSON response
//! per line. Whoever can open it already owns the data directory, so it carries no password.
//! The same [`execute`] serves the socket and the CLI when the server is stopped.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::activity::{Action, Event};
use crate::geoip::GeoIp;
use crate::model::account::{Id, Role, User};
use crate::store::MetaStore;

/// File name of the socket inside the data directory.
pub const SOCKET_NAME: &str = "admin.sock";
/// Longest request line accepted.
const MAX_LINE: usize = 64 * 1024;

/// What the CLI asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Table of users.
    List,
    /// Add a user (to `account`, or the first account).
    Add {
        email: String,
        role: String,
        operator: bool,
        password: String,
        account: Option<String>,
    },
    /// Set a user's password and end their sessions.
    ResetPassword { email: String, password: String },
}

/// The answer: text to print, or an error to report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub error: Option<String>,
}

impl Response {
    fn ok(output: String) -> Response {
        Response {
            ok: true,
            output,
            error: None,
        }
    }
    fn err(e: impl std::fmt::Display) -> Response {
        Response {
            ok: false,
            output: String::new(),
            error: Some(e.to_string()),
        }
    }
}

/// Path of the socket in a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

fn record(meta: &MetaStore, geo: Option<&GeoIp>, account: Id, action: Action, target: String) {
    if let Some(geo) = geo {
        crate::activity::record(
            meta,
            geo,
            crate::now(),
            Event {
                account,
                actor: "cli (admin socket)",
                action,
                target,
                ip: None,
            },
        );
    } else {
        let entry = crate::activity::Entry {
            time: crate::now(),
            actor: "cli".into(),
            action: action.as_str().into(),
            target,
            ip: None,
            country: None,
        };
        if let Err(e) = meta.append_activity(account, &entry) {
            tracing::error!(error = %e, "could not record activity");
        }
    }
}

/// Carries out a request against an open meta store (blocking: hashes passwords).
pub fn execute(meta: &MetaStore, geo: Option<&GeoIp>, req: Request) -> Response {
    match run(meta, geo, req) {
        Ok(text) => Response::ok(text),
        Err(e) => Response::err(e),
    }
}

fn run(meta: &MetaStore, geo: Option<&GeoIp>, req: Request) -> Result<String, String> {
    let store = |e: crate::store::StoreError| e.to_string();
    match req {
        Request::List => {
            let accounts = meta.accounts().map_err(store)?;
            let mut out = format!(
                "{:<16}  {:<32}  {:<8}  {:<8}  account\n",
                "id", "email", "role", "operator"
            );
            for u in meta.users().map_err(store)? {
                let acc = accounts
                    .iter()
                    .find(|a| a.id == u.account_id)
                    .map_or("?", |a| a.name.as_str());
                out.push_str(&format!(
                    "{:<16}  {:<32}  {:<8}  {:<8}  {acc}\n",
                    u.id.to_string(),
                    u.email,
                    u.role.as_str(),
                    if u.operator { "yes" } else { "" }
                ));
            }
            Ok(out)
        }
        Request::Add {
            email,
            role,
            operator,
            password,
            account,
        } => {
            let email = crate::http::auth::normalize_email(&email)?;
            let role =
                Role::parse(&role).ok_or("--role must be owner, admin, viewer or billing")?;
            crate::auth::check_password_policy(&password)?;
            let hash = crate::auth::hash_password(&password)?;
            let accounts = meta.accounts().map_err(store)?;
            let target = match &account {
                Some(id) => Some(
                    Id::parse(id)
                        .and_then(|id| accounts.iter().find(|a| a.id == id))
                        .ok_or_else(|| {
                            format!(
                                "no account {id}; `tally user list` shows the accounts of users"
                            )
                        })?,
                ),
                None => accounts.first(),
            };
            let user = match target {
                None => {
                    crate::create_first_admin(meta, &email, hash, "Default")
                        .map_err(store)?
                        .0
                }
                Some(account) => {
                    let user = User {
                        id: Id::random(),
                        account_id: account.id,
                        email: email.clone(),
                        name: String::new(),
                        role,
                        operator,
                        password_hash: hash,
                        created_at: crate::now(),
                        totp: None,
                        slices: Vec::new(),
                    };
                    if !meta.insert_user(&user).map_err(store)? {
                        return Err(format!(
                            "a user with e-mail {email} already exists; use `tally user reset-password`"
                        ));
                    }
                    user
                }
            };
            meta.flush().map_err(store)?;
            record(
                meta,
                geo,
                user.account_id,
                Action::UserAdded,
                format!(
                    "user {} ({}) as {}",
                    user.id,
                    user.email,
                    user.role.as_str()
                ),
            );
            Ok(format!("added {} ({})\n", user.email, user.role.as_str()))
        }
        Request::ResetPassword { email, password } => {
            let mut user = meta
                .user_by_email(&email.trim().to_lowercase())
                .map_err(store)?
                .ok_or_else(|| {
                    format!("no user with e-mail {email}; `tally user list` shows them")
                })?;
            crate::auth::check_password_policy(&password)?;
            user.password_hash = crate::auth::hash_password(&password)?;
            meta.update_user(&user).map_err(store)?;
            meta.remove_login_sessions_of(user.id, None)
                .map_err(store)?;
            meta.flush().map_err(store)?;
            record(
                meta,
                geo,
                user.account_id,
                Action::PasswordReset,
                format!("user {} ({})", user.id, user.email),
            );
            Ok(format!("password of {} changed\n", user.email))
        }
    }
}

/// Binds the socket owner-only and serves it until the task is dropped.
pub async fn serve(
    data_dir: &Path,
    meta: MetaStore,
    geo: std::sync::Arc<GeoIp>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    if path.exists() {
        // Left over from a process that did not stop cleanly (we hold the data-dir lock, so
        // no other server is using it).
        std::fs::remove_file(&path)?;
    }
    // Bind inside a 0700 directory, tighten, then move into place: the socket is never
    // reachable with looser permissions.
    let private = data_dir.join(format!(".admin-sock-{:08x}", rand::random::<u32>()));
    std::fs::create_dir(&private)?;
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700))?;
    let tmp = private.join(SOCKET_NAME);
    let bound = (|| {
        let listener = tokio::net::UnixListener::bind(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, &path)?;
        Ok::<_, std::io::Error>(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    let listener = bound?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let meta = meta.clone();
            let geo = geo.clone();
            tokio::spawn(async move {
                let Ok(std_stream) = stream.into_std() else {
                    return;
                };
                let _ =
                    tokio::task::spawn_blocking(move || serve_connection(std_stream, &meta, &geo))
                        .await;
            });
        }
    }))
}

fn serve_connection(stream: std::os::unix::net::UnixStream, meta: &MetaStore, geo: &GeoIp) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream).take(MAX_LINE as u64 * 16);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let resp = if line.len() > MAX_LINE {
            Response::err("request too long")
        } else {
            match serde_json::from_str::<Request>(line.trim()) {
                Ok(req) => execute(meta, Some(geo), req),
                Err(e) => Response::err(format!("bad request: {e}")),
            }
        };
        let Ok(mut out) = serde_json::to_string(&resp) else {
            return;
        };
        out.push('\n');
        if writer.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

/// Sends one request to a running server's socket (the CLI side).
pub fn call(data_dir: &Path, req: &Request) -> std::io::Result<Response> {
    let path = socket_path(data_dir);
    let mut stream = std::os::unix::net::UnixStream::connect(&path)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    serde_json::from_str(&reply).map_err(std::io::Error::other)
}
