//! Statistics endpoints: summary, time series, breakdowns, live numbers, streams, daily and
//! billing reports. Every one answers JSON, or CSV of the same rows with `format=csv` (an
//! export, recorded in the activity log).
//!
//! Slice-limited users: the request's filter is intersected with their slices here. The
//! admitted (server, app, stream) series are enumerated and each answered on its own, then
//! summed; a `?server=` outside the slices is "not found". Sums are exact for counts, bytes
//! and view time; peaks and unique viewers of a sum are upper bounds (the sum of the parts),
//! as the query layer already does for filters without a single series.

use super::ApiQuery;
use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::slices::SliceSet;
use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::Principal;
use crate::model::account::Id;
use crate::model::report::parse_time;
use crate::model::rollup::{Resolution, Scalars};
use crate::model::series::Filter;
use crate::query::{
    Dimension, Metric, Query, QueryError, Range, Row, Summary, decompose, live_totals,
};

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
        return Err(ApiError::field(
            "from",
            "the range may span at most 20 years",
        ));
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
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("`{other}` is not json or csv"),
            ));
        }
    };
    Ok(Parsed {
        range: Range { from, to },
        filter: Filter {
            server,
            app: clean(&p.app, "app")?,
            stream: clean(&p.stream, "stream")?,
        },
        csv,
    })
}

/// The series a slice-limited caller may see under `filter`: `None` when the caller is not
/// limited, else one filter per admitted (server, app, stream) seen in the range or live now.
/// With `host`, the servers the slices include whole (for host metrics).
async fn slice_units(
    state: &State,
    p: &Principal,
    filter: &Filter,
    range: Range,
    host: bool,
) -> Result<Option<Vec<Filter>>, ApiError> {
    let Some(view) = SliceSet::of(p)? else {
        return Ok(None);
    };
    let account = p.account.id;
    let mut triples: Vec<(Id, String, String)> = Vec::new();
    {
        let live = state.writer.live.read();
        for (sid, srv) in live.iter().filter(|(_, s)| s.account == Some(account)) {
            for (app, stream) in srv.streams.keys() {
                triples.push((*sid, app.clone(), stream.clone()));
            }
        }
    }
    let seen = run(state, move |qq| {
        qq.streams_seen(account, range).map_err(QueryError::from)
    })
    .await?;
    for info in seen {
        if let (Some(sid), Some(app), Some(stream)) = (info.server, info.app, info.stream) {
            triples.push((sid, app, stream));
        }
    }
    let servers: Vec<Id> = state
        .meta
        .servers()?
        .iter()
        .filter(|s| s.account_id == account)
        .map(|s| s.id)
        .collect();
    triples.retain(|(sid, app, stream)| {
        servers.contains(sid)
            && filter.server.is_none_or(|f| f == *sid)
            && filter.app.as_ref().is_none_or(|f| f == app)
            && filter.stream.as_ref().is_none_or(|f| f == stream)
            && view.allows_stream(*sid, app, stream)
    });
    triples.sort();
    triples.dedup();
    if host {
        let mut ids: Vec<Id> = triples
            .iter()
            .map(|t| t.0)
            .filter(|s| view.allows_whole_server(*s))
            .collect();
        if filter.app.is_none() && filter.stream.is_none() {
            ids.extend(
                servers.iter().copied().filter(|s| {
                    filter.server.is_none_or(|f| f == *s) && view.allows_whole_server(*s)
                }),
            );
        }
        ids.sort();
        ids.dedup();
        return Ok(Some(
            ids.into_iter()
                .map(|s| Filter {
                    server: Some(s),
                    app: None,
                    stream: None,
                })
                .collect(),
        ));
    }
    Ok(Some(
        triples
            .into_iter()
            .map(|(s, a, st)| Filter {
                server: Some(s),
                app: Some(a),
                stream: Some(st),
            })
            .collect(),
    ))
}

