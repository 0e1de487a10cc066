//! Configuration: built-in defaults < TOML file (`--config`) < `TALLY_*` environment < flags.
//!
//! Every option has one name used three ways: flag `--data-dir`, variable `TALLY_DATA_DIR`,
//! file key `data_dir`. clap merges flags over environment; this module lays the file and the
//! defaults underneath and validates the result once, at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use ipnet::IpNet;
use serde::Deserialize;

/// Options of `tally serve`, as given on the command line or in the environment.
#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// TOML configuration file (keys named like the flags, with underscores)
    #[arg(long, env = "TALLY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for all data [default: ./tally-data]
    #[arg(long, env = "TALLY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Plain-HTTP listen address [default: 127.0.0.1:8080, or [::]:80 with --domain]
    #[arg(long, env = "TALLY_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// MaxMind/DB-IP City database (.mmdb); also the source of countries when set
    #[arg(long, env = "TALLY_GEOIP_CITY", value_name = "PATH")]
    pub geoip_city: Option<PathBuf>,
    /// MaxMind/DB-IP ASN database (.mmdb)
    #[arg(long, env = "TALLY_GEOIP_ASN", value_name = "PATH")]
    pub geoip_asn: Option<PathBuf>,
    /// Log output: text or json [default: text]
    #[arg(long, env = "TALLY_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. info or tally=debug [default: info]
    #[arg(long, env = "TALLY_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// When retention runs: six-field cron, seconds first [default: "0 17 * * * *", hourly]
    #[arg(long, env = "TALLY_RETENTION_CRON", value_name = "EXPR")]
    pub retention_cron: Option<String>,
    /// Public domain for automatic TLS (repeatable)
    #[arg(
        long = "domain",
        env = "TALLY_DOMAIN",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub domains: Vec<String>,
    /// Contact e-mail for the ACME account
    #[arg(long, env = "TALLY_ACME_EMAIL", value_name = "EMAIL")]
    pub acme_email: Option<String>,
    /// ACME directory URL [default: Let's Encrypt production]
    #[arg(long, env = "TALLY_ACME_DIRECTORY", value_name = "URL")]
    pub acme_directory: Option<String>,
    /// Use Let's Encrypt staging instead of production
    #[arg(long, env = "TALLY_ACME_STAGING")]
    pub acme_staging: bool,
    /// Extra PEM root to trust for the ACME server's own HTTPS API (private CA)
    #[arg(long, env = "TALLY_ACME_CA_ROOT", value_name = "PEM")]
    pub acme_ca_root: Option<PathBuf>,
    /// HTTPS listen address [default: [::]:443 when TLS is on]
    #[arg(long, env = "TALLY_TLS_LISTEN", value_name = "ADDR")]
    pub tls_listen: Option<SocketAddr>,
    /// Certificate chain (PEM) for manual TLS
    #[arg(long, env = "TALLY_TLS_CERT", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for manual TLS
    #[arg(long, env = "TALLY_TLS_KEY", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Reverse proxy whose X-Forwarded-For is trusted (CIDR, repeatable)
    #[arg(
        long = "trusted-proxy",
        env = "TALLY_TRUSTED_PROXY",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Largest accepted ingest body after decompression, in MiB [default: 16]
    #[arg(long, env = "TALLY_MAX_BODY_MB", value_name = "MIB")]
    pub max_body_mb: Option<usize>,
    /// Storage page cache per database, in MiB [default: 16]
    #[arg(long, env = "TALLY_CACHE_MB", value_name = "MIB")]
    pub cache_mb: Option<u64>,
    /// Viewer records that may wait for the writer before ingest answers 429 [default: 400000]
    #[arg(long, env = "TALLY_QUEUE_VIEWERS", value_name = "N")]
    pub queue_viewers: Option<usize>,
    /// Public base URL of the panel, used in setup links [default: derived from --listen]
    #[arg(long, env = "TALLY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// SMTP relay for e-mail alerts: smtps://host:465 (TLS), smtp://host:587?tls=required
    /// (STARTTLS), smtp://host:25 (plain, local relays only); credentials as user:pass@host
    #[arg(long, env = "TALLY_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// Sender address of alert e-mails, e.g. "Tally <alerts@example.com>"
    #[arg(long, env = "TALLY_SMTP_FROM", value_name = "ADDRESS")]
    pub smtp_from: Option<String>,
}

/// The same options as read from the TOML file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub geoip_city: Option<PathBuf>,
    pub geoip_asn: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub retention_cron: Option<String>,
    #[serde(default)]
    pub domain: Vec<String>,
    pub acme_email: Option<String>,
    pub acme_directory: Option<String>,
    pub acme_staging: Option<bool>,
    pub acme_ca_root: Option<PathBuf>,
    pub tls_listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    #[serde(default)]
    pub trusted_proxy: Vec<IpNet>,
    pub max_body_mb: Option<usize>,
    pub cache_mb: Option<u64>,
    pub queue_viewers: Option<usize>,
    pub public_url: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    /// Options of `tally agent`, read by the agent itself.
    pub agent: Option<toml::Table>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// How HTTPS is provided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP only.
    Off,
    /// Certificate and key files, reloaded when they change.
    Manual { cert: PathBuf, key: PathBuf },
    /// Certificates obtained and renewed through ACME.
    Acme {
        domains: Vec<String>,
        email: Option<String>,
        directory: String,
        ca_root: Option<PathBuf>,
    },
}

