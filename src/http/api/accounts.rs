//! Accounts: the operator creates and configures them (name, custom domains, processing
//! restriction, limits); an account's owner may rename it and set its time zone.
//!
//! A non-operator only ever sees its own account: any other id is "not found".

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_timezone, clean_name, nullable, path_id};
use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::model::account::{Account, Id, Limits, Role};
use crate::store::meta::INSTANCE;

/// Most custom domains per account.
const MAX_DOMAINS: usize = 20;

/// The account with this id, if the caller may see it (404 otherwise, also for other
/// accounts' ids).
pub fn visible_account(state: &State, p: &Principal, id: &str) -> Result<Account, ApiError> {
    let id = path_id(id, "account")?;
    if id != p.user.account_id && !p.user.operator {
        return Err(ApiError::NotFound("account"));
    }
    state.meta.account(id)?.ok_or(ApiError::NotFound("account"))
}

/// JSON view of an account.
pub fn account_json(state: &State, a: &Account) -> Result<Value, ApiError> {
    let servers = state
        .meta
        .servers()?
        .iter()
        .filter(|s| s.account_id == a.id)
        .count();
    let users = state
        .meta
        .users()?
        .iter()
        .filter(|u| u.account_id == a.id)
        .count();
    Ok(json!({
        "id": a.id.to_string(),
        "name": a.name,
        "created_at": a.created_at,
        "domains": a.domains,
        "processing_restricted": a.processing_restricted,
        "timezone": a.timezone,
        "limits": {"max_servers": a.limits.max_servers, "max_users": a.limits.max_users},
        "servers": servers,
        "users": users,
    }))
}

/// Normalises and checks custom domains; a domain another account uses is a conflict.
fn check_domains(state: &State, account: Id, domains: &[String]) -> Result<Vec<String>, ApiError> {
    if domains.len() > MAX_DOMAINS {
        return Err(ApiError::field(
            "domains",
            format!("at most {MAX_DOMAINS} domains per account"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, d) in domains.iter().enumerate() {
        let field = format!("domains[{i}]");
        let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = d.split('.').collect();
        let valid = d.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(ApiError::field(
                field,
                format!("`{d}` is not a domain name such as panel.example.com"),
            ));
        }
        if out.contains(&d) {
            return Err(ApiError::field(field, format!("`{d}` is listed twice")));
        }
        out.push(d);
    }
    for other in state
        .meta
        .accounts()?
        .into_iter()
        .filter(|a| a.id != account)
    {
        if let Some(d) = out.iter().find(|d| other.domains.contains(d)) {
            return Err(ApiError::Conflict(format!(
                "the domain {d} already belongs to another account"
            )));
        }
    }
    Ok(out)
}

/// `POST /api/v1/accounts` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccount {
    name: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    limits: NewLimits,
}

/// `POST /api/v1/accounts` limits object: absent or `null` = unlimited.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewLimits {
    #[serde(default)]
    max_servers: Option<u32>,
    #[serde(default)]
    max_users: Option<u32>,
}

/// `POST /api/v1/accounts` (operator)
pub async fn create(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_operator()?;
    let b: CreateAccount = parse_json(&body)?;
    let name = clean_name("name", &b.name, 200)?;
    let id = Id::random();
    let domains = check_domains(&state, id, &b.domains)?;
    let timezone = match &b.timezone {
        Some(tz) => check_timezone("timezone", tz)?,
        None => "UTC".into(),
    };
    let account = Account {
        id,
        name,
        created_at: crate::now(),
        domains,
        processing_restricted: false,
        timezone,
        limits: Limits {
            max_servers: b.limits.max_servers,
            max_users: b.limits.max_users,
        },
    };
    state.meta.put_account(&account)?;
    state.meta.flush()?;
    let target = format!("account {} ({})", account.id, account.name);
    crate::activity::record(
        &state.meta,
        &state.geo,
        crate::now(),
        crate::activity::Event {
            account: INSTANCE,
            actor: &p.user.email,
            action: Action::AccountCreated,
            target: target.clone(),
            ip: p.ip,
        },
    );
    Ok(HttpResponse::Created().json(account_json(&state, &account)?))
}

/// `GET /api/v1/accounts`: every account for the operator, the caller's own otherwise.
pub async fn list(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    let accounts: Vec<Account> = if p.user.operator {
        state.meta.accounts()?
    } else {
        state.meta.account(p.user.account_id)?.into_iter().collect()
    };
    let out = accounts
        .iter()
        .map(|a| account_json(&state, a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/accounts/{id}`
pub async fn get(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let a = visible_account(&state, &p, &id)?;
    Ok(HttpResponse::Ok().json(account_json(&state, &a)?))
}

/// `PATCH /api/v1/accounts/{id}` limits object: each field optional, `null` = unlimited.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchLimits {
    #[serde(default, deserialize_with = "nullable")]
    max_servers: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    max_users: Option<Option<u32>>,
}

/// `PATCH /api/v1/accounts/{id}` body: fields not given keep their values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchAccount {
    name: Option<String>,
    timezone: Option<String>,
    domains: Option<Vec<String>>,
    processing_restricted: Option<bool>,
    limits: Option<PatchLimits>,
}

/// `PATCH /api/v1/accounts/{id}`: the owner may change `name` and `timezone`; `domains`,
/// `processing_restricted` and `limits` are the operator's.
pub async fn update(
    state: State,
    p: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut a = visible_account(&state, &p, &id)?;
    p.require_write()?;
    if p.user.role != Role::Owner && !p.user.operator {
        return Err(ApiError::forbidden(
            "only the account's owner may change it",
        ));
    }
    let b: PatchAccount = parse_json(&body)?;
    let operator_only =
        b.domains.is_some() || b.processing_restricted.is_some() || b.limits.is_some();
    if operator_only {
        p.require_operator()?;
    }
    let mut changes = Vec::new();
    if let Some(name) = &b.name {
        a.name = clean_name("name", name, 200)?;
        changes.push("name");
    }
    if let Some(tz) = &b.timezone {
        a.timezone = check_timezone("timezone", tz)?;
        changes.push("timezone");
    }
    if let Some(domains) = &b.domains {
        a.domains = check_domains(&state, a.id, domains)?;
        changes.push("domains");
    }
    if let Some(r) = b.processing_restricted {
        a.processing_restricted = r;
        changes.push(if r {
            "processing_restricted=true"
        } else {
            "processing_restricted=false"
        });
    }
    if let Some(l) = &b.limits {
        if let Some(v) = l.max_servers {
            a.limits.max_servers = v;
        }
        if let Some(v) = l.max_users {
            a.limits.max_users = v;
        }
        changes.push("limits");
    }
    state.meta.put_account(&a)?;
    state.meta.flush()?;
    let target = format!("account {} ({}): {}", a.id, a.name, changes.join(", "));
    let ev = |account| crate::activity::Event {
        account,
        actor: &p.user.email,
        action: Action::AccountUpdated,
        target: target.clone(),
        ip: p.ip,
    };
    crate::activity::record(&state.meta, &state.geo, crate::now(), ev(a.id));
    if operator_only {
        crate::activity::record(&state.meta, &state.geo, crate::now(), ev(INSTANCE));
    }
    Ok(HttpResponse::Ok().json(account_json(&state, &a)?))
}
