//! Alert rules and their history: create, list, get, update (also mute), delete, send a test
//! notification, and the notification history with its deliveries. Rules cover the whole
//! account, so users limited to slices neither see nor change them.

use super::ApiQuery;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::slices::SliceSet;
use crate::alerts::rules::{Channel, ChannelType, Direction, Event, Kind, Rule, Scope};
use crate::alerts::{channels, eval};
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::model::account::Id;

/// Longest accepted duration: 30 days.
const MAX_SECONDS: u32 = 30 * 86_400;

/// Scope as sent.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    server: Option<String>,
    app: Option<String>,
    stream: Option<String>,
}

/// Channel as sent.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ChannelBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
    secret: Option<String>,
    to: Option<String>,
}

/// `POST /api/v1/alerts` and `PATCH /api/v1/alerts/{id}` body: present fields are set.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    name: Option<String>,
    kind: Option<String>,
    scope: Option<ScopeBody>,
    after_s: Option<u32>,
    threshold: Option<f64>,
    direction: Option<String>,
    for_s: Option<u32>,
    cooldown_s: Option<u32>,
    repeat_s: Option<u32>,
    muted: Option<bool>,
    channel: Option<ChannelBody>,
}

/// Rules cover whole accounts: refuse callers limited to slices.
fn require_whole_account(p: &Principal) -> Result<(), ApiError> {
    if SliceSet::of(p)?.is_some() {
        return Err(ApiError::forbidden(
            "alert rules cover the whole account; ask a user without slice limits",
        ));
    }
    Ok(())
}

fn seconds(field: &str, v: Option<u32>, current: u32) -> Result<u32, ApiError> {
    match v {
        Some(s) if s > MAX_SECONDS => Err(ApiError::field(
            field,
            format!("must be at most {MAX_SECONDS} seconds (30 days)"),
        )),
        Some(s) => Ok(s),
        None => Ok(current),
    }
}

fn name_part(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v.map(|s| s.trim().to_string()) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if s.len() > 200 || s.chars().any(char::is_control) => Err(ApiError::field(
            field,
            "must be at most 200 printable characters",
        )),
        Some(s) => Ok(Some(s)),
    }
}

/// Applies a body onto a rule and checks the result.
fn apply(state: &State, p: &Principal, rule: &mut Rule, b: RuleBody) -> Result<(), ApiError> {
    if let Some(name) = b.name {
        rule.name = super::clean_name("name", &name, 200)?;
    }
    if let Some(kind) = b.kind {
        rule.kind = Kind::parse(&kind).ok_or_else(|| {
            ApiError::field(
                "kind",
                "must be server_offline, stream_down, stream_up, cpu, ram, viewers or bandwidth",
            )
        })?;
    }
    if let Some(scope) = b.scope {
        let server = match scope.server.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => {
                let id = Id::parse(id)
                    .filter(|id| {
                        state
                            .meta
                            .server(*id)
                            .ok()
                            .flatten()
                            .is_some_and(|s| s.account_id == p.account.id)
                    })
                    .ok_or_else(|| {
                        ApiError::field("scope.server", "no server with this id in this account")
                    })?;
                Some(id)
            }
        };
        rule.scope = Scope {
            server,
            app: name_part("scope.app", scope.app)?,
            stream: name_part("scope.stream", scope.stream)?,
        };
    }
    rule.after_s = seconds("after_s", b.after_s, rule.after_s)?;
    rule.for_s = seconds("for_s", b.for_s, rule.for_s)?;
    rule.cooldown_s = seconds("cooldown_s", b.cooldown_s, rule.cooldown_s)?;
    rule.repeat_s = seconds("repeat_s", b.repeat_s, rule.repeat_s)?;
    if let Some(t) = b.threshold {
        if !t.is_finite() || t < 0.0 {
            return Err(ApiError::field(
                "threshold",
                "must be a number of 0 or more",
            ));
        }
        rule.threshold = Some(t);
    }
    if let Some(d) = b.direction {
        rule.direction = match d.as_str() {
            "above" => Direction::Above,
            "below" => Direction::Below,
            _ => return Err(ApiError::field("direction", "must be above or below")),
        };
    }
    if let Some(m) = b.muted {
        rule.muted = m;
    }
    if let Some(c) = b.channel {
        if let Some(kind) = c.kind {
            rule.channel.kind = match kind.as_str() {
                "webhook" => ChannelType::Webhook,
                "slack" => ChannelType::Slack,
                "discord" => ChannelType::Discord,
                "email" => ChannelType::Email,
                _ => {
                    return Err(ApiError::field(
                        "channel.type",
                        "must be webhook, slack, discord or email",
                    ));
                }
            };
        }
        if let Some(url) = c.url {
            rule.channel.url = Some(url.trim().to_string());
        }
        if let Some(secret) = c.secret {
            if secret.len() > 512 {
                return Err(ApiError::field(
                    "channel.secret",
                    "must be at most 512 bytes",
                ));
            }
            rule.channel.secret = Some(secret).filter(|s| !s.is_empty());
        }
        if let Some(to) = c.to {
            rule.channel.to = Some(to.trim().to_string()).filter(|t| !t.is_empty());
        }
    }
    if rule.channel.kind == ChannelType::Email {
        if channels::smtp_relay().is_none() {
            return Err(ApiError::field(
                "channel.type",
                "no SMTP relay is configured; the operator sets --smtp-url and --smtp-from (TALLY_SMTP_URL, TALLY_SMTP_FROM)",
            ));
        }
        let ok = rule
            .channel
            .to
            .as_deref()
            .is_some_and(|t| t.len() <= 254 && t.parse::<lettre::message::Mailbox>().is_ok());
        if !ok {
            return Err(ApiError::field(
                "channel.to",
                "give the recipient's e-mail address",
            ));
        }
        return check_threshold(rule);
    }
    let url_ok = rule.channel.url.as_deref().is_some_and(|u| {
        (u.starts_with("http://") || u.starts_with("https://"))
            && u.len() <= 2000
            && u.parse::<ureq::http::Uri>().is_ok()
    });
    if !url_ok {
        return Err(ApiError::field(
            "channel.url",
            "give the receiver's http:// or https:// URL",
        ));
    }
    check_threshold(rule)
}

