//! HTTP: the app factory, shared state, security headers, and the server runner.
//!
//! Handlers extract → parse into domain types → call store/ingest/query → map to a response.
//! They never touch sled directly.

pub mod api;
pub mod auth;
pub mod body;
pub mod hooks;
pub mod ingest;
pub mod setup;
pub mod spa;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::auth::LoginThrottle;
use crate::config::Config;
use crate::geoip::GeoIp;
use crate::ingest::dict::DimDict;
use crate::ingest::enrich::Enricher;
use crate::ingest::writer::Writer;
use crate::store::{MetaStore, Partitions};

/// Everything handlers share.
pub struct AppState {
    pub config: Config,
    pub meta: MetaStore,
    pub parts: Arc<Partitions>,
    pub dict: Arc<DimDict>,
    pub geo: Arc<GeoIp>,
    pub enricher: Arc<Enricher>,
    pub writer: Writer,
    pub throttle: LoginThrottle,
    pub started: Instant,
    pub metrics: api::system::HttpMetrics,
    /// Retention, erasure, exports and backups.
    pub lifecycle: Arc<crate::lifecycle::Lifecycle>,
    /// State of the hook receivers (servers that push notifications).
    pub hooks: Arc<crate::ingest::hooks::Hooks>,
}

/// Shared state as handlers receive it.
pub type State = web::Data<AppState>;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(body::config())
        .app_data(body::form_config())
        .app_data(web::PathConfig::default().error_handler(|err, _| {
            crate::error::ApiError::bad("invalid_path", err.to_string()).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            crate::error::ApiError::bad("invalid_query", err.to_string()).into()
        }))
        .route("/healthz", web::get().to(api::system::healthz))
        .route("/metrics", web::get().to(metrics_with_tls))
        .route("/branding.css", web::get().to(api::system::branding_css))
        .route("/setup", web::get().to(setup::form))
        .route("/setup", web::post().to(setup::submit))
        .service(
            web::scope("/hooks/v1/{secret}")
                .route("/nginx-rtmp", web::post().to(hooks::nginx_rtmp))
                .route("/srs", web::post().to(hooks::srs))
                .default_service(web::to(hooks::not_found)),
        )
        .service(web::scope("/hooks").default_service(web::to(hooks::not_found)))
        .route(
            "/branding/{owner}/{kind}",
            web::get().to(api::branding::serve_asset),
        )
        .service(
            web::scope("/api/v1")
                .route("/ingest", web::post().to(ingest::ingest))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/setup", web::post().to(auth::setup))
                .route("/me", web::get().to(auth::me))
                .route("/about", web::get().to(api::system::about))
                .route("/tls", web::get().to(tls_status))
                .route("/branding", web::get().to(api::system::branding))
                .route("/branding", web::put().to(api::branding::update))
                .route("/branding/settings", web::get().to(api::branding::settings))
                .route("/branding/{kind}", web::put().to(api::branding::upload))
                .route("/branding/{kind}", web::delete().to(api::branding::remove))
                .route(
                    "/me/password",
                    web::put().to(api::sessions::change_password),
                )
                .route("/me/sessions", web::get().to(api::sessions::list))
                .route("/me/sessions/{id}", web::delete().to(api::sessions::revoke))
                .route("/me/totp", web::post().to(api::sessions::totp_setup))
                .route("/me/totp", web::delete().to(api::sessions::totp_disable))
                .route(
                    "/me/totp/confirm",
                    web::post().to(api::sessions::totp_confirm),
                )
                .route("/accounts", web::get().to(api::accounts::list))
                .route("/accounts", web::post().to(api::accounts::create))
                .route("/accounts/{id}", web::get().to(api::accounts::get))
                .route("/accounts/{id}", web::patch().to(api::accounts::update))
                .route("/accounts/{id}/users", web::get().to(api::users::list))
                .route("/accounts/{id}/users", web::post().to(api::users::add))
                .route(
                    "/accounts/{id}/users/{uid}",
                    web::put().to(api::users::update),
                )
                .route(
                    "/accounts/{id}/users/{uid}",
                    web::patch().to(api::users::update),
                )
                .route(
                    "/accounts/{id}/users/{uid}",
                    web::delete().to(api::users::remove),
                )
                .route(
                    "/accounts/{id}/users/{uid}/password",
                    web::put().to(api::users::reset_password),
                )
                .route(
                    "/accounts/{id}/users/{uid}/totp",
                    web::delete().to(api::users::reset_totp),
                )
                .route("/invitations", web::get().to(api::users::list_invitations))
                .route("/invitations", web::post().to(api::users::invite))
                .route(
                    "/invitations/{token}",
                    web::get().to(api::users::show_invitation),
                )
                .route(
                    "/invitations/{id}",
                    web::delete().to(api::users::revoke_invitation),
                )
                .route(
                    "/invitations/{token}/accept",
                    web::post().to(api::users::accept),
                )
                .route("/tokens", web::get().to(api::tokens::list))
                .route("/tokens", web::post().to(api::tokens::create))
                .route("/tokens/{id}", web::delete().to(api::tokens::revoke))
                .route("/slices", web::get().to(api::slices::list))
                .route("/slices", web::post().to(api::slices::create))
                .route("/slices/{id}", web::get().to(api::slices::get))
                .route("/slices/{id}", web::patch().to(api::slices::update))
                .route("/slices/{id}", web::put().to(api::slices::update))
                .route("/slices/{id}", web::delete().to(api::slices::delete))
                .route("/activity", web::get().to(api::activity::list))
                .route("/alerts", web::get().to(api::alerts::list))
                .route("/alerts", web::post().to(api::alerts::create))
                .route("/alerts/events", web::get().to(api::alerts::events))
                .route("/alerts/{id}", web::get().to(api::alerts::get))
                .route("/alerts/{id}", web::patch().to(api::alerts::update))
                .route("/alerts/{id}", web::delete().to(api::alerts::delete))
                .route("/alerts/{id}/test", web::post().to(api::alerts::test))
                .route("/openapi.json", web::get().to(api::system::openapi))
                .route("/servers", web::get().to(api::servers::list))
                .route("/servers", web::post().to(api::servers::create))
                .route("/servers/{id}", web::get().to(api::servers::get))
                .route("/servers/{id}", web::delete().to(api::servers::delete))
                .route(
                    "/servers/{id}/hooks",
                    web::post().to(api::servers::rotate_hooks),
                )
                .route(
                    "/servers/{id}/hooks",
                    web::delete().to(api::servers::disable_hooks),
                )
                .route("/live", web::get().to(api::stats::live))
                .route("/streams", web::get().to(api::stats::streams))
                .route("/stats/summary", web::get().to(api::stats::summary))
                .route("/stats/timeseries", web::get().to(api::stats::timeseries))
                .route("/stats/breakdown", web::get().to(api::stats::breakdown))
                .route("/stats/daily", web::get().to(api::stats::daily))
                .route("/stats/billing", web::get().to(api::stats::billing))
                // Data lifecycle (retention, data-subject rights, privacy notice, backups).
                .route("/settings/retention", web::get().to(api::retention::get))
                .route("/settings/retention", web::put().to(api::retention::put))
                .route(
                    "/settings/retention/preview",
                    web::post().to(api::retention::preview),
                )
                .route("/admin/retention/run", web::post().to(api::retention::run))
                .route("/admin/backup", web::get().to(api::backup::backup))
                .route("/account/export", web::get().to(api::export::account))
                .route("/me/export", web::get().to(api::export::me))
                .route("/me", web::patch().to(api::privacy::update_me))
                .route("/me", web::delete().to(api::privacy::delete_me))
                .route(
                    "/accounts/{id}",
                    web::delete().to(api::privacy::delete_account),
                )
                .route(
                    "/privacy-notice",
                    web::get().to(api::privacy::privacy_notice),
                )
                .default_service(web::to(api_not_found)),
        )
        .default_service(web::to(spa_fallback));
}

