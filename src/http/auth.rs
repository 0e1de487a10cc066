//! Who is calling: session cookie or bearer token → [`Principal`]; login (with the optional
//! TOTP code), logout, first-run setup and `/me`.
//!
//! Cookie-authenticated writes must come from the panel's own origin (the `Origin` header must
//! match `Host`): together with `SameSite=Strict` this closes cross-site request forgery.
//! API tokens are checked for expiry and their IP allow-list here, so no handler can forget to.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::State;
use crate::activity::{Action, Event};
use crate::auth::{
    check_password_policy, dummy_hash, hash_password, new_token, token_hash, verify_password,
};
use crate::error::ApiError;
use crate::model::account::{Account, Id, LoginSession, Role, Scope, Slice, User};
use crate::store::meta::INSTANCE;

/// Name of the one cookie the panel sets.
pub const SESSION_COOKIE: &str = "tally_session";
/// How long a login lasts.
pub const SESSION_TTL_S: i64 = 14 * 86_400;

/// The authenticated caller and the account it acts on.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// The account requests act on (the user's, or `?account=` for operators).
    pub account: Account,
    /// Highest scope the credentials allow (sessions: everything the role allows).
    pub scope: Scope,
    pub via_cookie: bool,
    /// Slices the user is limited to (empty: the whole account).
    pub slices: Vec<Slice>,
    /// Hash of the login-session token used, when the caller came with one.
    pub session: Option<[u8; 32]>,
    /// Client address (after trusted proxies), for the activity log.
    pub ip: Option<IpAddr>,
}

impl Principal {
    /// Requires a role that may change things, write scope, and no slice limit.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if !self.user.role.can_write() && !self.user.operator {
            return Err(ApiError::forbidden(format!(
                "the {} role cannot change anything",
                self.user.role.as_str()
            )));
        }
        if self.scope < Scope::Write {
            return Err(ApiError::forbidden("this token is read-only"));
        }
        if !self.slices.is_empty() {
            return Err(ApiError::forbidden(
                "a user limited to slices cannot change the account",
            ));
        }
        Ok(())
    }

    /// Requires an admin-scoped credential (sessions have it): for managing people and
    /// credentials.
    pub fn require_admin_scope(&self) -> Result<(), ApiError> {
        if self.scope < Scope::Admin {
            return Err(ApiError::forbidden(format!(
                "this needs an admin-scoped token (this one is {})",
                self.scope.as_str()
            )));
        }
        Ok(())
    }

    /// Requires the account's owner (or the operator) with an admin-scoped credential.
    pub fn require_owner(&self) -> Result<(), ApiError> {
        self.require_write()?;
        if self.user.role != Role::Owner && !self.user.operator {
            return Err(ApiError::forbidden(
                "only the account's owner may manage users",
            ));
        }
        self.require_admin_scope()
    }

    /// Requires the instance operator.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if !self.user.operator {
            return Err(ApiError::forbidden(
                "only the instance operator may do this",
            ));
        }
        if self.scope < Scope::Admin {
            return Err(ApiError::forbidden("this needs an admin-scoped token"));
        }
        Ok(())
    }

    /// Whether the role may see audience statistics (everyone but billing-only users).
    pub fn sees_audience(&self) -> bool {
        self.user.role != Role::Billing || self.user.operator
    }

    /// Requires a role that may see audience statistics (not billing-only).
    pub fn require_audience(&self) -> Result<(), ApiError> {
        if !self.sees_audience() {
            return Err(ApiError::forbidden(
                "the billing role sees traffic reports only",
            ));
        }
        Ok(())
    }

    /// Records an activity entry in the account acted on.
    pub fn record(&self, state: &State, action: Action, target: impl Into<String>) {
        crate::activity::record(
            &state.meta,
            &state.geo,
            crate::now(),
            Event {
                account: self.account.id,
                actor: &self.user.email,
                action,
                target: target.into(),
                ip: self.ip,
            },
        );
    }
}