/// Scalars per bucket summed over several series (peaks add up: an upper bound).
fn unit_scalars(
    qq: &Query,
    account: Id,
    units: &[Filter],
    res: Resolution,
    range: Range,
) -> Result<Vec<(i64, Scalars)>, QueryError> {
    let mut by_bucket: HashMap<i64, Scalars> = HashMap::new();
    for u in units {
        for (b, s) in qq.scalars(account, u, res, range)? {
            let e = by_bucket.entry(b).or_default();
            let peak = e.peak_viewers + s.peak_viewers;
            e.merge(&s);
            e.peak_viewers = peak;
        }
    }
    let mut v: Vec<_> = by_bucket.into_iter().collect();
    v.sort_by_key(|(b, _)| *b);
    Ok(v)
}

/// Bandwidth points with their peak and 95th percentile.
type Billing = (Vec<(i64, f64)>, f64, f64);

/// Five-minute bandwidth points summed over several series, with peak and 95th percentile.
fn unit_billing(
    qq: &Query,
    account: Id,
    units: &[Filter],
    range: Range,
) -> Result<Billing, QueryError> {
    let mut points: Vec<(i64, f64)> = Vec::new();
    for u in units {
        let pts = qq.billing_points(account, u, range)?;
        if points.is_empty() {
            points = pts;
        } else {
            for (acc, (_, v)) in points.iter_mut().zip(pts) {
                acc.1 += v;
            }
        }
    }
    if points.is_empty() {
        let res = Resolution::FiveMinutes;
        let from = res.bucket(range.from);
        let to = res.bucket(range.to - 1) + res.seconds();
        points = (from..to)
            .step_by(res.seconds() as usize)
            .map(|b| (b, 0.0))
            .collect();
    }
    let mut values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    values.sort_by(|a, b| a.total_cmp(b));
    let peak = values.last().copied().unwrap_or(0.0);
    let rank = ((values.len() as f64) * 0.95).ceil() as usize;
    let p95 = values
        .get(rank.clamp(1, values.len().max(1)) - 1)
        .copied()
        .unwrap_or(0.0);
    Ok((points, peak, p95))
}

/// A summary summed over several series.
fn unit_summary(
    qq: &Query,
    account: Id,
    units: &[Filter],
    range: Range,
) -> Result<Summary, QueryError> {
    let mut out = Summary::default();
    for u in units {
        let s = qq.summary(account, u, range)?;
        out.views += s.views;
        out.unique_viewers += s.unique_viewers;
        out.peak_viewers += s.peak_viewers;
        out.bytes_out += s.bytes_out;
        out.bytes_in += s.bytes_in;
        out.view_time_s += s.view_time_s;
    }
    let (_, peak, p95) = unit_billing(qq, account, units, range)?;
    out.peak_bandwidth_bps = peak;
    out.p95_bandwidth_bps = p95;
    Ok(out)
}

/// A breakdown merged over several series.
fn unit_breakdown(
    qq: &Query,
    account: Id,
    units: &[Filter],
    dim: Dimension,
    range: Range,
    limit: usize,
    names: &HashMap<Id, String>,
) -> Result<Vec<Row>, QueryError> {
    let secs = (range.to - range.from).max(1) as f64;
    let mut rows: HashMap<String, Row> = HashMap::new();
    let mut add = |r: Row| {
        let e = rows.entry(r.key.clone()).or_insert(Row {
            key: r.key.clone(),
            label: r.label.clone(),
            views: 0,
            viewers: 0.0,
            bytes_out: 0,
            view_time_s: 0,
        });
        e.views += r.views;
        e.viewers = ((e.viewers + r.viewers) * 1000.0).round() / 1000.0;
        e.bytes_out += r.bytes_out;
        e.view_time_s += r.view_time_s;
    };
    for u in units {
        match dim {
            Dimension::Server | Dimension::App | Dimension::Stream => {
                let mut total = Scalars::default();
                for (res, a, b) in decompose(range.from, range.to) {
                    for (_, s) in qq.scalars(account, u, res, Range { from: a, to: b })? {
                        total.merge(&s);
                    }
                }
                let (server, app, stream) = (
                    u.server.unwrap_or(Id(0)),
                    u.app.clone().unwrap_or_default(),
                    u.stream.clone().unwrap_or_default(),
                );
                let (key, label) = match dim {
                    Dimension::Server => (
                        server.to_string(),
                        names
                            .get(&server)
                            .cloned()
                            .unwrap_or_else(|| server.to_string()),
                    ),
                    Dimension::App => (app.clone(), app),
                    _ => (format!("{app}/{stream}"), format!("{app}/{stream}")),
                };
                add(Row {
                    key,
                    label,
                    views: total.views,
                    viewers: total.viewer_seconds as f64 / secs,
                    bytes_out: total.bytes_out,
                    view_time_s: total.view_time_s,
                });
            }
            _ => {
                for r in qq.breakdown(account, u, dim, range, 10_000, names)? {
                    add(r);
                }
            }
        }
    }
    let mut out: Vec<Row> = rows
        .into_values()
        .filter(|r| r.views > 0 || r.bytes_out > 0 || r.viewers > 0.0)
        .collect();
    if dim == Dimension::Duration {
        out.sort_by_key(|r| {
            crate::model::rollup::DURATION_LABELS
                .iter()
                .position(|l| *l == r.key)
        });
    } else {
        out.sort_by(|a, b| {
            b.views
                .cmp(&a.views)
                .then(b.bytes_out.cmp(&a.bytes_out))
                .then(a.key.cmp(&b.key))
        });
    }
    out.truncate(limit);
    Ok(out)
}

