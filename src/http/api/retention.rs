//! Retention settings (`GET/PUT /api/v1/settings/retention`, a preview of a change's effect)
//! and the operator's retention run (`POST /api/v1/admin/retention/run`).

use super::ApiQuery;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::lifecycle::retention::{self, DataClass, MAX_DAYS, Retention};

/// Which values a request reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The caller's account (shortenings of the instance values).
    Account,
    /// The instance values: defaults and maxima (operator).
    Instance,
}

/// Query string of the settings endpoints.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    scope: Option<String>,
}

fn parse_scope(q: &ScopeQuery) -> Result<Scope, ApiError> {
    match q.scope.as_deref() {
        None | Some("account") => Ok(Scope::Account),
        Some("instance") => Ok(Scope::Instance),
        Some(other) => Err(ApiError::field(
            "scope",
            format!("`{other}` is not account or instance"),
        )),
    }
}

/// The body of PUT (and preview): the object GET returns, read-only parts included.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    minute_days: Option<u32>,
    five_minute_days: Option<u32>,
    hour_days: Option<u32>,
    day_days: Option<u32>,
    unique_viewers_days: Option<u32>,
    activity_days: Option<u32>,
    alert_history_days: Option<u32>,
    scope: Option<String>,
    // Read-only parts of the GET response, accepted and ignored so that PUT takes what GET gave.
    #[allow(dead_code)]
    account_id: Option<Value>,
    #[allow(dead_code)]
    maximum: Option<Value>,
    #[allow(dead_code)]
    classes: Option<Value>,
}

impl RetentionBody {
    fn get(&self, c: DataClass) -> Option<u32> {
        match c {
            DataClass::Minute => self.minute_days,
            DataClass::FiveMinute => self.five_minute_days,
            DataClass::Hour => self.hour_days,
            DataClass::Day => self.day_days,
            DataClass::UniqueViewers => self.unique_viewers_days,
            DataClass::Activity => self.activity_days,
            DataClass::AlertHistory => self.alert_history_days,
        }
    }
}

fn days_json(r: &Retention, into: &mut Map<String, Value>) {
    for c in DataClass::ALL {
        into.insert(c.key().into(), json!(r.get(c)));
    }
}

fn settings_json(state: &State, p: &Principal, scope: Scope) -> Result<Value, ApiError> {
    let inst = retention::instance(&state.meta)?;
    let mut out = Map::new();
    match scope {
        Scope::Account => {
            out.insert("scope".into(), json!("account"));
            out.insert("account_id".into(), json!(p.account.id.to_string()));
            days_json(&retention::effective(&state.meta, p.account.id)?, &mut out);
            let mut max = Map::new();
            days_json(&inst, &mut max);
            out.insert("maximum".into(), Value::Object(max));
        }
        Scope::Instance => {
            out.insert("scope".into(), json!("instance"));
            days_json(&inst, &mut out);
            let mut max = Map::new();
            for c in DataClass::ALL {
                max.insert(c.key().into(), json!(MAX_DAYS));
            }
            out.insert("maximum".into(), Value::Object(max));
        }
    }
    let classes: Vec<Value> = DataClass::ALL
        .iter()
        .map(|c| json!({"key": c.key(), "class": c.name(), "holds": c.holds(), "default_days": c.default_days()}))
        .collect();
    out.insert("classes".into(), Value::Array(classes));
    Ok(Value::Object(out))
}

/// `GET /api/v1/settings/retention[?scope=instance]`
pub async fn get(
    state: State,
    p: Principal,
    q: ApiQuery<ScopeQuery>,
) -> Result<HttpResponse, ApiError> {
    let scope = parse_scope(&q)?;
    if scope == Scope::Instance {
        p.require_operator()?;
    }
    Ok(HttpResponse::Ok().json(settings_json(&state, &p, scope)?))
}

/// Validates a body against the current values: returns the new values of the scope.
fn apply(
    state: &State,
    p: &Principal,
    scope: Scope,
    b: &RetentionBody,
) -> Result<Retention, ApiError> {
    if let Some(s) = &b.scope {
        let named = if s == "instance" {
            Scope::Instance
        } else if s == "account" {
            Scope::Account
        } else {
            return Err(ApiError::field(
                "scope",
                format!("`{s}` is not account or instance"),
            ));
        };
        if named != scope {
            return Err(ApiError::field(
                "scope",
                "does not match the scope this request addresses (use ?scope=instance for the instance values)",
            ));
        }
    }
    let inst = retention::instance(&state.meta)?;
    let mut new = match scope {
        Scope::Instance => inst,
        Scope::Account => retention::effective(&state.meta, p.account.id)?,
    };
    for c in DataClass::ALL {
        let Some(v) = b.get(c) else { continue };
        let max = if scope == Scope::Instance {
            MAX_DAYS
        } else {
            inst.get(c)
        };
        if v < 1 {
            return Err(ApiError::field(c.key(), "must be at least 1 day"));
        }
        if v > max {
            let why = if scope == Scope::Instance {
                format!("must be at most {MAX_DAYS} days")
            } else {
                format!(
                    "may not exceed the instance maximum of {max} days; ask the operator to raise it"
                )
            };
            return Err(ApiError::field(c.key(), why));
        }
        new.set(c, v);
    }
    Ok(new)
}

