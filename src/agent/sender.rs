//! Delivers spooled reports to the panel, oldest first, one at a time, so a back-fill after an
//! outage arrives in order.
//!
//! Per report: `POST` the stored gzip body with `Content-Encoding: gzip` and the bearer token.
//! - 2xx (including `"duplicate": true`, a report the panel already counted) → deleted.
//! - 408, 429, 5xx, network errors → retried with exponential backoff capped at 10 s
//!   (`Retry-After` is honoured up to the same cap), so the spool drains within seconds of the
//!   panel's return.
//! - 401, 403, 404 → the agent's settings are wrong (token, panel URL), not the report: it stays
//!   in the spool and is retried at the capped interval while the error is logged, so fixing the
//!   settings and restarting loses nothing.
//! - any other 4xx → the report itself is refused: moved to `spool/rejected/` with the error,
//!   never retried.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::agent::spool::{Spool, SpoolEntry};

/// First retry delay.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest wait between two attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged; `duplicate` when the panel had already counted it.
    Delivered { duplicate: bool },
    /// Refused for good (the report is wrong); the reason is kept beside it.
    Rejected(String),
    /// The agent's settings are wrong; keep the report and retry slowly.
    Misconfigured(String),
    /// Temporary failure; retry after the backoff (or the server's `Retry-After`).
    Retry {
        reason: String,
        after: Option<Duration>,
    },
}

/// Sends spooled reports to one panel.
#[derive(Clone)]
pub struct Sender {
    url: String,
    token: String,
    spool: Arc<Spool>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A running sender thread.
#[derive(Debug)]
pub struct SenderHandle {
    wake: Arc<(Mutex<bool>, Condvar)>,
    _thread: JoinHandle<()>,
}

impl SenderHandle {
    /// Tells the thread a new report is waiting.
    pub fn wake(&self) {
        let (lock, cvar) = &*self.wake;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_one();
    }
}

impl Sender {
    /// A sender posting to the ingest `url` with the server's ingest `token`.
    pub fn new(url: &str, token: &str, spool: Arc<Spool>) -> Result<Sender, std::io::Error> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .timeout_connect(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .user_agent(concat!("tally-agent/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Sender {
            url: url.to_string(),
            token: token.to_string(),
            spool,
            agent: config.into(),
        })
    }

    /// Makes one delivery attempt of a gzip body.
    pub fn send_body(&self, body: &[u8]) -> Outcome {
        let result = self
            .agent
            .post(&self.url)
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .send(body);
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    reason: format!("cannot reach {}: {e}", self.url),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        classify(status, &text, retry_after)
    }

    /// Tries to deliver the oldest spooled report once; `None` when the spool is empty.
    pub fn attempt_oldest(&self) -> Option<(SpoolEntry, Outcome)> {
        let entry = self.spool.oldest()?;
        let body = match self.spool.read(&entry) {
            Ok(b) => b,
            // Dropped by the bound or delivered meanwhile: try the next one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Some((
                    entry,
                    Outcome::Retry {
                        reason: "file vanished".into(),
                        after: Some(Duration::ZERO),
                    },
                ));
            }
            Err(e) => {
                return Some((
                    entry,
                    Outcome::Retry {
                        reason: format!("cannot read spool file: {e}"),
                        after: None,
                    },
                ));
            }
        };
        let outcome = self.send_body(&body);
        match &outcome {
            Outcome::Delivered { duplicate } => {
                tracing::debug!(file = %entry.name, duplicate, "report acknowledged");
                if let Err(e) = self.spool.remove(&entry) {
                    tracing::error!(file = %entry.name, error = %e, "cannot delete an acknowledged report; it will be re-sent and deduplicated");
                }
            }
            Outcome::Rejected(reason) => {
                tracing::error!(file = %entry.name, reason = %reason, "the panel refused the report; moved to spool/rejected");
                if let Err(e) = self.spool.reject(&entry, reason) {
                    tracing::error!(file = %entry.name, error = %e, "cannot move the refused report aside");
                }
            }
            Outcome::Misconfigured(_) | Outcome::Retry { .. } => {}
        }
        Some((entry, outcome))
    }

    /// Drains the spool in the calling thread for at most `budget`; returns how many reports
    /// are still spooled.
    pub fn drain_for(&self, budget: Duration) -> usize {
        let deadline = Instant::now() + budget;
        let mut backoff = Backoff::default();
        while Instant::now() < deadline {
            let Some((_, outcome)) = self.attempt_oldest() else {
                break;
            };
            if let Some(wait) = backoff.after(&outcome) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(wait.min(left));
            }
        }
        self.spool.len()
    }

    /// Runs the sender in its own thread until the process ends.
    pub fn spawn(self) -> std::io::Result<SenderHandle> {
        let wake = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&wake);
        let thread = std::thread::Builder::new()
            .name("tally-sender".into())
            .spawn(move || {
                let mut backoff = Backoff::default();
                loop {
                    match self.attempt_oldest() {
                        None => {
                            let (lock, cvar) = &*signal;
                            let mut woken = lock.lock().unwrap_or_else(|p| p.into_inner());
                            if !*woken {
                                woken = cvar
                                    .wait_timeout(woken, Duration::from_secs(60))
                                    .map(|(g, _)| g)
                                    .unwrap_or_else(|p| p.into_inner().0);
                            }
                            *woken = false;
                        }
                        Some((_, outcome)) => {
                            if let Some(wait) = backoff.after(&outcome) {
                                std::thread::sleep(wait);
                            }
                        }
                    }
                }
            })?;
        Ok(SenderHandle {
            wake,
            _thread: thread,
        })
    }
}