/// A CSV export: recorded in the activity log, then rendered.
fn export<T: Serialize>(
    state: &State,
    p: &Principal,
    name: &str,
    rows: &[T],
) -> Result<HttpResponse, ApiError> {
    p.record(state, Action::Export, format!("{name} (csv)"));
    csv_response(name, rows)
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
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.to_string())))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"tally-{name}.csv\""),
        ))
        .body(bytes))
}

/// Longest a query waits for the reports acknowledged before it to reach storage.
const SYNC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn run<T: Send + 'static>(
    state: &State,
    f: impl FnOnce(&Query) -> Result<T, QueryError> + Send + 'static,
) -> Result<T, ApiError> {
    // Reports acknowledged before this query must be visible in it.
    // Bounded: while the disk is full no checkpoint completes, and a query should say so
    // rather than hang.
    match tokio::time::timeout(SYNC_TIMEOUT, state.writer.sync()).await {
        Ok(res) => {
            res.map_err(|e| ApiError::Unavailable(format!("storage is catching up: {e}")))?
        }
        Err(_) => {
            return Err(ApiError::Unavailable(
                "storage is catching up (is the disk full?); retry shortly".into(),
            ));
        }
    }
    let st = state.clone();
    web::block(move || {
        let q = Query {
            parts: &st.parts,
            dict: &st.dict,
        };
        f(&q)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(query_error)
}

/// `GET /api/v1/stats/summary`
pub async fn summary(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    p.require_audience()?;
    let q = parse_common(&params, &p, &state)?;
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let units = slice_units(&state, &p, &filter, range, false).await?;
    let s = run(&state, move |qq| match &units {
        Some(u) => unit_summary(qq, account, u, range),
        None => qq
            .summary(account, &filter, range)
            .map_err(QueryError::from),
    })
    .await?;
    if q.csv {
        return export(&state, &p, "summary", &[s]);
    }
    Ok(HttpResponse::Ok().json(s))
}

#[derive(Serialize)]
struct PointRow {
    time: i64,
    value: f64,
}

/// `GET /api/v1/stats/timeseries`
pub async fn timeseries(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    let metric_name = params.metric.clone().unwrap_or_else(|| "viewers".into());
    let metric = Metric::parse(&metric_name).ok_or_else(|| {
        ApiError::field(
            "metric",
            format!("`{metric_name}` is not one of: {}", Metric::NAMES),
        )
    })?;
    if !matches!(
        metric,
        Metric::Bandwidth | Metric::BytesOut | Metric::BytesIn
    ) {
        p.require_audience()?;
    }
    let span = q.range.to - q.range.from;
    let step = match &params.step {
        Some(s) => s.parse::<i64>().map_err(|_| {
            ApiError::field("step", format!("`{s}` is not a whole number of seconds"))
        })?,
        None if metric == Metric::UniqueViewers => 86_400,
        None => {
            // About 300 points, rounded to a step the rollups can answer exactly.
            let raw = (span / 300).max(60);
            [60, 300, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800]
                .into_iter()
                .find(|s| *s >= raw)
                .unwrap_or(604_800)
        }
    };
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let host = matches!(metric, Metric::Cpu | Metric::Ram);
    let units = slice_units(&state, &p, &filter, range, host).await?;
    let points = run(&state, move |qq| match &units {
        Some(u) => unit_timeseries(qq, account, u, metric, step, range),
        None => qq.timeseries(account, &filter, metric, step, range),
    })
    .await?;
    if q.csv {
        let rows: Vec<PointRow> = points
            .iter()
            .map(|(t, v)| PointRow {
                time: *t,
                value: *v,
            })
            .collect();
        return export(&state, &p, &metric_name, &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"metric": metric_name, "step": step, "points": points})))
}

