//! Exports (data-subject right of access and portability): everything stored for an account,
//! or for one user, as one JSON document; the account export also as a ZIP with CSV files.
//!
//! Secrets never leave: no password hashes, no TOTP secrets, no token or session hashes.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Lifecycle, retention};
use crate::activity::Entry;
use crate::ingest::dict::DimDict;
use crate::model::account::{Account, ApiToken, Id, LoginSession, User};
use crate::model::rollup::Resolution;
use crate::model::series::{Filter, SeriesKind};
use crate::query::{Metric, Query, Range};
use crate::store::StoreError;
use crate::store::meta::INSTANCE;
use crate::store::partitions::Class;

/// Version of the export documents.
pub const FORMAT_VERSION: u32 = 1;

/// A user as exported (no password hash, no second-factor secret).
pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.to_string(),
        "account_id": u.account_id.to_string(),
        "email": u.email,
        "name": u.name,
        "role": u.role.as_str(),
        "operator": u.operator,
        "created_at": u.created_at,
    })
}

fn account_json(a: &Account) -> Value {
    json!({
        "id": a.id.to_string(),
        "name": a.name,
        "created_at": a.created_at,
        "domains": a.domains,
        "processing_restricted": a.processing_restricted,
        "timezone": a.timezone,
    })
}

fn token_json(t: &ApiToken) -> Value {
    json!({"id": t.id.to_string(), "user_id": t.user_id.to_string(), "name": t.name, "scope": t.scope,
           "created_at": t.created_at, "expires_at": t.expires_at, "allowed_ips": t.allowed_ips})
}

fn session_json(s: &LoginSession) -> Value {
    json!({"id": s.id.to_string(), "user_id": s.user_id.to_string(), "created_at": s.created_at,
           "expires_at": s.expires_at, "ip": s.ip, "user_agent": s.user_agent})
}

fn activity_json(e: &Entry) -> Value {
    json!({"time": e.time, "actor": e.actor, "action": e.action, "target": e.target, "ip": e.ip, "country": e.country})
}

fn retention_json(r: &retention::Retention) -> Value {
    let mut m = serde_json::Map::new();
    for c in retention::DataClass::ALL {
        m.insert(c.key().into(), json!(r.get(c)));
    }
    Value::Object(m)
}

/// One day of an account's statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DailyRow {
    /// UTC date.
    pub date: String,
    pub views: u64,
    pub unique_viewers: u64,
    pub peak_viewers: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub view_time_s: u64,
    /// Average concurrent viewers over the day.
    pub avg_viewers: f64,
}

