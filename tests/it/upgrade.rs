//! Upgrades: every data directory fixture from an earlier schema (`tests/fixtures/upgrade/v*`)
//! opens with this build, is migrated, and keeps its data; a data directory from a newer build
//! is refused, with a message saying what to do, before anything is written.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

fn fixture_dir() -> PathBuf {
    fixtures().join("upgrade")
}

/// The fixtures present: (schema version, archive, facts recorded when it was made).
fn upgrade_fixtures() -> Vec<(u32, PathBuf, Value)> {
    let mut out: Vec<(u32, PathBuf, Value)> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version: u32 = name
                .strip_prefix('v')?
                .strip_suffix(".tar.gz")?
                .parse()
                .ok()?;
            let facts =
                std::fs::read_to_string(fixture_dir().join(format!("v{version}.json"))).unwrap();
            Some((version, e.path(), serde_json::from_str(&facts).unwrap()))
        })
        .collect();
    out.sort_by_key(|f| f.0);
    out
}

/// A test app whose data directory is unpacked from `archive` (not started yet).
fn app_from_archive(archive: &Path) -> TestApp {
    let app = TestApp {
        child: None,
        url: String::new(),
        dir: tempfile::tempdir().unwrap(),
        logs: Arc::new(Mutex::new(String::new())),
        token: String::new(),
        extra_args: Vec::new(),
        env: Vec::new(),
    };
    std::fs::create_dir_all(app.data_dir()).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(app.data_dir())
        .status()
        .unwrap();
    assert!(status.success(), "cannot unpack {}", archive.display());
    app
}

/// Reads or sets the schema version of a stopped data directory, the way an older or newer
/// build would have left it.
fn schema_version(data: &Path, set: Option<Option<u32>>) -> u32 {
    let db = sled::open(data.join("meta")).unwrap();
    let tree = db.open_tree("meta").unwrap();
    match set {
        Some(Some(v)) => {
            tree.insert("schema_version", &v.to_be_bytes()).unwrap();
        }
        Some(None) => {
            tree.remove("schema_version").unwrap();
        }
        None => {}
    }
    db.flush().unwrap();
    tally::store::migrations::version(&db).unwrap()
}

/// The data a fixture was made with is all there.
fn assert_fixture_data(app: &TestApp, facts: &Value) {
    let servers = app.get("/api/v1/servers").json();
    assert!(
        servers
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == facts["server_name"]),
        "{servers}"
    );
    let range = format!("from={}&to={}", facts["from"], facts["to"]);
    let s = app.get(&format!("/api/v1/stats/summary?{range}")).json();
    assert_eq!(s["views"], facts["views"], "{s}");
    assert_eq!(s["bytes_out"], facts["bytes_out"], "{s}");
    // The server's ingest token still works.
    let token = facts["ingest_token"].as_str().unwrap();
    let now = report_time();
    let r = app.ingest(token, &report("after-upgrade", now, json!([])));
    assert_eq!(r.status, 200, "{}", r.text());
    // Report ids remembered before the upgrade still mark a resent report as a duplicate.
    let t = facts["from"].as_i64().unwrap() + 3600;
    let again = app.ingest(token, &report("fixture-1", t, json!([])));
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["duplicate"], true, "{}", again.text());
    // New traffic in the fixture's period goes into the partitions it was stored in, and
    // counts together with what was there.
    let more = json!([{"app": "live", "stream": "fixture", "viewers": [
        viewer("after-upgrade-viewer", "81.2.69.143", "VLC/3.0.18", "hls", 700, 30, true)]}]);
    let r = app.ingest(token, &report("after-upgrade-2", t + 60, more));
    assert_eq!(r.status, 200, "{}", r.text());
    let s = app.get(&format!("/api/v1/stats/summary?{range}")).json();
    assert_eq!(s["views"], facts["views"].as_i64().unwrap() + 1, "{s}");
    assert_eq!(
        s["bytes_out"],
        facts["bytes_out"].as_i64().unwrap() + 700,
        "{s}"
    );
}