fn server_names(state: &State, account: Id) -> Result<HashMap<Id, String>, ApiError> {
    Ok(state
        .meta
        .servers()?
        .into_iter()
        .filter(|s| s.account_id == account)
        .map(|s| (s.id, s.name))
        .collect())
}

/// `GET /api/v1/stats/breakdown`
pub async fn breakdown(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    p.require_audience()?;
    let q = parse_common(&params, &p, &state)?;
    let dim_name = params.dimension.clone().ok_or_else(|| {
        ApiError::field(
            "dimension",
            format!("required: one of {}", Dimension::NAMES),
        )
    })?;
    let dim = Dimension::parse(&dim_name).ok_or_else(|| {
        ApiError::field(
            "dimension",
            format!("`{dim_name}` is not one of: {}", Dimension::NAMES),
        )
    })?;
    let limit = match &params.limit {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::field("limit", "must be a whole number from 1 to 10000"))?,
        None => 100,
    };
    let account = p.account.id;
    let names = server_names(&state, account)?;
    let (filter, range) = (q.filter.clone(), q.range);
    let units = slice_units(&state, &p, &filter, range, false).await?;
    let rows = run(&state, move |qq| match &units {
        Some(u) => unit_breakdown(qq, account, u, dim, range, limit, &names),
        None => qq
            .breakdown(account, &filter, dim, range, limit, &names)
            .map_err(QueryError::from),
    })
    .await?;
    if q.csv {
        return export(&state, &p, &dim_name, &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"dimension": dim_name, "rows": rows})))
}

/// `GET /api/v1/live`
pub async fn live(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    p.require_audience()?;
    let q = parse_common(&params, &p, &state)?;
    let now = crate::now();
    let (viewers, bps, streams) = match SliceSet::of(&p)? {
        None => live_totals(&state.writer.live, p.account.id, &q.filter, now),
        Some(view) => {
            let live = state.writer.live.read();
            let (mut viewers, mut bps, mut streams) = (0u64, 0.0f64, 0usize);
            for (id, srv) in live.iter().filter(|(id, s)| {
                s.account == Some(p.account.id) && q.filter.server.is_none_or(|f| f == **id)
            }) {
                if now - srv.last_report_at > 3 * srv.interval_s.max(30) as i64 {
                    continue;
                }
                for ((app, stream), s) in &srv.streams {
                    if q.filter.app.as_ref().is_some_and(|a| a != app)
                        || q.filter.stream.as_ref().is_some_and(|x| x != stream)
                        || !view.allows_stream(*id, app, stream)
                    {
                        continue;
                    }
                    viewers += s.viewers as u64;
                    bps += s.bytes_out as f64 * 8.0 / srv.interval_s.max(1) as f64;
                    if s.publishing == Some(true) || s.viewers > 0 {
                        streams += 1;
                    }
                }
            }
            (viewers, bps, streams)
        }
    };
    Ok(HttpResponse::Ok().json(
        json!({"time": now, "viewers": viewers, "bandwidth_bps": bps, "streams_live": streams}),
    ))
}

#[derive(Serialize, Clone)]
struct StreamRow {
    server_id: String,
    server: String,
    app: String,
    stream: String,
    live: bool,
    /// Current viewers; `None` for the billing role.
    viewers: Option<u64>,
    ingress_kbps: Option<f64>,
    last_seen: Option<i64>,
}

