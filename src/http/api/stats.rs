//! Statistics endpoints: summary, time series, breakdowns, live numbers, streams, daily and
//! billing reports. Every one answers JSON, or CSV of the same rows with `format=csv`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::Principal;
use crate::model::account::Id;
use crate::model::report::parse_time;
use crate::model::series::Filter;
use crate::query::{Dimension, Metric, Query, QueryError, Range, live_totals};

/// Query-string parameters shared by the statistics endpoints.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
    server: Option<String>,
    app: Option<String>,
    stream: Option<String>,
    format: Option<String>,
    metric: Option<String>,
    step: Option<String>,
    dimension: Option<String>,
    limit: Option<String>,
    tz: Option<String>,
    q: Option<String>,
    /// Read by the authentication extractor (operators acting on another account).
    #[allow(dead_code)]
    account: Option<String>,
}

struct Parsed {
    range: Range,
    filter: Filter,
    csv: bool,
}

fn parse_common(p: &Params, principal: &Principal, state: &State) -> Result<Parsed, ApiError> {
    let now = crate::now();
    let to = match &p.to {
        Some(t) => parse_time(t).map_err(|m| ApiError::field("to", m))?,
        None => now + 1,
    };
    let from = match &p.from {
        Some(t) => parse_time(t).map_err(|m| ApiError::field("from", m))?,
        None => to - 86_400,
    };
    if from >= to {
        return Err(ApiError::field("from", "must be before `to`"));
    }
    if to - from > 20 * 366 * 86_400 {
        return Err(ApiError::field("from", "the range may span at most 20 years"));
    }
    let server = match &p.server {
        Some(id) if !id.is_empty() => Some(super::servers::owned_server(state, principal, id)?.id),
        _ => None,
    };
    let clean = |v: &Option<String>, name: &'static str| -> Result<Option<String>, ApiError> {
        match v {
            Some(s) if s.len() > 1024 => Err(ApiError::field(name, "longer than 1024 bytes")),
            Some(s) if !s.is_empty() => Ok(Some(s.clone())),
            _ => Ok(None),
        }
    };
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::field("format", format!("`{other}` is not json or csv"))),
    };
    Ok(Parsed {
        range: Range { from, to },
        filter: Filter { server, app: clean(&p.app, "app")?, stream: clean(&p.stream, "stream")? },
        csv,
    })
}

fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::Invalid { field, message } => ApiError::field(field, message),
        QueryError::Store(s) => s.into(),
    }
}

/// Renders rows as CSV with a header line.
pub fn csv_response<T: Serialize>(name: &str, rows: &[T]) -> Result<HttpResponse, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(ApiError::internal)?;
    }
    let bytes = w.into_inner().map_err(|e| ApiError::internal(anyhow::anyhow!(e.to_string())))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"tally-{name}.csv\"")))
        .body(bytes))
}

async fn run<T: Send + 'static>(state: &State, f: impl FnOnce(&Query) -> Result<T, QueryError> + Send + 'static) -> Result<T, ApiError> {
    // Reports acknowledged before this query must be visible in it.
    state.writer.sync().await.map_err(|e| ApiError::Unavailable(format!("storage is catching up: {e}")))?;
    let st = state.clone();
    web::block(move || {
        let q = Query { parts: &st.parts, dict: &st.dict };
        f(&q)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(query_error)
}

/// `GET /api/v1/stats/summary`
pub async fn summary(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    p.require_audience()?;
    let q = parse_common(&params, &p, &state)?;
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let s = run(&state, move |qq| qq.summary(account, &filter, range).map_err(QueryError::from)).await?;
    if q.csv {
        return csv_response("summary", &[s]);
    }
    Ok(HttpResponse::Ok().json(s))
}

#[derive(Serialize)]
struct PointRow {
    time: i64,
    value: f64,
}

/// `GET /api/v1/stats/timeseries`
pub async fn timeseries(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    let metric_name = params.metric.clone().unwrap_or_else(|| "viewers".into());
    let metric = Metric::parse(&metric_name)
        .ok_or_else(|| ApiError::field("metric", format!("`{metric_name}` is not one of: {}", Metric::NAMES)))?;
    if !matches!(metric, Metric::Bandwidth | Metric::BytesOut | Metric::BytesIn) {
        p.require_audience()?;
    }
    let span = q.range.to - q.range.from;
    let step = match &params.step {
        Some(s) => s.parse::<i64>().map_err(|_| ApiError::field("step", format!("`{s}` is not a whole number of seconds")))?,
        None if metric == Metric::UniqueViewers => 86_400,
        None => {
            // About 300 points, rounded to a step the rollups can answer exactly.
            let raw = (span / 300).max(60);
            [60, 300, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800].into_iter().find(|s| *s >= raw).unwrap_or(604_800)
        }
    };
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let points = run(&state, move |qq| qq.timeseries(account, &filter, metric, step, range)).await?;
    if q.csv {
        let rows: Vec<PointRow> = points.iter().map(|(t, v)| PointRow { time: *t, value: *v }).collect();
        return csv_response(&metric_name, &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"metric": metric_name, "step": step, "points": points})))
}

