//! Personal API tokens: create (the token is shown once, stored as its SHA-256), list, revoke.
//! A token acts as its user with at most its scope; expiry and the IP allow-list are enforced
//! where every request is authenticated (`http::auth`).

use actix_web::{HttpResponse, web};
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{clean_name, path_id};
use crate::activity::Action;
use crate::auth::{new_token, token_hash};
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::model::account::{ApiToken, Id, Scope};
use crate::model::report::parse_time;

/// Most tokens one user may hold.
const MAX_TOKENS: usize = 100;

fn token_json(t: &ApiToken) -> Value {
    json!({
        "id": t.id.to_string(),
        "name": t.name,
        "scope": t.scope.as_str(),
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "allowed_ips": t.allowed_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// `POST /api/v1/tokens` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: String,
    scope: String,
    /// Unix seconds or RFC 3339.
    #[serde(default)]
    expires_at: Option<Value>,
    /// CIDR networks or single addresses.
    #[serde(default)]
    allowed_ips: Vec<String>,
}

/// `POST /api/v1/tokens`: users who cannot change anything (viewer, billing, sliced) get
/// read tokens only.
pub async fn create(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_admin_scope()?;
    let b: CreateToken = parse_json(&body)?;
    let name = clean_name("name", &b.name, 100)?;
    let scope = Scope::parse(&b.scope).ok_or_else(|| {
        ApiError::field(
            "scope",
            format!("`{}` is not read, write or admin", b.scope),
        )
    })?;
    let may_write = (p.user.role.can_write() || p.user.operator) && p.slices.is_empty();
    if scope > Scope::Read && !may_write {
        return Err(ApiError::forbidden(format!(
            "the {} role can only create read tokens",
            p.user.role.as_str()
        )));
    }
    let now = crate::now();
    let expires_at = match &b.expires_at {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| ApiError::field("expires_at", "must be whole Unix seconds"))?,
        ),
        Some(Value::String(s)) => {
            Some(parse_time(s).map_err(|m| ApiError::field("expires_at", m))?)
        }
        Some(_) => {
            return Err(ApiError::field(
                "expires_at",
                "must be Unix seconds or an RFC 3339 timestamp",
            ));
        }
    };
    if expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::field("expires_at", "must be in the future"));
    }
    if b.allowed_ips.len() > 50 {
        return Err(ApiError::field("allowed_ips", "at most 50 networks"));
    }
    let mut allowed_ips = Vec::new();
    for (i, text) in b.allowed_ips.iter().enumerate() {
        let text = text.trim();
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                ApiError::field(
                    format!("allowed_ips[{i}]"),
                    format!("`{text}` is not an address or CIDR network such as 203.0.113.0/24"),
                )
            })?;
        allowed_ips.push(net.trunc());
    }
    if state.meta.api_tokens_of(p.user.id)?.len() >= MAX_TOKENS {
        return Err(ApiError::Conflict(format!(
            "you have {MAX_TOKENS} tokens; revoke some first"
        )));
    }
    let token = new_token("tly_");
    let t = ApiToken {
        id: Id::random(),
        user_id: p.user.id,
        name,
        scope,
        created_at: now,
        expires_at,
        allowed_ips,
    };
    state.meta.put_api_token(&token_hash(&token), &t)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::TokenCreated,
        format!(
            "token {} ({}, {}) of {}",
            t.id,
            t.name,
            scope.as_str(),
            p.user.email
        ),
    );
    let mut out = token_json(&t);
    out["token"] = json!(token);
    Ok(HttpResponse::Created().json(out))
}

/// `GET /api/v1/tokens`: the caller's tokens (never the secrets).
pub async fn list(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    let out: Vec<Value> = state
        .meta
        .api_tokens_of(p.user.id)?
        .iter()
        .map(|(t, _)| token_json(t))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens (any other id: 404).
pub async fn revoke(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "token")?;
    p.require_admin_scope()?;
    let t = state
        .meta
        .remove_api_token(p.user.id, id)?
        .ok_or(ApiError::NotFound("token"))?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::TokenRevoked,
        format!("token {} ({}) of {}", t.id, t.name, p.user.email),
    );
    Ok(HttpResponse::NoContent().finish())
}