/// `GET /api/v1/streams`
pub async fn streams(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    let re = match &params.q {
        Some(pat) if !pat.is_empty() => Some(
            regex::RegexBuilder::new(pat)
                .size_limit(1 << 20)
                .case_insensitive(true)
                .build()
                .map_err(|e| {
                    ApiError::field("q", format!("not a valid regular expression: {e}"))
                })?,
        ),
        _ => None,
    };
    let account = p.account.id;
    let view = SliceSet::of(&p)?;
    // Billing users get no viewer counts, nor an order that would give them away.
    let audience = p.sees_audience();
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
                        viewers: audience.then_some(if fresh { s.viewers as u64 } else { 0 }),
                        ingress_kbps: s.ingress_kbps,
                        last_seen: Some(s.last_seen),
                    },
                );
            }
        }
    }
    let range = q.range;
    let seen = run(&state, move |qq| {
        qq.streams_seen(account, range).map_err(QueryError::from)
    })
    .await?;
    for info in seen {
        let (Some(sid), Some(app), Some(stream)) = (info.server, info.app, info.stream) else {
            continue;
        };
        rows.entry((sid, app.clone(), stream.clone()))
            .or_insert_with(|| StreamRow {
                server_id: sid.to_string(),
                server: names.get(&sid).cloned().unwrap_or_else(|| sid.to_string()),
                app,
                stream,
                live: false,
                viewers: audience.then_some(0),
                ingress_kbps: None,
                last_seen: None,
            });
    }
    let mut out: Vec<StreamRow> = rows
        .into_values()
        .filter(|r| names.contains_key(&Id::parse(&r.server_id).unwrap_or(Id(0))))
        .filter(|r| q.filter.server.is_none_or(|s| s.to_string() == r.server_id))
        .filter(|r| q.filter.app.as_ref().is_none_or(|a| *a == r.app))
        .filter(|r| {
            re.as_ref()
                .is_none_or(|re| re.is_match(&format!("{}/{}", r.app, r.stream)))
        })
        .filter(|r| {
            view.as_ref().is_none_or(|v| {
                v.allows_stream(Id::parse(&r.server_id).unwrap_or(Id(0)), &r.app, &r.stream)
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.live
            .cmp(&a.live)
            .then(b.viewers.cmp(&a.viewers))
            .then(a.app.cmp(&b.app))
            .then(a.stream.cmp(&b.stream))
    });
    if q.csv {
        return export(&state, &p, "streams", &out);
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
pub async fn daily(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    p.require_audience()?;
    let q = parse_common(&params, &p, &state)?;
    let view = SliceSet::of(&p)?;
    // A slice's own time zone is the default for its users' daily reports.
    let tz_name = params
        .tz
        .clone()
        .or_else(|| view.as_ref().map(|v| v.timezone.clone()))
        .unwrap_or_else(|| "UTC".into());
    let tz = jiff::tz::TimeZone::get(&tz_name).map_err(|_| {
        ApiError::field(
            "tz",
            format!("`{tz_name}` is not an IANA time zone such as Europe/London"),
        )
    })?;
    if q.range.to - q.range.from > 400 * 86_400 {
        return Err(ApiError::field(
            "from",
            "daily reports cover at most 400 days",
        ));
    }
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let units = slice_units(&state, &p, &filter, range, false).await?;
    let rows = run(&state, move |qq| {
        let mut rows = Vec::new();
        let start = jiff::Timestamp::from_second(range.from).map_err(|e| QueryError::Invalid {
            field: "from",
            message: e.to_string(),
        })?;
        let mut day = start.to_zoned(tz.clone()).date();
        loop {
            let day_start = day
                .to_zoned(tz.clone())
                .map(|z| z.timestamp().as_second())
                .unwrap_or(range.to);
            if day_start >= range.to {
                break;
            }
            let next = day.tomorrow().map_err(|e| QueryError::Invalid {
                field: "to",
                message: e.to_string(),
            })?;
            let day_end = next
                .to_zoned(tz.clone())
                .map(|z| z.timestamp().as_second())
                .unwrap_or(range.to);
            let r = Range {
                from: day_start.max(range.from),
                to: day_end.min(range.to),
            };
            let s = match &units {
                Some(u) => unit_summary(qq, account, u, r)?,
                None => qq.summary(account, &filter, r)?,
            };
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
        return export(&state, &p, "daily", &rows);
    }
    Ok(HttpResponse::Ok().json(json!({"tz": tz_name, "rows": rows})))
}

/// `GET /api/v1/stats/billing`
pub async fn billing(
    state: State,
    p: Principal,
    params: ApiQuery<Params>,
) -> Result<HttpResponse, ApiError> {
    let q = parse_common(&params, &p, &state)?;
    if q.range.to - q.range.from > 400 * 86_400 {
        return Err(ApiError::field(
            "from",
            "billing reports cover at most 400 days",
        ));
    }
    let account = p.account.id;
    let (filter, range) = (q.filter.clone(), q.range);
    let units = slice_units(&state, &p, &filter, range, false).await?;
    let (points, (peak, p95)) = run(&state, move |qq| match &units {
        Some(u) => unit_billing(qq, account, u, range).map(|(pts, peak, p95)| (pts, (peak, p95))),
        None => Ok((
            qq.billing_points(account, &filter, range)?,
            qq.bandwidth_stats(account, &filter, range)?,
        )),
    })
    .await?;
    if q.csv {
        let rows: Vec<PointRow> = points
            .iter()
            .map(|(t, v)| PointRow {
                time: *t,
                value: *v,
            })
            .collect();
        return export(&state, &p, "billing", &rows);
    }
    Ok(HttpResponse::Ok()
        .json(json!({"step": 300, "peak_bps": peak, "p95_bps": p95, "points": points})))
}

/// A metric's time series summed over several series (host and input metrics averaged over
/// their samples), computed like `Query::timeseries` for one series.
fn unit_timeseries(
    qq: &Query,
    account: Id,
    units: &[Filter],
    metric: Metric,
    step: i64,
    range: Range,
) -> Result<Vec<(i64, f64)>, QueryError> {
    if step < 60 || step % 60 != 0 {
        return Err(QueryError::Invalid {
            field: "step",
            message: "step must be a multiple of 60 seconds".into(),
        });
    }
    let first = range.from.div_euclid(step) * step;
    let n = (range.to - first + step - 1) / step;
    if n > 20_000 {
        return Err(QueryError::Invalid {
            field: "step",
            message: format!("{n} points requested; use a larger step (at most 20000 points)"),
        });
    }
    if metric == Metric::UniqueViewers {
        let mut out: Vec<(i64, f64)> = (0..n).map(|i| (first + i * step, 0.0)).collect();
        for u in units {
            for (acc, (_, v)) in out
                .iter_mut()
                .zip(qq.timeseries(account, u, metric, step, range)?)
            {
                acc.1 += v;
            }
        }
        return Ok(out);
    }
    let to = first + n * step;
    let res = Resolution::ALL
        .into_iter()
        .rev()
        .find(|r| step % r.seconds() == 0)
        .unwrap_or(Resolution::Minute);
    let mut acc: Vec<Scalars> = vec![Scalars::default(); n as usize];
    for (bucket, s) in unit_scalars(qq, account, units, res, Range { from: first, to })? {
        if let Some(a) = acc.get_mut((bucket - first).div_euclid(step) as usize) {
            a.merge(&s);
        }
    }
    let stepf = step as f64;
    let avg = |sum: f64, n: u32| if n == 0 { 0.0 } else { sum / n as f64 };
    Ok(acc
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = match metric {
                Metric::Viewers => s.viewer_seconds as f64 / stepf,
                Metric::PeakViewers => s.peak_viewers as f64,
                Metric::Views => s.views as f64,
                Metric::Bandwidth => s.bytes_out as f64 * 8.0 / stepf,
                Metric::BytesOut => s.bytes_out as f64,
                Metric::BytesIn => s.bytes_in as f64,
                Metric::ViewTime => s.view_time_s as f64,
                Metric::Cpu => avg(s.cpu_sum, s.host_samples),
                Metric::Ram => avg(s.ram_used_sum as f64, s.host_samples),
                Metric::IngressKbps => avg(s.ingress_kbps_sum, s.ingress_samples),
                Metric::PublishUp => f64::from(s.publish_up),
                Metric::PublishDown => f64::from(s.publish_down),
                Metric::UniqueViewers => 0.0,
            };
            (first + i as i64 * step, (v * 1000.0).round() / 1000.0)
        })
        .collect())
}
