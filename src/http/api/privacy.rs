//! Privacy endpoints: the generated privacy notice, rectification and erasure of one's own
//! user (`PATCH/DELETE /api/v1/me`), and erasure of a whole account by the operator.

use super::ApiQuery;
use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::activity::{Action, Event};
use crate::config::TlsMode;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, SESSION_COOKIE, normalize_email, parse_json, user_json};
use crate::lifecycle::erase::{self, EraseError};
use crate::lifecycle::notice::{self, NoticeInput, Processor};
use crate::lifecycle::retention;
use crate::model::account::{Account, Id, Scope};
use crate::store::meta::INSTANCE;

/// Records an action of `p` in the activity log of the account acted on.
pub fn record_activity(state: &State, p: &Principal, action: Action, target: String) {
    p.record(state, action, target);
}

/// Records an instance-level action of the operator in the instance's activity log.
pub fn record_instance(state: &State, p: &Principal, action: Action, target: String) {
    crate::activity::record(
        &state.meta,
        &state.geo,
        crate::now(),
        Event {
            account: INSTANCE,
            actor: &p.user.email,
            action,
            target,
            ip: p.ip,
        },
    );
}

impl From<EraseError> for ApiError {
    fn from(e: EraseError) -> Self {
        match e {
            EraseError::Refused(m) => ApiError::Conflict(m),
            EraseError::Store(s) => s.into(),
            EraseError::Writer(w) => {
                ApiError::Unavailable(format!("ingest did not confirm the erasure ({w}); retry"))
            }
            EraseError::Task(t) => ApiError::internal(anyhow::anyhow!(t)),
        }
    }
}

/// The processors data is sent to: the operator's SMTP relay, and the receivers of the
/// account's alert webhooks (by host). Tally sends data nowhere else.
fn processors(
    state: &State,
    cfg: &crate::config::Config,
    account: Option<&Account>,
) -> Result<Vec<Processor>, ApiError> {
    let mut out = Vec::new();
    if let Some(relay) = &cfg.smtp {
        out.push(Processor {
            name: relay.host.clone(),
            purpose: "delivers alert e-mails: rule names, server and stream names, figures and the recipients' addresses.".into(),
        });
    }
    if let Some(a) = account {
        let mut hosts: Vec<String> = state
            .meta
            .alert_rules_of(a.id)?
            .iter()
            .filter_map(|r| r.channel.url.as_deref())
            .filter_map(crate::config::url_host)
            .collect();
        hosts.sort();
        hosts.dedup();
        for host in hosts {
            out.push(Processor {
                name: host,
                purpose: "receives alert notifications (webhook): rule names, server and stream names and figures, never a viewer's address.".into(),
            });
        }
    }
    Ok(out)
}

/// What the notice is generated from, for an account's brand (or the instance's).
fn notice_input(state: &State, account: Option<&Account>) -> Result<NoticeInput, ApiError> {
    let brand = super::branding::resolve(state, account.map(|a| a.id))?;
    let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let cfg = &state.config;
    let mut other_services = Vec::new();
    if let TlsMode::Acme { directory, .. } = &cfg.tls {
        let host = crate::config::url_host(directory).unwrap_or_else(|| directory.clone());
        other_services.push(Processor {
            name: format!("the certificate authority at {host}"),
            purpose: "it issues the panel's TLS certificates and receives the panel's domain names, no personal data.".into(),
        });
    }
    let retention = match account {
        Some(a) => retention::effective(&state.meta, a.id)?,
        None => retention::instance(&state.meta)?,
    };
    Ok(NoticeInput {
        product: brand.product_name.clone(),
        controller: account.map(|a| a.name.clone()),
        contact: text(&brand.privacy_contact).or_else(|| text(&brand.support_contact)),
        retention,
        geoip_city: cfg.geoip_city.is_some(),
        geoip_asn: cfg.geoip_asn.is_some(),
        tls: !matches!(cfg.tls, TlsMode::Off),
        processors: processors(state, cfg, account)?,
        other_services,
        custom_text: text(&brand.privacy_notice),
    })
}

/// `GET /api/v1/privacy-notice` (public): the notice as Markdown, for the caller's account when
/// logged in (operators: `?account=`), else for the account whose domain the request names,
/// else for the instance.
pub async fn privacy_notice(
    state: State,
    req: HttpRequest,
    p: Option<Principal>,
) -> Result<HttpResponse, ApiError> {
    let account = match p {
        Some(p) => Some(p.account),
        None => super::branding::account_for_host(&state, &req)?,
    };
    let input = notice_input(&state, account.as_ref())?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(json!({
            "markdown": notice::render(&input),
            "generated_at": crate::now(),
            "account_id": account.map(|a| a.id.to_string()),
        })))
}

