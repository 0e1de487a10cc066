//! Serves the embedded single-page app (`assets/app/`, built from `web/`).
//!
//! Owns: hashed assets under `/assets/…` (cached for a year, immutable), the few unhashed files at
//! the bundle root (`/favicon.svg`, `/logo.svg`), and `index.html` for every client-side route,
//! with the branding written into its `<head>` so the first paint is already branded without any
//! inline script. Must not: decide routing for `/api/…` (those stay JSON 404s), or set the
//! security headers other than `Cache-Control`/`ETag` (the middleware adds them; [`CSP`] is
//! defined here because the policy has to match what the bundle does).

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

/// The built bundle. In debug builds rust-embed reads these files from disk at run time; in
/// release builds they are compiled into the binary.
#[derive(RustEmbed)]
#[folder = "assets/app/"]
struct App;

/// The Content-Security-Policy for every panel response.
///
/// The bundle has no inline script or style and loads nothing from elsewhere. Charts and the
/// map set element styles through the CSSOM (`element.style…`), which `style-src` does not
/// govern, so no `'unsafe-inline'` is needed anywhere. `data:` images are allowed for a logo
/// stored as a data URL.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The marker in `index.html` that [`render_index`] replaces.
const PLACEHOLDER: &str = "<!--tally:head-->";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// What the server knows about the brand for this request, written into `index.html`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandingHead {
    /// Page title before the app sets its own (the product name).
    pub title: String,
    /// `href` of the favicon, e.g. `/favicon.svg` for the default brand.
    pub favicon_url: String,
    /// The branding as JSON (`product_name`, `accent_color`, `logo_url`, `powered_by`, …); the
    /// app reads it from `<meta name="tally-branding">` at start. Escaped here, not by the caller.
    pub meta_json: String,
}

/// `index.html` with the branding head in place of the placeholder; `None` when the bundle has
/// no `index.html` (a build without the web app).
pub fn render_index(head: &BrandingHead) -> Option<String> {
    let file = App::get("index.html")?;
    let html = String::from_utf8_lossy(&file.data);
    let tags = head_tags(head);
    let rendered = if html.contains(PLACEHOLDER) {
        html.replacen(PLACEHOLDER, &tags, 1)
    } else if let Some(at) = html.find("</head>") {
        // A hand-edited index.html without the marker still gets branded.
        format!("{}{}{}", &html[..at], tags, &html[at..])
    } else {
        html.into_owned()
    };
    Some(rendered)
}

fn head_tags(head: &BrandingHead) -> String {
    format!(
        "<title>{}</title>\n    <link rel=\"icon\" href=\"{}\">\n    \
         <link rel=\"stylesheet\" href=\"/branding.css\">\n    \
         <meta name=\"tally-branding\" content=\"{}\">",
        escape_html(&head.title),
        escape_html(&head.favicon_url),
        escape_html(&head.meta_json),
    )
}

/// Escapes text for both element content and double- or single-quoted attribute values.
fn escape_html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Answers a request for the panel's front end: an asset, a root file, or `index.html`.
pub async fn serve(req: &HttpRequest, head: BrandingHead) -> HttpResponse {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD"))
            .finish();
    }
    let Some(path) = clean_path(req.path()) else {
        return not_found();
    };
    if path == "api" || path.starts_with("api/") {
        return api_not_found();
    }
    if path == "assets" || path.starts_with("assets/") {
        return match App::get(&path) {
            Some(file) => file_response(req, file, IMMUTABLE),
            None => not_found(),
        };
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    // Stream pages carry user-chosen names, and those often contain dots (`news.sdp`), so they
    // are always client routes; elsewhere a dot in the last segment means a file was wanted.
    if last.contains('.') && !path.starts_with("streams/") {
        // Unhashed files at the bundle root (favicon, default logo): revalidated, never
        // `immutable`, since their content changes between releases under the same name.
        return match App::get(&path).filter(|_| !path.contains('/') && path != "index.html") {
            Some(file) => file_response(req, file, REVALIDATE),
            None => not_found(),
        };
    }
    match render_index(&head) {
        Some(html) => {
            let etag = etag_of(&Sha256::digest(html.as_bytes()));
            cached_response(
                req,
                &etag,
                REVALIDATE,
                "text/html; charset=utf-8",
                Bytes::from(html),
            )
        }
        None => not_found(),
    }
}

