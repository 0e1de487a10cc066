//! Slices: named subsets of an account's servers, apps and streams (regex filters) with their
//! own time zone, and [`SliceSet`], the compiled form every list, query and export of a
//! slice-limited user is filtered through.

use actix_web::{HttpResponse, web};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_timezone, clean_name, nullable, path_id};
use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::model::account::{Id, Slice};

/// Most slices per account.
const MAX_SLICES: usize = 500;

fn compile(field: &str, pattern: &str) -> Result<Regex, ApiError> {
    if pattern.len() > 500 {
        return Err(ApiError::field(field, "at most 500 bytes"));
    }
    RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ApiError::field(field, format!("not a valid regular expression: {e}")))
}

struct Rule {
    servers: Vec<Id>,
    app: Option<Regex>,
    stream: Option<Regex>,
}

/// The union of a user's slices, compiled. A request of a slice-limited user sees a stream
/// only when some slice admits its server, app and stream.
pub struct SliceSet {
    rules: Vec<Rule>,
    /// Time zone of the first slice, the default for daily reports.
    pub timezone: String,
}

impl SliceSet {
    /// The caller's slices; `None` when the caller is not limited.
    pub fn of(p: &Principal) -> Result<Option<SliceSet>, ApiError> {
        if p.slices.is_empty() || p.account.id != p.user.account_id {
            return Ok(None);
        }
        let mut rules = Vec::new();
        for s in &p.slices {
            rules.push(Rule {
                servers: s.servers.clone(),
                app: s
                    .app_regex
                    .as_deref()
                    .map(|r| compile("app_regex", r))
                    .transpose()?,
                stream: s
                    .stream_regex
                    .as_deref()
                    .map(|r| compile("stream_regex", r))
                    .transpose()?,
            });
        }
        Ok(Some(SliceSet {
            rules,
            timezone: p.slices[0].timezone.clone(),
        }))
    }

    /// Some slice includes (part of) this server.
    pub fn allows_server(&self, server: Id) -> bool {
        self.rules
            .iter()
            .any(|r| r.servers.is_empty() || r.servers.contains(&server))
    }

    /// Some slice includes this stream.
    pub fn allows_stream(&self, server: Id, app: &str, stream: &str) -> bool {
        self.rules.iter().any(|r| {
            (r.servers.is_empty() || r.servers.contains(&server))
                && r.app.as_ref().is_none_or(|re| re.is_match(app))
                && r.stream.as_ref().is_none_or(|re| re.is_match(stream))
        })
    }

    /// Some slice includes the whole server (every app and stream): its host metrics and
    /// server-wide series may be shown.
    pub fn allows_whole_server(&self, server: Id) -> bool {
        self.rules.iter().any(|r| {
            (r.servers.is_empty() || r.servers.contains(&server))
                && r.app.is_none()
                && r.stream.is_none()
        })
    }
}

fn slice_json(s: &Slice) -> Value {
    json!({
        "id": s.id.to_string(),
        "name": s.name,
        "servers": s.servers.iter().map(Id::to_string).collect::<Vec<_>>(),
        "app_regex": s.app_regex,
        "stream_regex": s.stream_regex,
        "timezone": s.timezone,
        "created_at": s.created_at,
    })
}

fn check_servers(state: &State, account: Id, ids: &[String]) -> Result<Vec<Id>, ApiError> {
    let mut out = Vec::new();
    for (i, text) in ids.iter().enumerate() {
        // A foreign server id reads exactly like a non-existent one.
        let id = Id::parse(text)
            .filter(|id| {
                state
                    .meta
                    .server(*id)
                    .ok()
                    .flatten()
                    .is_some_and(|s| s.account_id == account)
            })
            .ok_or_else(|| {
                ApiError::field(
                    format!("servers[{i}]"),
                    "no server with this id in the account",
                )
            })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn clean_regex(field: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    match v.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            compile(field, r)?;
            Ok(Some(r.to_string()))
        }
        None => Ok(None),
    }
}