/// `PUT /api/v1/settings/retention[?scope=instance]`: takes the object GET returns.
pub async fn put(
    state: State,
    p: Principal,
    q: ApiQuery<ScopeQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let scope = parse_scope(&q)?;
    match scope {
        Scope::Instance => p.require_operator()?,
        Scope::Account => p.require_write()?,
    }
    let b: RetentionBody = parse_json(&body)?;
    let new = apply(&state, &p, scope, &b)?;
    let (old, changed) = match scope {
        Scope::Instance => {
            let old = retention::instance(&state.meta)?;
            retention::set_instance(&state.meta, &new)?;
            (old, changed_keys(&old, &new))
        }
        Scope::Account => {
            let inst = retention::instance(&state.meta)?;
            let old = retention::effective(&state.meta, p.account.id)?;
            // Values equal to the instance's follow it (so later instance changes apply too).
            let mut o = retention::Overrides::default();
            for c in DataClass::ALL {
                o.set(c, (new.get(c) < inst.get(c)).then(|| new.get(c)));
            }
            retention::set_overrides(&state.meta, p.account.id, &o)?;
            (old, changed_keys(&old, &new))
        }
    };
    if !changed.is_empty() {
        let detail: Vec<String> = changed
            .iter()
            .map(|c| format!("{} {}→{}", c.key(), old.get(*c), new.get(*c)))
            .collect();
        let target = format!("retention: {}", detail.join(", "));
        match scope {
            Scope::Instance => {
                super::privacy::record_instance(&state, &p, Action::RetentionChanged, target)
            }
            Scope::Account => {
                super::privacy::record_activity(&state, &p, Action::RetentionChanged, target)
            }
        }
    }
    Ok(HttpResponse::Ok().json(settings_json(&state, &p, scope)?))
}

fn changed_keys(old: &Retention, new: &Retention) -> Vec<DataClass> {
    DataClass::ALL
        .into_iter()
        .filter(|c| old.get(*c) != new.get(*c))
        .collect()
}

/// `POST /api/v1/settings/retention/preview`: what the next run would delete from the
/// caller's account with these values (the effect of a change), without saving anything.
pub async fn preview(
    state: State,
    p: Principal,
    q: ApiQuery<ScopeQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let scope = parse_scope(&q)?;
    // A preview scans the account's partitions: for those who may change the settings.
    match scope {
        Scope::Instance => p.require_operator()?,
        Scope::Account => p.require_write()?,
    }
    let b: RetentionBody = parse_json(&body)?;
    let days = apply(&state, &p, scope, &b)?;
    let days = match scope {
        Scope::Instance => days.shortened_by(&retention::overrides(&state.meta, p.account.id)?),
        Scope::Account => days,
    };
    let lc = state.lifecycle.clone();
    let account = p.account.id;
    let classes = web::block(move || retention::preview(&lc, account, &days, crate::now()))
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({"account_id": account.to_string(), "classes": classes})))
}

/// Query string of the run endpoint.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    dry_run: Option<bool>,
}

/// `POST /api/v1/admin/retention/run[?dry_run=true]` (operator)
pub async fn run(
    state: State,
    p: Principal,
    q: ApiQuery<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_operator()?;
    let dry_run = q.dry_run.unwrap_or(false);
    let lc = state.lifecycle.clone();
    let report = web::block(move || retention::try_run(&lc, crate::now(), dry_run))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::Conflict(
                "a retention run, erasure or backup is in progress; try again shortly".into(),
            )
        })?;
    if !dry_run {
        super::privacy::record_instance(
            &state,
            &p,
            Action::Deletion,
            format!(
                "retention run: {} partitions dropped, {} compacted, {} bytes",
                report.partitions_dropped, report.partitions_compacted, report.bytes
            ),
        );
    }
    Ok(HttpResponse::Ok().json(report))
}
