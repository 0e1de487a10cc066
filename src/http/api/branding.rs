//! White label: brand settings of the instance and of each account, resolved per request
//! `Host` (the account whose `domains` contain it, else the instance), the editor's
//! endpoints, and the uploaded logo and favicon, served from the panel's own origin.
//!
//! Uploaded images are checked: at most 1 MiB, a PNG/JPEG/WebP whose magic bytes match its
//! `Content-Type`, or an SVG without scripts, event handlers, `foreignObject` or any
//! reference outside the file. SVGs are also served under a CSP that forbids scripts.

use super::ApiQuery;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::nullable;
use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::{Principal, parse_json};
use crate::model::account::{Account, BrandAsset, Branding, Id};
use crate::store::meta::INSTANCE;

/// Largest accepted image.
pub const MAX_IMAGE_BYTES: usize = 1 << 20;
/// Built-in product name.
pub const DEFAULT_PRODUCT: &str = "Tally";
/// Built-in accent colour.
pub const DEFAULT_ACCENT: &str = "#4f46e5";

const LOGO: u8 = 1;
const FAVICON: u8 = 2;

/// Branding as the SPA and `index.html` use it: every field resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Effective {
    pub product_name: String,
    pub accent_color: String,
    pub background_color: Option<String>,
    pub surface_color: Option<String>,
    pub text_color: Option<String>,
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    pub support_contact: Option<String>,
    pub privacy_contact: Option<String>,
    pub privacy_notice: Option<String>,
    pub powered_by: bool,
}

fn owner_segment(owner: Id) -> String {
    if owner == INSTANCE {
        "instance".into()
    } else {
        owner.to_string()
    }
}

/// Resolves an account's branding over the instance's over the built-in defaults
/// (`None`: the instance's own).
pub fn resolve(state: &State, account: Option<Id>) -> Result<Effective, ApiError> {
    let inst = state.meta.branding(INSTANCE)?;
    let acc = match account {
        Some(id) => state.meta.branding(id)?,
        None => Branding::default(),
    };
    let pick = |a: &Option<String>, i: &Option<String>| a.clone().or_else(|| i.clone());
    let image = |a: &Option<String>, i: &Option<String>, kind: &str| match (account, a, i) {
        (Some(id), Some(v), _) => Some(format!("/branding/{}/{kind}?v={v}", owner_segment(id))),
        (_, _, Some(v)) => Some(format!("/branding/instance/{kind}?v={v}")),
        _ => None,
    };
    Ok(Effective {
        product_name: pick(&acc.product_name, &inst.product_name)
            .unwrap_or_else(|| DEFAULT_PRODUCT.into()),
        accent_color: pick(&acc.accent_color, &inst.accent_color)
            .unwrap_or_else(|| DEFAULT_ACCENT.into()),
        background_color: pick(&acc.background_color, &inst.background_color),
        surface_color: pick(&acc.surface_color, &inst.surface_color),
        text_color: pick(&acc.text_color, &inst.text_color),
        logo_url: image(&acc.logo_version, &inst.logo_version, "logo"),
        favicon_url: image(&acc.favicon_version, &inst.favicon_version, "favicon"),
        support_contact: pick(&acc.support_contact, &inst.support_contact),
        privacy_contact: pick(&acc.privacy_contact, &inst.privacy_contact),
        privacy_notice: pick(&acc.privacy_notice, &inst.privacy_notice),
        powered_by: acc.powered_by.or(inst.powered_by).unwrap_or(true),
    })
}

/// The request's host name, lower-cased, without port.
pub fn request_host(req: &HttpRequest) -> String {
    let host = req.connection_info().host().to_ascii_lowercase();
    if host.starts_with('[') {
        return host
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or(host);
    }
    host.rsplit_once(':')
        .map_or(host.clone(), |(h, _)| h.to_string())
        .trim_end_matches('.')
        .to_string()
}

/// The account whose custom domains contain the request's host.
pub fn account_for_host(state: &State, req: &HttpRequest) -> Result<Option<Account>, ApiError> {
    let host = request_host(req);
    Ok(state
        .meta
        .accounts()?
        .into_iter()
        .find(|a| a.domains.contains(&host)))
}

/// Branding for a request's host.
pub fn resolve_for_request(state: &State, req: &HttpRequest) -> Result<Effective, ApiError> {
    let account = account_for_host(state, req)?;
    resolve(state, account.map(|a| a.id))
}

