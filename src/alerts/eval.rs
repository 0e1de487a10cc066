//! Rule evaluation: reads the writer's live state (names and numbers only; it holds no viewer
//! addresses), advances each rule's per-target state and returns the notices to send, grouped
//! by account and channel. It never sends anything itself (see `channels`), so a slow receiver
//! cannot delay the next evaluation.

use std::collections::{HashMap, HashSet};

use super::rules::{
    Channel, Direction, Kind, Notice, NoticeScope, NoticeState, Rule, Scope, TargetState,
};
use crate::ingest::writer::ServerLive;
use crate::model::account::{Id, Server};
use crate::store::{MetaStore, StoreError};

/// State key marking that a rule has been evaluated once (its baseline is taken).
const BASELINE: &str = "_";

/// Notices for one account and channel, to be sent as one notification.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The account.
    pub account: Id,
    /// The channel.
    pub channel: Channel,
    /// The grouped notices.
    pub notices: Vec<Notice>,
}

/// One thing a rule watches, with the condition as of now (`None`: unknown, keep the state).
struct Target {
    key: String,
    scope: NoticeScope,
    cond: Option<bool>,
    /// The observed value in words, for the message.
    detail: String,
}

/// A server counts as reporting while its last report is at most two intervals (plus slack) old.
fn fresh(l: &ServerLive, now: i64) -> bool {
    l.last_report_at > 0 && now - l.last_report_at <= 2 * i64::from(l.interval_s.max(1)) + 15
}

fn server_key(id: Id) -> String {
    format!("s:{id}")
}

fn stream_key(id: Id, app: &str, stream: &str) -> String {
    format!("t:{id}\u{1f}{app}\u{1f}{stream}")
}

/// Splits a stream key back into `(server, app, stream)`.
fn parse_stream_key(key: &str) -> Option<(Id, String, String)> {
    let rest = key.strip_prefix("t:")?;
    let mut parts = rest.splitn(3, '\u{1f}');
    let id = Id::parse(parts.next()?)?;
    Some((id, parts.next()?.to_string(), parts.next()?.to_string()))
}

fn server_scope(s: &Server) -> NoticeScope {
    NoticeScope {
        server: Some(s.id.to_string()),
        server_name: Some(s.name.clone()),
        app: None,
        stream: None,
    }
}

fn stream_scope(s: &Server, app: &str, stream: &str) -> NoticeScope {
    NoticeScope {
        app: Some(app.to_string()),
        stream: Some(stream.to_string()),
        ..server_scope(s)
    }
}

fn compare(rule: &Rule, value: f64) -> bool {
    let t = rule.threshold.unwrap_or(0.0);
    match rule.direction {
        Direction::Above => value > t,
        Direction::Below => value < t,
    }
}

fn unit(kind: Kind) -> &'static str {
    match kind {
        Kind::Cpu | Kind::Ram => " %",
        Kind::Bandwidth => " bit/s",
        _ => "",
    }
}

