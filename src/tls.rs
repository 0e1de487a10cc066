//! HTTPS: turns [`TlsMode`] into the rustls `ServerConfig` the HTTP server uses, keeps the
//! certificates current, and reports their state.
//!
//! - **Manual** (`--tls-cert`/`--tls-key`): [`ManualCert`] serves the files and re-reads them
//!   when they change (checked at most every [`RELOAD_CHECK`]), so an external renewal tool only
//!   has to replace them. A broken replacement is logged and the last good pair stays in use.
//! - **ACME** (`--domain`): every domain gets its own certificate from its own rustls-acme
//!   state machine, so one customer domain whose DNS points elsewhere never blocks the renewal
//!   of the others, and domains can be added while running ([`Tls::add_domain`]). Validation
//!   uses TLS-ALPN-01 on the HTTPS listener first and alternates with HTTP-01 (answered by the
//!   plain listener) after a failed order. Certificates and the account key live under
//!   `<data_dir>/acme/`, readable by the service user only; a restart deploys them from there
//!   without a new order.
//!
//! Every rustls object is built with the `ring` provider and TLS 1.2 or 1.3 only. This module
//! never logs key material; ACME errors are logged as the CA reported them.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use parking_lot::{Mutex, RwLock};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_acme::{
    AccountCache, AcmeConfig, CertCache, EventError, EventOk, ResolvesServerCertAcme, UseChallenge,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::TlsMode;

/// How often a manual certificate's files are checked for changes, at most.
pub const RELOAD_CHECK: Duration = Duration::from_secs(3);

/// A certificate closer to expiry than this makes `tally check` fail.
pub const EXPIRY_WARNING_S: i64 = 7 * 86_400;

/// Waits between failed ACME orders, by number of consecutive failures (the last one repeats).
/// The first retry is quick because it switches to the other challenge type; later ones stay
/// well inside Let's Encrypt's limit of five failed validations per domain and hour.
const RETRY_DELAYS_S: [u64; 6] = [5, 60, 300, 900, 3600, 3600 * 6];

/// A TLS set-up problem, reported at start-up (or by `tally check`).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// `certificate`, `private key`, …
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file was read but holds no usable PEM item of the expected kind.
    #[error("{path} holds no usable {what}: {message}")]
    Pem {
        /// `certificate`, `private key`, …
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// The private key does not belong to the certificate (or cannot sign).
    #[error("certificate {cert} does not match key {key}: {message}")]
    KeyMismatch {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
        /// What rustls said.
        message: String,
    },
    /// Not a name a public certificate can be issued for.
    #[error("`{0}` is not a domain name a certificate can be issued for")]
    BadDomain(String),
    /// The ACME contact is not an e-mail address.
    #[error("`{0}` is not an e-mail address for the ACME account")]
    BadEmail(String),
    /// A domain was added while certificates come from files.
    #[error("certificates come from --tls-cert/--tls-key, so domains cannot be added")]
    NotAcme,
    /// rustls refused the configuration.
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The crypto provider every rustls object in Tally is built with.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config: TLS 1.3 and 1.2 only, certificates from `resolver`. actix-web prepends
/// the `h2` and `http/1.1` ALPN ids to `extra_alpn` itself.
fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    extra_alpn: &[&[u8]],
) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = extra_alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

// ---------------------------------------------------------------------------------------------
// The facade the rest of the server uses.

/// HTTPS for `tally serve`: the rustls config plus a handle on the certificates behind it.
/// Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Tls {
    inner: Arc<TlsInner>,
}

struct TlsInner {
    source: Source,
    config: ServerConfig,
}

enum Source {
    Manual(Arc<ManualCert>),
    Acme(Arc<AcmeManager>),
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Builds HTTPS from the configuration; `None` when TLS is off. Manual certificate files
    /// are read now, so a bad pair stops start-up with a message naming the file.
    pub fn from_mode(mode: &TlsMode, data_dir: &Path) -> Result<Option<Tls>, TlsError> {
        let (source, config) = match mode {
            TlsMode::Off => return Ok(None),
            TlsMode::Manual { cert, key } => {
                let manual = Arc::new(ManualCert::load(cert, key)?);
                let config = server_config(manual.clone(), &[])?;
                (Source::Manual(manual), config)
            }
            TlsMode::Acme {
                domains,
                email,
                directory,
                ca_root,
            } => {
                let manager = Arc::new(AcmeManager::new(
                    data_dir,
                    directory,
                    email.as_deref(),
                    ca_root.as_deref(),
                )?);
                for domain in domains {
                    manager.add_domain(domain)?;
                }
                let resolver = Arc::new(SniResolver {
                    manager: manager.clone(),
                });
                let config = server_config(resolver, &[rustls_acme::acme::ACME_TLS_ALPN_NAME])?;
                (Source::Acme(manager), config)
            }
        };
        Ok(Some(Tls {
            inner: Arc::new(TlsInner { source, config }),
        }))
    }

    /// The rustls configuration for the HTTPS listener.
    pub fn server_config(&self) -> ServerConfig {
        self.inner.config.clone()
    }

