//! Scheduled jobs (tokio-cron-scheduler, six-field cron expressions in UTC): salt destruction,
//! GeoIP reload, report-id and login-session expiry, retention (`--retention-cron`), which
//! also expires the activity log, and alert evaluation.
//!
//! Only cron-expression jobs are used: repeated jobs can stop firing under load in the current
//! tokio-cron-scheduler release (mvniekerk/tokio-cron-scheduler#113).

use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::http::State;
use crate::ingest::salt::Salts;

/// How long report ids are remembered for de-duplication.
pub const DEDUPE_DAYS: i64 = 14;

/// Alert evaluation cadence: every 10 s, or every `TALLY_ALERT_EVAL_S` seconds (1 to 10; tests
/// use 1). Kept to a seconds field so it stays a cron job (see the module header).
fn alert_cron() -> String {
    let secs = std::env::var("TALLY_ALERT_EVAL_S")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|s| (1..=10).contains(s) && 60 % s == 0)
        .unwrap_or(10);
    if secs == 1 {
        "* * * * * *".into()
    } else {
        format!("*/{secs} * * * * *")
    }
}

/// Starts the scheduler with the instance's jobs.
pub async fn start(state: State, salts: Arc<Salts>) -> anyhow::Result<Option<JobScheduler>> {
    let sched = JobScheduler::new().await?;
    let st = state.clone();
    sched
        .add(Job::new_async("0 * * * * *", move |_id, _l| {
            let salts = salts.clone();
            let st = st.clone();
            Box::pin(async move {
                let _ = tokio::task::spawn_blocking(move || {
                    match salts.destroy_closed(crate::now()) {
                        Ok(n) if n > 0 => tracing::info!(salts = n, "destroyed the salts of closed days"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "could not destroy old salts"),
                    }
                    if let Err(e) = st.geo.reload_if_changed() {
                        tracing::error!(error = %e, "GeoIP reload failed; keeping the previous database");
                    }
                })
                .await;
            })
        })?)
        .await?;
    let st = state.clone();
    sched
        .add(Job::new_async("0 41 * * * *", move |_id, _l| {
            let st = st.clone();
            Box::pin(async move {
                let _ = tokio::task::spawn_blocking(move || {
                    let now = crate::now();
                    if let Err(e) = st.meta.forget_reports_before(now - DEDUPE_DAYS * 86_400) {
                        tracing::error!(error = %e, "could not expire report ids");
                    }
                    if let Err(e) = st.meta.purge_login_sessions(now) {
                        tracing::error!(error = %e, "could not expire login sessions");
                    }
                })
                .await;
            })
        })?)
        .await?;
    let st = state.clone();
    let expr = state.config.retention_cron.clone();
    let job = Job::new_async(expr.as_str(), move |_id, _l| {
        let st = st.clone();
        Box::pin(async move {
            let lc = st.lifecycle.clone();
            let _ = tokio::task::spawn_blocking(move || run_retention(&lc)).await;
        })
    })
    .map_err(|e| {
        anyhow::anyhow!("--retention-cron `{expr}` is not a valid six-field cron expression: {e}")
    })?;
    sched.add(job).await?;
    let st = state.clone();
    sched
        .add(Job::new_async(alert_cron().as_str(), move |_id, _l| {
            let st = st.clone();
            Box::pin(async move {
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = crate::alerts::run_once(&st.meta, &st.writer.live, crate::now())
                    {
                        tracing::error!(error = %e, "alert evaluation failed");
                    }
                })
                .await;
            })
        })?)
        .await?;
    sched.start().await?;
    Ok(Some(sched))
}

/// One scheduled retention run; skipped when another lifecycle task holds the lock.
fn run_retention(lc: &crate::lifecycle::Lifecycle) {
    match crate::lifecycle::retention::try_run(lc, crate::now(), false) {
        None => {
            tracing::info!("retention skipped: an erasure, backup or manual run is in progress")
        }
        Some(r) => {
            for e in &r.errors {
                tracing::error!(error = %e, "retention could not delete something; it will retry next run");
            }
            if r.partitions_dropped + r.partitions_compacted + r.records + r.salts_destroyed > 0 {
                tracing::info!(
                    partitions_dropped = r.partitions_dropped,
                    partitions_compacted = r.partitions_compacted,
                    records = r.records,
                    bytes = r.bytes,
                    salts = r.salts_destroyed,
                    "retention deleted expired data"
                );
            }
        }
    }
}