#[test]
fn data_dirs_of_every_earlier_schema_open_migrate_and_keep_their_data() {
    let fixtures = upgrade_fixtures();
    assert!(
        !fixtures.is_empty(),
        "no fixtures in {}",
        fixture_dir().display()
    );
    assert!(
        fixtures
            .iter()
            .any(|f| f.0 == tally::store::migrations::CURRENT),
        "add a fixture for schema {}: cargo test --test it regenerate_upgrade_fixture -- --ignored",
        tally::store::migrations::CURRENT
    );
    for (version, archive, facts) in fixtures {
        let mut app = app_from_archive(&archive);
        assert_eq!(schema_version(&app.data_dir(), None), version);
        app.start();
        app.token = app.login(
            facts["admin_email"].as_str().unwrap(),
            facts["admin_password"].as_str().unwrap(),
        );
        assert_fixture_data(&app, &facts);
        if version < tally::store::migrations::CURRENT {
            assert!(
                app.logs().contains("storage schema migrated"),
                "{}",
                app.logs()
            );
        }
        app.stop();
        assert_eq!(
            schema_version(&app.data_dir(), None),
            tally::store::migrations::CURRENT
        );
    }
}

#[test]
fn data_dir_from_before_schema_versions_is_migrated() {
    // Schema 0: a data directory without a schema_version entry.
    let (_, archive, facts) = upgrade_fixtures().into_iter().next().unwrap();
    let mut app = app_from_archive(&archive);
    assert_eq!(schema_version(&app.data_dir(), Some(None)), 0);
    app.start();
    app.token = app.login(
        facts["admin_email"].as_str().unwrap(),
        facts["admin_password"].as_str().unwrap(),
    );
    assert!(
        app.logs().contains("storage schema migrated version=1"),
        "{}",
        app.logs()
    );
    assert_fixture_data(&app, &facts);
    app.stop();
    assert_eq!(
        schema_version(&app.data_dir(), None),
        tally::store::migrations::CURRENT
    );
}

