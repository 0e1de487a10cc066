//! First-run page: the one-time link printed to the log opens a plain HTML form that creates
//! the first admin. Server-rendered and script-free, so it works under the strict CSP before the
//! app has anyone to log in.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::State;
use super::auth::create_admin_with_setup_token;
use crate::error::ApiError;

/// Query of `GET /setup`.
#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

/// Form of `POST /setup`.
#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    email: String,
    password: String,
    #[serde(default)]
    account_name: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(token: &str, email: &str, error: Option<&str>) -> HttpResponse {
    let error = error
        .map(|e| format!("<p role=\"alert\"><strong>{}</strong></p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Set up Tally</title><link rel=\"icon\" href=\"/favicon.svg\">\
         <link rel=\"stylesheet\" href=\"/branding.css\"></head><body><main>\
         <h1>Create the first administrator</h1>\
         <p>This one-time page creates the operator account of this panel.</p>{error}\
         <form method=\"post\" action=\"/setup\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <p><label for=\"email\">E-mail</label><br>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{email}\"></p>\
         <p><label for=\"password\">Password (at least 10 characters)</label><br>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"10\" required></p>\
         <p><label for=\"account\">Organisation name</label><br>\
         <input id=\"account\" name=\"account_name\" type=\"text\" value=\"Default\"></p>\
         <p><button type=\"submit\">Create administrator</button></p></form></main></body></html>",
        token = escape(token),
        email = escape(email),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `GET /setup?token=…`
pub async fn form(state: State, q: web::Query<SetupQuery>) -> Result<HttpResponse, ApiError> {
    if state.meta.has_users()? {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish());
    }
    Ok(page(&q.token, "", None))
}

/// `POST /setup` (form): creates the admin, then sends the browser to the sign-in page.
pub async fn submit(state: State, f: web::Form<SetupForm>) -> Result<HttpResponse, ApiError> {
    let f = f.into_inner();
    match create_admin_with_setup_token(&state, &f.token, &f.email, f.password, &f.account_name)
        .await
    {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish()),
        Err(ApiError::Internal(e)) => Err(ApiError::Internal(e)),
        Err(e) => Ok(page(&f.token, &f.email, Some(&e.to_string()))),
    }
}