fn server_names(state: &State, account: Id) -> Result<HashMap<Id, String>, ApiError> {
    Ok(state.meta.servers()?.into_iter().filter(|s| s.account_id == account).map(|s| (s.id, s.name)).collect())
}

/// `GET /api/v1/stats/breakdown`
pub async fn breakdown(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    p.require_audience()?;
    let q = parse_common(&params, &p, &state)?;
    let dim_name = params.dimension.clone().ok_or_else(|| ApiError::field("dimension", format!("required: one of {}", Dimension::NAMES)))?;
    let dim = Dimension::parse(&dim_name)
        .ok_or_else(|| ApiError::field("dimension", format!("`{dim_name}` is not one of: {}", Dimension::NAMES)))?;
    let limit = match &params.limit {
        Some(l) => l.parse::<usize>().ok().filter(|n| (1..=10_000).contains(n)).ok_or_else(|| ApiError::field("limit", "must be a whole number from 1 to 10000"))?,
        None => 100,
    };
    let account = p.account.id;
    let names = server_names(&state, account)?;
    let (filter, range) = (q.filter.clone(), q.range);
    let rows = run(&state, move |qq| qq.breakdown(account, &filter, dim, range, limit, &names).map_err(QueryError::from)).await?;
    if q.csv {
        return csv_response(&dim_name, &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"dimension": dim_name, "rows": rows})))
}

/// `GET /api/v1/live`
pub async fn live(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    let now = crate::now();
    let (viewers, bps, streams) = live_totals(&state.writer.live, p.account.id, &q.filter, now);
    Ok(HttpResponse::Ok().json(json!({"time": now, "viewers": viewers, "bandwidth_bps": bps, "streams_live": streams})))
}

#[derive(Serialize, Clone)]
struct StreamRow {
    server_id: String,
    server: String,
    app: String,
    stream: String,
    live: bool,
    viewers: u64,
    ingress_kbps: Option<f64>,
    last_seen: Option<i64>,
}