/// Editor parameters: `?scope=instance` (operator) edits the instance's branding.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct EditParams {
    scope: Option<String>,
}

/// Whose branding an editor request changes, after checking the caller may.
fn edit_owner(p: &Principal, params: &EditParams, write: bool) -> Result<Id, ApiError> {
    match params.scope.as_deref() {
        Some("instance") => {
            p.require_operator()?;
            Ok(INSTANCE)
        }
        None | Some("account") => {
            if write {
                p.require_write()?;
            } else if (!p.user.role.can_write() || !p.slices.is_empty()) && !p.user.operator {
                return Err(ApiError::forbidden(
                    "only owners and admins edit the branding",
                ));
            }
            Ok(p.account.id)
        }
        Some(other) => Err(ApiError::field(
            "scope",
            format!("`{other}` is not account or instance"),
        )),
    }
}

fn settings_json(state: &State, owner: Id) -> Result<serde_json::Value, ApiError> {
    let stored = state.meta.branding(owner)?;
    let effective = resolve(state, (owner != INSTANCE).then_some(owner))?;
    Ok(json!({
        "scope": if owner == INSTANCE { "instance" } else { "account" },
        "stored": {
            "product_name": stored.product_name,
            "accent_color": stored.accent_color,
            "background_color": stored.background_color,
            "surface_color": stored.surface_color,
            "text_color": stored.text_color,
            "support_contact": stored.support_contact,
            "privacy_contact": stored.privacy_contact,
            "privacy_notice": stored.privacy_notice,
            "powered_by": stored.powered_by,
            "has_logo": stored.logo_version.is_some(),
            "has_favicon": stored.favicon_version.is_some(),
        },
        "effective": effective,
    }))
}

/// `GET /api/v1/branding/settings[?scope=instance]`: stored values (`null` = inherited) and
/// the effective result, for the editor.
pub async fn settings(
    state: State,
    p: Principal,
    params: ApiQuery<EditParams>,
) -> Result<HttpResponse, ApiError> {
    let owner = edit_owner(&p, &params, false)?;
    Ok(HttpResponse::Ok().json(settings_json(&state, owner)?))
}

/// `PUT /api/v1/branding` body: fields not given keep their values, `null` inherits.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBranding {
    #[serde(default, deserialize_with = "nullable")]
    product_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    accent_color: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    background_color: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    surface_color: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    text_color: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    support_contact: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    privacy_contact: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    privacy_notice: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    powered_by: Option<Option<bool>>,
}

/// True for `#rrggbb`.
pub fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn apply_text(
    field: &str,
    target: &mut Option<String>,
    value: &Option<Option<String>>,
    max: usize,
    multiline: bool,
) -> Result<(), ApiError> {
    if let Some(v) = value {
        *target = match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                let bad = |c: char| {
                    c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'))
                };
                if t.chars().count() > max || t.chars().any(bad) {
                    return Err(ApiError::field(
                        field,
                        format!("must be at most {max} printable characters"),
                    ));
                }
                Some(t.to_string())
            }
        };
    }
    Ok(())
}

fn apply_color(
    field: &str,
    target: &mut Option<String>,
    value: &Option<Option<String>>,
) -> Result<(), ApiError> {
    if let Some(v) = value {
        *target = match v.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if is_hex_color(c) => Some(c.to_ascii_lowercase()),
            Some(c) => {
                return Err(ApiError::field(
                    field,
                    format!("`{c}` is not a colour in the form #rrggbb"),
                ));
            }
        };
    }
    Ok(())
}

/// `PUT /api/v1/branding[?scope=instance]` (account owner/admin; the operator for the instance)
pub async fn update(
    state: State,
    p: Principal,
    params: ApiQuery<EditParams>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let owner = edit_owner(&p, &params, true)?;
    let b: PutBranding = parse_json(&body)?;
    let mut br = state.meta.branding(owner)?;
    apply_text(
        "product_name",
        &mut br.product_name,
        &b.product_name,
        60,
        false,
    )?;
    apply_color("accent_color", &mut br.accent_color, &b.accent_color)?;
    apply_color(
        "background_color",
        &mut br.background_color,
        &b.background_color,
    )?;
    apply_color("surface_color", &mut br.surface_color, &b.surface_color)?;
    apply_color("text_color", &mut br.text_color, &b.text_color)?;
    apply_text(
        "support_contact",
        &mut br.support_contact,
        &b.support_contact,
        200,
        false,
    )?;
    apply_text(
        "privacy_contact",
        &mut br.privacy_contact,
        &b.privacy_contact,
        200,
        false,
    )?;
    apply_text(
        "privacy_notice",
        &mut br.privacy_notice,
        &b.privacy_notice,
        20_000,
        true,
    )?;
    if let Some(v) = b.powered_by {
        br.powered_by = v;
    }
    state.meta.put_branding(owner, &br)?;
    state.meta.flush()?;
    record(&state, &p, owner, "settings");
    Ok(HttpResponse::Ok().json(settings_json(&state, owner)?))
}