    /// `"manual"` or `"acme"`.
    pub fn mode(&self) -> &'static str {
        match &self.inner.source {
            Source::Manual(_) => "manual",
            Source::Acme(_) => "acme",
        }
    }

    /// Starts obtaining and renewing certificates. Call once, inside the server's runtime.
    pub fn start(&self) {
        if let Source::Acme(manager) = &self.inner.source {
            manager.start();
        }
    }

    /// Adds a domain to obtain a certificate for, while running. Returns false when it was
    /// already known. Only with ACME.
    pub fn add_domain(&self, domain: &str) -> Result<bool, TlsError> {
        match &self.inner.source {
            Source::Acme(manager) => manager.add_domain(domain),
            Source::Manual(_) => Err(TlsError::NotAcme),
        }
    }

    /// The key authorization for an HTTP-01 challenge token, while that challenge is pending.
    pub fn http01_key_auth(&self, token: &str) -> Option<String> {
        match &self.inner.source {
            Source::Acme(manager) => manager.http01_key_auth(token),
            Source::Manual(_) => None,
        }
    }

    /// The state of every certificate, for the API and the metrics.
    pub fn status(&self, now: i64) -> TlsStatus {
        match &self.inner.source {
            Source::Manual(manual) => {
                manual.refresh(Instant::now());
                TlsStatus {
                    mode: "manual",
                    directory: None,
                    certificates: vec![manual.status(now)],
                }
            }
            Source::Acme(manager) => TlsStatus {
                mode: "acme",
                directory: Some(manager.directory.clone()),
                certificates: manager.status(now),
            },
        }
    }

    /// Appends the TLS metrics in Prometheus text format.
    pub fn write_metrics(&self, out: &mut String, now: i64) {
        let status = self.status(now);
        out.push_str(
            "# HELP tally_tls_certificate_expiry_seconds Unix time at which the served certificate \
             expires.\n# TYPE tally_tls_certificate_expiry_seconds gauge\n",
        );
        for cert in &status.certificates {
            if let Some(not_after) = cert.not_after {
                for domain in &cert.domains {
                    out.push_str(&format!(
                        "tally_tls_certificate_expiry_seconds{{domain=\"{}\"}} {not_after}\n",
                        prometheus_label(domain)
                    ));
                }
            }
        }
        if status.mode == "acme" {
            out.push_str(
                "# HELP tally_tls_acme_failures Consecutive failed certificate orders.\n\
                 # TYPE tally_tls_acme_failures gauge\n",
            );
            for cert in &status.certificates {
                for domain in &cert.domains {
                    out.push_str(&format!(
                        "tally_tls_acme_failures{{domain=\"{}\"}} {}\n",
                        prometheus_label(domain),
                        cert.failures
                    ));
                }
            }
        }
    }
}

fn prometheus_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What `GET /api/v1/tls` returns.
#[derive(Debug, Clone, Serialize)]
pub struct TlsStatus {
    /// `off`, `manual` or `acme`.
    pub mode: &'static str,
    /// ACME directory URL.
    pub directory: Option<String>,
    /// One entry per certificate (ACME: per domain).
    pub certificates: Vec<CertStatus>,
}

impl TlsStatus {
    /// The status of a plain-HTTP server.
    pub fn off() -> TlsStatus {
        TlsStatus {
            mode: "off",
            directory: None,
            certificates: Vec::new(),
        }
    }
}

/// One certificate as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct CertStatus {
    /// Names the certificate covers (ACME: the domain it is ordered for).
    pub domains: Vec<String>,
    /// `pending` (none yet), `valid`, `expired` or `error` (ordering failed, none served).
    pub state: &'static str,
    /// Unix seconds.
    pub not_after: Option<i64>,
    /// Seconds left until `not_after` (negative once expired).
    pub expires_in_s: Option<i64>,
    /// Challenge type of the current (or next) ACME attempt.
    pub challenge: Option<&'static str>,
    /// Last ACME event, e.g. `DeployedNewCert`.
    pub last_event: Option<String>,
    /// Last failure as the CA or the file system reported it (kept after later successes).
    pub last_error: Option<String>,
    /// Unix seconds.
    pub last_error_at: Option<i64>,
    /// Consecutive failed orders.
    pub failures: u32,
}

fn cert_state(not_after: Option<i64>, failed: bool, now: i64) -> &'static str {
    match not_after {
        Some(t) if t <= now => "expired",
        Some(_) => "valid",
        None if failed => "error",
        None => "pending",
    }
}

// ---------------------------------------------------------------------------------------------
// Manual certificates.

/// A certificate and key from files, re-read when either file changes.
#[derive(Debug)]
pub struct ManualCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<LoadedPair>,
    next_check: Mutex<Instant>,
    /// Stamp of the last pair that failed to load, so it is reported once.
    failed: Mutex<Option<(FileStamp, String)>>,
}

#[derive(Debug)]
struct LoadedPair {
    key: Arc<CertifiedKey>,
    info: CertInfo,
    stamp: FileStamp,
}

/// Identity of the two files' current versions: replacing a file (even by rename, even within
/// the same second) changes one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp([(Option<SystemTime>, u64, u64); 2]);

fn file_stamp(cert: &Path, key: &Path) -> FileStamp {
    let one = |p: &Path| match std::fs::metadata(p) {
        Ok(m) => {
            #[cfg(unix)]
            let ino = std::os::unix::fs::MetadataExt::ino(&m);
            #[cfg(not(unix))]
            let ino = 0;
            (m.modified().ok(), m.len(), ino)
        }
        Err(_) => (None, 0, 0),
    };
    FileStamp([one(cert), one(key)])
}

/// Reads a PEM certificate chain and its private key and checks that they belong together.
pub fn load_pair(cert: &Path, key: &Path) -> Result<(CertifiedKey, CertInfo), TlsError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read("certificate", cert)?;
    let key_pem = read("private key", key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            what: "certificate",
            path: cert.to_path_buf(),
            message: e.to_string(),
        })?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::Pem {
            what: "certificate",
            path: cert.to_path_buf(),
            message: "no CERTIFICATE block found".into(),
        });
    };
    let info = cert_info(leaf).ok_or_else(|| TlsError::Pem {
        what: "certificate",
        path: cert.to_path_buf(),
        message: "the first certificate is not valid DER X.509".into(),
    })?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        what: "private key",
        path: key.to_path_buf(),
        message: e.to_string(),
    })?;
    let certified =
        CertifiedKey::from_der(chain, private, &provider()).map_err(|e| TlsError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok((certified, info))
}