/// Percent-decodes the path and returns it without the leading slash, or `None` when it could
/// escape the bundle (`..`, `.`, backslashes, NUL, empty segments) or is not UTF-8.
fn clean_path(raw: &str) -> Option<String> {
    let decoded = percent_decode(raw)?;
    let trimmed = decoded.strip_prefix('/').unwrap_or(&decoded);
    if trimmed.is_empty() {
        return Some(String::new());
    }
    // A trailing slash on a client route (`/servers/`) is harmless; elsewhere an empty segment
    // means `//`, which a file path never has.
    let body = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let bad_segment = body
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.contains(['\\', '\0']));
    if bad_segment {
        return None;
    }
    Some(body.to_owned())
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn file_response(req: &HttpRequest, file: rust_embed::EmbeddedFile, cache: &str) -> HttpResponse {
    let etag = etag_of(&file.metadata.sha256_hash());
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let body = match file.data {
        Cow::Borrowed(bytes) => Bytes::from_static(bytes),
        Cow::Owned(bytes) => Bytes::from(bytes),
    };
    cached_response(req, &etag, cache, &content_type, body)
}

/// A strong ETag: the first 16 bytes of the SHA-256, in hex, quoted.
fn etag_of(hash: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&hash[..hash.len().min(16)]))
}

fn cached_response(
    req: &HttpRequest,
    etag: &str,
    cache: &str,
    content_type: &str,
    body: Bytes,
) -> HttpResponse {
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| if_none_match(v, etag));
    let status = if matches {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, cache));
    if let Ok(value) = HeaderValue::from_str(etag) {
        res.insert_header((header::ETAG, value));
    }
    if matches {
        return res.finish();
    }
    res.insert_header((header::CONTENT_TYPE, content_type));
    if req.method() == Method::HEAD {
        return res.finish();
    }
    res.body(body)
}

/// RFC 9110 If-None-Match: `*` or a list of entity tags, compared weakly (`W/` ignored).
fn if_none_match(header_value: &str, etag: &str) -> bool {
    header_value.trim() == "*"
        || header_value
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == etag)
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, REVALIDATE))
        .body("Not found\n")
}

