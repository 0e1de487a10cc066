//! HTTPS: manual certificates (served, reloaded when replaced) and automatic certificates from
//! a real ACME server — Debian's `pebble`, with `pebble-challtestsrv` as DNS resolving every
//! test name to 127.0.0.1. The Pebble tests install the package when it is missing and skip,
//! saying why, only when it cannot be installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Resp, bin};

// ---------------------------------------------------------------------------------------------
// Plumbing: ports, certificates, raw HTTP(S) clients, the tally process.

/// A port that was free a moment ago (Pebble must know tally's ports before tally starts).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway CA: (certificate, key).
fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "60",
        ])
        .arg("-subj")
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

/// A server certificate for `names` (DNS names or IPs) signed by `ca`: (chain, key).
fn make_leaf(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    file: &str,
    names: &[&str],
) -> (PathBuf, PathBuf) {
    let (cert, key, csr, ext) = (
        dir.join(format!("{file}.pem")),
        dir.join(format!("{file}.key")),
        dir.join(format!("{file}.csr")),
        dir.join(format!("{file}.ext")),
    );
    let san: Vec<String> = names
        .iter()
        .map(|n| {
            if n.parse::<std::net::IpAddr>().is_ok() {
                format!("IP:{n}")
            } else {
                format!("DNS:{n}")
            }
        })
        .collect();
    std::fs::write(
        &ext,
        format!(
            "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            san.join(",")
        ),
    )
    .unwrap();
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
        ])
        .arg(format!("/CN={}", names[0]))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "30", "-set_serial"])
        .arg(format!(
            "{}",
            std::process::id() as u64 * 1000 + file.len() as u64 + free_port() as u64
        ))
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(&ca.0)
        .arg("-CAkey")
        .arg(&ca.1)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

fn client_config(roots_pem: &[u8], tls12_only: bool, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS connection to 127.0.0.1:`port` asking for `sni`.
fn tls_connect(
    port: u16,
    sni: &str,
    config: Arc<ClientConfig>,
) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let name = ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| e.to_string())?;
    }
    Ok(tls)
}

/// Handshakes and returns the leaf certificate the server sent and the negotiated ALPN id.
fn handshake(
    port: u16,
    sni: &str,
    roots_pem: &[u8],
    alpn: &[&[u8]],
) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let tls = tls_connect(port, sni, client_config(roots_pem, false, alpn))?;
    let leaf = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no certificate")?
        .to_vec();
    Ok((leaf, tls.conn.alpn_protocol().map(<[u8]>::to_vec)))
}

/// Waits until the server presents a certificate for `sni` that chains to `roots_pem`.
fn wait_for_certificate(
    port: u16,
    sni: &str,
    roots_pem: &[u8],
    logs: &dyn Fn() -> String,
) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = String::new();
    while Instant::now() < deadline {
        match handshake(port, sni, roots_pem, &[b"http/1.1"]) {
            Ok((leaf, _)) => return leaf,
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "no certificate for {sni} after 120 s (last: {last})\n--- tally log ---\n{}",
        logs()
    );
}

fn request_bytes(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {}\r\n\r\n",
        body.map_or(0, <[u8]>::len)
    ));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {raw:?}"));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let (mut out, mut rest) = (Vec::new(), &body[..]);
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn read_all(stream: &mut impl Read) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // The server may close without close_notify once the response is complete.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => break,
            Err(e) => panic!("read: {e} after {} bytes", raw.len()),
        }
    }
    raw
}

/// An HTTPS request to 127.0.0.1:`port` for site `host`, trusting `roots_pem`.
fn https(
    port: u16,
    host: &str,
    roots_pem: &[u8],
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    https_with(
        port,
        host,
        client_config(roots_pem, false, &[b"http/1.1"]),
        method,
        path,
        token,
        body,
    )
}

fn https_with(
    port: u16,
    host: &str,
    config: Arc<ClientConfig>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut tls =
        tls_connect(port, host, config).unwrap_or_else(|e| panic!("TLS to {host}:{port}: {e}"));
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let body = body.map(|b| b.to_string().into_bytes());
    tls.write_all(&request_bytes(
        method,
        host,
        path,
        &headers,
        body.as_deref(),
    ))
    .unwrap();
    tls.flush().unwrap();
    parse_response(&read_all(&mut tls))
}

