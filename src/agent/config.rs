//! Agent settings: merges [`AgentArgs`] (flags and `TALLY_*` variables, already merged by clap)
//! with the `[agent]` table of the config file and the defaults, then validates them into an
//! [`AgentConfig`]. Owns the source syntax `KIND=ADDRESS` and the duration syntax (`30s`, `1m`).
//! Does no I/O besides reading the host name for the default `--name`.

use std::path::PathBuf;
use std::time::Duration;

use crate::agent::AgentArgs;

/// Default report interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Default spool bound in MiB.
pub const DEFAULT_SPOOL_MAX_MB: u64 = 100;
/// Default idle gap after which an HLS/DASH viewer is considered gone.
pub const DEFAULT_ACCESS_LOG_GAP: Duration = Duration::from_secs(60);
/// Default timeout of one request to a media server.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(5);

/// A setting that is missing or malformed; the message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required: pass {1}")]
    Missing(&'static str, &'static str),
    #[error("{setting}: {message}")]
    Invalid { setting: String, message: String },
}

fn invalid(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_string(),
        message: message.into(),
    }
}

/// Kinds of media-server sources the agent can collect from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    NginxRtmp,
    AccessLog,
    Icecast,
    Srs,
    Mediamtx,
    OvenMediaEngine,
    Wowza,
    Nimble,
}

impl SourceKind {
    /// Every kind with its name on the command line.
    pub const ALL: [(SourceKind, &'static str); 8] = [
        (SourceKind::NginxRtmp, "nginx-rtmp"),
        (SourceKind::AccessLog, "access-log"),
        (SourceKind::Icecast, "icecast"),
        (SourceKind::Srs, "srs"),
        (SourceKind::Mediamtx, "mediamtx"),
        (SourceKind::OvenMediaEngine, "ovenmediaengine"),
        (SourceKind::Wowza, "wowza"),
        (SourceKind::Nimble, "nimble"),
    ];

    /// The name used on the command line and in logs.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    fn parse(text: &str) -> Option<SourceKind> {
        let t = text.trim().to_ascii_lowercase().replace('_', "-");
        let t = match t.as_str() {
            "nginx" | "rtmp" | "nginxrtmp" => "nginx-rtmp",
            "accesslog" | "hls" | "log" => "access-log",
            "ome" | "oven" => "ovenmediaengine",
            other => other,
        };
        Self::ALL.iter().find(|(_, n)| *n == t).map(|(k, _)| *k)
    }
}

/// One `--source KIND=ADDRESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub kind: SourceKind,
    /// URL for the HTTP kinds (credentials removed), file path for `access-log`.
    pub address: String,
    /// Credentials from the URL or `--source-auth`: `user:pass` or a bare token.
    pub auth: Option<String>,
}

impl SourceSpec {
    /// Parses `KIND=ADDRESS`; `default_auth` is `--source-auth`, overridden by `user:pass@` in
    /// the URL.
    pub fn parse(text: &str, default_auth: Option<&str>) -> Result<SourceSpec, ConfigError> {
        let setting = format!("--source {text}");
        let (kind, address) = text.split_once('=').ok_or_else(|| {
            invalid(
                &setting,
                "expected KIND=ADDRESS, e.g. nginx-rtmp=http://127.0.0.1:8080/stat",
            )
        })?;
        let kind = SourceKind::parse(kind).ok_or_else(|| {
            let names: Vec<&str> = SourceKind::ALL.iter().map(|(_, n)| *n).collect();
            invalid(
                &setting,
                format!("unknown kind `{kind}`; known kinds: {}", names.join(", ")),
            )
        })?;
        let address = address.trim();
        if address.is_empty() {
            return Err(invalid(&setting, "the address after `=` is empty"));
        }
        if kind == SourceKind::AccessLog {
            return Ok(SourceSpec {
                kind,
                address: address.to_string(),
                auth: None,
            });
        }
        let Some((scheme, rest)) = address.split_once("://") else {
            return Err(invalid(&setting, "expected an http:// or https:// URL"));
        };
        if scheme != "http" && scheme != "https" {
            return Err(invalid(&setting, "expected an http:// or https:// URL"));
        }
        // Pull `user:pass@` out of the authority so it is never logged with the URL.
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (auth, host) = match authority.rsplit_once('@') {
            Some((cred, host)) => (Some(percent_decode(cred)), host),
            None => (default_auth.map(str::to_string), authority),
        };
        if host.is_empty() {
            return Err(invalid(&setting, "the URL has no host"));
        }
        Ok(SourceSpec {
            kind,
            address: format!("{scheme}://{host}{path}"),
            auth,
        })
    }
}