fn record(state: &State, p: &Principal, owner: Id, what: &str) {
    let target = if owner == INSTANCE {
        format!("instance branding: {what}")
    } else {
        format!("branding: {what}")
    };
    crate::activity::record(
        &state.meta,
        &state.geo,
        crate::now(),
        crate::activity::Event {
            account: owner,
            actor: &p.user.email,
            action: Action::BrandingChanged,
            target,
            ip: p.ip,
        },
    );
}

/// Why an SVG is refused, if it is.
pub fn svg_problem(bytes: &[u8]) -> Option<&'static str> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some("the SVG is not UTF-8 text");
    };
    let lower = text.to_ascii_lowercase();
    if !lower.contains("<svg") {
        return Some("the file is not an SVG image");
    }
    for (needle, why) in [
        ("<script", "SVG images with scripts are refused"),
        ("foreignobject", "SVG images with foreignObject are refused"),
        (
            "javascript:",
            "SVG images with javascript: links are refused",
        ),
        (
            "<!entity",
            "SVG images with entity declarations are refused",
        ),
        ("<!doctype", "SVG images with a DOCTYPE are refused"),
        (
            "<?xml-stylesheet",
            "SVG images with external style sheets are refused",
        ),
        ("@import", "SVG images that import style sheets are refused"),
        ("<iframe", "SVG images with embedded documents are refused"),
        ("<embed", "SVG images with embedded documents are refused"),
        ("<object", "SVG images with embedded documents are refused"),
    ] {
        if lower.contains(needle) {
            return Some(why);
        }
    }
    static EVENT: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    static HREF: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    static URL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let event = EVENT.get_or_init(|| regex::Regex::new(r"[\s/]on[a-z]+\s*=").ok());
    let href = HREF.get_or_init(|| regex::Regex::new(r#"href\s*=\s*["']?\s*([^"'\s>]?)"#).ok());
    let url = URL.get_or_init(|| regex::Regex::new(r#"url\(\s*["']?\s*([^"'\s)]?)"#).ok());
    let (Some(event), Some(href), Some(url)) = (event, href, url) else {
        return Some("the SVG could not be checked");
    };
    if event.is_match(&lower) {
        return Some("SVG images with event handlers are refused");
    }
    let external = |re: &regex::Regex| {
        re.captures_iter(&lower)
            .any(|c| c.get(1).is_none_or(|m| m.as_str() != "#"))
    };
    if external(href) || external(url) {
        return Some("SVG images may only reference their own elements (#id)");
    }
    None
}

/// Checks an upload's type against its bytes; returns the canonical content type.
pub fn check_image(content_type: &str, bytes: &[u8]) -> Result<&'static str, ApiError> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (canonical, ok) = match mime.as_str() {
        "image/png" => ("image/png", bytes.starts_with(b"\x89PNG\r\n\x1a\n")),
        "image/jpeg" => ("image/jpeg", bytes.starts_with(&[0xff, 0xd8, 0xff])),
        "image/webp" => (
            "image/webp",
            bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
        ),
        "image/svg+xml" => {
            if let Some(why) = svg_problem(bytes) {
                return Err(ApiError::BadRequest {
                    code: "unsafe_svg",
                    message: why.into(),
                    field: Some("body".into()),
                });
            }
            ("image/svg+xml", true)
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "send the image with Content-Type image/png, image/jpeg, image/webp or image/svg+xml (got `{}`)",
                if mime.is_empty() { "nothing" } else { &mime }
            )));
        }
    };
    if !ok {
        return Err(ApiError::BadRequest {
            code: "invalid_image",
            message: format!("the file's content is not {canonical} as its Content-Type says"),
            field: Some("body".into()),
        });
    }
    Ok(canonical)
}

fn kind_of(name: &str) -> Result<u8, ApiError> {
    match name {
        "logo" => Ok(LOGO),
        "favicon" => Ok(FAVICON),
        _ => Err(ApiError::NotFound("branding image")),
    }
}

