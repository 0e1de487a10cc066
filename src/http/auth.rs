//! Who is calling: session cookie or bearer token → [`Principal`]; login, logout, first-run
//! setup and `/me`.
//!
//! Cookie-authenticated writes must come from the panel's own origin (the `Origin` header must
//! match `Host`): together with `SameSite=Strict` this closes cross-site request forgery.

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
use crate::auth::{check_password_policy, dummy_hash, hash_password, new_token, token_hash, verify_password};
use crate::error::ApiError;
use crate::model::account::{Account, Id, LoginSession, Role, Scope, User};

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
}

impl Principal {
    /// Requires a role that may change things, and write scope.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if !self.user.role.can_write() && !self.user.operator {
            return Err(ApiError::forbidden(format!("the {} role cannot change anything", self.user.role.as_str())));
        }
        if self.scope < Scope::Write {
            return Err(ApiError::forbidden("this token is read-only"));
        }
        Ok(())
    }

    /// Requires the instance operator.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if !self.user.operator {
            return Err(ApiError::forbidden("only the instance operator may do this"));
        }
        if self.scope < Scope::Admin {
            return Err(ApiError::forbidden("this needs an admin-scoped token"));
        }
        Ok(())
    }

    /// Requires a role that may see audience statistics (not billing-only).
    pub fn require_audience(&self) -> Result<(), ApiError> {
        if self.user.role == Role::Billing && !self.user.operator {
            return Err(ApiError::forbidden("the billing role sees traffic reports only"));
        }
        Ok(())
    }
}

/// Client address, honouring `X-Forwarded-For` only from trusted proxies.
pub fn client_ip(req: &HttpRequest, state: &State) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if state.config.trusted_proxies.iter().any(|net| net.contains(&peer))
        && let Some(xff) = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(ip) = xff.split(',').map(str::trim).rev().find_map(|s| s.parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    Some(peer)
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

fn same_origin(req: &HttpRequest) -> bool {
    let host = req.connection_info().host().to_string();
    match req.headers().get(actix_web::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
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
    let unauthorized = || ApiError::Unauthorized("log in or send Authorization: Bearer <token>".into());
    let (user, scope, via_cookie) = if let Some(token) = bearer(req) {
        let hash = token_hash(token);
        if let Some(t) = state.meta.api_token(&hash)? {
            if t.expires_at.is_some_and(|e| e < now) {
                return Err(ApiError::Unauthorized("this token has expired".into()));
            }
            let user = state.meta.user(t.user_id)?.ok_or_else(unauthorized)?;
            (user, t.scope, false)
        } else if let Some(s) = state.meta.login_session(&hash)? {
            // The login response's token doubles as a bearer token for scripts.
            if s.expires_at < now {
                return Err(unauthorized());
            }
            (state.meta.user(s.user_id)?.ok_or_else(unauthorized)?, Scope::Admin, false)
        } else {
            return Err(unauthorized());
        }
    } else if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let s = state.meta.login_session(&token_hash(cookie.value()))?.ok_or_else(unauthorized)?;
        if s.expires_at < now {
            return Err(unauthorized());
        }
        (state.meta.user(s.user_id)?.ok_or_else(unauthorized)?, Scope::Admin, true)
    } else {
        return Err(unauthorized());
    };
    if via_cookie && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && !same_origin(req) {
        return Err(ApiError::Forbidden {
            code: "cross_origin",
            message: "cookie-authenticated writes must come from the panel itself".into(),
        });
    }
    let mut account_id = user.account_id;
    if let Some(q) = req.query_string().split('&').find_map(|kv| kv.strip_prefix("account=")) {
        let id = Id::parse(q).ok_or(ApiError::NotFound("account"))?;
        if id != user.account_id && !user.operator {
            return Err(ApiError::NotFound("account"));
        }
        account_id = id;
    }
    let account = state.meta.account(account_id)?.ok_or(ApiError::NotFound("account"))?;
    Ok(Principal { user, account, scope, via_cookie })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<State>().cloned().ok_or_else(|| ApiError::internal(anyhow::anyhow!("state missing")))?;
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
        "account": {"id": account.id.to_string(), "name": account.name},
    })
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
        let field = if path == "." || path.is_empty() { None } else { Some(path) };
        ApiError::BadRequest { code: "invalid_json", message: inner.to_string(), field }
    })
}

/// `POST /api/v1/auth/login`
pub async fn login(req: HttpRequest, state: State, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let b: LoginBody = parse_json(&body)?;
    let email = b.email.trim().to_lowercase();
    let ip = client_ip(&req, &state);
    let now = crate::now();
    if let Some(wait) = state.throttle.blocked_for(&email, ip, now) {
        return Err(ApiError::TooManyRequests {
            message: format!("too many failed logins; try again in {} minutes", wait.div_ceil(60)),
            retry_after_s: wait,
        });
    }
    let user = state.meta.user_by_email(&email)?;
    let password = b.password;
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| dummy_hash().to_string());
    let ok = web::block(move || verify_password(&password, &hash)).await.map_err(ApiError::internal)?;
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => {
            state.throttle.fail(&email, ip, now);
            tracing::info!(event = "login_failed", "login failed");
            return Err(ApiError::Unauthorized("wrong e-mail or password".into()));
        }
    };
    state.throttle.succeed(&email);
    let account = state.meta.account(user.account_id)?.ok_or(ApiError::NotFound("account"))?;
    let token = new_token("tls_");
    state.meta.put_login_session(
        &token_hash(&token),
        &LoginSession { user_id: user.id, created_at: now, expires_at: now + SESSION_TTL_S },
    )?;
    tracing::info!(event = "login", user = %user.id, "login succeeded");
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(token.clone(), &req, CookieDuration::seconds(SESSION_TTL_S)))
        .json(json!({"token": token, "user": user_json(&user, &account)})))
}

/// `POST /api/v1/auth/logout`
pub async fn logout(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        state.meta.remove_login_session(&token_hash(c.value()))?;
    }
    if let Some(t) = bearer(&req) {
        state.meta.remove_login_session(&token_hash(t))?;
    }
    let mut gone = session_cookie(String::new(), &req, CookieDuration::ZERO);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// `GET /api/v1/me`
pub async fn me(p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(user_json(&p.user, &p.account)))
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
    let stored = state.meta.setting("setup_token_hash")?;
    let valid = stored.as_deref().is_some_and(|h| bool::from(h.ct_eq(&token_hash(&b.token)[..])));
    if !valid || state.meta.has_users()? {
        return Err(ApiError::Unauthorized("this setup link is invalid or was already used".into()));
    }
    check_password_policy(&b.password).map_err(|m| ApiError::field("password", m))?;
    let email = normalize_email(&b.email).map_err(|m| ApiError::field("email", m))?;
    let password = b.password;
    let hash = web::block(move || hash_password(&password)).await.map_err(ApiError::internal)?.map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let (user, account) = crate::create_first_admin(&state.meta, &email, hash, b.account_name.as_deref().unwrap_or("Default"))?;
    state.meta.remove_setting("setup_token_hash")?;
    state.meta.flush()?;
    Ok(HttpResponse::Created().json(user_json(&user, &account)))
}

/// Validates and lower-cases an e-mail address.
pub fn normalize_email(text: &str) -> Result<String, String> {
    let e = text.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(e) } else { Err(format!("`{}` is not an e-mail address", text.trim())) }
}
