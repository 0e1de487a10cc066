//! The embedded single-page app (interface stub; the full server comes with the web app).

use actix_web::{HttpRequest, HttpResponse};

/// Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Branding written into `index.html`.
pub struct BrandingHead {
    pub title: String,
    pub favicon_url: String,
    pub meta_json: String,
}

/// Serves the app.
pub async fn serve(_req: &HttpRequest, head: BrandingHead) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!("<!doctype html><title>{}</title>", head.title))
}
