//! Exports (data-subject right of access): `GET /api/v1/account/export` (account admins:
//! everything stored for the account, JSON or `?format=zip`) and `GET /api/v1/me/export`.

use super::ApiQuery;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::Principal;
use crate::lifecycle::export;

/// Query string of the account export.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
}

fn attachment(name: &str) -> (&'static str, String) {
    (
        "Content-Disposition",
        format!("attachment; filename=\"{name}\""),
    )
}

/// `GET /api/v1/account/export[?format=json|zip]`
pub async fn account(
    state: State,
    p: Principal,
    q: ApiQuery<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    if !(p.user.role.can_write() || p.user.operator) {
        return Err(ApiError::forbidden(
            "only the account's owners and admins may export it",
        ));
    }
    let zip = match q.format.as_deref() {
        None | Some("json") => false,
        Some("zip") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("`{other}` is not json or zip"),
            ));
        }
    };
    // Statistics must include every report acknowledged so far.
    state
        .writer
        .sync()
        .await
        .map_err(|e| ApiError::Unavailable(format!("storage is catching up: {e}")))?;
    let (lc, dict, account) = (
        state.lifecycle.clone(),
        state.dict.clone(),
        p.account.clone(),
    );
    let now = crate::now();
    let (doc, rows) = web::block(move || export::account_export(&lc, &dict, &account, now))
        .await
        .map_err(ApiError::internal)??;
    super::privacy::record_activity(
        &state,
        &p,
        Action::Export,
        format!("account {}", p.account.id),
    );
    let date = jiff::Timestamp::from_second(now)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    if zip {
        let bytes = web::block(move || export::account_zip(&doc, &rows))
            .await
            .map_err(ApiError::internal)??;
        return Ok(HttpResponse::Ok()
            .content_type("application/zip")
            .insert_header(attachment(&format!(
                "tally-account-{}-{date}.zip",
                p.account.id
            )))
            .body(bytes));
    }
    Ok(HttpResponse::Ok()
        .insert_header(attachment(&format!(
            "tally-account-{}-{date}.json",
            p.account.id
        )))
        .json(doc))
}

/// `GET /api/v1/me/export`
pub async fn me(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    let lc = state.lifecycle.clone();
    let (user, account) = (p.user.clone(), p.account.clone());
    let now = crate::now();
    let doc = web::block(move || export::user_export(&lc, &user, &account, now))
        .await
        .map_err(ApiError::internal)??;
    super::privacy::record_activity(&state, &p, Action::Export, format!("user {}", p.user.id));
    Ok(HttpResponse::Ok()
        .insert_header(attachment("tally-user-export.json"))
        .json(doc))
}
