//! Alerts: rules per account (server offline, stream down/up, host and audience thresholds),
//! their evaluation against the live state on the scheduler, and notifications to webhook,
//! Slack, Discord and e-mail channels with a delivery history.
//!
//! This module must not touch sled (records go through `store::meta`). Evaluation does not
//! read the clock (the job passes `now` in); only delivery attempts are stamped as they happen.

pub mod channels;
pub mod eval;
pub mod rules;

use crate::ingest::writer::Live;
use crate::store::{MetaStore, StoreError};

/// Serialises evaluations: a slow run is never overlapped by the next tick.
static RUNNING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// One evaluation pass: evaluates every rule and dispatches the grouped notifications.
/// Returns how many notifications were dispatched (0 also when a pass is still running).
pub fn run_once(meta: &MetaStore, live: &Live, now: i64) -> Result<usize, StoreError> {
    let Some(_guard) = RUNNING.try_lock() else {
        return Ok(0);
    };
    // A copy keeps the writer's lock short; the live state is small per server.
    let snapshot = live.read().clone();
    let outgoing = eval::evaluate(meta, &snapshot, now)?;
    let n = outgoing.len();
    for o in outgoing {
        tracing::info!(
            event = "alert_notification",
            account = %o.account,
            alerts = o.notices.len(),
            channel = o.channel.kind.as_str(),
            "sending an alert notification"
        );
        let event = rules::Event {
            account: o.account,
            time: now,
            channel: o.channel.kind,
            test: false,
            alerts: o.notices,
            deliveries: Vec::new(),
        };
        channels::dispatch(meta.clone(), o.channel, event);
    }
    Ok(n)
}