impl ManualCert {
    /// Loads the pair; fails when either file is unreadable or they do not match.
    pub fn load(cert: &Path, key: &Path) -> Result<ManualCert, TlsError> {
        let stamp = file_stamp(cert, key);
        let (certified, info) = load_pair(cert, key)?;
        Ok(ManualCert {
            cert_path: cert.to_path_buf(),
            key_path: key.to_path_buf(),
            current: RwLock::new(LoadedPair {
                key: Arc::new(certified),
                info,
                stamp,
            }),
            next_check: Mutex::new(Instant::now() + RELOAD_CHECK),
            failed: Mutex::new(None),
        })
    }

    /// Re-reads the files if they changed since the last look (at most every [`RELOAD_CHECK`]).
    /// Returns true when a new pair was loaded.
    pub fn refresh(&self, now: Instant) -> bool {
        {
            let mut next = self.next_check.lock();
            if now < *next {
                return false;
            }
            *next = now + RELOAD_CHECK;
        }
        let stamp = file_stamp(&self.cert_path, &self.key_path);
        if stamp == self.current.read().stamp {
            return false;
        }
        match load_pair(&self.cert_path, &self.key_path) {
            Ok((certified, info)) => {
                tracing::info!(
                    cert = %self.cert_path.display(),
                    names = %info.names.join(","),
                    not_after = %format_time(info.not_after),
                    "TLS certificate reloaded"
                );
                *self.current.write() = LoadedPair {
                    key: Arc::new(certified),
                    info,
                    stamp,
                };
                *self.failed.lock() = None;
                true
            }
            Err(err) => {
                // A renewal tool may have written one file and not yet the other: keep serving
                // the last good pair and look again later; say so once per version of the files.
                let mut failed = self.failed.lock();
                if failed.as_ref().map(|(s, _)| *s) != Some(stamp) {
                    tracing::warn!(error = %err, "TLS certificate files changed but cannot be used; still serving the previous certificate");
                    *failed = Some((stamp, err.to_string()));
                }
                false
            }
        }
    }

    fn status(&self, now: i64) -> CertStatus {
        let current = self.current.read();
        let failed = self.failed.lock();
        CertStatus {
            domains: current.info.names.clone(),
            state: cert_state(Some(current.info.not_after), false, now),
            not_after: Some(current.info.not_after),
            expires_in_s: Some(current.info.not_after - now),
            challenge: None,
            last_event: None,
            last_error: failed.as_ref().map(|(_, e)| e.clone()),
            last_error_at: None,
            failures: 0,
        }
    }
}

impl ResolvesServerCert for ManualCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.refresh(Instant::now());
        Some(self.current.read().key.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// ACME.

/// Lower-cases and checks a domain name for an ACME order.
pub fn normalize_domain(domain: &str) -> Result<String, TlsError> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if d.len() > 253
        || !d.contains('.')
        || d.parse::<IpAddr>().is_ok()
        || !d.split('.').all(label_ok)
    {
        return Err(TlsError::BadDomain(domain.to_string()));
    }
    Ok(d)
}

/// Directory of the ACME cache for one CA: `<data_dir>/acme/<host>-<hash of the URL>`.
pub fn acme_dir(data_dir: &Path, directory_url: &str) -> PathBuf {
    let host = directory_url
        .split("://")
        .nth(1)
        .unwrap_or(directory_url)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = hex::encode(&Sha256::digest(directory_url.as_bytes())[..4]);
    data_dir.join("acme").join(format!("{host}-{hash}"))
}