/// Kind-specific requirements.
fn check_threshold(rule: &Rule) -> Result<(), ApiError> {
    if rule.kind.is_threshold() && rule.threshold.is_none() {
        return Err(ApiError::field(
            "threshold",
            "cpu, ram, viewers and bandwidth rules need a threshold",
        ));
    }
    if rule.kind == Kind::ServerOffline && rule.after_s == 0 {
        return Err(ApiError::field("after_s", "must be at least 1 second"));
    }
    Ok(())
}

/// A rule as the API shows it; the channel secret is never shown.
pub fn rule_json(r: &Rule, firing: usize) -> Value {
    json!({
        "id": r.id.to_string(),
        "name": r.name,
        "kind": r.kind.as_str(),
        "scope": {
            "server": r.scope.server.map(|s| s.to_string()),
            "app": r.scope.app,
            "stream": r.scope.stream,
        },
        "after_s": r.after_s,
        "threshold": r.threshold,
        "direction": match r.direction { Direction::Above => "above", Direction::Below => "below" },
        "for_s": r.for_s,
        "cooldown_s": r.cooldown_s,
        "repeat_s": r.repeat_s,
        "muted": r.muted,
        "channel": {
            "type": r.channel.kind.as_str(),
            "url": r.channel.url,
            "to": r.channel.to,
            "secret_set": r.channel.secret.is_some(),
        },
        "created_at": r.created_at,
        "firing": firing,
    })
}

fn firing_count(state: &State, rule: Id) -> Result<usize, ApiError> {
    Ok(state
        .meta
        .alert_states(rule)?
        .iter()
        .filter(|(_, s)| s.firing)
        .count())
}

fn owned_rule(state: &State, p: &Principal, id: &str) -> Result<Rule, ApiError> {
    let id = super::path_id(id, "alert rule")?;
    state
        .meta
        .alert_rule(p.account.id, id)?
        .ok_or(ApiError::NotFound("alert rule"))
}