/// Client address, honouring `X-Forwarded-For` only from trusted proxies.
pub fn client_ip(req: &HttpRequest, state: &State) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if state
        .config
        .trusted_proxies
        .iter()
        .any(|net| net.contains(&peer))
        && let Some(xff) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(ip) = xff
            .split(',')
            .map(str::trim)
            .rev()
            .find_map(|s| s.parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    Some(peer)
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn same_origin(req: &HttpRequest) -> bool {
    let host = req.connection_info().host().to_string();
    match req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        Some(origin) => origin.split("://").nth(1).is_some_and(|o| o == host),
        None => req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "same-origin"),
    }
}

fn authenticate(req: &HttpRequest, state: &State) -> Result<Principal, ApiError> {
    let now = crate::now();
    let ip = client_ip(req, state);
    let unauthorized =
        || ApiError::Unauthorized("log in or send Authorization: Bearer <token>".into());
    let (user, scope, via_cookie, session) = if let Some(token) = bearer(req) {
        let hash = token_hash(token);
        if let Some(t) = state.meta.api_token(&hash)? {
            if t.expires_at.is_some_and(|e| e < now) {
                return Err(ApiError::Unauthorized("this token has expired".into()));
            }
            if !t.allowed_ips.is_empty()
                && !ip.is_some_and(|ip| t.allowed_ips.iter().any(|n| n.contains(&ip)))
            {
                return Err(ApiError::Forbidden {
                    code: "ip_not_allowed",
                    message: "this token may not be used from this address (see its allowed_ips)"
                        .into(),
                });
            }
            let user = state.meta.user(t.user_id)?.ok_or_else(unauthorized)?;
            (user, t.scope, false, None)
        } else if let Some(s) = state.meta.login_session(&hash)? {
            // The login response's token doubles as a bearer token for scripts.
            if s.expires_at < now {
                return Err(unauthorized());
            }
            (
                state.meta.user(s.user_id)?.ok_or_else(unauthorized)?,
                Scope::Admin,
                false,
                Some(hash),
            )
        } else {
            return Err(unauthorized());
        }
    } else if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let hash = token_hash(cookie.value());
        let s = state.meta.login_session(&hash)?.ok_or_else(unauthorized)?;
        if s.expires_at < now {
            return Err(unauthorized());
        }
        (
            state.meta.user(s.user_id)?.ok_or_else(unauthorized)?,
            Scope::Admin,
            true,
            Some(hash),
        )
    } else {
        return Err(unauthorized());
    };
    if via_cookie
        && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !same_origin(req)
    {
        return Err(ApiError::Forbidden {
            code: "cross_origin",
            message: "cookie-authenticated writes must come from the panel itself".into(),
        });
    }
    let mut account_id = user.account_id;
    if let Some(q) = super::api::acting_account(req.query_string()) {
        let id = Id::parse(q).ok_or(ApiError::NotFound("account"))?;
        if id != user.account_id && !user.operator {
            return Err(ApiError::NotFound("account"));
        }
        account_id = id;
    }
    let account = state
        .meta
        .account(account_id)?
        .ok_or(ApiError::NotFound("account"))?;
    // A slice that was deleted no longer limits anyone; a user whose every slice is gone
    // would otherwise see the whole account, so such a user sees nothing instead.
    let mut slices = Vec::new();
    for id in &user.slices {
        if let Some(s) = state.meta.slice(user.account_id, *id)? {
            slices.push(s);
        }
    }
    if !user.slices.is_empty() && slices.is_empty() {
        slices.push(Slice {
            id: Id(0),
            account_id: user.account_id,
            name: "(none)".into(),
            servers: vec![Id(0)],
            app_regex: None,
            stream_regex: None,
            timezone: "UTC".into(),
            created_at: 0,
        });
    }
    Ok(Principal {
        user,
        account,
        scope,
        via_cookie,
        slices,
        session,
        ip,
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<State>()
                .cloned()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("state missing")))?;
            authenticate(&req, &state)
        })
    }
}

/// `POST /api/v1/auth/login` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
    /// Current TOTP code, for users who turned the second factor on.
    #[serde(default)]
    code: Option<String>,
}

fn session_cookie(value: String, req: &HttpRequest, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(max_age)
        .finish()
}

