//! JSON API handlers, one file per concept.

pub mod accounts;
pub mod activity;
pub mod alerts;
pub mod backup;
pub mod branding;
pub mod export;
pub mod privacy;
pub mod retention;
pub mod servers;
pub mod sessions;
pub mod slices;
pub mod stats;
pub mod system;
pub mod tokens;
pub mod users;

use serde::{Deserialize, Deserializer};

use crate::error::ApiError;
use crate::model::account::Id;

/// For partial updates: tells a missing field (`None`) from an explicit `null`
/// (`Some(None)`, "clear it"). Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Parses a path id; anything malformed is "not found", like an id of another account.
pub fn path_id(text: &str, what: &'static str) -> Result<Id, ApiError> {
    Id::parse(text).ok_or(ApiError::NotFound(what))
}

/// Checks a display name: 1 to `max` printable characters after trimming.
pub fn clean_name(field: &str, text: &str, max: usize) -> Result<String, ApiError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            format!("must be 1 to {max} printable characters"),
        ));
    }
    Ok(t.to_string())
}

/// Checks an IANA time-zone name.
pub fn check_timezone(field: &str, name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    jiff::tz::TimeZone::get(name)
        .map(|_| name.to_string())
        .map_err(|_| {
            ApiError::field(
                field,
                format!("`{name}` is not an IANA time zone such as Europe/London"),
            )
        })
}

/// The account a request names with `?account=ID` (an operator working in another account),
/// read by the authentication extractor.
pub fn acting_account(query: &str) -> Option<&str> {
    query.split('&').find_map(|kv| kv.strip_prefix("account="))
}

/// A handler's query parameters, without `account=` (every request may carry it, and the
/// authentication extractor has already acted on it), so the parameter structs can refuse
/// unknown fields without each listing it.
pub struct ApiQuery<T>(pub T);

impl<T> std::ops::Deref for ApiQuery<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned> actix_web::FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let rest: Vec<&str> = req
            .query_string()
            .split('&')
            .filter(|kv| !kv.starts_with("account="))
            .collect();
        std::future::ready(
            actix_web::web::Query::<T>::from_query(&rest.join("&"))
                .map(|q| ApiQuery(q.into_inner()))
                .map_err(|e| ApiError::bad("invalid_query", e.to_string())),
        )
    }
}
