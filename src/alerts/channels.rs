//! Notification channels: the body of each format (generic webhook, Slack, Discord, e-mail),
//! the HMAC signature, and delivery with retries on a thread of its own so that evaluation never
//! waits for a receiver. Every attempt is appended to the notification's history entry.
//!
//! E-mail goes through the operator's SMTP relay, configured with `--smtp-url`
//! (`smtp://host:port`, `smtp://user:pass@host:587?tls=required` for STARTTLS, `smtps://…` for
//! TLS) and `--smtp-from` (also `TALLY_SMTP_URL`, `TALLY_SMTP_FROM` and the config file). The relay is a processor of what the notices carry.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::rules::{Channel, ChannelType, Delivery, Event, Notice};
use crate::store::MetaStore;

/// Delivery attempts per notification (the first and three retries).
pub const ATTEMPTS: u32 = 4;

/// Seconds before retry `n` (1-based): 1, 2, 4 …
fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << (n - 1).min(6))
}

fn time_text(t: i64) -> String {
    jiff::Timestamp::from_second(t).map_or_else(|_| t.to_string(), |ts| ts.to_string())
}

/// One notice as the generic webhook carries it.
pub fn notice_json(n: &Notice) -> Value {
    json!({
        "alert": n.alert,
        "rule": n.rule.to_string(),
        "kind": n.kind.as_str(),
        "state": n.state.as_str(),
        "scope": {
            "server": n.scope.server,
            "server_name": n.scope.server_name,
            "app": n.scope.app,
            "stream": n.scope.stream,
        },
        "time": time_text(n.time),
        "message": n.message,
    })
}

fn lines(notices: &[Notice]) -> String {
    notices
        .iter()
        .map(|n| {
            let mark = match n.state {
                super::rules::NoticeState::Firing => "FIRING",
                super::rules::NoticeState::Resolved => "RESOLVED",
            };
            format!("[{mark}] {}: {}", n.alert, n.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The request body for a channel.
pub fn body(kind: ChannelType, notices: &[Notice]) -> Vec<u8> {
    let v = match kind {
        ChannelType::Slack => json!({"text": lines(notices)}),
        // Discord refuses content longer than 2000 characters.
        ChannelType::Discord => {
            json!({"content": lines(notices).chars().take(2000).collect::<String>()})
        }
        ChannelType::Webhook | ChannelType::Email => {
            json!({"alerts": notices.iter().map(notice_json).collect::<Vec<_>>()})
        }
    };
    v.to_string().into_bytes()
}

/// Hex HMAC-SHA256 of `body` with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

static SMTP: std::sync::OnceLock<Option<crate::config::SmtpRelay>> = std::sync::OnceLock::new();

/// Sets the operator's SMTP relay (`--smtp-url`, `--smtp-from`); called once at start-up.
pub fn configure_smtp(relay: Option<crate::config::SmtpRelay>) {
    let _ = SMTP.set(relay);
}

/// The operator's SMTP relay: `(url, from)`, when configured.
pub fn smtp_relay() -> Option<(String, String)> {
    SMTP.get()
        .and_then(Option::as_ref)
        .map(|r| (r.url.clone(), r.from.clone()))
}

/// Sends the notices as one e-mail through the relay.
fn send_email(channel: &Channel, notices: &[Notice]) -> Result<(), String> {
    use lettre::Transport;
    let (url, from) = smtp_relay().ok_or("no SMTP relay is configured")?;
    let to = channel
        .to
        .as_deref()
        .ok_or("the channel has no recipient")?;
    let firing = notices
        .iter()
        .filter(|n| n.state == super::rules::NoticeState::Firing)
        .count();
    let subject = match notices {
        [one] => format!("[{}] {}", one.state.as_str(), one.message),
        many => format!(
            "{} alerts ({firing} firing, {} resolved)",
            many.len(),
            many.len() - firing
        ),
    };
    let text = format!(
        "{}\n\n-- \nSent by the alert rules of your monitoring panel.\n",
        notices
            .iter()
            .map(|n| format!(
                "[{}] {}: {}\n  at {}",
                n.state.as_str(),
                n.alert,
                n.message,
                time_text(n.time)
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let message = lettre::Message::builder()
        .from(from.parse().map_err(|e| format!("smtp_from: {e}"))?)
        .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
        .subject(subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| e.to_string())?;
    let mailer = lettre::SmtpTransport::from_url(&url)
        .map_err(|e| format!("smtp_url: {e}"))?
        .timeout(Some(Duration::from_secs(10)))
        .build();
    mailer.send(&message).map(|_| ()).map_err(|e| e.to_string())
}

/// Makes one delivery attempt of `notices`.
pub fn deliver(channel: &Channel, notices: &[Notice], now: i64, attempt: u32) -> Delivery {
    if channel.kind == ChannelType::Email {
        let r = send_email(channel, notices);
        return Delivery {
            time: now,
            attempt,
            ok: r.is_ok(),
            status: None,
            error: r.err(),
        };
    }
    send_once(channel, &body(channel.kind, notices), now, attempt)
}

/// Makes one HTTP delivery attempt with a prepared body.
pub fn send_once(channel: &Channel, body: &[u8], now: i64, attempt: u32) -> Delivery {
    let fail = |status: Option<u16>, error: String| Delivery {
        time: now,
        attempt,
        ok: false,
        status,
        error: Some(error),
    };
    let Some(url) = channel.url.as_deref() else {
        return fail(
            None,
            "this channel type cannot be delivered by this build".into(),
        );
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .max_redirects(0)
        .build()
        .new_agent();
    let mut req = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("Tally/", env!("CARGO_PKG_VERSION")))
        .header("X-Tally-Timestamp", now.to_string());
    if channel.kind == ChannelType::Webhook
        && let Some(secret) = channel.secret.as_deref()
    {
        req = req.header("X-Tally-Signature", sign(secret, body));
    }
    match req.send(body) {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                Delivery {
                    time: now,
                    attempt,
                    ok: true,
                    status: Some(status),
                    error: None,
                }
            } else {
                fail(Some(status), format!("the receiver answered {status}"))
            }
        }
        Err(e) => fail(None, e.to_string()),
    }
}

/// Records a notification in the history and delivers it on its own thread, retrying with
/// backoff; each attempt is added to the history entry.
pub fn dispatch(meta: MetaStore, channel: Channel, mut event: Event) {
    let pos = match meta.append_alert_event(&event) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "could not record an alert notification");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("alert-delivery".into())
        .spawn(move || {
            for attempt in 1..=ATTEMPTS {
                let d = deliver(&channel, &event.alerts, crate::now(), attempt);
                let ok = d.ok;
                if !ok {
                    tracing::warn!(attempt, error = ?d.error, "alert delivery failed");
                }
                event.deliveries.push(d);
                if let Err(e) = meta.update_alert_event(pos, &event) {
                    tracing::error!(error = %e, "could not record an alert delivery");
                }
                if ok || attempt == ATTEMPTS {
                    break;
                }
                std::thread::sleep(backoff(attempt));
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start an alert delivery thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
    }
}