/// File holding the cached certificate (key first, then the chain, PEM) for `domains`.
pub fn acme_cert_file(data_dir: &Path, directory_url: &str, domains: &[String]) -> PathBuf {
    let names: Vec<String> = domains
        .iter()
        .map(|d| {
            d.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .collect();
    acme_dir(data_dir, directory_url).join(format!("cert-{}.pem", names.join(",")))
}

fn acme_account_file(data_dir: &Path, directory_url: &str, contact: &[String]) -> PathBuf {
    let mut h = Sha256::new();
    for c in contact {
        h.update(c.as_bytes());
        h.update([0]);
    }
    acme_dir(data_dir, directory_url)
        .join(format!("account-{}.key", hex::encode(&h.finalize()[..6])))
}

/// Writes a secret file: owner-only, complete or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn read_if_exists(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything the ACME state machines of one instance share.
struct AcmeSettings {
    data_dir: PathBuf,
    directory: String,
    contact: Vec<String>,
    client: Arc<ClientConfig>,
}

/// The certificates of all domains.
struct AcmeManager {
    settings: Arc<AcmeSettings>,
    directory: String,
    /// Domain → its certificate; the first domain added is the default for clients without SNI.
    certs: RwLock<BTreeMap<String, Arc<DomainCert>>>,
    default_domain: RwLock<Option<String>>,
    /// Hands new domains to the task that runs their state machines, once started.
    spawner: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Arc<DomainCert>>>>,
}

impl AcmeManager {
    fn new(
        data_dir: &Path,
        directory: &str,
        email: Option<&str>,
        ca_root: Option<&Path>,
    ) -> Result<AcmeManager, TlsError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_root {
            for cert in read_ca_roots(path)? {
                roots.add(cert).map_err(|e| TlsError::Pem {
                    what: "CA certificate",
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            }
        }
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let contact = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => Vec::new(),
            Some(e) if e.contains('@') && !e.contains(char::is_whitespace) && !e.contains(':') => {
                vec![format!("mailto:{e}")]
            }
            Some(e) => return Err(TlsError::BadEmail(e.to_string())),
        };
        Ok(AcmeManager {
            settings: Arc::new(AcmeSettings {
                data_dir: data_dir.to_path_buf(),
                directory: directory.to_string(),
                contact,
                client: Arc::new(client),
            }),
            directory: directory.to_string(),
            certs: RwLock::new(BTreeMap::new()),
            default_domain: RwLock::new(None),
            spawner: Mutex::new(None),
        })
    }

    fn add_domain(&self, domain: &str) -> Result<bool, TlsError> {
        let domain = normalize_domain(domain)?;
        let mut certs = self.certs.write();
        if certs.contains_key(&domain) {
            return Ok(false);
        }
        let cert = Arc::new(DomainCert::new(domain.clone()));
        certs.insert(domain.clone(), cert.clone());
        self.default_domain.write().get_or_insert(domain.clone());
        if let Some(tx) = &*self.spawner.lock() {
            tracing::info!(domain = %domain, "TLS: domain added; obtaining its certificate");
            let _ = tx.send(cert);
        }
        Ok(true)
    }

    fn start(&self) {
        let settings = self.settings.clone();
        // Create the account key before the state machines start, so that they all use one
        // account instead of each registering its own.
        let account = acme_account_file(&settings.data_dir, &settings.directory, &settings.contact);
        if !account.exists() {
            let key = rustls_acme::acme::Account::generate_key_pair();
            if let Err(e) = write_private(&account, &key) {
                tracing::warn!(path = %account.display(), error = %e, "cannot store the ACME account key");
            }
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Arc<DomainCert>>();
        {
            let certs = self.certs.read();
            for cert in certs.values() {
                let _ = tx.send(cert.clone());
            }
            *self.spawner.lock() = Some(tx);
        }
        actix_web::rt::spawn(async move {
            while let Some(cert) = rx.recv().await {
                actix_web::rt::spawn(drive(settings.clone(), cert));
            }
        });
    }

    fn get(&self, domain: &str) -> Option<Arc<DomainCert>> {
        self.certs.read().get(domain).cloned()
    }

    fn default_cert(&self) -> Option<Arc<DomainCert>> {
        let domain = self.default_domain.read().clone()?;
        self.get(&domain)
    }

    fn http01_key_auth(&self, token: &str) -> Option<String> {
        let certs: Vec<Arc<DomainCert>> = self.certs.read().values().cloned().collect();
        certs
            .iter()
            .find_map(|c| c.newest.read().as_ref()?.get_http_01_key_auth(token))
    }

    fn status(&self, now: i64) -> Vec<CertStatus> {
        let certs: Vec<Arc<DomainCert>> = self.certs.read().values().cloned().collect();
        certs.iter().map(|c| c.status(now)).collect()
    }
}

fn read_ca_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        what: "ACME CA certificate",
        path: path.to_path_buf(),
        source,
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            what: "CA certificate",
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: "CA certificate",
            path: path.to_path_buf(),
            message: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

/// Which ACME challenge an attempt uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenge {
    TlsAlpn01,
    Http01,
}

impl Challenge {
    fn name(self) -> &'static str {
        match self {
            Challenge::TlsAlpn01 => "tls-alpn-01",
            Challenge::Http01 => "http-01",
        }
    }
    fn other(self) -> Challenge {
        match self {
            Challenge::TlsAlpn01 => Challenge::Http01,
            Challenge::Http01 => Challenge::TlsAlpn01,
        }
    }
    fn to_acme(self) -> UseChallenge {
        match self {
            Challenge::TlsAlpn01 => UseChallenge::TlsAlpn01,
            Challenge::Http01 => UseChallenge::Http01,
        }
    }
}

/// One domain's certificate: the resolver serving it and what happened to it.
struct DomainCert {
    domain: String,
    /// Resolver of the state machine whose certificate is served.
    serving: RwLock<Option<Arc<ResolvesServerCertAcme>>>,
    /// Resolver of the running state machine: holds the pending challenge. It becomes the
    /// serving one once it has deployed a certificate, so that a restarted attempt never leaves
    /// the domain without its previous certificate in between.
    newest: RwLock<Option<Arc<ResolvesServerCertAcme>>>,
    state: Mutex<AcmeCertState>,
}

#[derive(Debug, Default)]
struct AcmeCertState {
    not_after: Option<i64>,
    challenge: Option<Challenge>,
    last_event: Option<String>,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    failures: u32,
}

impl DomainCert {
    fn new(domain: String) -> DomainCert {
        DomainCert {
            domain,
            serving: RwLock::new(None),
            newest: RwLock::new(None),
            state: Mutex::new(AcmeCertState::default()),
        }
    }

    fn status(&self, now: i64) -> CertStatus {
        let s = self.state.lock();
        CertStatus {
            domains: vec![self.domain.clone()],
            state: cert_state(s.not_after, s.failures > 0, now),
            not_after: s.not_after,
            expires_in_s: s.not_after.map(|t| t - now),
            challenge: s.challenge.map(Challenge::name),
            last_event: s.last_event.clone(),
            last_error: s.last_error.clone(),
            last_error_at: s.last_error_at,
            failures: s.failures,
        }
    }

    fn resolve(&self, hello: ClientHello<'_>, challenge: bool) -> Option<Arc<CertifiedKey>> {
        let resolver = if challenge {
            self.newest.read().clone()
        } else {
            self.serving.read().clone()
        };
        resolver?.resolve(hello)
    }
}

/// Runs one domain's ACME state machine for as long as the server runs.
async fn drive(settings: Arc<AcmeSettings>, cert: Arc<DomainCert>) {
    let mut challenge = Challenge::TlsAlpn01;
    loop {
        let config =
            AcmeConfig::new_with_client_config([cert.domain.as_str()], settings.client.clone())
                .directory(&settings.directory)
                .contact(settings.contact.iter())
                .cache(AcmeCache {
                    settings: settings.clone(),
                    cert: cert.clone(),
                })
                .challenge_type(challenge.to_acme());
        let mut state = config.state();
        *cert.newest.write() = Some(state.resolver());
        cert.state.lock().challenge = Some(challenge);
        let failed = loop {
            match state.next().await {
                Some(Ok(event)) => {
                    tracing::info!(domain = %cert.domain, event = ?event, "ACME");
                    let mut s = cert.state.lock();
                    s.last_event = Some(format!("{event:?}"));
                    if matches!(
                        event,
                        EventOk::DeployedCachedCert | EventOk::DeployedNewCert
                    ) {
                        *cert.serving.write() = Some(state.resolver());
                        s.failures = 0;
                    }
                }
                Some(Err(err)) => {
                    let order_failed = matches!(err, EventError::Order(_));
                    tracing::warn!(domain = %cert.domain, challenge = %challenge.name(), error = %err, "ACME failed");
                    let mut s = cert.state.lock();
                    s.last_error = Some(err.to_string());
                    s.last_error_at = Some(crate::now());
                    if order_failed {
                        s.failures += 1;
                        break s.failures;
                    }
                    // Cache errors: the state machine carries on by itself.
                }
                None => return,
            }
        };
        // Start a fresh attempt with the other challenge type: TLS-ALPN-01 needs the HTTPS port
        // reachable, HTTP-01 the plain one, and either may be the one a firewall lets through.
        challenge = challenge.other();
        let idx = (failed as usize)
            .saturating_sub(1)
            .min(RETRY_DELAYS_S.len() - 1);
        let delay = Duration::from_secs(RETRY_DELAYS_S[idx]);
        tracing::info!(domain = %cert.domain, retry_in_s = delay.as_secs(), next_challenge = %challenge.name(), "ACME order will be retried");
        cert.state.lock().challenge = Some(challenge);
        actix_web::rt::time::sleep(delay).await;
    }
}

/// Dispatches TLS handshakes to the certificate of the requested name.
#[derive(Debug)]
struct SniResolver {
    manager: Arc<AcmeManager>,
}

impl fmt::Debug for AcmeManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeManager")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let challenge = rustls_acme::is_tls_alpn_challenge(&hello);
        let named = hello
            .server_name()
            .and_then(|n| self.manager.get(&n.to_ascii_lowercase()));
        let cert = match named {
            Some(c) => c,
            // A validation handshake must name its domain; others (an IP, an unknown name) get
            // the default certificate rather than a failed handshake.
            None if challenge => return None,
            None => self.manager.default_cert()?,
        };
        cert.resolve(hello, challenge)
    }
}