/// Maps a panel answer to an [`Outcome`].
pub fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> Outcome {
    let detail = || {
        let short: String = body.chars().take(500).collect();
        format!("HTTP {status}: {}", short.trim())
    };
    match status {
        200..=299 => {
            let duplicate = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("duplicate").and_then(|d| d.as_bool()))
                .unwrap_or(false);
            Outcome::Delivered { duplicate }
        }
        408 | 429 => Outcome::Retry {
            reason: detail(),
            after: retry_after,
        },
        401 | 403 => Outcome::Misconfigured(format!(
            "{}; the panel does not accept the ingest token: check --token / TALLY_TOKEN",
            detail()
        )),
        404 => Outcome::Misconfigured(format!(
            "{}; no ingest endpoint at this address: check --panel / TALLY_PANEL",
            detail()
        )),
        400..=499 => Outcome::Rejected(detail()),
        _ => Outcome::Retry {
            reason: detail(),
            after: retry_after,
        },
    }
}

/// Exponential backoff between failed attempts, capped at [`BACKOFF_CAP`].
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
    failures: u64,
}

impl Backoff {
    /// The wait before the next attempt after `outcome` (`None`: go on at once).
    fn after(&mut self, outcome: &Outcome) -> Option<Duration> {
        match outcome {
            Outcome::Delivered { .. } | Outcome::Rejected(_) => {
                if self.failures > 0 {
                    tracing::info!(
                        failures = self.failures,
                        "panel reachable again; sending the spool"
                    );
                }
                self.next = None;
                self.failures = 0;
                None
            }
            Outcome::Retry { after: Some(d), .. } if d.is_zero() => None,
            Outcome::Retry { reason, after } => {
                self.failures += 1;
                let wait = self.step();
                let wait = after.map(|a| a.min(BACKOFF_CAP)).unwrap_or(wait);
                if self.failures == 1 || self.failures.is_multiple_of(30) {
                    tracing::warn!(reason = %reason, retry_in_ms = wait.as_millis() as u64, failures = self.failures, "report not delivered; will retry");
                }
                Some(wait)
            }
            Outcome::Misconfigured(reason) => {
                self.failures += 1;
                if self.failures == 1 || self.failures.is_multiple_of(30) {
                    tracing::error!(reason = %reason, "reports are kept in the spool until this is fixed");
                }
                Some(BACKOFF_CAP)
            }
        }
    }

