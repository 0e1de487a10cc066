//! Instance endpoints: health, Prometheus metrics, about (version, GeoIP attribution), branding,
//! and the OpenAPI document.

use std::sync::atomic::Ordering;

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::Principal;
use crate::http::spa::BrandingHead;

/// Request counters (reserved for per-route metrics).
#[derive(Default)]
pub struct HttpMetrics {}

/// `GET /healthz`
pub async fn healthz(state: State) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs(),
    }))
}

/// `GET /metrics` (Prometheus text format; operator or admin token).
pub async fn metrics(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    if !p.user.operator {
        return Err(ApiError::forbidden("metrics are for the instance operator"));
    }
    let s = &state.writer.stats;
    let commits = s.commits.load(Ordering::Relaxed).max(1);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "tally_ingest_reports_total",
        "counter",
        "Reports accepted.",
        s.reports.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_ingest_viewer_records_total",
        "counter",
        "Viewer records accepted.",
        s.viewers.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_ingest_duplicates_total",
        "counter",
        "Duplicate reports acknowledged without counting.",
        s.duplicates.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_ingest_rejected_busy_total",
        "counter",
        "Reports refused with 429 because the writer was saturated.",
        s.rejected_busy.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_ingest_write_errors_total",
        "counter",
        "Journal or checkpoint write failures.",
        s.write_errors.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_ingest_queue_viewers",
        "gauge",
        "Viewer records waiting for the writer.",
        s.queued_viewers.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_ingest_commit_seconds_avg",
        "gauge",
        "Average group-commit duration (journal write + sync + apply).",
        s.commit_us_total.load(Ordering::Relaxed) as f64 / commits as f64 / 1e6,
    );
    metric(
        "tally_checkpoints_total",
        "counter",
        "Checkpoints folded into storage.",
        s.checkpoints.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_checkpoint_seconds_last",
        "gauge",
        "Duration of the last checkpoint.",
        s.checkpoint_us_last.load(Ordering::Relaxed) as f64 / 1e6,
    );
    metric(
        "tally_writer_backpressure_waits_total",
        "counter",
        "Times ingest waited for a checkpoint because too much data was pending.",
        s.backpressure_waits.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_sessions_tracked",
        "gauge",
        "Viewer sessions being tracked.",
        s.sessions.load(Ordering::Relaxed) as f64,
    );
    let h = &state.hooks.stats;
    metric(
        "tally_hook_events_total",
        "counter",
        "Media-server hook notifications applied.",
        h.events.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_hook_dropped_total",
        "counter",
        "Hook events allowed but not counted (session cap reached or storage failure).",
        h.dropped.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_hook_reports_total",
        "counter",
        "Snapshots of hook state stored as reports.",
        h.reports.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_hook_report_failures_total",
        "counter",
        "Snapshots of hook state the writer refused (retried).",
        h.report_failures.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_hook_sessions_open",
        "gauge",
        "Viewer sessions opened by hooks and not yet ended.",
        state.hooks.open_sessions() as f64,
    );
    metric(
        "tally_storage_meta_bytes",
        "gauge",
        "Bytes on disk of the meta database.",
        state.meta.size_on_disk() as f64,
    );
    metric(
        "tally_storage_rollup_bytes",
        "gauge",
        "Bytes on disk of all rollup partitions.",
        state.parts.size_on_disk() as f64,
    );
    let mem = crate::memory::stats();
    metric(
        "tally_process_resident_bytes",
        "gauge",
        "Resident memory of the panel process.",
        mem.resident as f64,
    );
    if let Some(v) = mem.allocated {
        metric(
            "tally_memory_allocated_bytes",
            "gauge",
            "Bytes in live heap allocations.",
            v as f64,
        );
    }
    if let Some(v) = mem.allocator_resident {
        metric(
            "tally_memory_allocator_resident_bytes",
            "gauge",
            "Physical memory held by the allocator (live allocations, caches and metadata).",
            v as f64,
        );
    }
    metric(
        "tally_storage_open_partitions",
        "gauge",
        "Rollup partitions open in memory.",
        state.parts.open_count() as f64,
    );
    metric(
        "tally_uptime_seconds",
        "gauge",
        "Seconds since start.",
        state.started.elapsed().as_secs_f64(),
    );
    let l = &state.lifecycle.stats;
    metric(
        "tally_retention_reclaimed_bytes_total",
        "counter",
        "Bytes given back to the file system by retention, erasure and compaction.",
        l.reclaimed_bytes.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_retention_runs_total",
        "counter",
        "Retention runs completed.",
        l.retention_runs.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_retention_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the last retention run (0: none since start).",
        l.retention_last_run_at.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_retention_partitions_dropped_total",
        "counter",
        "Expired partitions deleted whole.",
        l.partitions_dropped.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_retention_partitions_compacted_total",
        "counter",
        "Partitions straddling a retention cutoff, rewritten without their expired records.",
        l.partitions_compacted.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_retention_records_removed_total",
        "counter",
        "Expired records removed.",
        l.records_removed.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_meta_compactions_total",
        "counter",
        "Rewrites of the meta database (after erasures and expiry).",
        l.meta_compactions.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_erasures_total",
        "counter",
        "Users and accounts erased.",
        l.erasures.load(Ordering::Relaxed) as f64,
    );
    metric(
        "tally_backups_total",
        "counter",
        "Backup snapshots taken.",
        l.backups.load(Ordering::Relaxed) as f64,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out))
}