/// Resolved, validated agent settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Full ingest URL (`…/api/v1/ingest`).
    pub panel: String,
    pub token: String,
    pub sources: Vec<SourceSpec>,
    pub interval: Duration,
    pub spool: PathBuf,
    pub spool_max_bytes: u64,
    pub name: String,
    pub access_log_gap: Duration,
    pub access_log_app: Option<String>,
    pub rtmp_access_log: Option<PathBuf>,
    pub source_timeout: Duration,
    pub once: bool,
}

/// Reads a key of the `[agent]` table, accepting `kebab-case` and `snake_case`.
fn file_value<'a>(file: Option<&'a toml::Table>, key: &str) -> Option<&'a toml::Value> {
    let file = file?;
    file.get(key).or_else(|| file.get(&key.replace('-', "_")))
}

fn file_string(file: Option<&toml::Table>, key: &str) -> Result<Option<String>, ConfigError> {
    match file_value(file, key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(toml::Value::Integer(i)) => Ok(Some(i.to_string())),
        Some(_) => Err(invalid(&format!("[agent] {key}"), "expected a string")),
    }
}

impl AgentConfig {
    /// Applies file values and defaults under the command line and environment, and validates.
    pub fn resolve(
        args: AgentArgs,
        file: Option<&toml::Table>,
    ) -> Result<AgentConfig, ConfigError> {
        let panel = args
            .panel
            .or(file_string(file, "panel")?)
            .ok_or(ConfigError::Missing(
                "the panel URL",
                "--panel URL or TALLY_PANEL",
            ))?;
        let panel = ingest_url(&panel)?;
        let token = args
            .token
            .or(file_string(file, "token")?)
            .filter(|t| !t.trim().is_empty())
            .ok_or(ConfigError::Missing(
                "the ingest token",
                "--token TOKEN or TALLY_TOKEN (shown when the server was added in the panel)",
            ))?;
        let source_auth = args.source_auth.or(file_string(file, "source-auth")?);

        let mut source_texts = args.source;
        if source_texts.is_empty() {
            match file_value(file, "source") {
                None => {}
                Some(toml::Value::String(s)) => {
                    source_texts.extend(s.split(',').map(str::to_string))
                }
                Some(toml::Value::Array(items)) => {
                    for item in items {
                        let s = item.as_str().ok_or_else(|| {
                            invalid("[agent] source", "expected strings KIND=ADDRESS")
                        })?;
                        source_texts.push(s.to_string());
                    }
                }
                Some(_) => {
                    return Err(invalid("[agent] source", "expected a list of KIND=ADDRESS"));
                }
            }
        }
        let sources = source_texts
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| SourceSpec::parse(s, source_auth.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        if sources.is_empty() {
            return Err(ConfigError::Missing(
                "at least one source",
                "--source KIND=ADDRESS (e.g. --source nginx-rtmp=http://127.0.0.1:8080/stat) or TALLY_SOURCE",
            ));
        }

        let duration = |value: Option<String>,
                        key: &str,
                        default: Duration|
         -> Result<Duration, ConfigError> {
            match value.or(file_string(file, key)?) {
                None => Ok(default),
                Some(text) => parse_duration(&text).map_err(|m| invalid(&format!("--{key}"), m)),
            }
        };
        let interval = duration(args.interval, "interval", DEFAULT_INTERVAL)?;
        if interval < Duration::from_secs(1) || interval > Duration::from_secs(86_400) {
            return Err(invalid("--interval", "must be between 1s and 24h"));
        }
        let access_log_gap = duration(
            args.access_log_gap,
            "access-log-gap",
            DEFAULT_ACCESS_LOG_GAP,
        )?;
        let source_timeout = duration(
            args.source_timeout,
            "source-timeout",
            DEFAULT_SOURCE_TIMEOUT,
        )?;

        let spool = args
            .spool
            .or(file_string(file, "spool")?.map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("./tally-spool"));
        let spool_max_mb = match args.spool_max_mb {
            Some(v) => v,
            None => match file_value(file, "spool-max-mb") {
                None => DEFAULT_SPOOL_MAX_MB,
                Some(toml::Value::Integer(i)) if *i > 0 => *i as u64,
                Some(_) => {
                    return Err(invalid(
                        "[agent] spool-max-mb",
                        "expected a positive integer",
                    ));
                }
            },
        };
        if spool_max_mb == 0 {
            return Err(invalid("--spool-max-mb", "must be at least 1"));
        }
        let name = args
            .name
            .or(file_string(file, "name")?)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(host_name);
        let access_log_app = args.access_log_app.or(file_string(file, "access-log-app")?);
        let rtmp_access_log = args
            .rtmp_access_log
            .or(file_string(file, "rtmp-access-log")?.map(PathBuf::from));
        let once =
            args.once || matches!(file_value(file, "once"), Some(toml::Value::Boolean(true)));

        Ok(AgentConfig {
            panel,
            token,
            sources,
            interval,
            spool,
            spool_max_bytes: spool_max_mb.saturating_mul(1024 * 1024),
            name,
            access_log_gap,
            access_log_app,
            rtmp_access_log,
            source_timeout,
            once,
        })
    }
}

/// Turns `https://panel.example.com` into `https://panel.example.com/api/v1/ingest`.
fn ingest_url(panel: &str) -> Result<String, ConfigError> {
    let panel = panel.trim().trim_end_matches('/');
    if !(panel.starts_with("http://") || panel.starts_with("https://")) {
        return Err(invalid(
            "--panel",
            "expected an http:// or https:// URL, e.g. https://panel.example.com",
        ));
    }
    if panel.ends_with("/api/v1/ingest") {
        Ok(panel.to_string())
    } else {
        Ok(format!("{panel}/api/v1/ingest"))
    }
}

/// Parses `30s`, `1m`, `1m30s`, `500ms`, `2h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a duration; write e.g. 30s, 1m, 500ms or 1h");
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let seconds = match unit {
            "ms" => number / 1000.0,
            "s" | "sec" | "secs" | "second" | "seconds" => number,
            "m" | "min" | "mins" | "minute" | "minutes" => number * 60.0,
            "h" | "hour" | "hours" => number * 3600.0,
            "d" | "day" | "days" => number * 86_400.0,
            _ => return Err(bad()),
        };
        if !seconds.is_finite() || seconds > 1e9 {
            return Err(bad());
        }
        total += Duration::from_secs_f64(seconds);
    }
    Ok(total)
}

