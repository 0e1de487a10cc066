//! Test harness: runs the real `tally` binary on 127.0.0.1 port 0 with a temporary data
//! directory and talks HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tally"))
}

/// Shared test fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A blocking HTTP client that returns every status as a response.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// Sends a request with optional bearer token and body.
pub fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Resp {
    let agent = agent();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.unwrap_or_default()).expect("request");
    let mut resp = agent
        .run(req)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_vec()
        .unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// A running `tally serve`.
pub struct TestApp {
    pub child: Option<Child>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub logs: Arc<Mutex<String>>,
    pub token: String,
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl TestApp {
    /// Starts a panel with an admin account and logs in.
    pub fn spawn() -> TestApp {
        Self::spawn_with(&[], &[])
    }

    /// Starts a panel with extra flags and environment.
    pub fn spawn_with(args: &[&str], env: &[(&str, &str)]) -> TestApp {
        Self::spawn_prepared(args, env, |_| {})
    }

    /// Starts a panel after `prepare` has set up its (not yet existing) data directory path,
    /// e.g. mounted a small filesystem there.
    pub fn spawn_prepared(
        args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        prepare(&dir.path().join("data"));
        let mut app = TestApp {
            child: None,
            url: String::new(),
            dir,
            logs: Arc::new(Mutex::new(String::new())),
            token: String::new(),
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        app.start();
        app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
        app
    }

    /// Data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts (or restarts) the process on a new port.
    pub fn start(&mut self) {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&self.extra_args)
            .env("TALLY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TALLY_LOG_LEVEL", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn tally");
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = self.logs.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(i) = line.find("url=http://") {
                        let url = line[i + 4..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_string();
                        let _ = tx.send(url);
                    }
                    let mut l = logs.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("tally did not start:\n{}", self.logs.lock().unwrap());
            }
        };
        self.url = url;
        self.child = Some(child);
    }

    /// Stops the process with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts and logs in again.
    pub fn restart(&mut self) {
        self.stop();
        self.start();
        self.token = self.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    }

    /// The process's peak resident set size so far (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        tally::memory::proc_status_bytes(&pid.to_string(), "VmHWM").expect("VmHWM in /proc status")
    }

    /// Everything the process logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Logs in and returns the bearer token.
    pub fn login(&self, email: &str, password: &str) -> String {
        let r = self.post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        );
        assert_eq!(r.status, 200, "login failed: {}", r.text());
        r.json()["token"].as_str().unwrap().to_string()
    }

    pub fn get(&self, path: &str) -> Resp {
        request(
            "GET",
            &format!("{}{path}", self.url),
            Some(&self.token),
            &[],
            None,
        )
    }

    pub fn get_as(&self, path: &str, token: Option<&str>) -> Resp {
        request("GET", &format!("{}{path}", self.url), token, &[], None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        request(
            "POST",
            &format!("{}{path}", self.url),
            token,
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("Content-Type", "application/json")]
        } else {
            &[]
        };
        request(
            method,
            &format!("{}{path}", self.url),
            token,
            headers,
            body.map(|b| b.to_string().into_bytes()),
        )
    }

    /// Registers a server; returns (id, ingest token).
    pub fn add_server(&self, name: &str) -> (String, String) {
        let r = self.post("/api/v1/servers", Some(&self.token), &json!({"name": name}));
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        (
            v["id"].as_str().unwrap().to_string(),
            v["ingest_token"].as_str().unwrap().to_string(),
        )
    }

    /// Posts a report with an ingest token.
    pub fn ingest(&self, token: &str, report: &Value) -> Resp {
        self.ingest_raw(token, report.to_string().into_bytes(), &[])
    }

    pub fn ingest_raw(&self, token: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Resp {
        let mut h = vec![("Content-Type", "application/json")];
        h.extend_from_slice(headers);
        request(
            "POST",
            &format!("{}/api/v1/ingest", self.url),
            Some(token),
            &h,
            Some(body),
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A report in the documented shape.
pub fn report(id: &str, time: i64, streams: Value) -> Value {
    json!({"report_id": id, "time": time, "interval_s": 30,
           "server": {"name": "edge-1", "software": "nginx-rtmp", "version": "1.2.2"},
           "host": {"cpu_pct": 20.0, "ram_used_bytes": 1_000_000_000u64, "ram_total_bytes": 8_000_000_000u64,
                    "net_in_bytes": 1000, "net_out_bytes": 5000},
           "streams": streams})
}

/// A viewer entry.
pub fn viewer(
    session: &str,
    ip: &str,
    ua: &str,
    protocol: &str,
    bytes: u64,
    seconds: u64,
    ended: bool,
) -> Value {
    json!({"session": session, "ip": ip, "user_agent": ua, "protocol": protocol, "bytes": bytes, "seconds": seconds, "ended": ended})
}

/// Now, rounded down to a whole minute plus 30 s (a report boundary).
pub fn report_time() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now - now % 60 - 60 + 30
}
