//! People of an account: list, add, change role and slices, remove, reset password or second
//! factor (the owner's tasks), and invitations with one-time links (no mail needed).
//!
//! Passwords are hashed with argon2id off the async runtime. Invitation links carry a random
//! token stored only as its SHA-256 hash; accepting one consumes it atomically.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::visible_account;
use super::{clean_name, path_id};
use crate::activity::{Action, Event};
use crate::auth::{check_password_policy, generate_password, hash_password, new_token, token_hash};
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, normalize_email, parse_json, start_session, user_json};
use crate::model::account::{Account, Id, Invitation, Role, User};

/// How long an invitation link stays valid.
pub const INVITATION_TTL_S: i64 = 7 * 86_400;

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_blocking(password: String) -> Result<String, ApiError> {
    web::block(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

fn parse_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| {
        ApiError::field(
            "role",
            format!("`{text}` is not one of owner, admin, viewer, billing"),
        )
    })
}

/// Checks slice ids against the account's slices, and that the role may be limited.
fn check_slices(
    state: &State,
    account: Id,
    role: Role,
    ids: &[String],
) -> Result<Vec<Id>, ApiError> {
    let mut out = Vec::new();
    for (i, text) in ids.iter().enumerate() {
        let id = Id::parse(text)
            .filter(|id| state.meta.slice(account, *id).ok().flatten().is_some())
            .ok_or_else(|| {
                ApiError::field(
                    format!("slices[{i}]"),
                    "no slice with this id in the account",
                )
            })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if !out.is_empty() && role.can_write() {
        return Err(ApiError::field(
            "slices",
            "only viewer and billing users can be limited to slices",
        ));
    }
    Ok(out)
}

fn count_users(state: &State, account: Id) -> Result<usize, ApiError> {
    Ok(state
        .meta
        .users()?
        .iter()
        .filter(|u| u.account_id == account)
        .count()
        + state.meta.invitations_of(account)?.len())
}

fn check_user_limit(state: &State, account: &Account) -> Result<(), ApiError> {
    if let Some(max) = account.limits.max_users
        && count_users(state, account.id)? >= max as usize
    {
        return Err(ApiError::forbidden(format!(
            "this account may have at most {max} users (invitations count)"
        )));
    }
    Ok(())
}

fn user_of(state: &State, account: &Account, uid: &str) -> Result<User, ApiError> {
    let id = path_id(uid, "user")?;
    match state.meta.user(id)? {
        Some(u) if u.account_id == account.id => Ok(u),
        _ => Err(ApiError::NotFound("user")),
    }
}

fn owners(state: &State, account: Id) -> Result<usize, ApiError> {
    Ok(state
        .meta
        .users()?
        .iter()
        .filter(|u| u.account_id == account && u.role == Role::Owner)
        .count())
}

/// `GET /api/v1/accounts/{id}/users` (owners and admins)
pub async fn list(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = visible_account(&state, &p, &id)?;
    if (!p.user.role.can_write() || !p.slices.is_empty()) && !p.user.operator {
        return Err(ApiError::forbidden(
            "only owners and admins see the account's users",
        ));
    }
    let out: Vec<Value> = state
        .meta
        .users()?
        .iter()
        .filter(|u| u.account_id == account.id)
        .map(|u| user_json(u, &account))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/accounts/{id}/users` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddUser {
    email: String,
    password: String,
    role: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    slices: Vec<String>,
}

/// `POST /api/v1/accounts/{id}/users` (owner)
pub async fn add(
    state: State,
    p: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let account = visible_account(&state, &p, &id)?;
    p.require_owner()?;
    let b: AddUser = parse_json(&body)?;
    let email = normalize_email(&b.email).map_err(|m| ApiError::field("email", m))?;
    let role = parse_role(&b.role)?;
    check_password_policy(&b.password).map_err(|m| ApiError::field("password", m))?;
    let name = match &b.name {
        Some(n) if !n.trim().is_empty() => clean_name("name", n, 200)?,
        _ => String::new(),
    };
    let slices = check_slices(&state, account.id, role, &b.slices)?;
    check_user_limit(&state, &account)?;
    let user = User {
        id: Id::random(),
        account_id: account.id,
        email,
        name,
        role,
        operator: false,
        password_hash: hash_blocking(b.password).await?,
        created_at: crate::now(),
        totp: None,
        slices,
    };
    if !state.meta.insert_user(&user)? {
        return Err(ApiError::Conflict(format!(
            "a user with e-mail {} already exists",
            user.email
        )));
    }
    state.meta.flush()?;
    let p = Principal {
        account: account.clone(),
        ..p
    };
    p.record(
        &state,
        Action::UserAdded,
        format!("user {} ({}) as {}", user.id, user.email, role.as_str()),
    );
    Ok(HttpResponse::Created().json(user_json(&user, &account)))
}

/// `PUT /api/v1/accounts/{id}/users/{uid}` body: fields not given keep their values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUser {
    role: Option<String>,
    slices: Option<Vec<String>>,
    name: Option<String>,
}

/// `PUT /api/v1/accounts/{id}/users/{uid}` (owner): role, slices, name.
pub async fn update(
    state: State,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let account = visible_account(&state, &p, &path.0)?;
    let mut user = user_of(&state, &account, &path.1)?;
    p.require_owner()?;
    let b: UpdateUser = parse_json(&body)?;
    let old_role = user.role;
    if let Some(r) = &b.role {
        user.role = parse_role(r)?;
        if old_role == Role::Owner && user.role != Role::Owner && owners(&state, account.id)? <= 1 {
            return Err(ApiError::Conflict(
                "the account needs an owner; make someone else owner first".into(),
            ));
        }
    }
    let slice_ids: Vec<String> = match &b.slices {
        Some(s) => s.clone(),
        None => user.slices.iter().map(Id::to_string).collect(),
    };
    user.slices = check_slices(&state, account.id, user.role, &slice_ids)?;
    if !user.slices.is_empty() && user.operator {
        return Err(ApiError::field(
            "slices",
            "the instance operator cannot be limited to slices",
        ));
    }
    if let Some(n) = &b.name {
        user.name = if n.trim().is_empty() {
            String::new()
        } else {
            clean_name("name", n, 200)?
        };
    }
    state.meta.update_user(&user)?;
    state.meta.flush()?;
    let p = Principal {
        account: account.clone(),
        ..p
    };
    if user.role != old_role {
        p.record(
            &state,
            Action::UserRoleChanged,
            format!(
                "user {} ({}): {} → {}",
                user.id,
                user.email,
                old_role.as_str(),
                user.role.as_str()
            ),
        );
    }
    if b.slices.is_some() || b.name.is_some() {
        p.record(
            &state,
            Action::UserUpdated,
            format!("user {} ({})", user.id, user.email),
        );
    }
    Ok(HttpResponse::Ok().json(user_json(&user, &account)))
}

/// `DELETE /api/v1/accounts/{id}/users/{uid}` (owner): also ends their sessions and tokens.
pub async fn remove(
    state: State,
    p: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let account = visible_account(&state, &p, &path.0)?;
    let user = user_of(&state, &account, &path.1)?;
    p.require_owner()?;
    if user.id == p.user.id {
        return Err(ApiError::bad(
            "cannot_remove_self",
            "you cannot remove yourself; ask another owner",
        ));
    }
    if user.role == Role::Owner && owners(&state, account.id)? <= 1 {
        return Err(ApiError::Conflict(
            "the account needs an owner; make someone else owner first".into(),
        ));
    }
    if user.operator && state.meta.users()?.iter().filter(|u| u.operator).count() <= 1 {
        return Err(ApiError::Conflict(
            "this is the last instance operator".into(),
        ));
    }
    state.meta.remove_user(user.id)?;
    state.meta.flush()?;
    let p = Principal { account, ..p };
    p.record(
        &state,
        Action::UserRemoved,
        format!("user {} ({})", user.id, user.email),
    );
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/accounts/{id}/users/{uid}/password` body.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResetPassword {
    #[serde(default)]
    password: Option<String>,
}

/// `PUT /api/v1/accounts/{id}/users/{uid}/password` (owner): sets the given password or
/// generates one (returned once), and ends the user's sessions.
pub async fn reset_password(
    state: State,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let account = visible_account(&state, &p, &path.0)?;
    let mut user = user_of(&state, &account, &path.1)?;
    p.require_owner()?;
    let b: ResetPassword = if body.is_empty() {
        ResetPassword::default()
    } else {
        parse_json(&body)?
    };
    let (password, generated) = match b.password {
        Some(pw) => {
            check_password_policy(&pw).map_err(|m| ApiError::field("password", m))?;
            (pw, false)
        }
        None => (generate_password(), true),
    };
    user.password_hash = hash_blocking(password.clone()).await?;
    state.meta.update_user(&user)?;
    state.meta.remove_login_sessions_of(user.id, None)?;
    state.meta.flush()?;
    let p = Principal { account, ..p };
    p.record(
        &state,
        Action::PasswordReset,
        format!("user {} ({})", user.id, user.email),
    );
    Ok(HttpResponse::Ok().json(json!({"password": if generated { Some(password) } else { None }})))
}

/// `DELETE /api/v1/accounts/{id}/users/{uid}/totp` (owner): turns off a user's second
/// factor (lost phone).
pub async fn reset_totp(
    state: State,
    p: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let account = visible_account(&state, &p, &path.0)?;
    let mut user = user_of(&state, &account, &path.1)?;
    p.require_owner()?;
    user.totp = None;
    state.meta.update_user(&user)?;
    state.meta.flush()?;
    let p = Principal { account, ..p };
    p.record(
        &state,
        Action::TotpDisabled,
        format!("user {} ({})", user.id, user.email),
    );
    Ok(HttpResponse::NoContent().finish())
}

// --- invitations ---------------------------------------------------------------------------

fn invitation_json(inv: &Invitation) -> Value {
    json!({
        "id": inv.id.to_string(),
        "email": inv.email,
        "role": inv.role.as_str(),
        "slices": inv.slices.iter().map(Id::to_string).collect::<Vec<_>>(),
        "invited_by": inv.invited_by,
        "created_at": inv.created_at,
        "expires_at": inv.expires_at,
    })
}

/// `POST /api/v1/invitations` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Invite {
    email: String,
    role: String,
    #[serde(default)]
    slices: Vec<String>,
}

/// `POST /api/v1/invitations` (owner): answers the one-time link, shown once.
pub async fn invite(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_owner()?;
    let b: Invite = parse_json(&body)?;
    let email = normalize_email(&b.email).map_err(|m| ApiError::field("email", m))?;
    let role = parse_role(&b.role)?;
    let slices = check_slices(&state, p.account.id, role, &b.slices)?;
    if state.meta.user_by_email(&email)?.is_some() {
        return Err(ApiError::Conflict(format!(
            "a user with e-mail {email} already exists"
        )));
    }
    check_user_limit(&state, &p.account)?;
    let now = crate::now();
    let token = new_token("inv_");
    let inv = Invitation {
        id: Id::random(),
        account_id: p.account.id,
        email,
        role,
        slices,
        invited_by: p.user.email.clone(),
        created_at: now,
        expires_at: now + INVITATION_TTL_S,
    };
    state.meta.put_invitation(&token_hash(&token), &inv)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::InvitationCreated,
        format!(
            "invitation {} for {} as {}",
            inv.id,
            inv.email,
            role.as_str()
        ),
    );
    let mut out = invitation_json(&inv);
    out["token"] = json!(token);
    out["link"] = json!(format!("/invite/{token}"));
    Ok(HttpResponse::Created().json(out))
}