/// Public view of a user.
pub fn user_json(user: &User, account: &Account) -> serde_json::Value {
    json!({
        "id": user.id.to_string(),
        "email": user.email,
        "name": user.name,
        "role": user.role.as_str(),
        "operator": user.operator,
        "totp_enabled": user.totp_enabled(),
        "slices": user.slices.iter().map(Id::to_string).collect::<Vec<_>>(),
        "created_at": user.created_at,
        "account": {"id": account.id.to_string(), "name": account.name},
    })
}

/// The user agent of a request, cut to 200 characters.
pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// Starts a login session for `user`: stores it (hashed, indexed by user) and answers with
/// the session cookie and the token.
///
/// The token is always new (from the OS RNG), never one the client brought, and a session
/// cookie sent with the login is revoked: whatever session id was planted in the browser
/// before the login (session fixation) is worth nothing after it.
pub fn start_session(
    req: &HttpRequest,
    state: &State,
    user: &User,
    account: &Account,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let now = crate::now();
    if let Some(old) = req.cookie(SESSION_COOKIE)
        && !old.value().is_empty()
    {
        state.meta.remove_login_session(&token_hash(old.value()))?;
    }
    let token = new_token("tls_");
    let ip = client_ip(req, state);
    state.meta.put_login_session(
        &token_hash(&token),
        &LoginSession {
            user_id: user.id,
            created_at: now,
            expires_at: now + SESSION_TTL_S,
            id: Id::random(),
            ip: ip.map(crate::activity::truncate_ip),
            user_agent: user_agent(req),
        },
    )?;
    Ok(HttpResponse::build(status)
        .cookie(session_cookie(
            token.clone(),
            req,
            CookieDuration::seconds(SESSION_TTL_S),
        ))
        .json(json!({"token": token, "user": user_json(user, account)})))
}

/// Parses a JSON body with errors that name the field.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Fast path without path tracking; only a failure pays for a second, path-tracking parse.
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." || path.is_empty() {
            None
        } else {
            Some(path)
        };
        ApiError::BadRequest {
            code: "invalid_json",
            message: inner.to_string(),
            field,
        }
    })
}

/// `POST /api/v1/auth/login`
pub async fn login(
    req: HttpRequest,
    state: State,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let b: LoginBody = parse_json(&body)?;
    let email = b.email.trim().to_lowercase();
    let ip = client_ip(&req, &state);
    let now = crate::now();
    if let Some(wait) = state.throttle.blocked_for(&email, ip, now) {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "too many failed logins; try again in {} minutes",
                wait.div_ceil(60)
            ),
            retry_after_s: wait,
        });
    }
    let user = state.meta.user_by_email(&email)?;
    let password = b.password;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let ok = web::block(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let failed = |account: Id, why: &str| {
        state.throttle.fail(&email, ip, now);
        crate::activity::record(
            &state.meta,
            &state.geo,
            now,
            Event {
                account,
                actor: &email,
                action: Action::LoginFailed,
                target: why.to_string(),
                ip,
            },
        );
        tracing::info!(event = "login_failed", "login failed");
    };
    let mut user = match (user, ok) {
        (Some(u), true) => u,
        (Some(u), false) => {
            failed(u.account_id, "wrong password");
            return Err(ApiError::Unauthorized("wrong e-mail or password".into()));
        }
        (None, _) => {
            failed(INSTANCE, "unknown e-mail");
            return Err(ApiError::Unauthorized("wrong e-mail or password".into()));
        }
    };
    if let Some(totp) = user.totp.as_ref().filter(|t| t.enabled) {
        // Only reached with the right password, so these answers reveal nothing to someone
        // who does not have it. Each counts as a failure so that the password cannot be
        // confirmed at leisure past the throttle.
        let Some(code) = b.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            failed(user.account_id, "second factor missing");
            return Ok(HttpResponse::Unauthorized().json(json!({"error": {
                "code": "totp_required",
                "message": "enter the 6-digit code from your authenticator app",
                "field": "code"
            }})));
        };
        match crate::totp::verify(&totp.secret, code, now, totp.last_step) {
            Some(step) => {
                if let Some(t) = user.totp.as_mut() {
                    t.last_step = step;
                }
                state.meta.update_user(&user)?;
            }
            None => {
                failed(user.account_id, "wrong second-factor code");
                return Err(ApiError::BadRequest {
                    code: "totp_invalid",
                    message: "the code is wrong or was already used; wait for the next one".into(),
                    field: Some("code".into()),
                });
            }
        }
    }
    state.throttle.succeed(&email);
    let account = state
        .meta
        .account(user.account_id)?
        .ok_or(ApiError::NotFound("account"))?;
    let resp = start_session(
        &req,
        &state,
        &user,
        &account,
        actix_web::http::StatusCode::OK,
    )?;
    crate::activity::record(
        &state.meta,
        &state.geo,
        now,
        Event {
            account: user.account_id,
            actor: &user.email,
            action: Action::Login,
            target: String::new(),
            ip,
        },
    );
    tracing::info!(event = "login", user = %user.id, "login succeeded");
    Ok(resp)
}