/// `GET /api/v1/about`
pub async fn about(state: State, _p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({
        "product": "Tally",
        "version": env!("CARGO_PKG_VERSION"),
        "geoip": state.geo.about(),
    })))
}

/// Branding for a request: the account whose `domains` contain the request's host, else the
/// instance's (see `api::branding`). A storage failure falls back to the built-in brand so the
/// login page always renders.
pub fn branding_json(state: &State, req: &HttpRequest) -> serde_json::Value {
    match super::branding::resolve_for_request(state, req) {
        Ok(b) => serde_json::to_value(b).unwrap_or_else(|_| json!({})),
        Err(e) => {
            tracing::error!(error = %e, "could not resolve branding; using the built-in brand");
            json!({
                "product_name": super::branding::DEFAULT_PRODUCT,
                "accent_color": super::branding::DEFAULT_ACCENT,
                "logo_url": null,
                "favicon_url": null,
                "support_contact": null,
                "powered_by": true,
            })
        }
    }
}

/// `GET /api/v1/branding` (public)
pub async fn branding(state: State, req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(branding_json(&state, &req))
}

/// `GET /branding.css`: the brand's colours as CSS variables (a file, so the CSP needs no inline styles).
pub async fn branding_css(state: State, req: HttpRequest) -> HttpResponse {
    let b = branding_json(&state, &req);
    let accent = b["accent_color"]
        .as_str()
        .filter(|c| is_css_color(c))
        .unwrap_or(super::branding::DEFAULT_ACCENT);
    let mut css = format!(":root{{--accent:{accent};");
    for (field, var) in [
        ("background_color", "--bg"),
        ("surface_color", "--surface"),
        ("text_color", "--text"),
    ] {
        if let Some(c) = b[field].as_str().filter(|c| is_css_color(c)) {
            css.push_str(&format!("{var}:{c};"));
        }
    }
    css.push_str("}\n");
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(css)
}

/// Only `#rgb`/`#rrggbb` colours reach CSS.
pub fn is_css_color(c: &str) -> bool {
    c.strip_prefix('#')
        .is_some_and(|h| (h.len() == 3 || h.len() == 6) && h.chars().all(|x| x.is_ascii_hexdigit()))
}

/// What the server writes into `index.html` for first paint.
pub fn branding_head(state: &State, req: &HttpRequest) -> BrandingHead {
    let b = branding_json(state, req);
    BrandingHead {
        title: b["product_name"]
            .as_str()
            .unwrap_or(super::branding::DEFAULT_PRODUCT)
            .to_string(),
        favicon_url: b["favicon_url"]
            .as_str()
            .unwrap_or("/favicon.svg")
            .to_string(),
        meta_json: b.to_string(),
    }
}

/// `GET /api/v1/openapi.json`
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("../../../docs/openapi.json"))
}