/// Lists the targets of a rule with their current condition.
fn targets(
    rule: &Rule,
    servers: &[&Server],
    live: &HashMap<Id, ServerLive>,
    known: &HashSet<String>,
    now: i64,
) -> Vec<Target> {
    let mut out = Vec::new();
    let in_scope = |s: &&&Server| rule.scope.server.is_none_or(|id| id == s.id);
    match rule.kind {
        Kind::ServerOffline => {
            for s in servers.iter().filter(in_scope) {
                let key = server_key(s.id);
                let l = live.get(&s.id).filter(|l| l.last_report_at > 0);
                let (cond, detail) = match l {
                    Some(l) => {
                        let age = now - l.last_report_at;
                        (Some(age > i64::from(rule.after_s)), format!("{age} s"))
                    }
                    // Never reported (or not since this rule knew it): nothing to say.
                    None if known.contains(&key) => (None, String::new()),
                    None => continue,
                };
                out.push(Target {
                    key,
                    scope: server_scope(s),
                    cond,
                    detail,
                });
            }
        }
        Kind::StreamDown | Kind::StreamUp => {
            let mut seen = HashSet::new();
            for s in servers.iter().filter(in_scope) {
                let Some(l) = live.get(&s.id) else { continue };
                let up_server = fresh(l, now);
                for ((app, stream), st) in &l.streams {
                    if !rule.scope.covers_stream(s.id, app, stream) {
                        continue;
                    }
                    let up = up_server && st.publishing != Some(false);
                    let key = stream_key(s.id, app, stream);
                    seen.insert(key.clone());
                    let cond = if rule.kind == Kind::StreamDown {
                        !up
                    } else {
                        up
                    };
                    // A stream down is only news about a stream that was seen up.
                    if rule.kind == Kind::StreamDown && cond && !known.contains(&key) {
                        continue;
                    }
                    out.push(Target {
                        key,
                        scope: stream_scope(s, app, stream),
                        cond: Some(cond),
                        detail: format!("{} viewers", st.viewers),
                    });
                }
            }
            // Known streams missing from the live state are down.
            let by_id: HashMap<Id, &Server> = servers.iter().map(|s| (s.id, *s)).collect();
            for key in known.iter().filter(|k| !seen.contains(*k)) {
                let Some((id, app, stream)) = parse_stream_key(key) else {
                    continue;
                };
                let Some(s) = by_id.get(&id) else { continue };
                if !rule.scope.covers_stream(id, &app, &stream) {
                    continue;
                }
                out.push(Target {
                    key: key.clone(),
                    scope: stream_scope(s, &app, &stream),
                    cond: Some(rule.kind == Kind::StreamDown),
                    detail: String::new(),
                });
            }
        }
        Kind::Cpu | Kind::Ram => {
            for s in servers.iter().filter(in_scope) {
                let Some(l) = live.get(&s.id) else { continue };
                let host = l.host.as_ref().filter(|_| fresh(l, now));
                let value = host.and_then(|h| match rule.kind {
                    Kind::Cpu => h.cpu_pct,
                    _ => match (h.ram_used_bytes, h.ram_total_bytes) {
                        (Some(u), Some(t)) if t > 0 => Some(u as f64 * 100.0 / t as f64),
                        _ => None,
                    },
                });
                out.push(Target {
                    key: server_key(s.id),
                    scope: server_scope(s),
                    cond: Some(value.is_some_and(|v| compare(rule, v))),
                    detail: value.map_or_else(String::new, |v| format!("{v:.1}")),
                });
            }
        }
        Kind::Viewers | Kind::Bandwidth => {
            let bw = rule.kind == Kind::Bandwidth;
            for s in servers.iter().filter(in_scope) {
                let Some(l) = live.get(&s.id) else { continue };
                if !fresh(l, now) {
                    // Silent servers are the business of `server_offline`.
                    let own = |k: &&String| {
                        **k == server_key(s.id)
                            || parse_stream_key(k).is_some_and(|(id, _, _)| id == s.id)
                    };
                    for key in known.iter().filter(own) {
                        out.push(Target {
                            key: key.clone(),
                            scope: server_scope(s),
                            cond: Some(false),
                            detail: String::new(),
                        });
                    }
                    continue;
                }
                let per_s = 8.0 / f64::from(l.interval_s.max(1));
                if !rule.scope.names_streams() {
                    let value = if bw {
                        l.bandwidth_bps()
                    } else {
                        l.viewers() as f64
                    };
                    out.push(Target {
                        key: server_key(s.id),
                        scope: server_scope(s),
                        cond: Some(compare(rule, value)),
                        detail: format!("{value:.0}"),
                    });
                    continue;
                }
                let mut seen = HashSet::new();
                for ((app, stream), st) in &l.streams {
                    if !rule.scope.covers_stream(s.id, app, stream) {
                        continue;
                    }
                    let value = if bw {
                        st.bytes_out as f64 * per_s
                    } else {
                        f64::from(st.viewers)
                    };
                    let key = stream_key(s.id, app, stream);
                    seen.insert(key.clone());
                    out.push(Target {
                        key,
                        scope: stream_scope(s, app, stream),
                        cond: Some(compare(rule, value)),
                        detail: format!("{value:.0}"),
                    });
                }
                // A stream that ended has no viewers and no traffic.
                for key in known.iter().filter(|k| !seen.contains(*k)) {
                    let Some((id, app, stream)) = parse_stream_key(key) else {
                        continue;
                    };
                    if id != s.id {
                        continue;
                    }
                    out.push(Target {
                        key: key.clone(),
                        scope: stream_scope(s, &app, &stream),
                        cond: Some(compare(rule, 0.0)),
                        detail: "0".into(),
                    });
                }
            }
        }
    }
    out
}

