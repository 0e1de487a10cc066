//! Data lifecycle: retention that deletes from the files, salts that die with their day,
//! data-subject rights (export, rectification, erasure), the privacy notice, clean logs, and
//! backup/restore — each proven on the real binary, most by reading every raw file afterwards.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

const DAY: i64 = 86_400;

fn stream(app: &str, name: &str, viewers: Vec<Value>) -> Value {
    json!({"app": app, "stream": name, "protocol": "hls", "publishing": true, "ingress_bytes": 1000, "viewers": viewers})
}

/// Every file under `dir` that contains any of `needles`.
fn files_containing(dir: &Path, needles: &[&[u8]]) -> Vec<String> {
    let mut hits = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return hits;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needles));
        } else if let Ok(bytes) = std::fs::read(&path) {
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == *n) {
                    hits.push(format!(
                        "{} contains {:?}",
                        path.display(),
                        String::from_utf8_lossy(n)
                    ));
                }
            }
        }
    }
    hits
}

fn account_id(app: &TestApp) -> String {
    app.get("/api/v1/me").json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn retention_deletes_expired_data_from_the_files() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("edge-retention");
    let t = report_time();
    const PLANTED: &str = "zebra-expired-7f3a";
    // Recent data first; the old arrives back-filled (as an agent's spool would send it).
    let recent = report(
        "new-1",
        t,
        json!([stream(
            "live",
            "recent-news",
            vec![viewer("n1", "81.2.69.160", "VLC", "hls", 700, 30, false)]
        )]),
    );
    assert_eq!(app.ingest(&token, &recent).status, 200);
    // Old data: 40 days (whole partitions of every class expire), and an hour before the
    // 10-day cutoff set below (inside the month and year partitions that straddle it).
    let cut = (t - 10 * DAY).div_euclid(DAY) * DAY;
    for (i, age) in [40 * DAY, 40 * DAY - 30, t - (cut - 3600)]
        .iter()
        .enumerate()
    {
        let r = report(
            &format!("old-{i}"),
            t - age,
            json!([stream(
                "live",
                PLANTED,
                vec![viewer(
                    &format!("o{i}"),
                    "81.2.69.142",
                    "VLC",
                    "hls",
                    5000,
                    30,
                    true
                )]
            )]),
        );
        assert_eq!(app.ingest(&token, &r).status, 200);
    }
    let all = format!("/api/v1/stats/summary?from={}&to={}", t - 50 * DAY, t + 60);
    assert_eq!(app.get(&all).json()["views"], 4);
    assert!(
        !files_containing(&app.data_dir().join("stats"), &[PLANTED.as_bytes()]).is_empty(),
        "the planted name should be on disk before retention"
    );

    // The account shortens its retention (never past the instance values).
    let mut settings = app.get("/api/v1/settings/retention").json();
    assert_eq!(settings["minute_days"], 14);
    assert_eq!(settings["maximum"]["day_days"], 1825);
    for (k, v) in [
        ("minute_days", 1),
        ("five_minute_days", 10),
        ("hour_days", 10),
        ("day_days", 10),
        ("unique_viewers_days", 10),
    ] {
        settings[k] = json!(v);
    }
    let put = app.send(
        "PUT",
        "/api/v1/settings/retention",
        Some(&app.token),
        Some(&settings),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["hour_days"], 10);
    let effect = app.post(
        "/api/v1/settings/retention/preview",
        Some(&app.token),
        &settings,
    );
    assert_eq!(effect.status, 200, "{}", effect.text());
    assert!(
        effect.json()["classes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["records"].as_u64().unwrap() > 0),
        "{}",
        effect.text()
    );

    // A dry run reports what would go and deletes nothing.
    let dry = app.post(
        &format!(
            "/api/v1/admin/retention/run?dry_run=true&account={}",
            account_id(&app)
        ),
        Some(&app.token),
        &json!({}),
    );
    assert_eq!(dry.status, 200, "{}", dry.text());
    let dry = dry.json();
    assert_eq!(dry["dry_run"], true);
    assert!(dry["partitions_dropped"].as_u64().unwrap() >= 4, "{dry}");
    assert!(
        dry["records"].as_u64().unwrap() > 0 && dry["bytes"].as_u64().unwrap() > 0,
        "{dry}"
    );
    assert_eq!(app.get(&all).json()["views"], 4);

    let run = app.post("/api/v1/admin/retention/run", Some(&app.token), &json!({}));
    assert_eq!(run.status, 200, "{}", run.text());
    let run = run.json();
    assert_eq!(run["errors"], json!([]), "{run}");
    assert!(run["partitions_dropped"].as_u64().unwrap() >= 4, "{run}");
    assert!(
        run["partitions_compacted"].as_u64().unwrap() >= 1,
        "the year partition of daily rollups straddles the cutoff: {run}"
    );
    assert!(metric(&app, "tally_retention_reclaimed_bytes_total") > 0.0);
    assert_eq!(metric(&app, "tally_retention_runs_total"), 1.0);

    // Recent data still answers; the old is gone from queries.
    let s = app.get(&all).json();
    assert_eq!(s["views"], 1, "{s}");
    assert_eq!(s["bytes_out"], 700);
    let streams = app
        .get(&format!(
            "/api/v1/stats/breakdown?dimension=stream&from={}&to={}",
            t - 50 * DAY,
            t + 60
        ))
        .json();
    assert!(!streams.to_string().contains(PLANTED), "{streams}");

    // … and from the files.
    app.stop();
    let hits = files_containing(&app.data_dir(), &[PLANTED.as_bytes()]);
    assert!(hits.is_empty(), "expired data left in the files: {hits:?}");
    assert!(!files_containing(&app.data_dir().join("stats"), &[b"recent-news"]).is_empty());

    // The CLI works offline on the stopped data directory.
    let out = Command::new(bin())
        .args(["retention", "run", "--dry-run", "--data-dir"])
        .arg(app.data_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("dry run") && text.contains("five_minute"),
        "{text}"
    );
    // … and through a running panel, which it tells apart from a stopped one.
    app.start();
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let out = Command::new(bin())
        .args(["retention", "run", "--data-dir"])
        .arg(app.data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--url"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin())
        .args(["retention", "run", "--url", &app.url, "--token", &app.token])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("retention run finished"));
    assert_eq!(app.get(&all).json()["views"], 1);
}

#[test]
fn retention_settings_are_validated_and_bounded_by_the_instance() {
    let app = TestApp::spawn();
    let inst = app.get("/api/v1/settings/retention?scope=instance").json();
    assert_eq!(inst["scope"], "instance");
    assert_eq!(inst["activity_days"], 365);
    assert_eq!(inst["classes"].as_array().unwrap().len(), 7);
    // PUT takes exactly what GET returned.
    let same = app.send(
        "PUT",
        "/api/v1/settings/retention?scope=instance",
        Some(&app.token),
        Some(&inst),
    );
    assert_eq!(same.status, 200, "{}", same.text());
    let mut lower = inst.clone();
    lower["hour_days"] = json!(100);
    assert_eq!(
        app.send(
            "PUT",
            "/api/v1/settings/retention?scope=instance",
            Some(&app.token),
            Some(&lower)
        )
        .status,
        200
    );
    // The account may not lengthen past the instance value, and the error names the field.
    let mut acc = app.get("/api/v1/settings/retention").json();
    assert_eq!(acc["hour_days"], 100);
    acc["hour_days"] = json!(101);
    let r = app.send(
        "PUT",
        "/api/v1/settings/retention",
        Some(&app.token),
        Some(&acc),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "hour_days");
    acc["hour_days"] = json!(0);
    assert_eq!(
        app.send(
            "PUT",
            "/api/v1/settings/retention",
            Some(&app.token),
            Some(&acc)
        )
        .json()["error"]["field"],
        "hour_days"
    );
    acc["hour_days"] = json!(-3);
    assert_eq!(
        app.send(
            "PUT",
            "/api/v1/settings/retention",
            Some(&app.token),
            Some(&acc)
        )
        .json()["error"]["field"],
        "hour_days"
    );
    let r = app.send(
        "PUT",
        "/api/v1/settings/retention",
        Some(&app.token),
        Some(&json!({"hours_days": 3})),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("hours_days"));
    // An account value follows later instance changes unless the account shortened it.
    acc["hour_days"] = json!(30);
    assert_eq!(
        app.send(
            "PUT",
            "/api/v1/settings/retention",
            Some(&app.token),
            Some(&acc)
        )
        .status,
        200
    );
    let mut inst = app.get("/api/v1/settings/retention?scope=instance").json();
    inst["hour_days"] = json!(20);
    inst["minute_days"] = json!(7);
    assert_eq!(
        app.send(
            "PUT",
            "/api/v1/settings/retention?scope=instance",
            Some(&app.token),
            Some(&inst)
        )
        .status,
        200
    );
    let acc = app.get("/api/v1/settings/retention").json();
    assert_eq!(
        (acc["hour_days"].as_u64(), acc["minute_days"].as_u64()),
        (Some(20), Some(7))
    );
    // The notice shows the retention in force.
    let notice = app.get_as("/api/v1/privacy-notice", None);
    assert_eq!(notice.status, 200);
    assert!(
        notice.json()["markdown"]
            .as_str()
            .unwrap()
            .contains("| Per-minute statistics | 7 days |")
    );
}

#[test]
fn salts_of_closed_days_do_not_survive_on_disk() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let account = account_id(&app);
    let t = report_time();
    assert_eq!(
        app.ingest(
            &token,
            &report(
                "s1",
                t,
                json!([stream(
                    "live",
                    "a",
                    vec![viewer("v", "81.2.69.142", "VLC", "hls", 1, 1, false)]
                )])
            )
        )
        .status,
        200
    );
    // A back-filled report for a closed day gets a one-off salt that never reaches the disk.
    assert_eq!(
        app.ingest(
            &token,
            &report(
                "s0",
                t - 3 * DAY,
                json!([stream(
                    "live",
                    "a",
                    vec![viewer("w", "81.2.69.142", "VLC", "hls", 1, 1, false)]
                )])
            )
        )
        .status,
        200
    );
    let salts = app.data_dir().join("salts").join(&account);
    let names: Vec<String> = std::fs::read_dir(&salts)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "only today's salt is stored: {names:?}");
    // Salts of closed days are destroyed at start-up …
    app.stop();
    let old: [u8; 32] = *b"OLD-SALT-0123456789-abcdefghijkl";
    std::fs::write(salts.join("2020-01-01.salt"), old).unwrap();
    app.start();
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert!(!salts.join("2020-01-01.salt").exists());
    // … and by every retention run (the scheduled one included).
    let older: [u8; 32] = *b"OLDER-SALT-9876543210-zyxwvutsrq";
    std::fs::write(salts.join("2021-06-30.salt"), older).unwrap();
    let run = app
        .post("/api/v1/admin/retention/run", Some(&app.token), &json!({}))
        .json();
    assert_eq!(run["salts_destroyed"], 1, "{run}");
    app.stop();
    let hits = files_containing(&app.data_dir(), &[&old, &older]);
    assert!(hits.is_empty(), "old salts survive: {hits:?}");
}

