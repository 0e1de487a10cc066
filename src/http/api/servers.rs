//! Servers: register (ingest token shown once), list with live status, get, delete, and the
//! hook secret of servers that push notifications (shown once, rotated or disabled here).
//! A slice-limited user sees only the servers of their slices, with viewer numbers of the
//! admitted streams only, and host metrics only for servers a slice includes whole.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::slices::SliceSet;
use crate::activity::Action;
use crate::auth::{new_token, token_hash};
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::ingest::writer::ServerLive;
use crate::model::account::{HookSecret, Id, Server};

/// Status from the time of the last report.
pub fn status(live: Option<&ServerLive>, now: i64) -> &'static str {
    match live {
        None => "never",
        Some(l) if l.last_report_at == 0 => "never",
        Some(l) => {
            let interval = l.interval_s.max(1) as i64;
            let age = now - l.last_report_at;
            if age <= 2 * interval + 15 {
                "online"
            } else if age <= 10 * interval + 60 {
                "late"
            } else {
                "offline"
            }
        }
    }
}

/// One server as the API shows it; `audience` is false for the billing role, which sees
/// traffic but not how many are watching.
fn server_json(
    s: &Server,
    hook: Option<&HookSecret>,
    live: Option<&ServerLive>,
    now: i64,
    view: Option<&SliceSet>,
    audience: bool,
) -> Value {
    let whole = view.is_none_or(|v| v.allows_whole_server(s.id));
    let host = live.and_then(|l| l.host.as_ref()).filter(|_| whole);
    let interval = live.map_or(30, |l| l.interval_s.max(1)) as f64;
    let (viewers, bandwidth_bps) = match (live, view) {
        (None, _) => (0, 0.0),
        (Some(l), None) => (l.viewers(), l.bandwidth_bps()),
        (Some(l), Some(v)) => {
            let admitted = l
                .streams
                .iter()
                .filter(|((app, stream), _)| v.allows_stream(s.id, app, stream));
            let (n, bytes) = admitted.fold((0u64, 0u64), |(n, b), (_, st)| {
                (n + st.viewers as u64, b + st.bytes_out)
            });
            (n, bytes as f64 * 8.0 / l.interval_s.max(1) as f64)
        }
    };
    json!({
        "id": s.id.to_string(),
        "name": s.name,
        "created_at": s.created_at,
        "software": live.and_then(|l| l.software.clone()),
        "version": live.and_then(|l| l.version.clone()),
        "last_report_at": live.map(|l| l.last_report_at).filter(|t| *t > 0),
        "status": status(live, now),
        "cpu_pct": host.and_then(|h| h.cpu_pct),
        "ram_used_bytes": host.and_then(|h| h.ram_used_bytes),
        "ram_total_bytes": host.and_then(|h| h.ram_total_bytes),
        "net_in_bps": host.and_then(|h| h.net_in_bytes).map(|b| b as f64 * 8.0 / interval),
        "net_out_bps": host.and_then(|h| h.net_out_bytes).map(|b| b as f64 * 8.0 / interval),
        "viewers": audience.then_some(viewers),
        "bandwidth_bps": bandwidth_bps,
        "hooks": {
            "enabled": hook.is_some(),
            "created_at": hook.map(|h| h.created_at),
        },
    })
}

/// The server with this id in the caller's account and slices (404 otherwise, also for other
/// accounts' servers and servers outside the caller's slices).
pub fn owned_server(state: &State, p: &Principal, id: &str) -> Result<Server, ApiError> {
    let id = Id::parse(id).ok_or(ApiError::NotFound("server"))?;
    let view = SliceSet::of(p)?;
    match state.meta.server(id)? {
        Some(s) if s.account_id == p.account.id && view.is_none_or(|v| v.allows_server(s.id)) => {
            Ok(s)
        }
        _ => Err(ApiError::NotFound("server")),
    }
}