/// Statistics of an account: the summary of everything retained, daily rows and the streams
/// seen. Computed from the daily rollups (and sketches), so it covers the day class's retention.
pub fn statistics(
    lc: &Lifecycle,
    dict: &DimDict,
    account: Id,
    now: i64,
) -> Result<(Value, Vec<DailyRow>), StoreError> {
    let q = Query {
        parts: &lc.parts,
        dict,
    };
    let day = Resolution::Day;
    let from = lc
        .parts
        .list(account, Class::Rollup(day))
        .first()
        .map_or(day.bucket(now), |p| p.start);
    let range = Range {
        from,
        to: day.bucket(now) + 86_400,
    };
    let all = Filter::default();
    let summary = q.summary(account, &all, range)?;
    let uniques: std::collections::HashMap<i64, f64> = q
        .timeseries(account, &all, Metric::UniqueViewers, 86_400, range)
        .map_err(|e| match e {
            crate::query::QueryError::Store(s) => s,
            other => StoreError::Corrupt(other.to_string()),
        })?
        .into_iter()
        .collect();
    let rows: Vec<DailyRow> = q
        .scalars(account, &all, day, range)?
        .into_iter()
        .map(|(t, s)| DailyRow {
            date: jiff::Timestamp::from_second(t)
                .map(|ts| ts.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            views: s.views,
            unique_viewers: uniques.get(&t).copied().unwrap_or(0.0).round() as u64,
            peak_viewers: s.peak_viewers as u64,
            bytes_out: s.bytes_out,
            bytes_in: s.bytes_in,
            view_time_s: s.view_time_s,
            avg_viewers: s.viewer_seconds as f64 / 86_400.0,
        })
        .collect();
    let streams: Vec<Value> = q
        .streams_seen(account, range)?
        .into_iter()
        .filter(|s| s.kind == SeriesKind::ServerStream)
        .map(|s| json!({"server_id": s.server.map(|i| i.to_string()), "app": s.app, "stream": s.stream}))
        .collect();
    let doc = json!({
        "from": range.from,
        "to": range.to,
        "summary": summary,
        "daily": rows,
        "streams": streams,
    });
    Ok((doc, rows))
}

/// Everything stored for an account, as one JSON document.
pub fn account_export(
    lc: &Lifecycle,
    dict: &DimDict,
    account: &Account,
    now: i64,
) -> Result<(Value, Vec<DailyRow>), StoreError> {
    let users: Vec<User> = lc
        .meta
        .users()?
        .into_iter()
        .filter(|u| u.account_id == account.id)
        .collect();
    let mut tokens = Vec::new();
    let mut sessions = Vec::new();
    for u in &users {
        tokens.extend(
            lc.meta
                .api_tokens_of(u.id)?
                .iter()
                .map(|(t, _)| token_json(t)),
        );
        sessions.extend(
            lc.meta
                .login_sessions_of(u.id)?
                .iter()
                .map(|(s, _)| session_json(s)),
        );
    }
    let servers: Vec<Value> = lc
        .meta
        .servers()?
        .into_iter()
        .filter(|s| s.account_id == account.id)
        .map(|s| json!({"id": s.id.to_string(), "name": s.name, "created_at": s.created_at}))
        .collect();
    let slices: Vec<Value> = lc
        .meta
        .slices_of(account.id)?
        .into_iter()
        .map(|s| {
            json!({"id": s.id.to_string(), "name": s.name,
                   "servers": s.servers.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                   "app_regex": s.app_regex, "stream_regex": s.stream_regex,
                   "timezone": s.timezone, "created_at": s.created_at})
        })
        .collect();
    let invitations: Vec<Value> = lc
        .meta
        .invitations_of(account.id)?
        .into_iter()
        .map(|i| {
            json!({"id": i.id.to_string(), "email": i.email, "role": i.role.as_str(),
                   "invited_by": i.invited_by, "created_at": i.created_at, "expires_at": i.expires_at})
        })
        .collect();
    let activity: Vec<Value> = lc
        .meta
        .activity_of(account.id)?
        .iter()
        .map(activity_json)
        .collect();
    let alert_rules: Vec<Value> = lc
        .meta
        .alert_rules_of(account.id)?
        .iter()
        .map(|r| crate::http::api::alerts::rule_json(r, 0))
        .collect();
    let alert_events: Vec<Value> = lc
        .meta
        .alert_events_of(account.id, usize::MAX)?
        .iter()
        .map(|(pos, e)| crate::http::api::alerts::event_json(*pos, e))
        .collect();
    let (stats, rows) = statistics(lc, dict, account.id, now)?;
    let doc = json!({
        "format": "tally-account-export",
        "version": FORMAT_VERSION,
        "generated_at": now,
        "account": account_json(account),
        "users": users.iter().map(user_json).collect::<Vec<_>>(),
        "servers": servers,
        "api_tokens": tokens,
        "login_sessions": sessions,
        "slices": slices,
        "invitations": invitations,
        "settings": {
            "retention": retention_json(&retention::effective(&lc.meta, account.id)?),
        },
        "branding": lc.meta.branding(account.id)?,
        "activity": activity,
        "alerts": {"rules": alert_rules, "history": alert_events},
        "statistics": stats,
    });
    Ok((doc, rows))
}

/// Everything stored about one user, as one JSON document.
pub fn user_export(
    lc: &Lifecycle,
    user: &User,
    account: &Account,
    now: i64,
) -> Result<Value, StoreError> {
    let tokens: Vec<Value> = lc
        .meta
        .api_tokens_of(user.id)?
        .iter()
        .map(|(t, _)| token_json(t))
        .collect();
    let sessions: Vec<Value> = lc
        .meta
        .login_sessions_of(user.id)?
        .iter()
        .map(|(s, _)| session_json(s))
        .collect();
    // Entries about this person: where they acted, or are named, in their account's log and
    // the instance's.
    let mut activity = Vec::new();
    for owner in [account.id, INSTANCE] {
        for e in lc.meta.activity_of(owner)? {
            if e.actor == user.email || e.target.contains(&user.email) {
                activity.push(activity_json(&e));
            }
        }
    }
    Ok(json!({
        "format": "tally-user-export",
        "version": FORMAT_VERSION,
        "generated_at": now,
        "user": user_json(user),
        "account": {"id": account.id.to_string(), "name": account.name},
        "api_tokens": tokens,
        "login_sessions": sessions,
        "activity": activity,
    }))
}

fn csv_of<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, StoreError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .map_err(|e| StoreError::Corrupt(format!("csv: {e}")))?;
    }
    w.into_inner()
        .map_err(|e| StoreError::Corrupt(format!("csv: {e}")))
}

#[derive(Serialize)]
struct CsvRow<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    created_at: i64,
}

/// The account export as a ZIP: `account.json` plus CSV files of the daily statistics, users
/// and servers.
pub fn account_zip(doc: &Value, rows: &[DailyRow]) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec_pretty(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let users: Vec<(String, String, String, String, i64)> = doc["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    (
                        s(u, "id"),
                        s(u, "name"),
                        s(u, "email"),
                        s(u, "role"),
                        u["created_at"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let user_rows: Vec<CsvRow> = users
        .iter()
        .map(|(id, name, email, role, at)| CsvRow {
            id,
            name,
            email: Some(email),
            role: Some(role),
            created_at: *at,
        })
        .collect();
    let servers: Vec<(String, String, i64)> = doc["servers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    (
                        s(v, "id"),
                        s(v, "name"),
                        v["created_at"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let server_rows: Vec<CsvRow> = servers
        .iter()
        .map(|(id, name, at)| CsvRow {
            id,
            name,
            email: None,
            role: None,
            created_at: *at,
        })
        .collect();
    let mut z = super::zip::ZipWriter::default();
    z.add("account.json", &json);
    z.add("statistics-daily.csv", &csv_of(rows)?);
    z.add("users.csv", &csv_of(&user_rows)?);
    z.add("servers.csv", &csv_of(&server_rows)?);
    Ok(z.finish())
}