/// rustls-acme's cache in Tally's layout: owner-only files with readable names, and the
/// certificate's expiry noted on the way in and out.
struct AcmeCache {
    settings: Arc<AcmeSettings>,
    cert: Arc<DomainCert>,
}

type CacheFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, std::io::Error>> + Send + 'a>>;

impl AcmeCache {
    fn note_expiry(&self, pem: &[u8]) {
        if let Some(not_after) = pem_not_after(pem) {
            self.cert.state.lock().not_after = Some(not_after);
        }
    }
}

// The files are a few kilobytes and touched at start and on renewal, so plain blocking I/O
// inside these futures costs less than a thread hand-off.
impl CertCache for AcmeCache {
    type EC = std::io::Error;

    fn load_cert<'a, 'b, 'c, 'async_trait>(
        &'a self,
        domains: &'b [String],
        directory_url: &'c str,
    ) -> CacheFuture<'async_trait, Option<Vec<u8>>>
    where
        'a: 'async_trait,
        'b: 'async_trait,
        'c: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let pem = read_if_exists(&acme_cert_file(
                &self.settings.data_dir,
                directory_url,
                domains,
            ))?;
            if let Some(pem) = &pem {
                self.note_expiry(pem);
            }
            Ok(pem)
        })
    }

    fn store_cert<'a, 'b, 'c, 'd, 'async_trait>(
        &'a self,
        domains: &'b [String],
        directory_url: &'c str,
        cert: &'d [u8],
    ) -> CacheFuture<'async_trait, ()>
    where
        'a: 'async_trait,
        'b: 'async_trait,
        'c: 'async_trait,
        'd: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note_expiry(cert);
            write_private(
                &acme_cert_file(&self.settings.data_dir, directory_url, domains),
                cert,
            )
        })
    }
}

impl AccountCache for AcmeCache {
    type EA = std::io::Error;

    fn load_account<'a, 'b, 'c, 'async_trait>(
        &'a self,
        contact: &'b [String],
        directory_url: &'c str,
    ) -> CacheFuture<'async_trait, Option<Vec<u8>>>
    where
        'a: 'async_trait,
        'b: 'async_trait,
        'c: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            read_if_exists(&acme_account_file(
                &self.settings.data_dir,
                directory_url,
                contact,
            ))
        })
    }

    fn store_account<'a, 'b, 'c, 'd, 'async_trait>(
        &'a self,
        contact: &'b [String],
        directory_url: &'c str,
        account: &'d [u8],
    ) -> CacheFuture<'async_trait, ()>
    where
        'a: 'async_trait,
        'b: 'async_trait,
        'c: 'async_trait,
        'd: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            write_private(
                &acme_account_file(&self.settings.data_dir, directory_url, contact),
                account,
            )
        })
    }
}