fn api_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": {
            "code": "not_found",
            "message": "There is no API endpoint at this path.",
            "field": null,
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::test::TestRequest;

    fn head() -> BrandingHead {
        BrandingHead {
            title: "Acme <Streams> & \"Co\"".into(),
            favicon_url: "/favicon.svg".into(),
            meta_json:
                r#"{"product_name":"Acme</script><script>alert(1)</script>","powered_by":true}"#
                    .into(),
        }
    }

    fn hashed_asset(ext: &str) -> String {
        App::iter()
            .find(|p| p.starts_with("assets/") && p.ends_with(ext))
            .map(|p| p.into_owned())
            .unwrap()
    }

    async fn get(uri: &str, if_none_match: Option<&str>) -> (StatusCode, HttpResponse) {
        let mut req = TestRequest::get().uri(uri);
        if let Some(tag) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, tag));
        }
        let res = serve(&req.to_http_request(), head()).await;
        (res.status(), res)
    }

    fn header_of(res: &HttpResponse, name: header::HeaderName) -> String {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    async fn body_of(res: HttpResponse) -> String {
        String::from_utf8(to_bytes(res.into_body()).await.unwrap().to_vec()).unwrap()
    }

    #[test]
    fn render_index_replaces_the_placeholder_with_escaped_branding() {
        let html = render_index(&head()).unwrap();
        assert!(!html.contains(PLACEHOLDER));
        assert!(html.contains("<title>Acme &lt;Streams&gt; &amp; &quot;Co&quot;</title>"));
        assert!(html.contains(r#"<link rel="icon" href="/favicon.svg">"#));
        assert!(html.contains(r#"<link rel="stylesheet" href="/branding.css">"#));
        assert!(html.contains(
            r#"content="{&quot;product_name&quot;:&quot;Acme&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;,&quot;powered_by&quot;:true}""#
        ));
        assert!(!html.contains("<script>alert"));
        // The branding sits inside <head>, before the bundle's own stylesheet so the app's
        // defaults never override it by order alone.
        let head_end = html.find("</head>").unwrap();
        assert!(html.find("tally-branding").unwrap() < head_end);
    }

    #[test]
    fn escape_html_leaves_plain_text_alone() {
        assert!(matches!(escape_html("Tally"), Cow::Borrowed("Tally")));
        assert_eq!(escape_html("a'b"), "a&#39;b");
    }

    #[test]
    fn index_has_no_inline_script_or_style() {
        let html = render_index(&head()).unwrap();
        for (at, _) in html.match_indices("<script") {
            let tag_end = html[at..].find('>').unwrap();
            assert!(
                html[at..at + tag_end].contains("src="),
                "inline script in index.html"
            );
        }
        assert!(!html.contains("<style"));
        assert!(!html.contains(" style="));
    }

    #[actix_web::test]
    async fn client_routes_get_the_branded_index_revalidated() {
        for uri in [
            "/",
            "/servers",
            "/streams/live/news",
            "/streams/live/news.sdp",
            "/streams/live/a%20b",
            "/reports/billing",
            "/servers/",
        ] {
            let (status, res) = get(uri, None).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
            assert!(header_of(&res, header::CONTENT_TYPE).starts_with("text/html"));
            assert!(header_of(&res, header::ETAG).starts_with('"'));
            assert!(body_of(res).await.contains("tally-branding"), "{uri}");
        }
    }

    #[actix_web::test]
    async fn index_etag_gives_304_and_changes_with_the_brand() {
        let (_, res) = get("/overview", None).await;
        let etag = header_of(&res, header::ETAG);
        let (status, res) = get("/overview", Some(&etag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&res, header::ETAG), etag);
        assert!(body_of(res).await.is_empty());

        let other = BrandingHead {
            title: "Other".into(),
            ..head()
        };
        let req = TestRequest::get()
            .uri("/")
            .insert_header((header::IF_NONE_MATCH, etag.as_str()))
            .to_http_request();
        let res = serve(&req, other).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_ne!(header_of(&res, header::ETAG), etag);
    }

    #[actix_web::test]
    async fn hashed_assets_are_immutable_with_etag() {
        for ext in [".js", ".css"] {
            let path = format!("/{}", hashed_asset(ext));
            let (status, res) = get(&path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(
                header_of(&res, header::CACHE_CONTROL),
                "public, max-age=31536000, immutable"
            );
            let ct = header_of(&res, header::CONTENT_TYPE);
            assert!(
                ct.starts_with(if ext == ".js" {
                    "text/javascript"
                } else {
                    "text/css"
                }),
                "{ct}"
            );
            let etag = header_of(&res, header::ETAG);
            assert!(!body_of(res).await.is_empty());

            let (status, _) = get(&path, Some(&format!("\"other\", W/{etag}"))).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED);
            let (status, _) = get(&path, Some("*")).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED);
            let (status, _) = get(&path, Some("\"stale\"")).await;
            assert_eq!(status, StatusCode::OK);
        }
    }

    #[actix_web::test]
    async fn missing_assets_and_files_are_404_not_the_index() {
        for uri in [
            "/assets/nope-123.js",
            "/assets/",
            "/favicon.ico",
            "/robots.txt",
            "/index.html",
            "/reports/daily.csv",
        ] {
            let (status, _) = get(uri, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[actix_web::test]
    async fn root_files_are_served_and_revalidated() {
        let (status, res) = get("/favicon.svg", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_of(&res, header::CONTENT_TYPE), "image/svg+xml");
        assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
    }

    #[actix_web::test]
    async fn path_traversal_is_refused() {
        for uri in [
            "/assets/../index.html",
            "/assets/%2e%2e/index.html",
            "/assets/%2E%2E%2Findex.html",
            "/assets/..%5cCargo.toml",
            "/../Cargo.toml",
            "/assets//x.js",
            "/assets/./x.js",
            "/assets/%00.js",
            "/assets/%zz.js",
            "/%ff",
        ] {
            let (status, res) = get(uri, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert!(!body_of(res).await.contains("tally-branding"), "{uri}");
        }
    }

    #[actix_web::test]
    async fn api_paths_stay_json_404() {
        for uri in ["/api", "/api/v1/nope", "/api/v2"] {
            let (status, res) = get(uri, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert!(header_of(&res, header::CONTENT_TYPE).starts_with("application/json"));
            assert!(body_of(res).await.contains("\"not_found\""));
        }
    }

    #[actix_web::test]
    async fn head_has_headers_without_body_and_other_methods_are_405() {
        let req = TestRequest::default()
            .method(Method::HEAD)
            .uri("/servers")
            .to_http_request();
        let res = serve(&req, head()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(header_of(&res, header::ETAG).starts_with('"'));
        assert!(body_of(res).await.is_empty());

        let req = TestRequest::post().uri("/servers").to_http_request();
        let res = serve(&req, head()).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header_of(&res, header::ALLOW), "GET, HEAD");
    }

    #[test]
    fn csp_is_strict() {
        assert!(CSP.contains("default-src 'self'"));
        assert!(CSP.contains("script-src 'self'"));
        assert!(CSP.contains("frame-ancestors 'none'"));
        assert!(!CSP.contains("unsafe-inline"));
        assert!(!CSP.contains("unsafe-eval"));
        assert!(!CSP.contains("http"));
    }
}