/// `GET /api/v1/invitations` (owner): pending invitations of the account (without links).
pub async fn list_invitations(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    p.require_owner()?;
    let now = crate::now();
    let out: Vec<Value> = state
        .meta
        .invitations_of(p.account.id)?
        .iter()
        .filter(|i| i.expires_at > now)
        .map(invitation_json)
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `DELETE /api/v1/invitations/{id}` (owner)
pub async fn revoke_invitation(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "invitation")?;
    p.require_owner()?;
    let inv = state
        .meta
        .remove_invitation(p.account.id, id)?
        .ok_or(ApiError::NotFound("invitation"))?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::InvitationRevoked,
        format!("invitation {} for {}", inv.id, inv.email),
    );
    Ok(HttpResponse::NoContent().finish())
}

fn live_invitation(state: &State, token: &str) -> Result<(Invitation, Account), ApiError> {
    let inv = state
        .meta
        .invitation(&token_hash(token))?
        .ok_or(ApiError::NotFound("invitation"))?;
    if inv.expires_at <= crate::now() {
        return Err(ApiError::NotFound("invitation"));
    }
    let account = state
        .meta
        .account(inv.account_id)?
        .ok_or(ApiError::NotFound("invitation"))?;
    Ok((inv, account))
}

/// `GET /api/v1/invitations/{token}` (public): what the accept page shows.
pub async fn show_invitation(
    state: State,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (inv, account) = live_invitation(&state, &token)?;
    Ok(HttpResponse::Ok().json(json!({
        "email": inv.email,
        "role": inv.role.as_str(),
        "account": account.name,
        "invited_by": inv.invited_by,
        "expires_at": inv.expires_at,
    })))
}