/// Expiry of the first certificate in a PEM bundle.
fn pem_not_after(pem: &[u8]) -> Option<i64> {
    let leaf = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    cert_info(&leaf).map(|i| i.not_after)
}

// ---------------------------------------------------------------------------------------------
// `tally check`.

/// One line of `tally check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// False makes `tally check` fail.
    pub ok: bool,
    /// What was checked, e.g. `TLS panel.example.com`.
    pub what: String,
    /// What was found, or what is wrong and how to fix it.
    pub detail: String,
}

fn expiry_text(not_after: i64, now: i64) -> (bool, String) {
    let days = (not_after - now).div_euclid(86_400);
    if not_after <= now {
        (false, format!("EXPIRED on {}", format_time(not_after)))
    } else if not_after - now < EXPIRY_WARNING_S {
        (
            false,
            format!(
                "expires {} (in {days} days; renewal is overdue)",
                format_time(not_after)
            ),
        )
    } else {
        (
            true,
            format!("expires {} (in {days} days)", format_time(not_after)),
        )
    }
}

/// Checks the TLS set-up without starting anything: certificate files, the ACME CA root and
/// the cached ACME certificates with their expiry.
pub fn check(mode: &TlsMode, data_dir: &Path, now: i64) -> Vec<CheckItem> {
    let item = |ok, what: &str, detail: String| CheckItem {
        ok,
        what: what.to_string(),
        detail,
    };
    match mode {
        TlsMode::Off => vec![item(true, "TLS", "off (plain HTTP)".into())],
        TlsMode::Manual { cert, key } => match load_pair(cert, key) {
            Ok((_, info)) => {
                let (ok, text) = expiry_text(info.not_after, now);
                vec![item(
                    ok,
                    "TLS",
                    format!(
                        "certificate {} for {}; {text}",
                        cert.display(),
                        info.names.join(", ")
                    ),
                )]
            }
            Err(e) => vec![item(false, "TLS", e.to_string())],
        },
        TlsMode::Acme {
            domains,
            directory,
            ca_root,
            ..
        } => {
            let mut items = Vec::new();
            if let Some(path) = ca_root {
                match read_ca_roots(path) {
                    Ok(c) => items.push(item(
                        true,
                        "ACME CA root",
                        format!("{}: {} certificate(s)", path.display(), c.len()),
                    )),
                    Err(e) => items.push(item(false, "ACME CA root", e.to_string())),
                }
            }
            for domain in domains {
                let what = format!("TLS {domain}");
                let domain = match normalize_domain(domain) {
                    Ok(d) => d,
                    Err(e) => {
                        items.push(item(false, &what, e.to_string()));
                        continue;
                    }
                };
                let file = acme_cert_file(data_dir, directory, std::slice::from_ref(&domain));
                match std::fs::read(&file) {
                    Ok(pem) => match pem_not_after(&pem) {
                        Some(not_after) => {
                            let (ok, text) = expiry_text(not_after, now);
                            items.push(item(
                                ok,
                                &what,
                                format!("certificate from {directory}; {text}"),
                            ));
                        }
                        None => items.push(item(
                            false,
                            &what,
                            format!(
                                "{} cannot be parsed; delete it to order a new certificate",
                                file.display()
                            ),
                        )),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => items.push(item(
                        true,
                        &what,
                        format!(
                            "no certificate cached yet; `tally serve` obtains one from {directory}"
                        ),
                    )),
                    Err(e) => items.push(item(false, &what, format!("{}: {e}", file.display()))),
                }
            }
            items
        }
    }
}

/// RFC 3339 text of a Unix time.
fn format_time(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| t.to_string())
}

// ---------------------------------------------------------------------------------------------
// Reading certificates. Only two facts are needed (names and expiry) from certificates Tally
// holds itself, so a small DER walk replaces a full X.509 parser.

/// What Tally reads from an X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertInfo {
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub names: Vec<String>,
}

/// One DER element: tag, contents, and what follows it.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The contents of an element that must carry `tag`, and what follows it.
fn der_expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, contents, rest) = der_next(input)?;
    (t == tag).then_some((contents, rest))
}