async fn api_not_found(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"error": {
        "code": "not_found",
        "message": format!("no API endpoint {} {}; see /api/v1/openapi.json", req.method(), req.path()),
        "field": null
    }}))
}

async fn spa_fallback(req: HttpRequest, state: State) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::MethodNotAllowed().finish();
    }
    let head = api::system::branding_head(&state, &req);
    spa::serve(&req, head).await
}

/// Builds the security headers every response carries.
fn security_headers(tls: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, spa::CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if tls {
        h = h.add((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    h
}

/// Threads each HTTP worker may run blocking work on (report decoding and enrichment, password
/// hashing, queries). That work is CPU-bound: more threads than a few per core add no
/// throughput, only contention and memory (each thread keeps its own allocator cache). With
/// actix's default (512 shared by the workers) a sustained ingest load kept 20 such threads
/// busy on two cores; with four per worker throughput held (`docs/performance.md`).
const BLOCKING_THREADS_PER_WORKER: usize = 4;

/// The server settings the plain and the TLS listeners share (their app factories differ in
/// type, so this is a macro rather than a function).
macro_rules! tuned {
    ($server:expr, $workers:expr) => {
        $server
            .workers($workers)
            .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
            // Without it a response written in several pieces (compressed JSON) waits for the
            // client's delayed ACK: 40 ms on every such request over a kept-alive connection.
            .tcp_nodelay(true)
            .client_request_timeout(Duration::from_secs(10))
            .client_disconnect_timeout(Duration::from_secs(2))
            .shutdown_timeout(10)
            .disable_signals()
    };
}

/// Starts the HTTP server on an already-bound listener (tests bind port 0).
pub fn serve_plain(listener: TcpListener, state: State, workers: usize) -> std::io::Result<Server> {
    let tls = false;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(body::guard))
            .wrap(security_headers(tls))
            .wrap(Compress::default())
            .configure(configure)
    });
    Ok(tuned!(server, workers).listen(listener)?.run())
}