/// `POST /api/v1/invitations/{token}/accept` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    password: String,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/v1/invitations/{token}/accept` (public): creates the user and logs them in.
pub async fn accept(
    req: HttpRequest,
    state: State,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let b: Accept = parse_json(&body)?;
    // Validate before consuming the link, so a too-short password does not burn it.
    live_invitation(&state, &token)?;
    check_password_policy(&b.password).map_err(|m| ApiError::field("password", m))?;
    let name = match &b.name {
        Some(n) if !n.trim().is_empty() => clean_name("name", n, 200)?,
        _ => String::new(),
    };
    let hash = hash_blocking(b.password).await?;
    let inv = state
        .meta
        .take_invitation(&token_hash(&token))?
        .ok_or(ApiError::NotFound("invitation"))?;
    let account = state
        .meta
        .account(inv.account_id)?
        .ok_or(ApiError::NotFound("invitation"))?;
    if inv.expires_at <= crate::now() {
        return Err(ApiError::NotFound("invitation"));
    }
    let slices = inv
        .slices
        .iter()
        .copied()
        .filter(|s| state.meta.slice(account.id, *s).ok().flatten().is_some())
        .collect();
    let user = User {
        id: Id::random(),
        account_id: account.id,
        email: inv.email.clone(),
        name,
        role: inv.role,
        operator: false,
        password_hash: hash,
        created_at: crate::now(),
        totp: None,
        slices,
    };
    if !state.meta.insert_user(&user)? {
        return Err(ApiError::Conflict(format!(
            "a user with e-mail {} already exists; log in instead",
            user.email
        )));
    }
    state.meta.flush()?;
    crate::activity::record(
        &state.meta,
        &state.geo,
        crate::now(),
        Event {
            account: account.id,
            actor: &user.email,
            action: Action::InvitationAccepted,
            target: format!(
                "user {} ({}) as {}, invited by {}",
                user.id,
                user.email,
                user.role.as_str(),
                inv.invited_by
            ),
            ip: crate::http::auth::client_ip(&req, &state),
        },
    );
    start_session(&req, &state, &user, &account, StatusCode::CREATED)
}