/// Let's Encrypt production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt staging directory.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// The resolved configuration of `tally serve`.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub geoip_city: Option<PathBuf>,
    pub geoip_asn: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub retention_cron: String,
    pub tls: TlsMode,
    pub tls_listen: SocketAddr,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub cache_bytes: u64,
    pub queue_viewers: usize,
    pub public_url: Option<String>,
    /// The SMTP relay for e-mail alerts, when configured.
    pub smtp: Option<SmtpRelay>,
    /// Raw `[agent]` table of the config file, if any.
    pub agent_table: Option<toml::Table>,
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// Reads and parses a TOML config file.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(&text).map_err(|message| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses TOML config text.
pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

impl Config {
    /// Merges flags/environment over the file over the defaults, then validates.
    pub fn resolve(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::merge(args, file)
    }

    /// Merges already-parsed sources (separate from I/O for tests).
    pub fn merge(args: &ServeArgs, file: FileConfig) -> Result<Config, ConfigError> {
        let domains: Vec<String> = if args.domains.is_empty() {
            file.domain.clone()
        } else {
            args.domains.clone()
        };
        let tls_cert = args.tls_cert.clone().or(file.tls_cert);
        let tls_key = args.tls_key.clone().or(file.tls_key);
        let staging = args.acme_staging || file.acme_staging.unwrap_or(false);
        let tls = match (&tls_cert, &tls_key, domains.is_empty()) {
            (Some(cert), Some(key), _) => TlsMode::Manual {
                cert: cert.clone(),
                key: key.clone(),
            },
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err(ConfigError::Invalid(
                    "--tls-cert and --tls-key must be given together".into(),
                ));
            }
            (None, None, false) => TlsMode::Acme {
                domains: domains.clone(),
                email: args.acme_email.clone().or(file.acme_email),
                directory: args
                    .acme_directory
                    .clone()
                    .or(file.acme_directory)
                    .unwrap_or_else(|| {
                        if staging {
                            LETS_ENCRYPT_STAGING
                        } else {
                            LETS_ENCRYPT
                        }
                        .to_string()
                    }),
                ca_root: args.acme_ca_root.clone().or(file.acme_ca_root),
            },
            (None, None, true) => TlsMode::Off,
        };
        let default_listen = if domains.is_empty() {
            "127.0.0.1:8080"
        } else {
            "[::]:80"
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| parse_addr(default_listen));
        let tls_listen = args
            .tls_listen
            .or(file.tls_listen)
            .unwrap_or_else(|| parse_addr("[::]:443"));
        let trusted_proxies = if args.trusted_proxies.is_empty() {
            file.trusted_proxy
        } else {
            args.trusted_proxies.clone()
        };
        let config = Config {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| "tally-data".into()),
            listen,
            geoip_city: args.geoip_city.clone().or(file.geoip_city),
            geoip_asn: args.geoip_asn.clone().or(file.geoip_asn),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log_level: args
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            retention_cron: args
                .retention_cron
                .clone()
                .or(file.retention_cron)
                .unwrap_or_else(|| "0 17 * * * *".into()),
            tls,
            tls_listen,
            trusted_proxies,
            // Checked: a plain `<< 20` drops high bits, so a huge value could wrap to a small
            // valid-looking one.
            max_body_bytes: args
                .max_body_mb
                .or(file.max_body_mb)
                .unwrap_or(16)
                .checked_mul(1 << 20)
                .ok_or_else(|| {
                    ConfigError::Invalid("max_body_mb must be between 1 and 1024".into())
                })?,
            cache_bytes: args
                .cache_mb
                .or(file.cache_mb)
                .unwrap_or(16)
                .checked_mul(1 << 20)
                .ok_or_else(|| ConfigError::Invalid("cache_mb is too large".into()))?,
            queue_viewers: args.queue_viewers.or(file.queue_viewers).unwrap_or(400_000),
            public_url: args.public_url.clone().or(file.public_url),
            smtp: SmtpRelay::from_parts(
                args.smtp_url.clone().or(file.smtp_url),
                args.smtp_from.clone().or(file.smtp_from),
            )?,
            agent_table: file.agent,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes == 0 || self.max_body_bytes > 1 << 30 {
            return Err(ConfigError::Invalid(
                "max_body_mb must be between 1 and 1024".into(),
            ));
        }
        if self.queue_viewers < 1000 {
            return Err(ConfigError::Invalid(
                "queue_viewers must be at least 1000".into(),
            ));
        }
        if self.retention_cron.split_whitespace().count() < 6 {
            return Err(ConfigError::Invalid(format!(
                "retention_cron `{}` needs six fields, seconds first, e.g. \"0 17 * * * *\"",
                self.retention_cron
            )));
        }
        if let TlsMode::Acme { domains, .. } = &self.tls {
            for d in domains {
                if d.is_empty() || d.contains('/') || d.contains(':') || d.contains(' ') {
                    return Err(ConfigError::Invalid(format!("`{d}` is not a domain name")));
                }
            }
        }
        Ok(())
    }

    /// Base URL the panel is reached at, for links printed to the log.
    pub fn base_url(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        match &self.tls {
            TlsMode::Acme { domains, .. } if !domains.is_empty() => {
                format!("https://{}", domains[0])
            }
            _ => {
                let host = if self.listen.ip().is_unspecified() {
                    "localhost".to_string()
                } else {
                    self.listen.ip().to_string()
                };
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("http://{host}:{}", self.listen.port())
            }
        }
    }
}