/// How long the condition must hold before the rule fires.
fn hold(rule: &Rule) -> i64 {
    match rule.kind {
        Kind::StreamDown => i64::from(rule.after_s.max(rule.for_s)),
        _ => i64::from(rule.for_s),
    }
}

/// Advances one target's state; returns the notice to send, if any.
pub fn step(rule: &Rule, st: &mut TargetState, cond: bool, now: i64) -> Option<NoticeState> {
    if cond {
        let since = *st.since.get_or_insert(now);
        if !st.firing {
            let cooled = st.last_fired == 0 || now - st.last_fired >= i64::from(rule.cooldown_s);
            if now - since >= hold(rule) && cooled {
                st.firing = true;
                if rule.muted {
                    st.notified = false;
                    return None;
                }
                st.notified = true;
                st.last_sent = now;
                st.last_fired = now;
                return Some(NoticeState::Firing);
            }
        } else if st.notified
            && !rule.muted
            && rule.repeat_s > 0
            && now - st.last_sent >= i64::from(rule.repeat_s)
        {
            st.last_sent = now;
            return Some(NoticeState::Firing);
        }
        None
    } else {
        st.since = None;
        if st.firing {
            st.firing = false;
            let owed = std::mem::take(&mut st.notified);
            if owed && !rule.muted {
                return Some(NoticeState::Resolved);
            }
        }
        None
    }
}

/// The text of a notice: names and numbers, never a viewer address.
fn message(rule: &Rule, scope: &NoticeScope, state: NoticeState, detail: &str) -> String {
    let server = scope.server_name.as_deref().unwrap_or("?");
    let stream = format!(
        "{}/{} on {server}",
        scope.app.as_deref().unwrap_or(""),
        scope.stream.as_deref().unwrap_or("")
    );
    let firing = state == NoticeState::Firing;
    let subject = if scope.app.is_some() {
        stream.clone()
    } else {
        server.to_string()
    };
    match rule.kind {
        Kind::ServerOffline if firing => {
            format!("Server {server} has not reported for {detail}")
        }
        Kind::ServerOffline => format!("Server {server} is reporting again"),
        Kind::StreamDown if firing => format!("Stream {stream} is down"),
        Kind::StreamDown => format!("Stream {stream} is back up"),
        Kind::StreamUp if firing => format!("Stream {stream} is publishing"),
        Kind::StreamUp => format!("Stream {stream} stopped publishing"),
        kind => {
            let what = match kind {
                Kind::Cpu => "CPU",
                Kind::Ram => "RAM",
                Kind::Viewers => "Viewers",
                _ => "Bandwidth",
            };
            let side = match rule.direction {
                Direction::Above => "above",
                Direction::Below => "below",
            };
            let t = rule.threshold.unwrap_or(0.0);
            let u = unit(kind);
            if firing {
                format!("{what} on {subject} is {detail}{u}, {side} {t}{u}")
            } else {
                format!("{what} on {subject} is back within {t}{u} ({detail}{u})")
            }
        }
    }
}

/// Builds the notice of a test notification.
pub fn test_notice(rule: &Rule, now: i64) -> Notice {
    Notice {
        rule: rule.id,
        alert: rule.name.clone(),
        kind: rule.kind,
        state: NoticeState::Firing,
        scope: scope_names(&rule.scope),
        time: now,
        message: format!("Test notification for the alert rule \"{}\"", rule.name),
    }
}

fn scope_names(scope: &Scope) -> NoticeScope {
    NoticeScope {
        server: scope.server.map(|s| s.to_string()),
        server_name: None,
        app: scope.app.clone(),
        stream: scope.stream.clone(),
    }
}