#[test]
fn logs_hold_no_viewer_ip_token_password_or_session_id() {
    let app = TestApp::spawn_with(&["--log-level", "trace"], &[]);
    let (_, ingest_token) = app.add_server("edge-logs");
    let t = report_time();
    let ips = ["203.0.113.79", "2001:db8:feed::77"];
    let sessions = ["viewer-session-5d1e9a", "viewer-session-c0ffee"];
    let r = report(
        "log-1",
        t,
        json!([stream(
            "live",
            "logs",
            vec![
                viewer(sessions[0], ips[0], "VLC/3.0", "hls", 10, 30, false),
                viewer(sessions[1], ips[1], "Lavf/60", "rtmp", 10, 30, true),
            ]
        )]),
    );
    assert_eq!(app.ingest(&ingest_token, &r).status, 200);
    // Errors: an invalid viewer, a bad token, a wrong password.
    let bad = report(
        "log-2",
        t,
        json!([stream(
            "live",
            "logs",
            vec![json!({"session": sessions[0], "ip": "203.0.113.300", "bytes": 1})]
        )]),
    );
    assert_eq!(app.ingest(&ingest_token, &bad).status, 400);
    assert_eq!(app.ingest("tis_not-a-real-token-qq", &r).status, 401);
    let wrong_password = "wrong-password-8c1d2e3f";
    assert_eq!(
        app.post(
            "/api/v1/auth/login",
            None,
            &json!({"email": ADMIN_EMAIL, "password": wrong_password})
        )
        .status,
        401
    );
    // Token use: the session token as bearer, and as a cookie.
    let login = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    );
    let session_token = login.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get_as("/api/v1/stats/summary", Some(&session_token))
            .status,
        200
    );
    let cookie = format!("tally_session={session_token}");
    assert_eq!(
        request(
            "GET",
            &format!("{}/api/v1/servers", app.url),
            None,
            &[("Cookie", cookie.as_str())],
            None
        )
        .status,
        200
    );
    assert_eq!(
        app.get_as("/api/v1/me", Some("tls_definitely-not-valid"))
            .status,
        401
    );
    let export = app.get("/api/v1/me/export");
    assert_eq!(export.status, 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = app.logs();
    assert!(
        logs.contains("TRACE") || logs.contains("trace"),
        "the test must run at trace level"
    );
    let mut secrets: Vec<&str> = vec![
        &ingest_token,
        &app.token,
        &session_token,
        ADMIN_PASSWORD,
        wrong_password,
        "tis_not-a-real-token-qq",
        "tls_definitely-not-valid",
    ];
    secrets.extend(ips);
    secrets.extend(sessions);
    for s in secrets {
        assert!(!logs.contains(s), "the log holds {s:?}");
    }
    // The address in binary form never appears either (e.g. in a Debug of a struct).
    assert!(!logs.contains("[203, 0, 113, 79]") && !logs.contains("203, 0, 113, 79"));
}

