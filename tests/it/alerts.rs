//! Alerts: rules CRUD, evaluation (offline → recovery, stream down/up, thresholds with a
//! duration, cool-down, grouping, restart) and signed webhook deliveries with retries, against
//! a real receiver on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::*;

const SECRET: &str = "hook-secret-1";

/// A webhook receiver: answers 500 to the first `fail_first` requests, then 200, and keeps
/// every request it accepted after checking its signature.
struct Hook {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    requests: Arc<AtomicUsize>,
}

impl Hook {
    fn start(fail_first: usize) -> Hook {
        Self::start_with(fail_first, true)
    }

    /// A receiver for the chat formats, which are not signed.
    fn unsigned() -> Hook {
        Self::start_with(0, false)
    }

    fn start_with(fail_first: usize, signed: bool) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (b, r) = (bodies.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end().to_string();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                };
                let len: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let n = r.fetch_add(1, Ordering::SeqCst);
                let status = if n < fail_first {
                    "500 Internal Server Error"
                } else if !signed {
                    let value = match header("x-tally-signature") {
                        None => serde_json::from_slice(&body).unwrap_or(json!({"bad": "json"})),
                        Some(_) => json!({"bad": "signed chat message"}),
                    };
                    b.lock().unwrap().push(value);
                    "200 OK"
                } else {
                    // The signature is the hex HMAC-SHA256 of the body with the secret. A bad
                    // one is kept as a marker the tests check (a panic here would only stop
                    // this thread).
                    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                    mac.update(&body);
                    let want = hex::encode(mac.finalize().into_bytes());
                    let signed_ok = header("x-tally-signature") == Some(want)
                        && header("x-tally-timestamp").is_some_and(|t| t.parse::<i64>().is_ok());
                    let value = if signed_ok {
                        serde_json::from_slice(&body).unwrap_or(json!({"bad": "json"}))
                    } else {
                        json!({"bad": "signature"})
                    };
                    b.lock().unwrap().push(value);
                    "200 OK"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Hook {
            url,
            bodies,
            requests,
        }
    }

    /// Every alert received so far, in order; fails on a request the receiver refused.
    fn alerts(&self) -> Vec<Value> {
        let bodies = self.bodies.lock().unwrap().clone();
        assert!(bodies.iter().all(|b| b.get("bad").is_none()), "{bodies:?}");
        bodies
            .iter()
            .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    fn count(&self, kind: &str, state: &str) -> usize {
        self.alerts()
            .iter()
            .filter(|a| a["kind"] == kind && a["state"] == state)
            .count()
    }

    fn raw(&self) -> String {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.to_string())
            .collect()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Waits (generously) for a condition.
fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// A panel that evaluates alerts every second.
fn spawn() -> TestApp {
    TestApp::spawn_with(&[], &[("TALLY_ALERT_EVAL_S", "1")])
}

fn stream(name: &str, viewers: Vec<Value>) -> Value {
    json!({"app": "live", "stream": name, "protocol": "rtmp", "publishing": true,
           "ingress_bytes": 1000, "ingress_kbps": 2500.0, "viewers": viewers})
}

fn viewers(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            viewer(
                &format!("v{i}"),
                "81.2.69.142",
                "VLC/3.0.18",
                "hls",
                1000,
                30,
                false,
            )
        })
        .collect()
}

fn send_report(app: &TestApp, token: &str, id: &str, streams: Value) {
    let r = app.ingest(token, &report(id, now(), streams));
    assert_eq!(r.status, 200, "{}", r.text());
}

fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post("/api/v1/alerts", Some(&app.token), &body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn webhook(hook: &Hook) -> Value {
    json!({"type": "webhook", "url": hook.url, "secret": SECRET})
}

#[test]
fn alerts_crud_validates_hides_the_secret_and_scopes_to_the_account() {
    let app = spawn();
    let (server, _) = app.add_server("edge-1");
    let hook = Hook::start(0);
    let bad = |body: Value, field: &str| {
        let r = app.post("/api/v1/alerts", Some(&app.token), &body);
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{}", r.text());
    };
    bad(
        json!({"name": "x", "kind": "nope", "channel": webhook(&hook)}),
        "kind",
    );
    bad(
        json!({"name": "x", "kind": "cpu", "channel": webhook(&hook)}),
        "threshold",
    );
    bad(
        json!({"name": "x", "kind": "server_offline", "channel": {"type": "webhook", "url": "ftp://x"}}),
        "channel.url",
    );
    bad(
        json!({"name": "x", "kind": "server_offline", "channel": {"type": "email", "to": "a@example.com"}}),
        "channel.type",
    );
    bad(
        json!({"name": "x", "kind": "server_offline", "scope": {"server": "00000000000000ff"}, "channel": webhook(&hook)}),
        "scope.server",
    );

    let rule = create(
        &app,
        json!({"name": "edge down", "kind": "server_offline", "after_s": 90,
               "scope": {"server": server}, "channel": webhook(&hook)}),
    );
    assert_eq!(rule["kind"], "server_offline");
    assert_eq!(rule["scope"]["server"], server.as_str());
    assert_eq!(rule["channel"]["secret_set"], true);
    assert!(!rule.to_string().contains(SECRET));
    let id = rule["id"].as_str().unwrap();
    // Scope defaults to the whole account.
    let all = create(
        &app,
        json!({"name": "any", "kind": "cpu", "threshold": 90, "channel": webhook(&hook)}),
    );
    assert_eq!(
        all["scope"],
        json!({"server": null, "app": null, "stream": null})
    );

    let list = app.get("/api/v1/alerts").json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(SECRET));

    let r = app.send(
        "PATCH",
        &format!("/api/v1/alerts/{id}"),
        Some(&app.token),
        Some(&json!({"muted": true, "after_s": 120})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["muted"], true);
    assert_eq!(r.json()["after_s"], 120);
    assert_eq!(r.json()["channel"]["secret_set"], true);

    // The test notification reaches the receiver, signed.
    let r = app.post(
        &format!("/api/v1/alerts/{id}/test"),
        Some(&app.token),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["delivered"], true, "{}", r.text());
    assert_eq!(hook.alerts().len(), 1);
    assert_eq!(hook.alerts()[0]["alert"], "edge down");
    let ev = app.get("/api/v1/alerts/events").json();
    assert_eq!(ev["events"][0]["test"], true);
    assert_eq!(ev["events"][0]["deliveries"][0]["ok"], true);

    // Another account sees none of it.
    let other = crate::accounts::create_account(&app, "other");
    crate::accounts::add_user(&app, &app.token, &other, "o@other.example", "owner");
    let t = app.login("o@other.example", crate::accounts::USER_PASSWORD);
    assert_eq!(
        app.get_as(&format!("/api/v1/alerts/{id}"), Some(&t)).status,
        404
    );
    assert_eq!(app.get_as("/api/v1/alerts", Some(&t)).json(), json!([]));
    // The operator reads another account's history with `?account=`, like every other list.
    let r = app.get(&format!("/api/v1/alerts/events?account={other}&limit=5"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["events"], json!([]));

    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/alerts/{id}"),
            Some(&app.token),
            None
        )
        .status,
        204
    );
    assert_eq!(app.get(&format!("/api/v1/alerts/{id}")).status, 404);
    assert_eq!(app.get("/api/v1/alerts/zz").status, 404);
}

#[test]
fn alerts_server_offline_fires_resolves_and_does_not_refire_after_restart() {
    let mut app = spawn();
    let (_, token) = app.add_server("edge-1");
    // The first two deliveries fail: the notification is retried with backoff.
    let hook = Hook::start(2);
    send_report(&app, &token, "r1", json!([stream("news", viewers(1))]));
    create(
        &app,
        json!({"name": "edge-1 offline", "kind": "server_offline", "after_s": 2,
               "cooldown_s": 0, "channel": webhook(&hook)}),
    );
    wait_for("the offline notice", 60, || {
        hook.count("server_offline", "firing") == 1
    });
    let a = &hook.alerts()[0];
    assert_eq!(a["alert"], "edge-1 offline");
    assert_eq!(a["scope"]["server_name"], "edge-1");
    assert!(a["message"].as_str().unwrap().contains("has not reported"));
    assert!(a["time"].as_str().is_some());
    // Names and numbers only: never a viewer address.
    assert!(!hook.raw().contains("81.2.69.142"));
    assert_eq!(hook.requests.load(Ordering::SeqCst), 3);
    let ev = app.get("/api/v1/alerts/events").json();
    let d = &ev["events"][0]["deliveries"];
    assert_eq!(d.as_array().unwrap().len(), 3, "{ev}");
    assert_eq!(d[0]["ok"], false);
    assert_eq!(d[0]["status"], 500);
    assert_eq!(d[2]["ok"], true);

    // A restart does not fire the active alert again.
    app.restart();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(hook.count("server_offline", "firing"), 1);

    // The first report clears it: a recovery follows.
    send_report(&app, &token, "r2", json!([stream("news", viewers(1))]));
    wait_for("the recovery", 60, || {
        hook.count("server_offline", "resolved") == 1
    });
    assert!(
        hook.alerts()
            .iter()
            .any(|a| a["state"] == "resolved" && a["message"] == "Server edge-1 is reporting again")
    );
}