/// `GET /api/v1/alerts`
pub async fn list(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    require_whole_account(&p)?;
    let st = state.clone();
    let account = p.account.id;
    let out = web::block(move || -> Result<Vec<Value>, ApiError> {
        st.meta
            .alert_rules_of(account)?
            .iter()
            .map(|r| Ok(rule_json(r, firing_count(&st, r.id)?)))
            .collect()
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/alerts`
pub async fn create(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    require_whole_account(&p)?;
    let b: RuleBody = parse_json(&body)?;
    if b.kind.is_none() {
        return Err(ApiError::field("kind", "say what the rule watches"));
    }
    if b.name.is_none() {
        return Err(ApiError::field("name", "give the rule a name"));
    }
    let mut rule = Rule {
        id: Id::random(),
        account: p.account.id,
        name: String::new(),
        kind: Kind::ServerOffline,
        scope: Scope::default(),
        after_s: 60,
        threshold: None,
        direction: Direction::Above,
        for_s: 0,
        cooldown_s: 300,
        repeat_s: 0,
        muted: false,
        channel: Channel {
            kind: ChannelType::Webhook,
            url: None,
            secret: None,
            to: None,
        },
        created_at: crate::now(),
    };
    apply(&state, &p, &mut rule, b)?;
    state.meta.put_alert_rule(&rule)?;
    state.meta.flush()?;
    tracing::info!(event = "alert_rule_added", rule = %rule.id, account = %p.account.id, "alert rule added");
    Ok(HttpResponse::Created().json(rule_json(&rule, 0)))
}

/// `GET /api/v1/alerts/{id}`
pub async fn get(
    state: State,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_whole_account(&p)?;
    let rule = owned_rule(&state, &p, &path)?;
    Ok(HttpResponse::Ok().json(rule_json(&rule, firing_count(&state, rule.id)?)))
}

/// `PATCH /api/v1/alerts/{id}`: changes the given fields (`{"muted": true}` mutes).
pub async fn update(
    state: State,
    p: Principal,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    require_whole_account(&p)?;
    let before = owned_rule(&state, &p, &path)?;
    let b: RuleBody = parse_json(&body)?;
    let mut rule = before.clone();
    apply(&state, &p, &mut rule, b)?;
    state.meta.put_alert_rule(&rule)?;
    // A rule that now watches something else starts from a clean slate.
    if rule.kind != before.kind || rule.scope != before.scope {
        state.meta.clear_alert_states(rule.id)?;
    }
    state.meta.flush()?;
    Ok(HttpResponse::Ok().json(rule_json(&rule, firing_count(&state, rule.id)?)))
}

/// `DELETE /api/v1/alerts/{id}`
pub async fn delete(
    state: State,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    require_whole_account(&p)?;
    let rule = owned_rule(&state, &p, &path)?;
    state.meta.remove_alert_rule(p.account.id, rule.id)?;
    state.meta.flush()?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/alerts/{id}/test`: sends one test notification now (one attempt, no retry)
/// and reports how the receiver answered.
pub async fn test(
    state: State,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require_write()?;
    require_whole_account(&p)?;
    let rule = owned_rule(&state, &p, &path)?;
    let st = state.clone();
    let delivery = web::block(move || -> Result<_, ApiError> {
        let now = crate::now();
        let notice = eval::test_notice(&rule, now);
        let d = channels::deliver(&rule.channel, std::slice::from_ref(&notice), now, 1);
        st.meta.append_alert_event(&Event {
            account: rule.account,
            time: now,
            channel: rule.channel.kind,
            test: true,
            alerts: vec![notice],
            deliveries: vec![d.clone()],
        })?;
        Ok(d)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok().json(json!({
        "delivered": delivery.ok,
        "status": delivery.status,
        "error": delivery.error,
    })))
}

/// `GET /api/v1/alerts/events` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/alerts/events`: notifications, newest first, with their deliveries.
pub async fn events(
    state: State,
    p: Principal,
    q: ApiQuery<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    require_whole_account(&p)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let st = state.clone();
    let account = p.account.id;
    let page = web::block(move || st.meta.alert_events_of(account, limit))
        .await
        .map_err(ApiError::internal)??;
    let out: Vec<Value> = page.iter().map(|(pos, e)| event_json(*pos, e)).collect();
    Ok(HttpResponse::Ok().json(json!({"events": out})))
}

/// A history entry as the API (and the account export) shows it.
pub fn event_json((time, nonce): (i64, u32), e: &crate::alerts::rules::Event) -> Value {
    json!({
        "id": format!("{time}-{nonce:08x}"),
        "time": e.time,
        "channel": e.channel.as_str(),
        "test": e.test,
        "alerts": e.alerts.iter().map(channels::notice_json).collect::<Vec<_>>(),
        "delivered": e.deliveries.iter().any(|d| d.ok),
        "deliveries": e.deliveries.iter().map(|d| json!({
            "time": d.time,
            "attempt": d.attempt,
            "ok": d.ok,
            "status": d.status,
            "error": d.error,
        })).collect::<Vec<_>>(),
    })
}
