//! The caller's own credentials: password change, login sessions (list, revoke) and the TOTP
//! second factor (set up, confirm, turn off). Every change here needs an admin-scoped
//! credential: a read or write API token cannot take over its owner's login.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::path_id;
use super::users::hash_blocking;
use crate::activity::Action;
use crate::auth::{check_password_policy, verify_password};
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::model::account::TotpState;

async fn check_current_password(
    p: &Principal,
    password: String,
    field: &str,
) -> Result<(), ApiError> {
    let hash = p.user.password_hash.clone();
    let ok = web::block(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(field, "this is not your current password"))
    }
}

/// `PUT /api/v1/me/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// `PUT /api/v1/me/password`: ends every other session of the user.
pub async fn change_password(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_admin_scope()?;
    let b: ChangePassword = parse_json(&body)?;
    check_password_policy(&b.new_password).map_err(|m| ApiError::field("new_password", m))?;
    check_current_password(&p, b.current_password, "current_password").await?;
    let mut user = p.user.clone();
    user.password_hash = hash_blocking(b.new_password).await?;
    state.meta.update_user(&user)?;
    let ended = state
        .meta
        .remove_login_sessions_of(user.id, p.session.as_ref())?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::PasswordChanged,
        format!(
            "user {} ({}); {ended} other sessions ended",
            user.id, user.email
        ),
    );
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/me/sessions`
pub async fn list(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    let now = crate::now();
    let out: Vec<Value> = state
        .meta
        .login_sessions_of(p.user.id)?
        .into_iter()
        .filter(|(s, _)| s.expires_at >= now)
        .map(|(s, hash)| {
            json!({
                "id": s.id.to_string(),
                "created_at": s.created_at,
                "expires_at": s.expires_at,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "current": p.session.as_ref() == Some(&hash),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `DELETE /api/v1/me/sessions/{id}`: ends one of the caller's sessions (any other id: 404).
pub async fn revoke(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "session")?;
    p.require_admin_scope()?;
    let (s, hash) = state
        .meta
        .login_sessions_of(p.user.id)?
        .into_iter()
        .find(|(s, _)| s.id == id)
        .ok_or(ApiError::NotFound("session"))?;
    state.meta.remove_login_session(&hash)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::SessionRevoked,
        format!("session {} of {} ({})", s.id, p.user.email, s.user_agent),
    );
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/me/totp`: a new secret to scan; login needs codes only after confirmation.
pub async fn totp_setup(
    req: HttpRequest,
    state: State,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    p.require_admin_scope()?;
    if p.user.totp_enabled() {
        return Err(ApiError::Conflict(
            "the second factor is already on; turn it off first to replace it".into(),
        ));
    }
    let secret = crate::totp::new_secret();
    let mut user = p.user.clone();
    user.totp = Some(TotpState {
        secret: secret.clone(),
        enabled: false,
        last_step: 0,
    });
    state.meta.update_user(&user)?;
    state.meta.flush()?;
    let brand = super::branding::resolve_for_request(&state, &req)?;
    Ok(HttpResponse::Ok().json(json!({
        "secret": crate::totp::encode_secret(&secret),
        "otpauth_uri": crate::totp::otpauth_uri(&brand.product_name, &user.email, &secret),
    })))
}

/// `POST /api/v1/me/totp/confirm` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

/// `POST /api/v1/me/totp/confirm`: turns the second factor on with a first valid code.
pub async fn totp_confirm(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_admin_scope()?;
    let b: Confirm = parse_json(&body)?;
    let mut user = p.user.clone();
    let Some(totp) = user.totp.as_mut() else {
        return Err(ApiError::bad(
            "totp_not_started",
            "start with POST /api/v1/me/totp",
        ));
    };
    if totp.enabled {
        return Err(ApiError::Conflict("the second factor is already on".into()));
    }
    let step = crate::totp::verify(&totp.secret, &b.code, crate::now(), totp.last_step)
        .ok_or_else(|| {
            ApiError::field(
                "code",
                "the code is wrong; check the time on your phone and try the next one",
            )
        })?;
    totp.enabled = true;
    totp.last_step = step;
    state.meta.update_user(&user)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::TotpEnabled,
        format!("user {} ({})", user.id, user.email),
    );
    Ok(HttpResponse::Ok().json(json!({"totp_enabled": true})))
}

/// `DELETE /api/v1/me/totp` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    password: String,
}

/// `DELETE /api/v1/me/totp`: turns the second factor off (needs the password).
pub async fn totp_disable(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_admin_scope()?;
    let b: Disable = parse_json(&body)?;
    check_current_password(&p, b.password, "password").await?;
    let mut user = p.user.clone();
    user.totp = None;
    state.meta.update_user(&user)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::TotpDisabled,
        format!("user {} ({})", user.id, user.email),
    );
    Ok(HttpResponse::NoContent().finish())
}