/// The slice with this id in the caller's account, visible to the caller (404 otherwise).
fn visible_slice(state: &State, p: &Principal, id: &str) -> Result<Slice, ApiError> {
    let id = path_id(id, "slice")?;
    let s = state
        .meta
        .slice(p.account.id, id)?
        .ok_or(ApiError::NotFound("slice"))?;
    if !p.slices.is_empty() && !p.slices.iter().any(|own| own.id == s.id) {
        return Err(ApiError::NotFound("slice"));
    }
    Ok(s)
}

/// `GET /api/v1/slices`: the account's slices (a limited user: their own).
pub async fn list(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    let out: Vec<Value> = state
        .meta
        .slices_of(p.account.id)?
        .iter()
        .filter(|s| p.slices.is_empty() || p.slices.iter().any(|own| own.id == s.id))
        .map(slice_json)
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/slices/{id}`
pub async fn get(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(slice_json(&visible_slice(&state, &p, &id)?)))
}

/// `POST /api/v1/slices` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSlice {
    name: String,
    #[serde(default)]
    servers: Vec<String>,
    #[serde(default)]
    app_regex: Option<String>,
    #[serde(default)]
    stream_regex: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

/// `POST /api/v1/slices` (owner, admin)
pub async fn create(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    let b: CreateSlice = parse_json(&body)?;
    let name = clean_name("name", &b.name, 100)?;
    let servers = check_servers(&state, p.account.id, &b.servers)?;
    let app_regex = clean_regex("app_regex", b.app_regex.as_deref())?;
    let stream_regex = clean_regex("stream_regex", b.stream_regex.as_deref())?;
    let timezone = match &b.timezone {
        Some(tz) => check_timezone("timezone", tz)?,
        None => p.account.timezone.clone(),
    };
    if state.meta.slices_of(p.account.id)?.len() >= MAX_SLICES {
        return Err(ApiError::Conflict(format!(
            "an account may have at most {MAX_SLICES} slices"
        )));
    }
    let s = Slice {
        id: Id::random(),
        account_id: p.account.id,
        name,
        servers,
        app_regex,
        stream_regex,
        timezone,
        created_at: crate::now(),
    };
    state.meta.put_slice(&s)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::SliceCreated,
        format!("slice {} ({})", s.id, s.name),
    );
    Ok(HttpResponse::Created().json(slice_json(&s)))
}

/// `PATCH /api/v1/slices/{id}` body: fields not given keep their values; `null` clears a regex.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateSlice {
    name: Option<String>,
    servers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    app_regex: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    stream_regex: Option<Option<String>>,
    timezone: Option<String>,
}

/// `PATCH` or `PUT /api/v1/slices/{id}` (owner, admin): partial update.
pub async fn update(
    state: State,
    p: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut s = visible_slice(&state, &p, &id)?;
    p.require_write()?;
    let b: UpdateSlice = parse_json(&body)?;
    if let Some(n) = &b.name {
        s.name = clean_name("name", n, 100)?;
    }
    if let Some(servers) = &b.servers {
        s.servers = check_servers(&state, p.account.id, servers)?;
    }
    if let Some(r) = &b.app_regex {
        s.app_regex = clean_regex("app_regex", r.as_deref())?;
    }
    if let Some(r) = &b.stream_regex {
        s.stream_regex = clean_regex("stream_regex", r.as_deref())?;
    }
    if let Some(tz) = &b.timezone {
        s.timezone = check_timezone("timezone", tz)?;
    }
    state.meta.put_slice(&s)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::SliceUpdated,
        format!("slice {} ({})", s.id, s.name),
    );
    Ok(HttpResponse::Ok().json(slice_json(&s)))
}

/// `DELETE /api/v1/slices/{id}` (owner, admin): refused while users are limited to it, since
/// removing a user's last slice would widen what they see.
pub async fn delete(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = visible_slice(&state, &p, &id)?;
    p.require_write()?;
    let users = state
        .meta
        .users()?
        .into_iter()
        .filter(|u| u.account_id == p.account.id && u.slices.contains(&s.id))
        .count();
    if users > 0 {
        return Err(ApiError::Conflict(format!(
            "{users} users are limited to this slice; change their slices first"
        )));
    }
    state.meta.remove_slice(p.account.id, s.id)?;
    state.meta.flush()?;
    p.record(
        &state,
        Action::SliceDeleted,
        format!("slice {} ({})", s.id, s.name),
    );
    Ok(HttpResponse::NoContent().finish())
}