/// Evaluates every rule at `now`, persists the changed states and returns the notifications
/// to send (one per account and channel).
pub fn evaluate(
    meta: &MetaStore,
    live: &HashMap<Id, ServerLive>,
    now: i64,
) -> Result<Vec<Outgoing>, StoreError> {
    let rules = meta.alert_rules()?;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let servers = meta.servers()?;
    let mut out: Vec<Outgoing> = Vec::new();
    for rule in &rules {
        let mine: Vec<&Server> = servers
            .iter()
            .filter(|s| s.account_id == rule.account)
            .collect();
        let mut states: HashMap<String, TargetState> =
            meta.alert_states(rule.id)?.into_iter().collect();
        let baseline = !states.contains_key(BASELINE);
        let known: HashSet<String> = states.keys().cloned().collect();
        let mut changes = Vec::new();
        if baseline {
            changes.push((rule.id, BASELINE.to_string(), Some(TargetState::default())));
        }
        for t in targets(rule, &mine, live, &known, now) {
            let Some(cond) = t.cond else { continue };
            let before = states.remove(&t.key);
            let mut st = before.clone().unwrap_or_default();
            let notice = if baseline && rule.kind == Kind::StreamUp && cond {
                // Streams already up when the rule is created are not news.
                st.firing = true;
                None
            } else {
                step(rule, &mut st, cond, now)
            };
            if let Some(state) = notice {
                let message = message(rule, &t.scope, state, &t.detail);
                let notice = Notice {
                    rule: rule.id,
                    alert: rule.name.clone(),
                    kind: rule.kind,
                    state,
                    scope: t.scope,
                    time: now,
                    message,
                };
                match out
                    .iter_mut()
                    .find(|o| o.account == rule.account && o.channel == rule.channel)
                {
                    Some(o) => o.notices.push(notice),
                    None => out.push(Outgoing {
                        account: rule.account,
                        channel: rule.channel.clone(),
                        notices: vec![notice],
                    }),
                }
            }
            // Per-stream threshold states of quiet streams are not worth keeping.
            let forget = rule.kind.is_threshold()
                && t.key.starts_with("t:")
                && !st.firing
                && st.since.is_none()
                && st.last_fired == 0;
            if forget {
                if before.is_some() {
                    changes.push((rule.id, t.key, None));
                }
            } else if before.as_ref() != Some(&st) {
                changes.push((rule.id, t.key, Some(st)));
            }
        }
        if !changes.is_empty() {
            meta.put_alert_states(&changes)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::ChannelType;

    fn rule(kind: Kind) -> Rule {
        Rule {
            id: Id(1),
            account: Id(2),
            name: "r".into(),
            kind,
            scope: Scope::default(),
            after_s: 60,
            threshold: Some(90.0),
            direction: Direction::Above,
            for_s: 30,
            cooldown_s: 300,
            repeat_s: 0,
            muted: false,
            channel: Channel {
                kind: ChannelType::Webhook,
                url: Some("http://127.0.0.1:1/".into()),
                secret: None,
                to: None,
            },
            created_at: 0,
        }
    }

    #[test]
    fn fires_after_hold_resolves_and_respects_cooldown() {
        let r = rule(Kind::Cpu);
        let mut st = TargetState::default();
        assert_eq!(step(&r, &mut st, true, 1000), None);
        assert_eq!(step(&r, &mut st, true, 1029), None);
        assert_eq!(step(&r, &mut st, true, 1030), Some(NoticeState::Firing));
        assert_eq!(step(&r, &mut st, true, 1040), None);
        assert_eq!(step(&r, &mut st, false, 1050), Some(NoticeState::Resolved));
        // Flapping inside the cool-down stays quiet, then fires once it has passed.
        assert_eq!(step(&r, &mut st, true, 1100), None);
        assert_eq!(step(&r, &mut st, true, 1200), None);
        assert_eq!(step(&r, &mut st, true, 1330), Some(NoticeState::Firing));
    }

    #[test]
    fn repeats_while_firing_and_muted_rules_stay_silent() {
        let mut r = rule(Kind::Viewers);
        r.for_s = 0;
        r.repeat_s = 60;
        let mut st = TargetState::default();
        assert_eq!(step(&r, &mut st, true, 500), Some(NoticeState::Firing));
        assert_eq!(step(&r, &mut st, true, 530), None);
        assert_eq!(step(&r, &mut st, true, 560), Some(NoticeState::Firing));
        r.muted = true;
        assert_eq!(step(&r, &mut st, true, 700), None);
        assert_eq!(step(&r, &mut st, false, 710), None);
    }

    #[test]
    fn stream_keys_round_trip_with_odd_names() {
        let k = stream_key(Id(7), "live/x", "a b");
        assert_eq!(
            parse_stream_key(&k),
            Some((Id(7), "live/x".to_string(), "a b".to_string()))
        );
        assert_eq!(parse_stream_key("s:0000000000000007"), None);
    }
}
