//! Hook receivers: `POST /hooks/v1/{secret}/nginx-rtmp` and `POST /hooks/v1/{secret}/srs`.
//!
//! Media servers that push notifications call these in their admission path (a play waits for
//! the answer), so a handler only finds the server by its secret, parses the small body and
//! updates in-memory state ([`crate::ingest::hooks`]); the report reaches the writer later,
//! from the flusher. Each server family gets the exact "allow" answer it expects: nginx-rtmp
//! any 2xx (here 200 with an empty body), SRS HTTP 200 with `{"code":0}`. Anything else
//! refuses the client, so errors are reserved for requests that are wrong: an unknown secret
//! is 404 (the same whether or not it ever existed), a body that is not a notification 400.
//! The viewer IP in the body is resolved and dropped in [`crate::ingest::hooks::Hooks::apply`];
//! it is never logged.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::State;
use crate::auth::token_hash;
use crate::error::ApiError;
use crate::ingest::hook_events::{self, HookError, HookEvent, MAX_BODY};
use crate::ingest::hooks::Target;

/// Header set on the "allow" answer when the event was not processed because the account's
/// processing is restricted.
pub const REFUSED_HEADER: &str = "Tally-Refused";

/// `POST /hooks/v1/{secret}/nginx-rtmp`
pub async fn nginx_rtmp(
    req: HttpRequest,
    secret: web::Path<String>,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    let target = target(&state, &secret)?;
    let mime = mime(&req);
    if !mime.is_empty() && mime != "application/x-www-form-urlencoded" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "nginx-rtmp notifications are application/x-www-form-urlencoded (got `{mime}`); \
             point on_play/on_done/on_publish/on_publish_done here with notify_method post"
        )));
    }
    let event = read_event(payload, hook_events::parse_nginx_rtmp).await?;
    let refused = process(&state, target, event)?;
    Ok(with_refusal(HttpResponse::Ok(), refused).finish())
}

/// `POST /hooks/v1/{secret}/srs`
pub async fn srs(
    secret: web::Path<String>,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    let target = target(&state, &secret)?;
    // SRS versions differ in the content type they declare; the body is JSON in all of them.
    let event = read_event(payload, hook_events::parse_srs).await?;
    let refused = process(&state, target, event)?;
    Ok(with_refusal(HttpResponse::Ok(), refused)
        .content_type("application/json")
        .body(r#"{"code":0}"#))
}

/// Unknown paths under `/hooks/`: the same 404 as an unknown secret.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("hook"))
}

/// The server (and its account) the secret belongs to, with the account's restriction.
fn target(state: &State, secret: &str) -> Result<(Target, bool), ApiError> {
    if secret.is_empty() || secret.len() > 128 {
        return Err(ApiError::NotFound("hook"));
    }
    let server = state
        .meta
        .server_by_hook(&token_hash(secret))?
        .ok_or(ApiError::NotFound("hook"))?;
    let account = state
        .meta
        .account(server.account_id)?
        .ok_or(ApiError::NotFound("hook"))?;
    Ok((
        Target {
            account: account.id,
            server: server.id,
        },
        account.processing_restricted,
    ))
}

fn mime(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads and parses an event (a compressed body never gets here: `body::guard` answers 415).
async fn read_event(
    payload: web::Payload,
    parse: fn(&[u8]) -> Result<HookEvent, HookError>,
) -> Result<HookEvent, ApiError> {
    let body = super::body::read(payload, MAX_BODY).await?;
    parse(&body).map_err(|e| ApiError::BadRequest {
        code: "invalid_hook",
        message: if e.field.is_empty() {
            e.message
        } else {
            format!("`{}` {}", e.field, e.message)
        },
        field: (!e.field.is_empty()).then(|| e.field.to_string()),
    })
}

/// Applies the event unless the account's processing is restricted (then it is dropped unread,
/// and `true` is returned). A restricted account's viewers are still let in: the restriction
/// is about this panel processing their data, not about the customer's service. For the same
/// reason a storage failure while counting (the day's salt cannot be written) is logged and
/// the client still allowed: the panel must not become the reason a stream cannot be watched.
fn process(
    state: &State,
    (target, restricted): (Target, bool),
    event: HookEvent,
) -> Result<bool, ApiError> {
    if restricted {
        return Ok(true);
    }
    if let Err(e) = state.hooks.apply(target, event, crate::now()) {
        state
            .hooks
            .stats
            .dropped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(server = %target.server, error = %e, "hook event not counted");
    }
    Ok(false)
}

fn with_refusal(
    mut resp: actix_web::HttpResponseBuilder,
    refused: bool,
) -> actix_web::HttpResponseBuilder {
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    if refused {
        resp.insert_header((REFUSED_HEADER, "processing_restricted"));
    }
    resp
}