#[test]
fn alerts_stream_down_and_up_are_grouped_into_one_notification() {
    let app = spawn();
    let (_, token) = app.add_server("edge-1");
    let hook = Hook::start(0);
    send_report(&app, &token, "r1", json!([stream("news", viewers(2))]));
    wait_for("the live state", 60, || {
        app.get("/api/v1/servers").json()[0]["viewers"] == 2
    });
    let channel = webhook(&hook);
    create(
        &app,
        json!({"name": "news down", "kind": "stream_down", "after_s": 0,
               "scope": {"app": "live", "stream": "news"}, "cooldown_s": 0, "channel": channel}),
    );
    let up = create(
        &app,
        json!({"name": "news up", "kind": "stream_up", "scope": {"app": "live"},
               "cooldown_s": 0, "channel": channel}),
    );
    // The stream is already up when the rule is made: that is its baseline, not news.
    let up_id = up["id"].as_str().unwrap().to_string();
    wait_for("the baseline", 60, || {
        app.get(&format!("/api/v1/alerts/{up_id}")).json()["firing"] == 1
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(hook.alerts().len(), 0, "{:?}", hook.alerts());

    send_report(&app, &token, "r2", json!([]));
    wait_for("stream down", 60, || {
        hook.count("stream_down", "firing") == 1
    });
    let down = hook.alerts();
    assert_eq!(down[0]["scope"]["stream"], "news");
    assert_eq!(down[0]["message"], "Stream live/news on edge-1 is down");

    send_report(&app, &token, "r3", json!([stream("news", viewers(1))]));
    wait_for("stream back", 60, || hook.count("stream_up", "firing") == 1);
    // Both changes of one evaluation went out as one notification.
    let bodies = hook.bodies.lock().unwrap().clone();
    let last = bodies.last().unwrap()["alerts"].as_array().unwrap().clone();
    let mut kinds: Vec<(String, String)> = last
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("stream_down".to_string(), "resolved".to_string()),
            ("stream_up".to_string(), "firing".to_string())
        ],
        "{bodies:?}"
    );
}

#[test]
fn alerts_threshold_holds_for_its_duration_and_respects_the_cooldown() {
    let app = spawn();
    let (_, token) = app.add_server("edge-1");
    let hook = Hook::start(0);
    create(
        &app,
        json!({"name": "crowd", "kind": "viewers", "threshold": 2, "direction": "above",
               "for_s": 2, "cooldown_s": 3600, "channel": webhook(&hook)}),
    );
    let started = now();
    send_report(&app, &token, "r1", json!([stream("news", viewers(3))]));
    wait_for("the threshold notice", 60, || {
        hook.count("viewers", "firing") == 1
    });
    // Held for `for_s` before firing (the evaluation time is in the notice).
    let fired = hook.alerts()[0]["message"].as_str().unwrap().to_string();
    assert_eq!(fired, "Viewers on edge-1 is 3, above 2");
    let ev = app.get("/api/v1/alerts/events").json();
    assert!(
        ev["events"][0]["time"].as_i64().unwrap() >= started + 2,
        "{ev}"
    );

    send_report(&app, &token, "r2", json!([stream("news", viewers(1))]));
    wait_for("the recovery", 60, || {
        hook.count("viewers", "resolved") == 1
    });

    // Above again within the cool-down: no second notice.
    send_report(&app, &token, "r3", json!([stream("news", viewers(4))]));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(hook.count("viewers", "firing"), 1, "{:?}", hook.alerts());
}