/// A plain-HTTP request to 127.0.0.1:`port` with `Host: host`; redirects are not followed.
fn plain(port: u16, host: &str, method: &str, path: &str, body: Option<&[u8]>) -> Resp {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(&request_bytes(method, host, path, &[], body))
        .unwrap();
    parse_response(&read_all(&mut sock))
}

/// A `tally serve` process with its log.
struct Tally {
    child: Option<Child>,
    logs: Arc<Mutex<String>>,
}

impl Tally {
    /// Starts `tally serve --data-dir DATA ARGS…` and waits for "tally listening".
    fn start(data: &Path, args: &[String]) -> Tally {
        let mut child = Command::new(bin())
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .env("TALLY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TALLY_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tally");
        let logs = Arc::new(Mutex::new(String::new()));
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stderr.take().unwrap()),
            Box::new(child.stdout.take().unwrap()),
        ];
        for stream in streams {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut l = logs.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let mut tally = Tally {
            child: Some(child),
            logs,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !tally.logs().contains("tally listening") {
            if let Some(status) = tally.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("tally exited with {status}:\n{}", tally.logs());
            }
            assert!(
                Instant::now() < deadline,
                "tally did not start:\n{}",
                tally.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        tally
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until the log holds `needle`: the log reaches the test through a pipe and a reader
    /// thread, so a line can trail the effect it describes.
    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.logs().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not logged:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `(https port, plain port)` from the start-up line.
    fn ports(&self) -> (u16, u16) {
        let logs = self.logs();
        let line = logs
            .lines()
            .find(|l| l.contains("tally listening"))
            .unwrap();
        let port = |key: &str| -> u16 {
            let i = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
            let addr = line[i..].split_whitespace().next().unwrap();
            addr.rsplit(':').next().unwrap().parse().unwrap()
        };
        (port(" url=https://"), port("redirect_url=http://"))
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(
                        status.success(),
                        "tally exited with {status}:\n{}",
                        self.logs()
                    );
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("tally did not stop on SIGTERM:\n{}", self.logs());
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn login_https(port: u16, host: &str, roots_pem: &[u8]) -> String {
    let r = https(
        port,
        host,
        roots_pem,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
    );
    assert_eq!(r.status, 200, "login: {}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

fn tally_check(data: &Path, args: &[String]) -> (bool, String) {
    let out = Command::new(bin())
        .arg("check")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// Manual certificates.

#[test]
fn manual_certificate_is_served_with_hsts_and_reloaded_when_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path(), "manual-ca");
    let roots = std::fs::read(&ca.0).unwrap();
    let first = make_leaf(dir.path(), &ca, "first", &["panel.tally.test", "127.0.0.1"]);
    let (cert, key) = (dir.path().join("live.pem"), dir.path().join("live.key"));
    std::fs::copy(&first.0, &cert).unwrap();
    std::fs::copy(&first.1, &key).unwrap();
    let args: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ])
    .collect();
    let data = dir.path().join("data");
    let tally = Tally::start(&data, &args);
    let (tls_port, http_port) = tally.ports();

    let r = https(
        tls_port,
        "panel.tally.test",
        &roots,
        "GET",
        "/healthz",
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    // TLS 1.2 is still accepted; h2 is offered next to http/1.1.
    let r12 = https_with(
        tls_port,
        "panel.tally.test",
        client_config(&roots, true, &[b"http/1.1"]),
        "GET",
        "/healthz",
        None,
        None,
    );
    assert_eq!(r12.status, 200);
    let (_, alpn) = handshake(tls_port, "panel.tally.test", &roots, &[b"h2", b"http/1.1"]).unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));

    // Plain HTTP only redirects, keeping path and query, and never sends HSTS.
    let r = plain(
        http_port,
        "panel.tally.test",
        "GET",
        "/login?next=%2Fstreams",
        None,
    );
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://panel.tally.test:{tls_port}/login?next=%2Fstreams").as_str())
    );
    assert_eq!(r.header("strict-transport-security"), None);
    let r = plain(
        http_port,
        "panel.tally.test:80",
        "POST",
        "/api/v1/ingest",
        Some(b"{}"),
    );
    assert_eq!(r.status, 308, "a POST keeps its method through a 308");
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("https://panel.tally.test:")
    );
    // Hook receivers answer on plain HTTP: nginx-rtmp cannot notify over TLS and would take a
    // redirect as "play something else". An unknown secret is a 404 here, not a redirect.
    let r = plain(
        http_port,
        "panel.tally.test",
        "POST",
        "/hooks/v1/ths_unknown/nginx-rtmp",
        Some(b"call=play"),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.header("strict-transport-security"), None);
    assert_eq!(
        plain(
            http_port,
            "panel.tally.test",
            "GET",
            "/.well-known/acme-challenge/x",
            None
        )
        .status,
        404
    );
    assert_eq!(plain(http_port, "evil/\"", "GET", "/", None).status, 400);

    let token = login_https(tls_port, "panel.tally.test", &roots);
    let s = https(
        tls_port,
        "panel.tally.test",
        &roots,
        "GET",
        "/api/v1/tls",
        Some(&token),
        None,
    )
    .json();
    assert_eq!(s["mode"], "manual", "{s}");
    assert_eq!(
        s["certificates"][0]["domains"],
        json!(["panel.tally.test", "127.0.0.1"])
    );
    assert_eq!(s["certificates"][0]["state"], "valid");
    let metrics = https(
        tls_port,
        "panel.tally.test",
        &roots,
        "GET",
        "/metrics",
        Some(&token),
        None,
    )
    .text();
    let expiry = format!(
        "tally_tls_certificate_expiry_seconds{{domain=\"panel.tally.test\"}} {}",
        s["certificates"][0]["not_after"]
    );
    assert!(metrics.contains(&expiry), "{metrics}");
    assert!(
        metrics.contains("tally_ingest_reports_total"),
        "the core metrics are still there"
    );

    // Replace both files the way renewal tools do (write elsewhere, rename over).
    let (old_leaf, _) = handshake(tls_port, "panel.tally.test", &roots, &[]).unwrap();
    let second = make_leaf(
        dir.path(),
        &ca,
        "second",
        &["panel.tally.test", "other.tally.test"],
    );
    std::fs::copy(&second.1, dir.path().join("next.key")).unwrap();
    std::fs::copy(&second.0, dir.path().join("next.pem")).unwrap();
    std::fs::rename(dir.path().join("next.key"), &key).unwrap();
    std::fs::rename(dir.path().join("next.pem"), &cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (leaf, _) = handshake(tls_port, "other.tally.test", &roots, &[]).unwrap_or_default();
        if !leaf.is_empty() && leaf != old_leaf {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replaced certificate not served:\n{}",
            tally.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    tally.wait_for_log("TLS certificate reloaded");

    // `tally check` reads the same files; a key that does not belong to the certificate fails.
    let (ok, out) = tally_check(&data, &args);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok   TLS: certificate")
            && out.contains("panel.tally.test, other.tally.test; expires"),
        "{out}"
    );
    let mut wrong = args.clone();
    let last = wrong.len() - 1;
    wrong[last] = first.1.display().to_string();
    let (ok, out) = tally_check(&data, &wrong);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL TLS: certificate") && out.contains("does not match key"),
        "{out}"
    );
}

