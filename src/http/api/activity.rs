//! `GET /api/v1/activity`: the account's activity log, newest first, with filters, cursor
//! paging and CSV. The operator also sees instance-level events (accounts created, failed
//! logins for unknown addresses) merged in.

use super::ApiQuery;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::activity::{Action, Entry};
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::Principal;
use crate::model::report::parse_time;
use crate::store::meta::INSTANCE;

/// Query parameters.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
    /// Comma-separated action names.
    action: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    format: Option<String>,
}

/// One entry as listed.
#[derive(Serialize)]
struct Row {
    time: i64,
    /// `account` or `instance`.
    scope: &'static str,
    actor: String,
    action: String,
    target: String,
    ip: Option<String>,
    country: Option<String>,
}

fn encode_cursor(time: i64, nonce: u32) -> String {
    format!("{:016x}{nonce:08x}", (time as u64) ^ (1 << 63))
}

fn decode_cursor(text: &str) -> Option<(i64, u32)> {
    if text.len() != 24 || !text.is_ascii() {
        return None;
    }
    let bits = u64::from_str_radix(&text[..16], 16).ok()?;
    let nonce = u32::from_str_radix(&text[16..], 16).ok()?;
    Some(((bits ^ (1 << 63)) as i64, nonce))
}

/// `GET /api/v1/activity?from&to&action&limit&cursor&format=csv` (owners, admins, operator)
pub async fn list(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    if (!p.user.role.can_write() || !p.slices.is_empty()) && !p.user.operator {
        return Err(ApiError::forbidden(
            "only owners and admins see the activity log",
        ));
    }
    let from = match &params.from {
        Some(t) => parse_time(t).map_err(|m| ApiError::field("from", m))?,
        None => i64::MIN,
    };
    let to = match &params.to {
        Some(t) => parse_time(t).map_err(|m| ApiError::field("to", m))?,
        None => i64::MAX,
    };
    let limit = match &params.limit {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::field("limit", "must be a whole number from 1 to 1000"))?,
        None => 100,
    };
    let actions: Vec<&'static str> = match params.action.as_deref().filter(|a| !a.is_empty()) {
        Some(list) => list
            .split(',')
            .map(|a| {
                Action::parse(a.trim()).map(Action::as_str).ok_or_else(|| {
                    ApiError::field("action", format!("`{}` is not a recorded action", a.trim()))
                })
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("`{other}` is not json or csv"),
            ));
        }
    };
    let mut before = (to, 0u32);
    if let Some(c) = &params.cursor {
        before = decode_cursor(c)
            .ok_or_else(|| ApiError::field("cursor", "not a cursor returned by this endpoint"))?;
    }
    let keep = |e: &Entry| actions.is_empty() || actions.contains(&e.action.as_str());
    let mut rows: Vec<((i64, u32), &'static str, Entry)> = state
        .meta
        .activity_page(p.account.id, from, before, limit, &keep)?
        .into_iter()
        .map(|(k, e)| (k, "account", e))
        .collect();
    if p.user.operator && p.account.id != INSTANCE {
        rows.extend(
            state
                .meta
                .activity_page(INSTANCE, from, before, limit, &keep)?
                .into_iter()
                .map(|(k, e)| (k, "instance", e)),
        );
        rows.sort_by_key(|r| std::cmp::Reverse(r.0));
        rows.truncate(limit);
    }
    let next_cursor = (rows.len() == limit)
        .then(|| rows.last().map(|(k, _, _)| encode_cursor(k.0, k.1)))
        .flatten();
    let out: Vec<Row> = rows
        .into_iter()
        .map(|(_, scope, e)| Row {
            time: e.time,
            scope,
            actor: e.actor,
            action: e.action,
            target: e.target,
            ip: e.ip,
            country: e.country,
        })
        .collect();
    if csv {
        p.record(&state, Action::Export, "activity log (csv)");
        return super::stats::csv_response("activity", &out);
    }
    Ok(HttpResponse::Ok().json(json!({"entries": out, "next_cursor": next_cursor})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for (t, n) in [(0i64, 0u32), (-5, 7), (1_800_000_000, u32::MAX)] {
            assert_eq!(decode_cursor(&encode_cursor(t, n)), Some((t, n)));
        }
        assert_eq!(decode_cursor("zz"), None);
    }
}