/// UTCTime (0x17) or GeneralizedTime (0x18) in the `Z` form RFC 5280 requires.
fn der_time(tag: u8, value: &[u8]) -> Option<i64> {
    let digits = value.strip_suffix(b"Z")?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |d: &[u8]| d.iter().fold(0i32, |acc, b| acc * 10 + i32::from(b - b'0'));
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy = num(&digits[..2]);
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (0x18, 14) => (num(&digits[..4]), &digits[4..]),
        _ => return None,
    };
    let part = |i: usize| i8::try_from(num(&rest[i..i + 2])).ok();
    let dt = jiff::civil::DateTime::new(
        i16::try_from(year).ok()?,
        part(0)?,
        part(2)?,
        part(4)?,
        part(6)?,
        part(8)?,
        0,
    )
    .ok()?;
    Some(
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// Reads the expiry and subjectAltNames of a DER certificate; `None` if it is not X.509.
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = der_expect(der, 0x30)?;
    let (mut tbs, _) = der_expect(cert, 0x30)?;
    if tbs.first() == Some(&0xa0) {
        tbs = der_next(tbs)?.2; // version
    }
    tbs = der_expect(tbs, 0x02)?.1; // serialNumber
    tbs = der_expect(tbs, 0x30)?.1; // signature algorithm
    tbs = der_expect(tbs, 0x30)?.1; // issuer
    let (validity, rest) = der_expect(tbs, 0x30)?;
    let (_, _, after_not_before) = der_next(validity)?;
    let (tag, not_after, _) = der_next(after_not_before)?;
    let not_after = der_time(tag, not_after)?;
    tbs = der_expect(rest, 0x30)?.1; // subject
    tbs = der_expect(tbs, 0x30)?.1; // subjectPublicKeyInfo
    let mut names = Vec::new();
    while let Some((tag, contents, rest)) = der_next(tbs) {
        tbs = rest;
        if tag != 0xa3 {
            continue; // issuerUniqueID, subjectUniqueID
        }
        let (mut exts, _) = der_expect(contents, 0x30)?;
        while let Some((ext, rest)) = der_expect(exts, 0x30) {
            exts = rest;
            let (oid, mut ext) = der_expect(ext, 0x06)?;
            if oid != [0x55, 0x1d, 0x11] {
                continue; // not subjectAltName
            }
            if ext.first() == Some(&0x01) {
                ext = der_next(ext)?.2; // critical
            }
            let (octets, _) = der_expect(ext, 0x04)?;
            let (mut general_names, _) = der_expect(octets, 0x30)?;
            while let Some((tag, value, rest)) = der_next(general_names) {
                general_names = rest;
                match (tag, value.len()) {
                    (0x82, _) => names.push(String::from_utf8_lossy(value).into_owned()),
                    (0x87, 4) => {
                        names.push(IpAddr::from(<[u8; 4]>::try_from(value).ok()?).to_string())
                    }
                    (0x87, 16) => {
                        names.push(IpAddr::from(<[u8; 16]>::try_from(value).ok()?).to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    Some(CertInfo { not_after, names })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650
    ///  -subj /CN=tally-test -addext subjectAltName=DNS:panel.example.com,DNS:*.example.net,IP:127.0.0.1,IP:::1`
    const UTC_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBxTCCAWygAwIBAgIUWN8vBt05mdJ1hTBmtZ5ATK+gGgMwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKdGFsbHktdGVzdDAeFw0yNjExMjUxMzUyMDFaFw0zNjExMjIx
MzUyMDFaMBUxEzARBgNVBAMMCnRhbGx5LXRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAT99ewlpTt3CWcYhGcVPy2uVCWPLJBa464Pr1gfJMLVjgjiXaoODRY6
SvQZUZtteo3LKo5/zt628bR673zqqpUDo4GZMIGWMB0GA1UdDgQWBBRmG4dklo+C
X5Ulb8WbNpLHtEQGQTAfBgNVHSMEGDAWgBRmG4dklo+CX5Ulb8WbNpLHtEQGQTAP
BgNVHRMBAf8EBTADAQH/MEMGA1UdEQQ8MDqCEXBhbmVsLmV4YW1wbGUuY29tgg0q
LmV4YW1wbGUubmV0hwR/AAABhxAAAAAAAAAAAAAAAAAAAAABMAoGCCqGSM49BAMC
A0cAMEQCIFDHrGdvHaQc96rM0EGcRpTwom60UNMqR+j+Jyy1usUbAiBLh8BbcyNF
D64xVHUorFGBeuGPONU0hi+a8BD/2sRA/g==
-----END CERTIFICATE-----
";
    const UTC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUUOkLl9v15IuF+dr
V152t/8aV6l87Mm6giqZNyMhNuqhRANCAAT99ewlpTt3CWcYhGcVPy2uVCWPLJBa
464Pr1gfJMLVjgjiXaoODRY6SvQZUZtteo3LKo5/zt628bR673zqqpUD
-----END PRIVATE KEY-----
";
    const UTC_NOT_AFTER: &str = "2036-11-22T13:52:01Z";
    /// The same with `-days 36500`: valid past 2049, so notAfter is a GeneralizedTime.
    const GENERALIZED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIByDCCAW6gAwIBAgIUJ9cFALQh+bgf8Kilkpu1eztk840wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKdGFsbHktdGVzdDAgFw0yNjExMjUxMzUyMDJaGA8yMTI2MTEw
MTEzNTIwMlowFTETMBEGA1UEAwwKdGFsbHktdGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABDrqYmPXK1zSC+eIwCQlsl0RBH874RAjimUH3hjXxD+3xVPIrgWr
rQXJUfo1TP/DHCC/I3w/RReVlBcGFz1EqW+jgZkwgZYwHQYDVR0OBBYEFHptM/ud
VZ+nwpVXHDpQ6emtsdeyMB8GA1UdIwQYMBaAFHptM/udVZ+nwpVXHDpQ6emtsdey
MA8GA1UdEwEB/wQFMAMBAf8wQwYDVR0RBDwwOoIRcGFuZWwuZXhhbXBsZS5jb22C
DSouZXhhbXBsZS5uZXSHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAEwCgYIKoZIzj0E
AwIDSAAwRQIgeK4SljxLlijMntp92dMR3uXsouW9O6alZL2B+j4+FTICIQDXnpG3
vsWtw5UL6gnJFW0qyfCPG57ykuMmc9UJrBx8Tg==
-----END CERTIFICATE-----
";
    const GENERALIZED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmxp/zerF/ZfPF/dk
Sks5odVQm1XprxmCDEisCV25//ShRANCAAQ66mJj1ytc0gvniMAkJbJdEQR/O+EQ
I4plB94Y18Q/t8VTyK4Fq60FyVH6NUz/wxwgvyN8P0UXlZQXBhc9RKlv
-----END PRIVATE KEY-----
";
    const GENERALIZED_NOT_AFTER: &str = "2126-11-01T13:52:02Z";

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec()
    }

    #[test]
    fn reads_expiry_and_names_from_utctime_certificate() {
        let info = cert_info(&der(UTC_CERT)).unwrap();
        assert_eq!(
            info.names,
            ["panel.example.com", "*.example.net", "127.0.0.1", "::1"]
        );
        assert_eq!(format_time(info.not_after), UTC_NOT_AFTER);
    }

    #[test]
    fn reads_expiry_from_generalizedtime_certificate() {
        let info = cert_info(&der(GENERALIZED_CERT)).unwrap();
        assert_eq!(format_time(info.not_after), GENERALIZED_NOT_AFTER);
    }

    #[test]
    fn der_walk_rejects_garbage_without_panicking() {
        let good = der(UTC_CERT);
        for len in 0..good.len() {
            let _ = cert_info(&good[..len]);
        }
        assert!(cert_info(b"").is_none());
        assert!(cert_info(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert_eq!(der_time(0x17, b"991231235959Z"), Some(946_684_799));
        assert_eq!(
            der_time(0x17, b"491231235959Z").map(format_time).as_deref(),
            Some("2049-12-31T23:59:59Z")
        );
        assert_eq!(der_time(0x18, b"20500101000000Z"), Some(2_524_608_000));
        assert_eq!(der_time(0x17, b"99123123595Z"), None);
        assert_eq!(der_time(0x17, b"991331235959Z"), None);
        assert_eq!(der_time(0x17, "9912312359é".as_bytes()), None);
    }

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            normalize_domain(" Panel.Example.COM. ").unwrap(),
            "panel.example.com"
        );
        for bad in [
            "",
            "localhost",
            "a..b",
            "-a.example",
            "a_b.example",
            "1.2.3.4",
            "a/b.example",
            "x.example:443",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_paths_are_per_ca_and_readable() {
        let data = Path::new("/d");
        let le = acme_cert_file(data, crate::config::LETS_ENCRYPT, &["a.example".into()]);
        let staging = acme_cert_file(
            data,
            crate::config::LETS_ENCRYPT_STAGING,
            &["a.example".into()],
        );
        assert_ne!(le.parent(), staging.parent());
        assert!(
            le.to_str()
                .unwrap()
                .starts_with("/d/acme/acme-v02.api.letsencrypt.org-"),
            "{}",
            le.display()
        );
        assert_eq!(le.file_name().unwrap(), "cert-a.example.pem");
        let pebble = acme_dir(data, "https://localhost:14000/dir");
        assert!(
            pebble
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("localhost-")
        );
    }

    #[test]
    fn server_config_has_only_tls12_and_tls13_suites() {
        let manual = Arc::new(ManualCert {
            cert_path: PathBuf::new(),
            key_path: PathBuf::new(),
            current: RwLock::new(LoadedPair {
                key: Arc::new(CertifiedKey::new(vec![], Arc::new(NoKey))),
                info: CertInfo::default(),
                stamp: FileStamp([(None, 0, 0); 2]),
            }),
            next_check: Mutex::new(Instant::now()),
            failed: Mutex::new(None),
        });
        let config = server_config(manual, &[b"acme-tls/1"]).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"acme-tls/1".to_vec()]);
        let versions: Vec<_> = config
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(|s| s.version().version)
            .collect();
        assert!(
            versions
                .iter()
                .all(|v| *v == rustls::ProtocolVersion::TLSv1_2
                    || *v == rustls::ProtocolVersion::TLSv1_3)
        );
        assert!(versions.contains(&rustls::ProtocolVersion::TLSv1_2));
    }

    #[derive(Debug)]
    struct NoKey;
    impl rustls::sign::SigningKey for NoKey {
        fn choose_scheme(
            &self,
            _: &[rustls::SignatureScheme],
        ) -> Option<Box<dyn rustls::sign::Signer>> {
            None
        }
        fn algorithm(&self) -> rustls::SignatureAlgorithm {
            rustls::SignatureAlgorithm::ECDSA
        }
    }

    #[test]
    fn expiry_text_fails_close_to_expiry() {
        let now = 1_800_000_000;
        assert!(expiry_text(now + 30 * 86_400, now).0);
        assert!(!expiry_text(now + 86_400, now).0);
        assert!(expiry_text(now - 1, now).1.contains("EXPIRED"));
    }

    #[test]
    fn manual_pair_reloads_when_files_change() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, UTC_CERT).unwrap();
        std::fs::write(&key, UTC_KEY).unwrap();
        let manual = ManualCert::load(&cert, &key).unwrap();
        let first = manual.status(0).not_after;
        // A mismatched pair is refused and the old one kept.
        std::fs::write(&cert, GENERALIZED_CERT).unwrap();
        assert!(!manual.refresh(Instant::now() + RELOAD_CHECK * 2));
        assert_eq!(manual.status(0).not_after, first);
        assert!(
            manual
                .status(0)
                .last_error
                .unwrap()
                .contains("does not match")
        );
        // Once the key follows, the new pair is served.
        std::fs::write(&key, GENERALIZED_KEY).unwrap();
        assert!(!manual.refresh(Instant::now()), "checked again too soon");
        assert!(manual.refresh(Instant::now() + RELOAD_CHECK * 4));
        assert_ne!(manual.status(0).not_after, first);
        assert!(manual.status(0).last_error.is_none());
    }
}