/// The machine's host name, or `tally-agent` when it cannot be read.
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "tally-agent".to_string())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(h) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn args() -> AgentArgs {
        AgentArgs {
            panel: Some("http://127.0.0.1:8080/".into()),
            token: Some("t".into()),
            source: vec!["nginx-rtmp=http://127.0.0.1:8088/stat".into()],
            ..AgentArgs::default()
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn sources_parse_with_credentials_out_of_the_url() {
        let s = SourceSpec::parse("icecast=http://admin:p%40ss@127.0.0.1:8000", None).unwrap();
        assert_eq!(s.kind, SourceKind::Icecast);
        assert_eq!(s.address, "http://127.0.0.1:8000");
        assert_eq!(s.auth.as_deref(), Some("admin:p@ss"));
        let s = SourceSpec::parse("ome=http://127.0.0.1:8081", Some("tok")).unwrap();
        assert_eq!(s.kind, SourceKind::OvenMediaEngine);
        assert_eq!(s.auth.as_deref(), Some("tok"));
        let s = SourceSpec::parse("access-log=/var/log/nginx/access.log", Some("x")).unwrap();
        assert_eq!(s.address, "/var/log/nginx/access.log");
        assert!(SourceSpec::parse("bogus=http://x", None).is_err());
        assert!(SourceSpec::parse("srs", None).is_err());
        assert!(SourceSpec::parse("srs=ftp://x", None).is_err());
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        let file: toml::Table = toml::from_str(
            "interval = \"10s\"\nname = \"from-file\"\nspool-max-mb = 7\nsource = [\"srs=http://127.0.0.1:1985\"]",
        )
        .unwrap();
        let mut a = args();
        a.name = Some("from-flag".into());
        let c = AgentConfig::resolve(a, Some(&file)).unwrap();
        assert_eq!(c.name, "from-flag");
        assert_eq!(c.interval, Duration::from_secs(10));
        assert_eq!(c.spool_max_bytes, 7 * 1024 * 1024);
        assert_eq!(c.sources.len(), 1);
        assert_eq!(c.sources[0].kind, SourceKind::NginxRtmp);
        assert_eq!(c.panel, "http://127.0.0.1:8080/api/v1/ingest");

        let mut a = args();
        a.source.clear();
        let c = AgentConfig::resolve(a, Some(&file)).unwrap();
        assert_eq!(c.sources[0].kind, SourceKind::Srs);
        let c = AgentConfig::resolve(args(), None).unwrap();
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert!(!c.name.is_empty());
    }

    #[test]
    fn missing_settings_say_what_to_pass() {
        let mut a = args();
        a.token = None;
        let e = AgentConfig::resolve(a, None).unwrap_err().to_string();
        assert!(e.contains("--token"), "{e}");
        let mut a = args();
        a.source.clear();
        let e = AgentConfig::resolve(a, None).unwrap_err().to_string();
        assert!(e.contains("--source"), "{e}");
    }
}