/// `PUT /api/v1/branding/{logo|favicon}[?scope=instance]`: raw image body.
pub async fn upload(
    req: HttpRequest,
    state: State,
    p: Principal,
    kind: web::Path<String>,
    params: ApiQuery<EditParams>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let k = kind_of(&kind)?;
    let owner = edit_owner(&p, &params, true)?;
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = crate::http::body::read(payload, MAX_IMAGE_BYTES).await?;
    if bytes.is_empty() {
        return Err(ApiError::field(
            "body",
            "send the image as the request body",
        ));
    }
    let content_type = check_image(&ctype, &bytes)?;
    let version = hex::encode(&Sha256::digest(&bytes)[..6]);
    state.meta.put_brand_asset(
        owner,
        k,
        Some(&BrandAsset {
            content_type: content_type.into(),
            bytes,
        }),
    )?;
    let mut br = state.meta.branding(owner)?;
    if k == LOGO {
        br.logo_version = Some(version);
    } else {
        br.favicon_version = Some(version);
    }
    state.meta.put_branding(owner, &br)?;
    state.meta.flush()?;
    record(
        &state,
        &p,
        owner,
        &format!("{} uploaded ({content_type})", kind.as_str()),
    );
    Ok(HttpResponse::Ok().json(settings_json(&state, owner)?))
}

/// `DELETE /api/v1/branding/{logo|favicon}[?scope=instance]`: back to the inherited image.
pub async fn remove(
    state: State,
    p: Principal,
    kind: web::Path<String>,
    params: ApiQuery<EditParams>,
) -> Result<HttpResponse, ApiError> {
    let k = kind_of(&kind)?;
    let owner = edit_owner(&p, &params, true)?;
    state.meta.put_brand_asset(owner, k, None)?;
    let mut br = state.meta.branding(owner)?;
    if k == LOGO {
        br.logo_version = None;
    } else {
        br.favicon_version = None;
    }
    state.meta.put_branding(owner, &br)?;
    state.meta.flush()?;
    record(&state, &p, owner, &format!("{} removed", kind.as_str()));
    Ok(HttpResponse::Ok().json(settings_json(&state, owner)?))
}

/// `GET /branding/{owner}/{logo|favicon}` (public; `owner` is an account id or `instance`).
pub async fn serve_asset(
    state: State,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, kind) = path.into_inner();
    let k = kind_of(&kind)?;
    let owner = if owner == "instance" {
        INSTANCE
    } else {
        Id::parse(&owner).ok_or(ApiError::NotFound("branding image"))?
    };
    let asset = state
        .meta
        .brand_asset(owner, k)?
        .ok_or(ApiError::NotFound("branding image"))?;
    let mut resp = HttpResponse::Ok();
    resp.content_type(asset.content_type.as_str())
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"));
    if asset.content_type == "image/svg+xml" {
        // Opened directly, an SVG is a document: no script may run in it whatever it holds.
        resp.insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ));
    }
    Ok(resp.body(asset.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_checks_refuse_active_content_and_external_references() {
        let ok = br##"<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"/></defs><rect fill="url(#g)"/><use href="#g"/></svg>"##;
        assert_eq!(svg_problem(ok), None);
        for bad in [
            &br#"<svg><script>alert(1)</script></svg>"#[..],
            br#"<svg><rect onload="x()"/></svg>"#,
            br#"<svg><foreignObject/></svg>"#,
            br#"<svg><image href="https://elsewhere.example/x.png"/></svg>"#,
            br#"<svg><rect style="fill:url(https://elsewhere.example/x)"/></svg>"#,
            br#"<!DOCTYPE svg [<!ENTITY x "y">]><svg/>"#,
            b"not an image",
        ] {
            assert!(
                svg_problem(bad).is_some(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn magic_bytes_must_match_the_content_type() {
        assert_eq!(
            check_image("image/png", b"\x89PNG\r\n\x1a\nrest").unwrap(),
            "image/png"
        );
        assert!(check_image("image/png", b"\xff\xd8\xff").is_err());
        assert!(check_image("image/gif", b"GIF89a").is_err());
        assert!(check_image("image/webp", b"RIFF\0\0\0\0WEBPVP8 ").is_ok());
        assert!(is_hex_color("#00ffAA") && !is_hex_color("#fff") && !is_hex_color("red"));
    }
}