/// `GET /api/v1/streams`
pub async fn streams(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    let re = match &params.q {
        Some(pat) if !pat.is_empty() => Some(
            regex::RegexBuilder::new(pat)
                .size_limit(1 << 20)
                .case_insensitive(true)
                .build()
                .map_err(|e| ApiError::field("q", format!("not a valid regular expression: {e}")))?,
        ),
        _ => None,
    };
    let account = p.account.id;
    let names = server_names(&state, account)?;
    let now = crate::now();
    let mut rows: HashMap<(Id, String, String), StreamRow> = HashMap::new();
    {
        let live = state.writer.live.read();
        for (sid, srv) in live.iter().filter(|(_, s)| s.account == Some(account)) {
            let fresh = now - srv.last_report_at <= 3 * srv.interval_s.max(30) as i64;
            for ((app, stream), s) in &srv.streams {
                rows.insert(
                    (*sid, app.clone(), stream.clone()),
                    StreamRow {
                        server_id: sid.to_string(),
                        server: names.get(sid).cloned().unwrap_or_else(|| sid.to_string()),
                        app: app.clone(),
                        stream: stream.clone(),
                        live: fresh && (s.publishing == Some(true) || s.viewers > 0),
                        viewers: if fresh { s.viewers as u64 } else { 0 },
                        ingress_kbps: s.ingress_kbps,
                        last_seen: Some(s.last_seen),
                    },
                );
            }
        }
    }
    let range = q.range;
    let seen = run(&state, move |qq| qq.streams_seen(account, range).map_err(QueryError::from)).await?;
    for info in seen {
        let (Some(sid), Some(app), Some(stream)) = (info.server, info.app, info.stream) else { continue };
        rows.entry((sid, app.clone(), stream.clone())).or_insert_with(|| StreamRow {
            server_id: sid.to_string(),
            server: names.get(&sid).cloned().unwrap_or_else(|| sid.to_string()),
            app,
            stream,
            live: false,
            viewers: 0,
            ingress_kbps: None,
            last_seen: None,
        });
    }
    let mut out: Vec<StreamRow> = rows
        .into_values()
        .filter(|r| names.contains_key(&Id::parse(&r.server_id).unwrap_or(Id(0))))
        .filter(|r| q.filter.server.is_none_or(|s| s.to_string() == r.server_id))
        .filter(|r| q.filter.app.as_ref().is_none_or(|a| *a == r.app))
        .filter(|r| re.as_ref().is_none_or(|re| re.is_match(&format!("{}/{}", r.app, r.stream))))
        .collect();
    out.sort_by(|a, b| b.live.cmp(&a.live).then(b.viewers.cmp(&a.viewers)).then(a.app.cmp(&b.app)).then(a.stream.cmp(&b.stream)));
    if q.csv {
        return csv_response("streams", &out);
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Serialize)]
struct DailyRow {
    date: String,
    views: u64,
    unique_viewers: u64,
    peak_viewers: u64,
    bytes_out: u64,
    view_time_s: u64,
    p95_bandwidth_bps: f64,
}

/// `GET /api/v1/stats/daily?tz=Area/City`
pub async fn daily(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    let tz_name = params.tz.clone().unwrap_or_else(|| "UTC".into());
    let tz = jiff::tz::TimeZone::get(&tz_name).map_err(|_| ApiError::field("tz", format!("`{tz_name}` is not an IANA time zone such as Europe/London")))?;
    if q.range.to - q.range.from > 400 * 86_400 {
        return Err(ApiError::field("from", "daily reports cover at most 400 days"));
    }
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let rows = run(&state, move |qq| {
        let mut rows = Vec::new();
        let start = jiff::Timestamp::from_second(range.from).map_err(|e| QueryError::Invalid { field: "from", message: e.to_string() })?;
        let mut day = start.to_zoned(tz.clone()).date();
        loop {
            let day_start = day.to_zoned(tz.clone()).map(|z| z.timestamp().as_second()).unwrap_or(range.to);
            if day_start >= range.to {
                break;
            }
            let next = day.tomorrow().map_err(|e| QueryError::Invalid { field: "to", message: e.to_string() })?;
            let day_end = next.to_zoned(tz.clone()).map(|z| z.timestamp().as_second()).unwrap_or(range.to);
            let r = Range { from: day_start.max(range.from), to: day_end.min(range.to) };
            let s = qq.summary(account, &filter, r)?;
            rows.push(DailyRow {
                date: day.to_string(),
                views: s.views,
                unique_viewers: s.unique_viewers,
                peak_viewers: s.peak_viewers,
                bytes_out: s.bytes_out,
                view_time_s: s.view_time_s,
                p95_bandwidth_bps: s.p95_bandwidth_bps,
            });
            day = next;
        }
        Ok(rows)
    })
    .await?;
    if q.csv {
        return csv_response("daily", &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"tz": tz_name, "rows": rows})))
}

/// `GET /api/v1/stats/billing`
pub async fn billing(state: State, p: Principal, params: web::Query<Params>) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    if q.range.to - q.range.from > 400 * 86_400 {
        return Err(ApiError::field("from", "billing reports cover at most 400 days"));
    }
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let (points, (peak, p95)) = run(&state, move |qq| {
        Ok((qq.billing_points(account, &filter, range)?, qq.bandwidth_stats(account, &filter, range)?))
    })
    .await?;
    if q.csv {
        let rows: Vec<PointRow> = points.iter().map(|(t, v)| PointRow { time: *t, value: *v }).collect();
        return csv_response("billing", &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"step": 300, "peak_bps": peak, "p95_bps": p95, "points": points})))
}
