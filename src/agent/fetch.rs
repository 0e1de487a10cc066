//! HTTP GET for the polling sources: one [`Fetcher`] per source, holding its base URL, its
//! credentials (sent as HTTP basic auth, never logged) and a timeout. Bodies are size-limited so
//! that a misbehaving server cannot make the agent grow without bound.

use std::time::Duration;

use base64::Engine as _;

use crate::agent::collect::CollectError;

/// Largest response body accepted from a media server (a 100,000-client stat XML is ~30 MB).
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Polls one media server's HTTP API.
#[derive(Clone)]
pub struct Fetcher {
    base: String,
    auth: Option<String>,
    basic_auth: bool,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher for `base` (no trailing slash needed). `auth` is `user:pass` or a bare token;
    /// both are sent as HTTP basic credentials (OvenMediaEngine expects the bare token there).
    pub fn new(base: &str, auth: Option<String>, timeout: Duration) -> Fetcher {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("tally-agent/", env!("CARGO_PKG_VERSION")))
            .build();
        Fetcher {
            base: base.trim_end_matches('/').to_string(),
            auth,
            basic_auth: true,
            agent: config.into(),
        }
    }

    /// Stops sending the credentials as basic auth (for APIs that sign URLs instead).
    pub fn without_basic_auth(mut self) -> Fetcher {
        self.basic_auth = false;
        self
    }

    /// The base URL, without credentials.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The configured credentials.
    pub fn auth(&self) -> Option<&str> {
        self.auth.as_deref()
    }

    /// `base` + `path` (`path` starts with `/`, or is empty for the base itself).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GETs `base + path` and returns the body of a 2xx answer.
    pub fn get(&self, path: &str) -> Result<Vec<u8>, CollectError> {
        let url = self.url(path);
        let mut request = self
            .agent
            .get(&url)
            .header("Accept", "application/json, text/xml, */*");
        if self.basic_auth
            && let Some(auth) = &self.auth
        {
            let encoded = base64::engine::general_purpose::STANDARD.encode(auth.as_bytes());
            request = request.header("Authorization", format!("Basic {encoded}"));
        }
        let mut response = request.call().map_err(|e| CollectError::Http {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let hint = match status {
                401 | 403 => " (check --source-auth or the credentials in the source URL)",
                404 => " (check the source URL and that the API is enabled)",
                _ => "",
            };
            return Err(CollectError::Status { url, status, hint });
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| CollectError::Http {
                url,
                message: e.to_string(),
            })
    }

    /// GETs and parses a JSON body.
    pub fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, CollectError> {
        let body = self.get(path)?;
        serde_json::from_slice(&body).map_err(|e| CollectError::Parse {
            what: format!("JSON from {}", self.url(path)),
            message: e.to_string(),
        })
    }

    /// GETs a body as text (invalid UTF-8 replaced).
    pub fn get_text(&self, path: &str) -> Result<String, CollectError> {
        let body = self.get(path)?;
        Ok(match String::from_utf8(body) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }
}

/// Percent-encodes a URL path segment or query value.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