#[test]
fn exports_hold_everything_but_secrets() {
    let app = TestApp::spawn();
    let (server_id, token) = app.add_server("edge-export");
    let t = report_time();
    assert_eq!(
        app.ingest(
            &token,
            &report(
                "e1",
                t,
                json!([stream(
                    "live",
                    "export-me",
                    vec![viewer("v", "81.2.69.142", "VLC", "hls", 900, 30, true)]
                )])
            )
        )
        .status,
        200
    );
    let r = app.get("/api/v1/account/export");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    let doc = r.json();
    assert_eq!(doc["format"], "tally-account-export");
    assert_eq!(doc["users"][0]["email"], ADMIN_EMAIL);
    assert_eq!(doc["servers"][0]["id"], server_id.as_str());
    assert_eq!(doc["servers"][0]["name"], "edge-export");
    assert_eq!(doc["settings"]["retention"]["minute_days"], 14);
    assert_eq!(doc["statistics"]["summary"]["views"], 1);
    assert_eq!(doc["statistics"]["summary"]["bytes_out"], 900);
    let daily = doc["statistics"]["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 1, "{doc}");
    assert_eq!(daily[0]["views"], 1);
    assert_eq!(daily[0]["unique_viewers"], 1);
    assert_eq!(doc["statistics"]["streams"][0]["stream"], "export-me");
    assert!(
        doc["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "server_added"),
        "{doc}"
    );
    assert!(
        doc["login_sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("token").is_none())
    );
    let text = r.text();
    for secret in ["argon2", "password", "token_hash", &token] {
        assert!(!text.contains(secret), "the export holds {secret:?}");
    }
    let zip = app.get("/api/v1/account/export?format=zip");
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.zip"), &zip.body).unwrap();
    let out = Command::new("unzip")
        .arg("-o")
        .arg("e.zip")
        .current_dir(dir.path())
        .output();
    if let Ok(out) = out {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let csv = std::fs::read_to_string(dir.path().join("statistics-daily.csv")).unwrap();
        assert!(csv.starts_with("date,views,unique_viewers,"), "{csv}");
        let json: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("account.json")).unwrap())
                .unwrap();
        assert_eq!(json["servers"][0]["name"], "edge-export");
    }
    assert_eq!(
        app.get("/api/v1/account/export?format=xml").json()["error"]["field"],
        "format"
    );
    let me = app.get("/api/v1/me/export").json();
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert!(!me["login_sessions"].as_array().unwrap().is_empty());
    assert!(!me.to_string().contains("argon2"));
}

#[test]
fn a_user_rectifies_and_erases_themselves_down_to_the_files() {
    let mut app = TestApp::spawn();
    app.stop();
    const LEAVER: &str = "leaver-4e7b@example.org";
    let mut add = Command::new(bin())
        .args([
            "user",
            "add",
            "--email",
            LEAVER,
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(app.data_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        add.stdin
            .take()
            .unwrap()
            .write_all(b"leaver-password-123\n")
            .unwrap();
    }
    assert!(add.wait().unwrap().success());
    app.start();
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let token = app.login(LEAVER, "leaver-password-123");
    // Rectification: name freely; the e-mail address only with the current password.
    let r = app.send(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(&json!({"name": "Lea Ver"})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Lea Ver");
    let r = app.send(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(&json!({"email": "other-4e7b@example.org"})),
    );
    assert_eq!(r.json()["error"]["field"], "current_password");
    let r = app.send(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(&json!({"email": ADMIN_EMAIL, "current_password": "leaver-password-123"})),
    );
    assert_eq!(r.status, 409);
    let r = app.send(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(&json!({"email": "not an address", "current_password": "leaver-password-123"})),
    );
    assert_eq!(r.json()["error"]["field"], "email");
    assert_eq!(
        app.get_as("/api/v1/me", Some(&token)).json()["email"],
        LEAVER
    );
    // The only operator may not erase themselves.
    let r = app.send("DELETE", "/api/v1/me", Some(&app.token), None);
    assert_eq!(r.status, 409, "{}", r.text());
    // Erasure.
    let r = app.send("DELETE", "/api/v1/me", Some(&token), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["erased"]["users"], 1);
    assert_eq!(app.get_as("/api/v1/me", Some(&token)).status, 401);
    assert!(metric(&app, "tally_meta_compactions_total") >= 1.0);
    // The activity log keeps what happened, with a pseudonym for the person.
    let log = app.get("/api/v1/activity").text();
    assert!(!log.contains(LEAVER) && log.contains("erased-"), "{log}");
    // The rest still works after the meta database was swapped underneath every handle.
    let (_, ingest) = app.add_server("after-erasure");
    assert_eq!(
        app.ingest(&ingest, &report("a1", report_time(), json!([])))
            .status,
        200
    );
    app.stop();
    let hits = files_containing(&app.data_dir(), &[LEAVER.as_bytes(), b"Lea Ver"]);
    assert!(
        hits.is_empty(),
        "the erased user is still in the files: {hits:?}"
    );
    assert!(!files_containing(&app.data_dir(), &[ADMIN_EMAIL.as_bytes()]).is_empty());
    // (Checked last: a failed login records the address that was tried, as any other would.)
    app.start();
    assert_eq!(
        app.post(
            "/api/v1/auth/login",
            None,
            &json!({"email": LEAVER, "password": "leaver-password-123"})
        )
        .status,
        401
    );
}

/// Sums the views of a stream over a wide range.
fn views_of(app: &TestApp, stream: &str, t: i64) -> Value {
    app.get(&format!(
        "/api/v1/stats/summary?app=live&stream={stream}&from={}&to={}",
        t - 2 * DAY,
        t + 3600
    ))
    .json()
}

#[test]
fn backup_under_load_restores_to_the_same_answers() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge-backup");
    let t = report_time();
    for i in 0..20 {
        let viewers: Vec<Value> = (0..10)
            .map(|v| {
                viewer(
                    &format!("b{i}-{v}"),
                    "81.2.69.142",
                    "VLC",
                    "hls",
                    100,
                    30,
                    true,
                )
            })
            .collect();
        assert_eq!(
            app.ingest(
                &token,
                &report(
                    &format!("base-{i}"),
                    t - 3600 + i,
                    json!([stream("live", "before", viewers)])
                )
            )
            .status,
            200
        );
    }
    let before = views_of(&app, "before", t);
    assert_eq!(before["views"], 200);
    // Load keeps arriving while the backup is taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (url, tok, flag) = (app.url.clone(), token.clone(), stop.clone());
    let load = std::thread::spawn(move || {
        let mut n = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let viewers: Vec<Value> = (0..50)
                .map(|v| {
                    viewer(
                        &format!("l{n}-{v}"),
                        "81.2.69.160",
                        "VLC",
                        "hls",
                        10,
                        30,
                        true,
                    )
                })
                .collect();
            let r = report(
                &format!("load-{n}"),
                t,
                json!([stream("live", "during", viewers)]),
            );
            let resp = request(
                "POST",
                &format!("{url}/api/v1/ingest"),
                Some(&tok),
                &[("Content-Type", "application/json")],
                Some(r.to_string().into_bytes()),
            );
            assert_eq!(resp.status, 200, "{}", resp.text());
            n += 1;
        }
        n
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tally.tar");
    let out = Command::new(bin())
        .args(["backup", "--url", &app.url, "--token", &app.token, "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sha256"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = load.join().unwrap();
    assert!(sent > 0);
    assert_eq!(
        views_of(&app, "during", t)["views"].as_u64(),
        Some(sent * 50),
        "ingest lost nothing during the backup"
    );
    // The archive is a tar with a manifest and a checksum; its .sha256 matches.
    let sum = std::fs::read_to_string(dir.path().join("tally.tar.sha256")).unwrap();
    assert!(sum.ends_with("  tally.tar\n"), "{sum}");
    if let Ok(out) = Command::new("tar").arg("-tf").arg(&file).output() {
        let list = String::from_utf8_lossy(&out.stdout);
        assert!(
            list.contains("meta/")
                && list.contains("MANIFEST.json")
                && list.trim_end().ends_with("CHECKSUM"),
            "{list}"
        );
        assert!(!list.contains("wal/") && !list.contains("salts/"), "{list}");
    }
    // A non-empty target is refused; a damaged archive is refused.
    let out = Command::new(bin())
        .arg("restore")
        .arg(&file)
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut damaged = std::fs::read(&file).unwrap();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x55;
    std::fs::write(dir.path().join("damaged.tar"), &damaged).unwrap();
    let out = Command::new(bin())
        .arg("restore")
        .arg(dir.path().join("damaged.tar"))
        .arg("--data-dir")
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.path().join("nope").exists());
    // Restore into a new directory and start a panel on it.
    let restored_dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .arg("restore")
        .arg(&file)
        .arg("--data-dir")
        .arg(restored_dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut restored = TestApp {
        child: None,
        url: String::new(),
        dir: restored_dir,
        logs: Default::default(),
        token: String::new(),
        extra_args: Vec::new(),
        env: Vec::new(),
    };
    restored.start();
    restored.token = restored.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(views_of(&restored, "before", t), before);
    let during = views_of(&restored, "during", t)["views"].as_u64().unwrap();
    assert!(
        during <= sent * 50 && during.is_multiple_of(50),
        "the snapshot holds whole reports: {during}"
    );
    assert_eq!(
        restored.get("/api/v1/servers").json()[0]["name"],
        "edge-backup"
    );
    // The restored panel takes reports with the old ingest token.
    assert_eq!(
        restored
            .ingest(&token, &report("after-restore", t + 30, json!([])))
            .status,
        200
    );
}

#[test]
fn an_erased_account_leaves_nothing_in_the_files() {
    let mut app = TestApp::spawn();
    const EMAIL: &str = "owner-9b2d@customer.example";
    const SERVER: &str = "edge-erasable-51c7";
    const STREAM: &str = "stream-erasable-e4a0";
    const ACCOUNT: &str = "Erasable Customer 3f6b";
    const HOOK_STREAM: &str = "hooked-erasable-77d1";
    let acc = app.post(
        "/api/v1/accounts",
        Some(&app.token),
        &json!({"name": ACCOUNT, "timezone": "Europe/Berlin"}),
    );
    assert_eq!(acc.status, 201, "{}", acc.text());
    let id = acc.json()["id"].as_str().unwrap().to_string();
    let u = app.post(&format!("/api/v1/accounts/{id}/users"), Some(&app.token), &json!({"email": EMAIL, "password": "customer-password-1", "role": "owner", "name": "Cus Tomer"}));
    assert_eq!(u.status, 201, "{}", u.text());
    let owner = app.login(EMAIL, "customer-password-1");
    let s = app.post("/api/v1/servers", Some(&owner), &json!({"name": SERVER}));
    assert_eq!(s.status, 201, "{}", s.text());
    let ingest = s.json()["ingest_token"].as_str().unwrap().to_string();
    // A hook-fed stream too: its name and state must go the same way.
    let server_id = s.json()["id"].as_str().unwrap().to_string();
    let h = app.send(
        "POST",
        &format!("/api/v1/servers/{server_id}/hooks"),
        Some(&owner),
        None,
    );
    assert_eq!(h.status, 201, "{}", h.text());
    let hook = format!(
        "{}/hooks/v1/{}/nginx-rtmp",
        app.url,
        h.json()["secret"].as_str().unwrap()
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    for body in [
        format!("call=publish&app=live&name={HOOK_STREAM}&clientid=1&addr=127.0.0.1"),
        format!("call=play&app=live&name={HOOK_STREAM}&clientid=2&addr=81.2.69.142"),
    ] {
        let r = request("POST", &hook, None, &form, Some(body.into_bytes()));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let b = app.send(
        "PUT",
        "/api/v1/branding",
        Some(&owner),
        Some(&json!({"privacy_contact": "dpo-7c1e@customer.example"})),
    );
    assert_eq!(b.status, 200, "{}", b.text());
    let sl = app.post(
        "/api/v1/slices",
        Some(&owner),
        &json!({"name": "slice-of-3f6b", "stream_regex": STREAM}),
    );
    assert_eq!(sl.status, 201, "{}", sl.text());
    let t = report_time();
    for i in 0..3 {
        let r = report(
            &format!("e{i}"),
            t - 86_400 * i,
            json!([stream(
                "live",
                STREAM,
                vec![viewer(
                    &format!("v{i}"),
                    "81.2.69.142",
                    "VLC",
                    "hls",
                    10,
                    30,
                    false
                )]
            )]),
        );
        assert_eq!(app.ingest(&ingest, &r).status, 200);
    }
    let week = format!("/api/v1/stats/summary?from={}", t - 7 * DAY);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.get_as(&week, Some(&owner)).json()["views"] != 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "the hooked play was not counted"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    // Their notice carries their brand's contact and name.
    let notice = app.get_as("/api/v1/privacy-notice", Some(&owner)).json();
    let md = notice["markdown"].as_str().unwrap();
    assert!(
        md.contains("dpo-7c1e@customer.example") && md.contains(ACCOUNT),
        "{md}"
    );
    // Something of every kind is on disk now.
    let data = app.data_dir();
    assert!(
        !files_containing(
            &data,
            &[EMAIL.as_bytes(), SERVER.as_bytes(), STREAM.as_bytes()]
        )
        .is_empty()
    );
    assert!(data.join("stats").join(&id).exists() && data.join("salts").join(&id).exists());

    // The confirmation must repeat the id; the operator's own account cannot go.
    let r = app.send(
        "DELETE",
        &format!("/api/v1/accounts/{id}"),
        Some(&app.token),
        None,
    );
    assert_eq!(
        (r.status, r.json()["error"]["field"].clone()),
        (400, json!("confirm"))
    );
    let r = app.send(
        "DELETE",
        &format!("/api/v1/accounts/{id}?confirm=0000000000000001"),
        Some(&app.token),
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/accounts/{id}?confirm={id}"),
            Some(&owner),
            None
        )
        .status,
        403
    );
    let own = account_id(&app);
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/accounts/{own}?confirm={own}"),
            Some(&app.token),
            None
        )
        .status,
        409
    );
    // The panel names the account it works in on every request, this one too.
    let r = app.send(
        "DELETE",
        &format!("/api/v1/accounts/{id}?confirm={id}&account={id}"),
        Some(&app.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let erased = r.json()["erased"].clone();
    assert_eq!(
        (erased["users"].as_u64(), erased["servers"].as_u64()),
        (Some(1), Some(1)),
        "{erased}"
    );
    assert!(
        erased["pseudonymised_entries"].as_u64().unwrap() >= 1,
        "the instance log named the account: {erased}"
    );
    // Gone from the API …
    assert_eq!(app.get(&format!("/api/v1/accounts/{id}")).status, 404);
    assert_eq!(app.get_as("/api/v1/me", Some(&owner)).status, 401);
    assert_eq!(
        app.ingest(&ingest, &report("late", t + 30, json!([])))
            .status,
        401
    );
    let r = request(
        "POST",
        &hook,
        None,
        &form,
        Some(
            format!("call=play&app=live&name={HOOK_STREAM}&clientid=3&addr=81.2.69.142")
                .into_bytes(),
        ),
    );
    assert_eq!(r.status, 404, "the erased server's hook URL is gone");
    let log = app.get("/api/v1/activity?scope=instance").text();
    assert!(!log.contains(EMAIL) && !log.contains(ACCOUNT), "{log}");
    assert!(!data.join("stats").join(&id).exists() && !data.join("salts").join(&id).exists());
    // … and, once stopped, from every file under the data directory.
    app.stop();
    let hits = files_containing(
        &data,
        &[
            EMAIL.as_bytes(),
            SERVER.as_bytes(),
            STREAM.as_bytes(),
            HOOK_STREAM.as_bytes(),
            ACCOUNT.as_bytes(),
            b"dpo-7c1e",
            b"slice-of-3f6b",
            b"Cus Tomer",
        ],
    );
    assert!(
        hits.is_empty(),
        "the erased account survives in the files: {hits:?}"
    );
    // The instance still works after the swap.
    app.start();
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(app.get("/api/v1/accounts").status, 200);
}

#[test]
fn a_salt_dies_when_its_day_closes_in_the_accounts_time_zone() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge-tz");
    let account = account_id(&app);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Pick zones so that switching from the first to the second closes the first's local day,
    // whatever the hour: before noon UTC go from UTC−12 to UTC, after it from UTC to UTC+14.
    let (first, second) = if now.rem_euclid(DAY) < 12 * 3600 {
        ("Etc/GMT+12", "UTC")
    } else {
        ("UTC", "Etc/GMT-14")
    };
    let patch = |tz: &str| {
        let r = app.send(
            "PATCH",
            &format!("/api/v1/accounts/{account}"),
            Some(&app.token),
            Some(&json!({"timezone": tz})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    patch(first);
    let t = report_time();
    assert_eq!(
        app.ingest(
            &token,
            &report(
                "tz1",
                t,
                json!([stream(
                    "live",
                    "a",
                    vec![viewer("v", "81.2.69.142", "VLC", "hls", 1, 1, false)]
                )])
            )
        )
        .status,
        200
    );
    let dir = app.data_dir().join("salts").join(&account);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let salt = std::fs::read(&files[0]).unwrap();
    assert_eq!(salt.len(), 32);
    patch(second);
    let run = app
        .post("/api/v1/admin/retention/run", Some(&app.token), &json!({}))
        .json();
    assert_eq!(run["salts_destroyed"], 1, "{run}");
    assert!(
        files_containing(&app.data_dir(), &[&salt]).is_empty(),
        "the closed day's salt survives"
    );
    // The new local day gets its own salt on the next report.
    assert_eq!(
        app.ingest(
            &token,
            &report(
                "tz2",
                t + 30,
                json!([stream(
                    "live",
                    "a",
                    vec![viewer("v", "81.2.69.142", "VLC", "hls", 1, 1, false)]
                )])
            )
        )
        .status,
        200
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn restricted_processing_refuses_reports_and_keeps_the_data() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge-restricted");
    let account = account_id(&app);
    let t = report_time();
    assert_eq!(
        app.ingest(
            &token,
            &report(
                "r1",
                t,
                json!([stream(
                    "live",
                    "a",
                    vec![viewer("v", "81.2.69.142", "VLC", "hls", 1, 1, true)]
                )])
            )
        )
        .status,
        200
    );
    let r = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{account}"),
        Some(&app.token),
        Some(&json!({"processing_restricted": true})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let refused = app.ingest(&token, &report("r2", t + 30, json!([])));
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "processing_restricted");
    assert_eq!(app.get("/api/v1/stats/summary").json()["views"], 1);
    let r = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{account}"),
        Some(&app.token),
        Some(&json!({"processing_restricted": false})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        app.ingest(&token, &report("r2", t + 30, json!([]))).status,
        200
    );
}