/// `GET /api/v1/servers`
pub async fn list(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    let now = crate::now();
    let view = SliceSet::of(&p)?;
    let servers: Vec<(Server, Option<HookSecret>)> = state
        .meta
        .servers()?
        .into_iter()
        .filter(|s| {
            s.account_id == p.account.id && view.as_ref().is_none_or(|v| v.allows_server(s.id))
        })
        .map(|s| state.meta.hook_secret(s.id).map(|h| (s, h)))
        .collect::<Result<_, _>>()?;
    let audience = p.sees_audience();
    let live = state.writer.live.read();
    let out: Vec<Value> = servers
        .iter()
        .map(|(s, h)| server_json(s, h.as_ref(), live.get(&s.id), now, view.as_ref(), audience))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/servers` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateServer {
    name: String,
}

/// `POST /api/v1/servers`
pub async fn create(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    let b: CreateServer = parse_json(&body)?;
    let name = b.name.trim().to_string();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "give the server a name of 1 to 200 printable characters",
        ));
    }
    if let Some(max) = p.account.limits.max_servers
        && state
            .meta
            .servers()?
            .iter()
            .filter(|s| s.account_id == p.account.id)
            .count()
            >= max as usize
    {
        return Err(ApiError::forbidden(format!(
            "this account may register at most {max} servers"
        )));
    }
    let token = new_token("tis_");
    let server = Server {
        id: Id::random(),
        account_id: p.account.id,
        name,
        created_at: crate::now(),
        token_hash: token_hash(&token),
    };
    state.meta.insert_server(&server)?;
    state.meta.flush()?;
    tracing::info!(event = "server_added", server = %server.id, account = %p.account.id, "server registered");
    p.record(
        &state,
        Action::ServerAdded,
        format!("server {} ({})", server.id, server.name),
    );
    Ok(HttpResponse::Created().json(json!({
        "id": server.id.to_string(),
        "name": server.name,
        "ingest_token": token,
        "created_at": server.created_at,
    })))
}

/// `GET /api/v1/servers/{id}`
pub async fn get(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = owned_server(&state, &p, &id)?;
    let view = SliceSet::of(&p)?;
    let hook = state.meta.hook_secret(s.id)?;
    let live = state.writer.live.read();
    Ok(HttpResponse::Ok().json(server_json(
        &s,
        hook.as_ref(),
        live.get(&s.id),
        crate::now(),
        view.as_ref(),
        p.sees_audience(),
    )))
}

/// `DELETE /api/v1/servers/{id}`
pub async fn delete(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    let s = owned_server(&state, &p, &id)?;
    state.meta.remove_server(s.id)?;
    state.meta.forget_server_reports(s.id)?;
    state.meta.flush()?;
    state.writer.forget_server(s.id);
    state.hooks.forget_server(s.id);
    tracing::info!(event = "server_removed", server = %s.id, "server removed");
    p.record(
        &state,
        Action::ServerRemoved,
        format!("server {} ({})", s.id, s.name),
    );
    Ok(HttpResponse::NoContent().finish())
}

/// Base URLs of the hook endpoints: `--public-url` when set, else the address the caller used
/// to reach the panel. Returns (nginx-rtmp base, SRS base): nginx-rtmp's notify client speaks
/// plain HTTP only, so with TLS its URL names the plain listener (which serves `/hooks/`
/// instead of redirecting).
fn hook_bases(config: &crate::config::Config, req: &HttpRequest) -> (String, String) {
    let base = match &config.public_url {
        Some(_) => config.base_url(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    };
    let plain = match base.strip_prefix("https://") {
        Some(rest) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            let host = match authority.rsplit_once(':') {
                Some((h, port))
                    if !h.is_empty()
                        && (h.starts_with('[') || !h.contains(':'))
                        && port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    h
                }
                _ => authority,
            };
            match config.listen.port() {
                80 => format!("http://{host}"),
                port => format!("http://{host}:{port}"),
            }
        }
        None => base.clone(),
    };
    (plain, base)
}

/// `POST /api/v1/servers/{id}/hooks`: creates the server's hook secret, or replaces it (the
/// old URLs stop working at once). The secret is in the answer only.
pub async fn rotate_hooks(
    req: HttpRequest,
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    let s = owned_server(&state, &p, &id)?;
    let secret = new_token("ths_");
    let record = HookSecret {
        hash: token_hash(&secret),
        created_at: crate::now(),
    };
    let rotated = state.meta.hook_secret(s.id)?.is_some();
    state.meta.set_hook_secret(s.id, &record)?;
    state.meta.flush()?;
    tracing::info!(event = "hook_secret_set", server = %s.id, rotated, "hook secret set");
    p.record(
        &state,
        Action::TokenCreated,
        format!("hook secret of server {} ({})", s.id, s.name),
    );
    let (plain, base) = hook_bases(&state.config, &req);
    Ok(HttpResponse::Created().json(json!({
        "server_id": s.id.to_string(),
        "secret": secret,
        "created_at": record.created_at,
        "urls": {
            "nginx_rtmp": format!("{plain}/hooks/v1/{secret}/nginx-rtmp"),
            "srs": format!("{base}/hooks/v1/{secret}/srs"),
        },
    })))
}

/// `DELETE /api/v1/servers/{id}/hooks`: turns the server's hook URLs off (404 from then on).
pub async fn disable_hooks(
    state: State,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    let s = owned_server(&state, &p, &id)?;
    if state.meta.remove_hook_secret(s.id)? {
        state.meta.flush()?;
        state.hooks.forget_server(s.id);
        tracing::info!(event = "hook_secret_removed", server = %s.id, "hook secret removed");
        p.record(
            &state,
            Action::TokenRevoked,
            format!("hook secret of server {} ({})", s.id, s.name),
        );
    }
    Ok(HttpResponse::NoContent().finish())
}