#[test]
fn data_dir_from_a_newer_build_is_refused_with_a_clear_message() {
    let (_, archive, _) = upgrade_fixtures().into_iter().last().unwrap();
    let app = app_from_archive(&archive);
    let newer = tally::store::migrations::CURRENT + 1;
    schema_version(&app.data_dir(), Some(Some(newer)));
    let before = snapshot(&app.data_dir());
    let (status, stderr) = serve_until_it_exits(&app.data_dir());
    assert!(!status.success());
    assert!(
        stderr.contains(&format!(
            "written by a newer Tally (schema {newer}, this binary knows up to {})",
            tally::store::migrations::CURRENT
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("install the newer binary again or restore a backup"),
        "{stderr}"
    );
    assert!(!stderr.contains("tally listening"), "{stderr}");
    assert_eq!(
        schema_version(&app.data_dir(), None),
        newer,
        "the newer schema is left alone"
    );
    assert_eq!(
        snapshot(&app.data_dir()).len(),
        before.len(),
        "nothing was created"
    );

    let check = Command::new(bin())
        .arg("check")
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{text}");
    assert!(
        text.contains("FAIL storage: data directory was written by a newer Tally"),
        "{text}"
    );
}

#[test]
fn damaged_ingest_state_is_refused_naming_the_file_and_check_reports_it() {
    let (_, archive, _) = upgrade_fixtures().into_iter().last().unwrap();
    let app = app_from_archive(&archive);
    let state = app.data_dir().join("state").join("checkpoint.bin");
    assert!(
        state.exists(),
        "the fixture carries an ingest state snapshot"
    );
    let check = |expect_ok: bool, expect: &str| {
        let out = Command::new(bin())
            .arg("check")
            .arg("--data-dir")
            .arg(app.data_dir())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.success(), expect_ok, "{text}");
        assert!(text.contains(expect), "{text}");
    };
    check(true, "ok   ingest state: checkpoint ");
    for damage in [&b""[..], b"\x01", b"\x01\xff\xff\xff", b"garbage"] {
        std::fs::write(&state, damage).unwrap();
        let (status, stderr) = serve_until_it_exits(&app.data_dir());
        assert!(!status.success());
        assert!(
            stderr.contains(&format!("{} cannot be read", state.display())),
            "{stderr}"
        );
        assert!(
            stderr.contains("restore the data directory from a backup"),
            "{stderr}"
        );
        assert!(!stderr.contains("tally listening"), "{stderr}");
        assert_eq!(
            std::fs::read(&state).unwrap(),
            damage,
            "the file is left as it was"
        );
        check(false, "FAIL ingest state: ");
    }
}

/// Runs `tally serve` on `data` and waits for it to exit (it must refuse to start): its exit
/// status and standard error.
fn serve_until_it_exits(data: &Path) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("TALLY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tally serve kept running on {}", data.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Paths under `dir`.
fn snapshot(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    // `meta.lock` is the advisory lock file guarding the meta database, not data.
    for entry in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name() != "meta.lock")
    {
        if entry.path().is_dir() {
            out.extend(snapshot(&entry.path()));
        }
        out.push(entry.path());
    }
    out.sort();
    out
}

/// Writes `tests/fixtures/upgrade/v<CURRENT>.tar.gz` (+ `.json`): a data directory made by this
/// build with an admin, a server and some traffic. Run it once whenever the schema version
/// changes, and keep the older fixtures: they are what the upgrade test opens.
#[test]
#[ignore = "writes a fixture; run by hand when the schema version changes"]
fn regenerate_upgrade_fixture() {
    let version = tally::store::migrations::CURRENT;
    let mut app = TestApp::spawn();
    let (_, ingest_token) = app.add_server("edge-fixture");
    let t = report_time();
    let stream = |viewers: Vec<Value>| {
        json!([{"app": "live", "stream": "fixture", "protocol": "rtmp", "publishing": true,
                "ingress_bytes": 1000, "ingress_kbps": 2500.0, "viewers": viewers}])
    };
    let r1 = report(
        "fixture-1",
        t,
        stream(vec![
            viewer(
                "s1",
                "81.2.69.142",
                "VLC/3.0.18 LibVLC/3.0.18",
                "hls",
                1000,
                30,
                false,
            ),
            viewer("s2", "81.2.69.160", "Lavf/60.3.100", "rtmp", 2000, 12, true),
        ]),
    );
    assert_eq!(app.ingest(&ingest_token, &r1).status, 200);
    let r2 = report(
        "fixture-2",
        t + 30,
        stream(vec![viewer(
            "s1",
            "81.2.69.142",
            "VLC/3.0.18 LibVLC/3.0.18",
            "hls",
            500,
            60,
            false,
        )]),
    );
    assert_eq!(app.ingest(&ingest_token, &r2).status, 200);
    let (from, to) = (t - 3600, t + 3600);
    let s = app
        .get(&format!("/api/v1/stats/summary?from={from}&to={to}"))
        .json();
    assert_eq!(s["views"], 2, "{s}");
    app.stop();
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join(format!("v{version}.tar.gz"));
    let status = Command::new("tar")
        .args([
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-czf",
        ])
        .arg(&archive)
        .arg("-C")
        .arg(app.data_dir())
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let facts = json!({
        "schema": version,
        "made_by": format!("tally {}", env!("CARGO_PKG_VERSION")),
        "admin_email": ADMIN_EMAIL, "admin_password": ADMIN_PASSWORD,
        "server_name": "edge-fixture", "ingest_token": ingest_token,
        "from": from, "to": to, "views": s["views"], "bytes_out": s["bytes_out"],
    });
    std::fs::write(
        dir.join(format!("v{version}.json")),
        serde_json::to_string_pretty(&facts).unwrap() + "\n",
    )
    .unwrap();
}