#[test]
fn unusable_certificate_files_stop_start_up_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    std::fs::write(dir.path().join("key.pem"), "").unwrap();
    let out = Command::new(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .env("TALLY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("TLS cannot be set up") && err.contains("cert.pem"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// ACME against Pebble.

/// True when `pebble` and `pebble-challtestsrv` can be run, installing them if needed.
fn pebble_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let present = || Path::new("/usr/bin/pebble").exists() && Path::new("/usr/bin/pebble-challtestsrv").exists();
        if !present() {
            eprintln!("pebble is not installed; running `apt-get install -y pebble`");
            let _ = Command::new("apt-get")
                .args(["install", "-y", "-q", "pebble"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status();
        }
        if !present() {
            eprintln!("SKIPPED: Debian's `pebble` package could not be installed (apt-get install -y pebble failed); the ACME tests need it");
        }
        present()
    })
}

/// A Pebble ACME server and its fake DNS, on loopback ports of their own.
struct Pebble {
    _dir: tempfile::TempDir,
    children: Vec<Child>,
    /// ACME directory URL.
    directory: String,
    /// CA of Pebble's own HTTPS API (what `--acme-ca-root` gets).
    api_ca: PathBuf,
    /// Root that signs the certificates Pebble issues.
    issuing_root: Vec<u8>,
    log: PathBuf,
}

impl Pebble {
    /// Starts Pebble validating HTTP-01 on `http_port` and TLS-ALPN-01 on `tls_port`.
    fn start(http_port: u16, tls_port: u16) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        let ca = make_ca(dir.path(), "pebble-api-ca");
        let leaf = make_leaf(dir.path(), &ca, "pebble-api", &["localhost", "127.0.0.1"]);
        let (acme_port, mgmt_port, dns_port, dns_mgmt_port) =
            (free_port(), free_port(), free_port(), free_port());
        let config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": leaf.0, "privateKey": leaf.1,
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": false,
        }});
        std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();
        let log = dir.path().join("pebble.log");
        let log_file = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap()
        };
        // Its own challenge listeners are off: the ports belong to tally.
        let dns = Command::new("pebble-challtestsrv")
            .args([
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ])
            .arg("-dns01")
            .arg(format!("127.0.0.1:{dns_port}"))
            .arg("-management")
            .arg(format!("127.0.0.1:{dns_mgmt_port}"))
            .stdout(log_file())
            .stderr(log_file())
            .spawn()
            .unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(dir.path().join("pebble.json"))
            .arg("-dnsserver")
            .arg(format!("127.0.0.1:{dns_port}"))
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log_file())
            .stderr(log_file())
            .spawn()
            .unwrap();
        let mut p = Pebble {
            _dir: dir,
            children: vec![dns, pebble],
            directory: format!("https://localhost:{acme_port}/dir"),
            api_ca: ca.0.clone(),
            issuing_root: Vec::new(),
            log,
        };
        let api_roots = std::fs::read(&ca.0).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = [acme_port, mgmt_port, dns_mgmt_port]
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if up {
                let r = https(
                    mgmt_port,
                    "localhost",
                    &api_roots,
                    "GET",
                    "/roots/0",
                    None,
                    None,
                );
                if r.status == 200 {
                    p.issuing_root = r.body;
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "pebble did not start:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn tally_args(&self, http_port: u16, tls_port: u16, domains: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--listen".into(),
            format!("127.0.0.1:{http_port}"),
            "--tls-listen".into(),
            format!("127.0.0.1:{tls_port}"),
            "--acme-directory".into(),
            self.directory.clone(),
            "--acme-ca-root".into(),
            self.api_ca.display().to_string(),
            "--acme-email".into(),
            "ops@example.com".into(),
        ];
        for d in domains {
            args.push("--domain".into());
            args.push(d.to_string());
        }
        args
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn acme_certificate_is_obtained_served_reused_after_restart_and_extended_to_a_second_domain() {
    if !pebble_available() {
        return;
    }
    let (http_port, tls_port) = (free_port(), free_port());
    let pebble = Pebble::start(http_port, tls_port);
    let root = pebble.issuing_root.clone();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (a, b) = ("panel.tally.test", "customer.tally.test");

    // 1. First start: a certificate for `a` via TLS-ALPN-01 on the HTTPS port.
    let args = pebble.tally_args(http_port, tls_port, &[a]);
    let mut tally = Tally::start(&data, &args);
    let logs = || format!("{}\n--- pebble ---\n{}", tally.logs(), pebble.log());
    let leaf_a = wait_for_certificate(tls_port, a, &root, &logs);
    let r = https(tls_port, a, &root, "GET", "/healthz", None, None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let r = plain(http_port, a, "GET", "/healthz", None);
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://{a}:{tls_port}/healthz").as_str())
    );
    assert_eq!(r.header("strict-transport-security"), None);
    // A client that sends no SNI gets the default (first) certificate, not a failed handshake.
    let mut no_sni = Arc::unwrap_or_clone(client_config(&root, false, &[]));
    no_sni.enable_sni = false;
    let tls = tls_connect(tls_port, a, Arc::new(no_sni)).unwrap();
    assert_eq!(tls.conn.peer_certificates().unwrap()[0].to_vec(), leaf_a);

    let token = login_https(tls_port, a, &root);
    let s = https(tls_port, a, &root, "GET", "/api/v1/tls", Some(&token), None).json();
    assert_eq!(s["mode"], "acme", "{s}");
    assert_eq!(s["directory"], pebble.directory.as_str());
    let cert = &s["certificates"][0];
    assert_eq!(cert["domains"], json!([a]));
    assert_eq!(cert["state"], "valid", "{s}");
    assert_eq!(cert["challenge"], "tls-alpn-01");
    assert!(cert["expires_in_s"].as_i64().unwrap() > 86_400, "{s}");
    let metrics = https(tls_port, a, &root, "GET", "/metrics", Some(&token), None).text();
    assert!(
        metrics.contains(&format!(
            "tally_tls_certificate_expiry_seconds{{domain=\"{a}\"}} {}",
            cert["not_after"]
        )),
        "{metrics}"
    );
    let unauthenticated = https(tls_port, a, &root, "GET", "/api/v1/tls", None, None);
    assert_eq!(unauthenticated.status, 401);

    // The cache: one account key and the certificate, readable by the service user only.
    let acme = std::fs::read_dir(data.join("acme"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let cert_file = acme.join(format!("cert-{a}.pem"));
    assert_eq!(mode_of(&cert_file), 0o600);
    assert_eq!(mode_of(&acme), 0o700);
    let accounts: Vec<_> = std::fs::read_dir(&acme)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("account-"))
        .collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(mode_of(&accounts[0].path()), 0o600);
    let (ok, out) = tally_check(&data, &args);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "ok   TLS {a}: certificate from {}; expires",
            pebble.directory
        )),
        "{out}"
    );
    assert!(out.contains("ok   ACME CA root"), "{out}");

    // 2. Restart: the cached certificate is deployed, no new order.
    tally.stop();
    let mut tally = Tally::start(&data, &args);
    let leaf = wait_for_certificate(tls_port, a, &root, &|| tally.logs());
    assert_eq!(
        leaf, leaf_a,
        "the cached certificate is served after a restart"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tally.logs().contains("event=DeployedCachedCert") {
        assert!(Instant::now() < deadline, "{}", tally.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !tally.logs().contains("DeployedNewCert"),
        "no new order after restart:\n{}",
        tally.logs()
    );

    // 3. A second domain: its own certificate; the first one stays as it was.
    tally.stop();
    let args = pebble.tally_args(http_port, tls_port, &[a, b]);
    let tally = Tally::start(&data, &args);
    let leaf_b = wait_for_certificate(tls_port, b, &root, &|| tally.logs());
    assert_ne!(leaf_b, leaf_a);
    assert_eq!(handshake(tls_port, a, &root, &[]).unwrap().0, leaf_a);
    let r = https(tls_port, b, &root, "GET", "/healthz", None, None);
    assert_eq!(r.status, 200);
    let token = login_https(tls_port, b, &root);
    let s = https(tls_port, b, &root, "GET", "/api/v1/tls", Some(&token), None).json();
    let domains: Vec<&Value> = s["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["domains"][0])
        .collect();
    assert_eq!(domains, [&json!(b), &json!(a)], "{s}");
    assert!(
        s["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "valid"),
        "{s}"
    );
    let accounts = std::fs::read_dir(&acme)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("account-"))
        .count();
    assert_eq!(accounts, 1, "all domains share one ACME account");
}

#[test]
fn acme_falls_back_to_http01_when_tls_alpn01_cannot_reach_the_server() {
    if !pebble_available() {
        return;
    }
    // Pebble validates TLS-ALPN-01 against a port nobody listens on, as when a firewall only
    // lets port 80 through; HTTP-01 reaches tally's plain listener.
    let (http_port, tls_port, closed_port) = (free_port(), free_port(), free_port());
    let pebble = Pebble::start(http_port, closed_port);
    let root = pebble.issuing_root.clone();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let domain = "fallback.tally.test";
    let tally = Tally::start(&data, &pebble.tally_args(http_port, tls_port, &[domain]));
    let logs = || format!("{}\n--- pebble ---\n{}", tally.logs(), pebble.log());
    wait_for_certificate(tls_port, domain, &root, &logs);
    let log = tally.logs();
    assert!(
        log.contains("ACME failed") && log.contains("challenge=tls-alpn-01"),
        "{log}"
    );
    assert!(log.contains("next_challenge=http-01"), "{log}");
    let token = login_https(tls_port, domain, &root);
    let s = https(
        tls_port,
        domain,
        &root,
        "GET",
        "/api/v1/tls",
        Some(&token),
        None,
    )
    .json();
    let cert = &s["certificates"][0];
    assert_eq!(cert["state"], "valid", "{s}");
    assert_eq!(cert["challenge"], "http-01");
    assert_eq!(cert["failures"], 0);
    assert!(
        cert["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "the failed attempt stays visible: {s}"
    );
}