/// `POST /api/v1/auth/logout`
pub async fn logout(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    let mut hashes = Vec::new();
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        hashes.push(token_hash(c.value()));
    }
    if let Some(t) = bearer(&req) {
        hashes.push(token_hash(t));
    }
    for hash in hashes {
        if let Some(s) = state.meta.login_session(&hash)? {
            state.meta.remove_login_session(&hash)?;
            if let Some(u) = state.meta.user(s.user_id)? {
                crate::activity::record(
                    &state.meta,
                    &state.geo,
                    crate::now(),
                    Event {
                        account: u.account_id,
                        actor: &u.email,
                        action: Action::Logout,
                        target: String::new(),
                        ip: client_ip(&req, &state),
                    },
                );
            }
        }
    }
    let mut gone = session_cookie(String::new(), &req, CookieDuration::ZERO);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// `GET /api/v1/me`
pub async fn me(p: Principal) -> Result<HttpResponse, ApiError> {
    let mut out = user_json(&p.user, &p.account);
    // What these credentials may do, so the SPA can hide what would be refused.
    out["scope"] = json!(p.scope.as_str());
    out["acting_on"] = json!({"id": p.account.id.to_string(), "name": p.account.name});
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/setup` body: the one-time token from the log and the first admin.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupBody {
    token: String,
    email: String,
    password: String,
    #[serde(default)]
    account_name: Option<String>,
}

/// `POST /api/v1/setup`: creates the first admin with the one-time setup token.
pub async fn setup(state: State, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let b: SetupBody = parse_json(&body)?;
    let (user, account) = create_admin_with_setup_token(
        &state,
        &b.token,
        &b.email,
        b.password,
        b.account_name.as_deref().unwrap_or("Default"),
    )
    .await?;
    Ok(HttpResponse::Created().json(user_json(&user, &account)))
}

/// Creates the first admin if `token` is the instance's one-time setup token.
pub async fn create_admin_with_setup_token(
    state: &State,
    token: &str,
    email: &str,
    password: String,
    account_name: &str,
) -> Result<(User, Account), ApiError> {
    let stored = state.meta.setting("setup_token_hash")?;
    let valid = stored
        .as_deref()
        .is_some_and(|h| bool::from(h.ct_eq(&token_hash(token)[..])));
    if !valid || state.meta.has_users()? {
        return Err(ApiError::Unauthorized(
            "this setup link is invalid or was already used".into(),
        ));
    }
    check_password_policy(&password).map_err(|m| ApiError::field("password", m))?;
    let email = normalize_email(email).map_err(|m| ApiError::field("email", m))?;
    let hash = web::block(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let name = if account_name.trim().is_empty() {
        "Default"
    } else {
        account_name.trim()
    };
    let created = crate::create_first_admin(&state.meta, &email, hash, name)?;
    state.meta.remove_setting("setup_token_hash")?;
    state.meta.flush()?;
    Ok(created)
}

/// Validates and lower-cases an e-mail address.
pub fn normalize_email(text: &str) -> Result<String, String> {
    let e = text.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(format!("`{}` is not an e-mail address", text.trim()))
    }
}