/// Starts HTTPS on `https` and, on `plain`, a listener that answers ACME HTTP-01 challenges and
/// sends everything else to HTTPS with a 308 (which keeps the method and body, so agents
/// posting to the old URL still work). Both listeners share one app and one shutdown.
pub fn serve_tls(
    https: TcpListener,
    plain: TcpListener,
    state: State,
    tls: crate::tls::Tls,
    workers: usize,
) -> std::io::Result<Server> {
    let https_port = HttpsPort(https.local_addr()?.port());
    let server_config = tls.server_config();
    let tls = web::Data::new(tls);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(tls.clone())
            .app_data(web::Data::new(https_port))
            .wrap(actix_web::middleware::from_fn(body::guard))
            .wrap(security_headers(false))
            .wrap(Compress::default())
            .wrap(actix_web::middleware::from_fn(tls_gate))
            .configure(configure)
    });
    Ok(tuned!(server, workers)
        .tls_handshake_timeout(Duration::from_secs(10))
        .listen_rustls_0_23(https, server_config)?
        .listen(plain)?
        .run())
}

/// Port of the HTTPS listener, for redirects.
#[derive(Debug, Clone, Copy)]
struct HttpsPort(u16);

/// HTTPS requests pass (and get HSTS); plain ones get an HTTP-01 answer or a redirect.
async fn tls_gate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    // nginx-rtmp notifications cannot be sent over TLS (its notify client speaks plain HTTP
    // only) and treat a redirect as "play something else", so hook URLs answer on plain HTTP.
    if req.path().starts_with("/hooks/") && !req.app_config().secure() {
        let res = next.call(req).await?;
        return Ok(res.map_into_left_body());
    }
    if req.app_config().secure() {
        let mut res = next.call(req).await?;
        res.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
        return Ok(res.map_into_left_body());
    }
    let response = plain_http_response(req.request());
    Ok(req.into_response(response).map_into_right_body())
}

fn plain_http_response(req: &HttpRequest) -> HttpResponse {
    const CHALLENGE: &str = "/.well-known/acme-challenge/";
    if let Some(token) = req.path().strip_prefix(CHALLENGE) {
        let key_auth = req
            .app_data::<web::Data<crate::tls::Tls>>()
            .and_then(|tls| tls.http01_key_auth(token));
        return match key_auth {
            Some(key_auth) => HttpResponse::Ok()
                .content_type("application/octet-stream")
                .body(key_auth),
            None => HttpResponse::NotFound().finish(),
        };
    }
    // The Host header names the site the client asked for (panel or customer domain); only
    // hostname characters are accepted so the redirect cannot be bent into something else.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| match h.rsplit_once(':') {
            // `name:port` or `[v6]:port`, but not a bare `[v6]`
            Some((name, port))
                if port.bytes().all(|b| b.is_ascii_digit())
                    && (name.starts_with('[') || !name.contains(':')) =>
            {
                name
            }
            _ => h,
        })
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
                })
        });
    let Some(host) = host else {
        return HttpResponse::BadRequest().body("this address serves HTTPS; send a Host header\n");
    };
    let port = match req.app_data::<web::Data<HttpsPort>>().map(|p| p.0) {
        Some(443) | None => String::new(),
        Some(p) => format!(":{p}"),
    };
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("https://{host}{port}{path}")))
        .finish()
}

/// `GET /api/v1/tls` (operator): certificates, expiry and the last ACME error.
async fn tls_status(
    tls: Option<web::Data<crate::tls::Tls>>,
    p: auth::Principal,
) -> Result<HttpResponse, crate::error::ApiError> {
    p.require_operator()?;
    let status = match tls {
        Some(tls) => tls.status(crate::now()),
        None => crate::tls::TlsStatus::off(),
    };
    Ok(HttpResponse::Ok().json(status))
}

/// `GET /metrics`, with the certificate expiry appended when TLS is on.
async fn metrics_with_tls(
    state: State,
    tls: Option<web::Data<crate::tls::Tls>>,
    p: auth::Principal,
) -> Result<HttpResponse, crate::error::ApiError> {
    let resp = api::system::metrics(state, p).await?;
    let Some(tls) = tls else { return Ok(resp) };
    let (head, body) = resp.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| crate::error::ApiError::internal(anyhow::anyhow!("metrics body: {e}")))?;
    let mut text = String::from_utf8_lossy(&body).into_owned();
    tls.write_metrics(&mut text, crate::now());
    Ok(head.set_body(text).map_into_boxed_body())
}