    fn step(&mut self) -> Duration {
        let current = self.next.unwrap_or(BACKOFF_START);
        self.next = Some((current * 2).min(BACKOFF_CAP));
        current
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::agent::testutil::{Reply, TestServer};
    use crate::model::report::{Report, ReportTime};

    fn report(id: &str, time: i64) -> Report {
        Report {
            report_id: id.into(),
            time: ReportTime(time),
            interval_s: Some(30),
            server: None,
            host: None,
            streams: vec![],
        }
    }

    fn spool_with(dir: &std::path::Path, n: usize) -> Arc<Spool> {
        let spool = Arc::new(Spool::open(dir, 1 << 20).unwrap());
        for i in 0..n {
            spool
                .push(
                    &report(
                        &format!("edge-{}-{i}", 1_800_000_000 + i as i64 * 30),
                        1_800_000_000 + i as i64 * 30,
                    ),
                    i as u64,
                )
                .unwrap();
        }
        spool
    }

    #[test]
    fn classification() {
        assert_eq!(
            classify(200, r#"{"duplicate":true}"#, None),
            Outcome::Delivered { duplicate: true }
        );
        assert_eq!(
            classify(200, "", None),
            Outcome::Delivered { duplicate: false }
        );
        assert!(matches!(classify(400, "bad", None), Outcome::Rejected(_)));
        assert!(matches!(classify(413, "", None), Outcome::Rejected(_)));
        assert!(matches!(
            classify(429, "", Some(Duration::from_secs(3))),
            Outcome::Retry { after: Some(_), .. }
        ));
        assert!(matches!(classify(408, "", None), Outcome::Retry { .. }));
        assert!(matches!(classify(503, "", None), Outcome::Retry { .. }));
        assert!(matches!(classify(401, "", None), Outcome::Misconfigured(_)));
    }

    #[test]
    fn backoff_doubles_and_caps_at_ten_seconds() {
        let mut b = Backoff::default();
        let retry = Outcome::Retry {
            reason: "x".into(),
            after: None,
        };
        let waits: Vec<Duration> = (0..8).filter_map(|_| b.after(&retry)).collect();
        assert_eq!(waits[0], BACKOFF_START);
        assert_eq!(waits[1], BACKOFF_START * 2);
        assert_eq!(*waits.last().unwrap(), BACKOFF_CAP);
        assert_eq!(
            b.after(&Outcome::Retry {
                reason: "x".into(),
                after: Some(Duration::from_secs(99))
            }),
            Some(BACKOFF_CAP)
        );
        assert_eq!(b.after(&Outcome::Delivered { duplicate: false }), None);
        assert_eq!(b.after(&retry), Some(BACKOFF_START));
    }

    #[test]
    fn fails_n_times_then_drains_in_order_with_gzip_and_token() {
        let server = TestServer::start(vec![
            Reply::status(503),
            Reply::status(500),
            Reply::close(),
            Reply::json(200, r#"{"accepted":1}"#),
            Reply::json(200, r#"{"accepted":1,"duplicate":true}"#),
            Reply::json(200, r#"{"accepted":1}"#),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), 3);
        let sender = Sender::new(
            &server.url("/api/v1/ingest"),
            "secret-token",
            Arc::clone(&spool),
        )
        .unwrap();
        let started = Instant::now();
        let left = sender.drain_for(Duration::from_secs(20));
        assert_eq!(left, 0);
        assert!(started.elapsed() < Duration::from_secs(5));
        let requests = server.requests();
        assert_eq!(requests.len(), 6);
        for r in &requests {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", "/api/v1/ingest")
            );
            assert_eq!(
                r.header("authorization").as_deref(),
                Some("Bearer secret-token")
            );
            assert_eq!(r.header("content-encoding").as_deref(), Some("gzip"));
        }
        let ids: Vec<String> = requests
            .iter()
            .map(|r| r.gunzip_json()["report_id"].as_str().unwrap().to_string())
            .collect();
        // Retries resend the same report with the same id; then the rest in time order.
        assert_eq!(ids[..4], vec!["edge-1800000000-0"; 4]);
        assert_eq!(ids[4], "edge-1800000030-1");
        assert_eq!(ids[5], "edge-1800000060-2");
    }

    #[test]
    fn a_refused_report_moves_aside_and_the_rest_goes_on() {
        let server = TestServer::start(vec![
            Reply::json(
                400,
                r#"{"error":{"code":"invalid","message":"bad","field":"streams[0].app"}}"#,
            ),
            Reply::json(200, "{}"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), 2);
        let sender = Sender::new(&server.url("/api/v1/ingest"), "t", Arc::clone(&spool)).unwrap();
        assert_eq!(sender.drain_for(Duration::from_secs(10)), 0);
        let rejected: Vec<_> = std::fs::read_dir(dir.path().join("rejected"))
            .unwrap()
            .collect();
        assert_eq!(rejected.len(), 2, "the report and its .error.txt");
        assert_eq!(server.requests().len(), 2);
    }

    #[test]
    fn a_wrong_token_keeps_the_reports() {
        let server = TestServer::start(vec![Reply::status(401)]);
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), 2);
        let sender =
            Sender::new(&server.url("/api/v1/ingest"), "wrong", Arc::clone(&spool)).unwrap();
        assert_eq!(sender.drain_for(Duration::from_millis(300)), 2);
    }

    #[test]
    fn the_sender_thread_drains_after_an_outage() {
        let server = TestServer::start(vec![
            Reply::close(),
            Reply::status(502),
            Reply::json(200, "{}"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), 2);
        let handle = Sender::new(&server.url("/api/v1/ingest"), "t", Arc::clone(&spool))
            .unwrap()
            .spawn()
            .unwrap();
        handle.wake();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !spool.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(spool.is_empty());
    }
}