#[test]
fn alerts_slack_and_discord_formats_and_repeats_while_firing() {
    let app = spawn();
    let (_, token) = app.add_server("edge-1");
    let slack = Hook::unsigned();
    let discord = Hook::unsigned();
    let rule = create(
        &app,
        json!({"name": "busy", "kind": "viewers", "threshold": 0, "repeat_s": 2,
               "cooldown_s": 0, "channel": {"type": "slack", "url": slack.url}}),
    );
    let d = create(
        &app,
        json!({"name": "chat", "kind": "cpu", "threshold": 99,
               "channel": {"type": "discord", "url": discord.url}}),
    );
    let r = app.post(
        &format!("/api/v1/alerts/{}/test", d["id"].as_str().unwrap()),
        Some(&app.token),
        &json!({}),
    );
    assert_eq!(r.json()["delivered"], true, "{}", r.text());
    let got = discord.bodies.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![json!({"content": "[FIRING] chat: Test notification for the alert rule \"chat\""})]
    );

    send_report(&app, &token, "r1", json!([stream("news", viewers(1))]));
    // Still above the threshold: the notice is repeated every `repeat_s`.
    wait_for("a repeated notice", 60, || {
        slack.bodies.lock().unwrap().len() >= 2
    });
    let got = slack.bodies.lock().unwrap().clone();
    for b in &got {
        assert_eq!(
            b,
            &json!({"text": "[FIRING] busy: Viewers on edge-1 is 1, above 0"}),
            "{got:?}"
        );
    }
    let id = rule["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/alerts/{id}")).json()["firing"], 1);
}

/// The Python with `aiosmtpd`: `TALLY_TEST_PYTHON` (tests/run.sh sets it to its virtual
/// environment), else `python3` from the PATH.
fn python() -> String {
    std::env::var("TALLY_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A local SMTP sink (Python's `aiosmtpd`) that prints every message it receives.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    out: tempfile::NamedTempFile,
}

impl SmtpSink {
    /// Starts the sink, or `None` when `aiosmtpd` is not installed.
    fn start() -> Option<SmtpSink> {
        let have = std::process::Command::new(python())
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !have {
            eprintln!(
                "skipping: `pip install aiosmtpd` (or set TALLY_TEST_PYTHON) to run the SMTP test"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = tempfile::NamedTempFile::new().unwrap();
        let child = std::process::Command::new(python())
            .args(["-u", "-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Debugging"])
            .stdout(out.reopen().unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the SMTP sink", 60, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(SmtpSink { child, port, out })
    }

    fn mail(&self) -> String {
        std::fs::read_to_string(self.out.path()).unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn alerts_email_goes_through_the_operators_smtp_relay() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let relay = format!("smtp://127.0.0.1:{}", sink.port);
    let app = TestApp::spawn_with(
        &[],
        &[
            ("TALLY_ALERT_EVAL_S", "1"),
            ("TALLY_SMTP_URL", &relay),
            ("TALLY_SMTP_FROM", "alerts@panel.example"),
        ],
    );
    let (_, token) = app.add_server("edge-1");
    let bad = app.post(
        "/api/v1/alerts",
        Some(&app.token),
        &json!({"name": "x", "kind": "server_offline", "channel": {"type": "email", "to": "not an address"}}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["field"], "channel.to");
    let rule = create(
        &app,
        json!({"name": "mail me", "kind": "server_offline", "after_s": 2,
               "channel": {"type": "email", "to": "ops@example.com"}}),
    );
    let r = app.post(
        &format!("/api/v1/alerts/{}/test", rule["id"].as_str().unwrap()),
        Some(&app.token),
        &json!({}),
    );
    assert_eq!(r.json()["delivered"], true, "{}", r.text());
    wait_for("the test mail", 60, || {
        sink.mail().contains("Test notification")
    });

    send_report(&app, &token, "r1", json!([stream("news", viewers(1))]));
    wait_for("the offline mail", 60, || {
        sink.mail().contains("Server edge-1 has not reported")
    });
    let mail = sink.mail();
    assert!(mail.contains("ops@example.com"), "{mail}");
    assert!(mail.contains("alerts@panel.example"), "{mail}");
    assert!(!mail.contains("81.2.69.142"));
    wait_for("the delivery log", 60, || {
        app.get("/api/v1/alerts/events").json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["test"] == false && e["channel"] == "email" && e["delivered"] == true)
    });
}