fn parse_addr(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_relay_is_checked_and_shows_only_its_host() {
        let relay = SmtpRelay::from_parts(
            Some("smtps://alerts:s3cret@mail.example.com:465".into()),
            Some("Panel <alerts@example.com>".into()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(relay.host, "mail.example.com");
        assert!(!format!("{relay:?}").contains("s3cret"));
        let err = |u: Option<&str>, f: Option<&str>| {
            SmtpRelay::from_parts(u.map(Into::into), f.map(Into::into))
                .unwrap_err()
                .to_string()
        };
        assert!(err(Some("smtp://h:25"), None).contains("smtp_from"));
        assert!(err(None, Some("a@example.com")).contains("smtp_url"));
        assert!(err(Some("not a url"), Some("a@example.com")).contains("smtp_url"));
        assert!(err(Some("smtp://h:25"), Some("no address")).contains("smtp_from"));
        assert!(
            SmtpRelay::from_parts(Some(" ".into()), None)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            url_host("https://u:p@hooks.example.org:8443/x?y"),
            Some("hooks.example.org".into())
        );
        assert_eq!(url_host("::"), None);
    }

    #[test]
    fn defaults_are_local_plain_http() {
        let c = Config::merge(&ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("tally-data"));
        assert_eq!(c.tls, TlsMode::Off);
        assert_eq!(c.max_body_bytes, 16 << 20);
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let file = parse_file("data_dir = \"/f\"\nlisten = \"127.0.0.1:9\"\nlog_format = \"json\"")
            .unwrap();
        let args = ServeArgs {
            data_dir: Some("/cli".into()),
            ..Default::default()
        };
        let c = Config::merge(&args, file).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/cli"));
        assert_eq!(c.listen.port(), 9);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = parse_file("data_dri = \"x\"").unwrap_err();
        assert!(err.contains("data_dri"), "{err}");
        let err = parse_file("listen = 5").unwrap_err();
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn a_domain_turns_on_acme_and_port_80() {
        let args = ServeArgs {
            domains: vec!["panel.example.com".into()],
            ..Default::default()
        };
        let c = Config::merge(&args, FileConfig::default()).unwrap();
        assert!(matches!(c.tls, TlsMode::Acme { .. }));
        assert_eq!(c.listen.port(), 80);
        assert_eq!(c.base_url(), "https://panel.example.com");
    }
}

/// The operator's SMTP relay. Its URL may hold a password, so `Debug` shows only the host.
#[derive(Clone)]
pub struct SmtpRelay {
    /// `smtp://` or `smtps://` URL as lettre takes it.
    pub url: String,
    /// Sender mailbox.
    pub from: String,
    /// Host name, for the privacy notice and logs.
    pub host: String,
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpRelay {
    /// Checks the pair: both or neither, a URL lettre can use, a sender address.
    fn from_parts(url: Option<String>, from: Option<String>) -> Result<Option<Self>, ConfigError> {
        let clean = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        match (clean(url), clean(from)) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid(
                "smtp_url is set but smtp_from is not; set the sender address too, e.g. --smtp-from alerts@example.com".into(),
            )),
            (None, Some(_)) => Err(ConfigError::Invalid(
                "smtp_from is set but smtp_url is not; set the relay too, e.g. --smtp-url smtps://mail.example.com:465".into(),
            )),
            (Some(url), Some(from)) => {
                if let Err(e) = lettre::SmtpTransport::from_url(&url) {
                    return Err(ConfigError::Invalid(format!(
                        "smtp_url is not a usable SMTP URL ({e}); use smtps://host:465 or smtp://host:587?tls=required"
                    )));
                }
                if let Err(e) = from.parse::<lettre::message::Mailbox>() {
                    return Err(ConfigError::Invalid(format!(
                        "smtp_from `{from}` is not an e-mail address ({e})"
                    )));
                }
                let host = url_host(&url).unwrap_or_default();
                Ok(Some(SmtpRelay { url, from, host }))
            }
        }
    }
}

/// The host part of a URL (`smtps://user:pass@mail.example.com:465` → `mail.example.com`), for
/// naming a service in the privacy notice and logs without its credentials.
pub fn url_host(url: &str) -> Option<String> {
    url::Url::parse(url.trim())
        .ok()?
        .host_str()
        .map(str::to_string)
}