/// `PATCH /api/v1/me` body: the fields a user corrects themselves.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    name: Option<String>,
    email: Option<String>,
    /// Required to change the e-mail address (it is the login).
    current_password: Option<String>,
}

/// `PATCH /api/v1/me`: rectification of one's own profile (name, e-mail address).
pub async fn update_me(
    state: State,
    p: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if p.scope < Scope::Write {
        return Err(ApiError::forbidden("this token is read-only"));
    }
    let b: ProfilePatch = parse_json(&body)?;
    let mut user = p.user.clone();
    let mut changed = Vec::new();
    if let Some(name) = b.name {
        let name = name.trim().to_string();
        if name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(ApiError::field(
                "name",
                "use at most 200 printable characters",
            ));
        }
        if name != user.name {
            user.name = name;
            changed.push("name");
        }
    }
    if let Some(email) = b.email {
        let email = normalize_email(&email).map_err(|m| ApiError::field("email", m))?;
        if email != user.email {
            let password = b.current_password.ok_or_else(|| {
                ApiError::field(
                    "current_password",
                    "give your current password to change your e-mail address",
                )
            })?;
            let hash = user.password_hash.clone();
            let ok = web::block(move || crate::auth::verify_password(&password, &hash))
                .await
                .map_err(ApiError::internal)?;
            if !ok {
                return Err(ApiError::field(
                    "current_password",
                    "is not your current password",
                ));
            }
            if state.meta.user_by_email(&email)?.is_some() {
                return Err(ApiError::Conflict(
                    "another user already has this e-mail address".into(),
                ));
            }
            user.email = email;
            changed.push("email");
        }
    }
    if !changed.is_empty() {
        state.meta.update_user(&user)?;
        state.meta.flush()?;
        // The previous values stay in the meta files until the next compaction (within a day).
        let _ = state.lifecycle.stats.meta_dirty_since.compare_exchange(
            0,
            crate::now(),
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        );
        record_activity(
            &state,
            &p,
            Action::UserUpdated,
            format!("own profile: {}", changed.join(", ")),
        );
    }
    Ok(HttpResponse::Ok().json(user_json(&user, &p.account)))
}

/// `DELETE /api/v1/me`: erasure of one's own user.
pub async fn delete_me(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    if p.scope < Scope::Admin {
        return Err(ApiError::forbidden(
            "deleting your user needs a login session or an admin-scoped token",
        ));
    }
    let erased = erase::erase_user(state.lifecycle.clone(), p.user.clone(), crate::now()).await?;
    // The entry keeps the action; the person is the pseudonym their other entries now carry.
    let alias = erased.pseudonym.clone().unwrap_or_else(erase::pseudonym);
    crate::activity::record(
        &state.meta,
        &state.geo,
        crate::now(),
        Event {
            account: p.account.id,
            actor: &alias,
            action: Action::Deletion,
            target: format!("user {} erased at their request", p.user.id),
            ip: p.ip,
        },
    );
    let mut gone = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .finish();
    gone.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(gone)
        .json(json!({"erased": erased})))
}

/// Query string of account deletion.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfirmQuery {
    confirm: Option<String>,
}

/// `DELETE /api/v1/accounts/{id}?confirm={id}` (operator): erasure of a whole account.
pub async fn delete_account(
    state: State,
    p: Principal,
    id: web::Path<String>,
    q: ApiQuery<ConfirmQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_operator()?;
    let account_id = Id::parse(&id).ok_or(ApiError::NotFound("account"))?;
    let account = state
        .meta
        .account(account_id)?
        .ok_or(ApiError::NotFound("account"))?;
    if q.confirm.as_deref() != Some(id.as_str()) {
        return Err(ApiError::BadRequest {
            code: "confirmation_required",
            message: format!(
                "deleting an account erases all its data for good; repeat its id as ?confirm={id}"
            ),
            field: Some("confirm".into()),
        });
    }
    if account.id == p.user.account_id {
        return Err(ApiError::Conflict(
            "the operator's own account cannot be deleted".into(),
        ));
    }
    let erased = erase::erase_account(
        state.lifecycle.clone(),
        &state.writer,
        account.id,
        crate::now(),
    )
    .await?;
    record_instance(
        &state,
        &p,
        Action::Deletion,
        format!("account {} (erased)", account.id),
    );
    Ok(HttpResponse::Ok().json(json!({"erased": erased})))
}
