//! The core appliance: ingest → rollups → query, errors, durability, privacy.

use std::io::Write;

use serde_json::{Value, json};

use crate::support::*;

fn stream(app: &str, name: &str, viewers: Vec<Value>) -> Value {
    json!({"app": app, "stream": name, "protocol": "rtmp", "publishing": true, "ingress_bytes": 1000, "ingress_kbps": 2500.0, "viewers": viewers})
}

fn rows(v: &Value) -> Vec<(String, u64)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["views"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn ingest_round_trip_counts_views_bytes_protocols_and_durations() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge-1");
    let t = report_time();
    let r1 = report(
        "r1",
        t,
        json!([stream(
            "live",
            "news",
            vec![
                viewer(
                    "s1",
                    "81.2.69.142",
                    "VLC/3.0.18 LibVLC/3.0.18",
                    "hls",
                    1000,
                    30,
                    false
                ),
                viewer("s2", "81.2.69.160", "Lavf/60.3.100", "rtmp", 2000, 12, true),
            ]
        )]),
    );
    let resp = app.ingest(&token, &r1);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.json(),
        json!({"accepted": {"streams": 1, "viewers": 2}, "duplicate": false})
    );
    // The next interval: s1 continues (30 more seconds), a new viewer s3 joins.
    let r2 = report(
        "r2",
        t + 30,
        json!([stream(
            "live",
            "news",
            vec![
                viewer(
                    "s1",
                    "81.2.69.142",
                    "VLC/3.0.18 LibVLC/3.0.18",
                    "hls",
                    500,
                    60,
                    false
                ),
                viewer("s3", "2001:218::1", "Mozilla/5.0", "hls", 100, 5, false),
            ]
        )]),
    );
    assert_eq!(app.ingest(&token, &r2).status, 200);
    let s = app.get("/api/v1/stats/summary").json();
    assert_eq!(s["views"], 3, "{s}");
    assert_eq!(s["bytes_out"], 3600);
    assert_eq!(s["bytes_in"], 2000);
    assert_eq!(s["view_time_s"], 30 + 12 + 30 + 5);
    assert_eq!(s["peak_viewers"], 2);
    assert_eq!(s["unique_viewers"], 3);
    let p = app.get("/api/v1/stats/breakdown?dimension=protocol").json();
    assert_eq!(
        rows(&p),
        vec![("hls".to_string(), 2), ("rtmp".to_string(), 1)]
    );
    let d = app.get("/api/v1/stats/breakdown?dimension=duration").json();
    assert_eq!(rows(&d), vec![("15s".to_string(), 1)]);
    let st = app.get("/api/v1/stats/breakdown?dimension=stream").json();
    assert_eq!(st["rows"][0]["key"], "live/news");
    let streams = app.get("/api/v1/streams").json();
    assert_eq!(streams[0]["stream"], "news");
    assert_eq!(streams[0]["viewers"], 2);
    let servers = app.get("/api/v1/servers").json();
    assert_eq!(servers[0]["status"], "online");
    assert_eq!(servers[0]["cpu_pct"], 20.0);
    let csv = app.get("/api/v1/stats/breakdown?dimension=protocol&format=csv");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.text()
            .starts_with("key,label,views,viewers,bytes_out,view_time_s\nhls,hls,2,"),
        "{}",
        csv.text()
    );
    let ts = app
        .get(&format!(
            "/api/v1/stats/timeseries?metric=views&step=60&from={}&to={}",
            t - 120,
            t + 120
        ))
        .json();
    let total: f64 = ts["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum();
    assert_eq!(total, 3.0);
    for p in ts["points"].as_array().unwrap() {
        assert_eq!(p[0].as_i64().unwrap() % 60, 0);
    }
    // Filters select one series.
    let f = app.get("/api/v1/stats/summary?app=live&stream=news").json();
    assert_eq!(f["views"], 3);
    let none = app.get("/api/v1/stats/summary?app=other").json();
    assert_eq!(none["views"], 0);
}

#[test]
fn peak_is_the_peak_of_the_sum_over_servers() {
    let app = TestApp::spawn();
    let (_, a) = app.add_server("a");
    let (_, b) = app.add_server("b");
    let t = report_time();
    let v = |s: &str| viewer(s, "81.2.69.142", "VLC", "rtmp", 10, 30, false);
    assert_eq!(
        app.ingest(
            &a,
            &report("a1", t, json!([stream("live", "x", vec![v("1"), v("2")])]))
        )
        .status,
        200
    );
    assert_eq!(
        app.ingest(
            &b,
            &report(
                "b1",
                t,
                json!([stream("live", "x", vec![v("3"), v("4"), v("5")])])
            )
        )
        .status,
        200
    );
    let s = app.get("/api/v1/stats/summary").json();
    assert_eq!(s["peak_viewers"], 5);
    let s = app.get("/api/v1/stats/summary?app=live&stream=x").json();
    assert_eq!(s["peak_viewers"], 5);
    let live = app.get("/api/v1/live").json();
    assert_eq!(live["viewers"], 5);
}

#[test]
fn duplicates_are_acknowledged_and_not_counted() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let r = report(
        "dup-1",
        report_time(),
        json!([stream(
            "live",
            "a",
            vec![viewer("s", "81.2.69.142", "VLC", "hls", 100, 10, false)]
        )]),
    );
    assert_eq!(app.ingest(&token, &r).json()["duplicate"], false);
    assert_eq!(app.ingest(&token, &r).json()["duplicate"], true);
    app.restart();
    assert_eq!(app.ingest(&token, &r).json()["duplicate"], true);
    let s = app.get("/api/v1/stats/summary").json();
    assert_eq!(
        (s["views"].as_u64(), s["bytes_out"].as_u64()),
        (Some(1), Some(100))
    );
}

#[test]
fn restart_keeps_data_and_sessions() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let t = report_time();
    let r1 = report(
        "k1",
        t,
        json!([stream(
            "live",
            "a",
            vec![viewer("s", "81.2.69.142", "VLC", "hls", 100, 30, false)]
        )]),
    );
    assert_eq!(app.ingest(&token, &r1).status, 200);
    app.kill(); // no clean shutdown: the journal must carry it
    app.start();
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let r2 = report(
        "k2",
        t + 30,
        json!([stream(
            "live",
            "a",
            vec![viewer("s", "81.2.69.142", "VLC", "hls", 100, 60, false)]
        )]),
    );
    assert_eq!(app.ingest(&token, &r2).status, 200);
    app.restart();
    let s = app.get("/api/v1/stats/summary").json();
    assert_eq!(
        s["views"], 1,
        "a restart must not count the session twice: {s}"
    );
    assert_eq!(s["view_time_s"], 60);
    assert_eq!(s["bytes_out"], 200);
}

#[test]
fn back_filled_reports_keep_their_sessions_between_checkpoints() {
    // An agent catching up on two hours: its report times run far behind the clock, and each
    // query below makes the panel checkpoint (and sweep sessions) in between.
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let t0 = report_time() - 2 * 3600;
    let range = format!("from={}&to={}", t0 - 3600, t0 + 3600);
    for i in 0..5i64 {
        let mut viewers = vec![viewer(
            "steady",
            "81.2.69.142",
            "VLC",
            "hls",
            100,
            30 * (i as u64 + 1),
            false,
        )];
        if i == 0 {
            viewers.push(viewer("brief", "81.2.69.160", "VLC", "hls", 10, 20, false));
        }
        let r = report(
            &format!("b{i}"),
            t0 + 30 * i,
            json!([stream("live", "a", viewers)]),
        );
        assert_eq!(app.ingest(&token, &r).status, 200);
        let s = app.get(&format!("/api/v1/stats/summary?{range}")).json();
        assert_eq!(s["views"], 2, "report {i}: {s}");
        assert_eq!(s["view_time_s"], 30 * (i + 1) + 20, "report {i}: {s}");
    }
    // `brief` left after the first report: more than three intervals later its duration is counted,
    // once; `steady` is still watching.
    let d = app
        .get(&format!(
            "/api/v1/stats/breakdown?dimension=duration&{range}"
        ))
        .json();
    assert_eq!(rows(&d), vec![("20s".to_string(), 1)], "{d}");
}

#[test]
fn eight_concurrent_clients_lose_nothing() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let t = report_time();
    let url = app.url.clone();
    let handles: Vec<_> = (0..8)
        .map(|c| {
            let token = token.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let viewers: Vec<Value> = (0..20)
                        .map(|v| {
                            viewer(
                                &format!("c{c}-r{i}-v{v}"),
                                "81.2.69.142",
                                "VLC",
                                "hls",
                                7,
                                3,
                                true,
                            )
                        })
                        .collect();
                    let r = report(
                        &format!("c{c}-{i}"),
                        t,
                        json!([stream("live", &format!("s{c}"), viewers)]),
                    );
                    let resp = request(
                        "POST",
                        &format!("{url}/api/v1/ingest"),
                        Some(&token),
                        &[("Content-Type", "application/json")],
                        Some(r.to_string().into_bytes()),
                    );
                    assert_eq!(resp.status, 200, "{}", resp.text());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = app.get("/api/v1/stats/summary").json();
    assert_eq!(s["views"], 8 * 25 * 20);
    assert_eq!(s["bytes_out"], 8 * 25 * 20 * 7);
}

fn error_of(resp: &Resp) -> (u16, String, Value) {
    let v = resp.json();
    (
        resp.status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
        v["error"]["field"].clone(),
    )
}

#[test]
fn bad_reports_get_precise_errors_and_change_nothing() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let t = report_time();
    let good_viewer = viewer("s", "81.2.69.142", "VLC", "hls", 1, 1, false);
    let mut bad_ip = report(
        "e1",
        t,
        json!([stream(
            "live",
            "a",
            vec![
                good_viewer.clone(),
                good_viewer.clone(),
                good_viewer.clone(),
                viewer("x", "300.1.1.1", "VLC", "hls", 1, 1, false)
            ]
        )]),
    );
    let (s, _, f) = error_of(&app.ingest(&token, &bad_ip));
    assert_eq!((s, f), (400, json!("streams[0].viewers[3].ip")));
    bad_ip["streams"][0]["viewers"][3]["ip"] = json!("81.2.69.142");
    bad_ip["streams"][0]["viewers"][3]["bytes"] = json!(-5);
    let (s, _, f) = error_of(&app.ingest(&token, &bad_ip));
    assert_eq!((s, f), (400, json!("streams[0].viewers[3].bytes")));
    bad_ip["streams"][0]["viewers"][3]["bytes"] = json!("many");
    assert_eq!(error_of(&app.ingest(&token, &bad_ip)).0, 400);
    let missing = json!({"report_id": "m", "time": t, "streams": [{"app": "live", "viewers": []}]});
    let resp = app.ingest(&token, &missing);
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("stream"), "{}", resp.text());
    let (s, _, f) = error_of(&app.ingest(&token, &json!({"time": t, "streams": []})));
    assert_eq!(s, 400);
    assert!(f.is_null() || f == "report_id");
    assert_eq!(
        error_of(&app.ingest_raw(&token, b"{not json".to_vec(), &[])).0,
        400
    );
    assert_eq!(
        error_of(&app.ingest_raw(&token, vec![b'{', 0xff, 0xfe, b'}'], &[])).0,
        400
    );
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert_eq!(
        error_of(&app.ingest_raw(&token, deep.into_bytes(), &[])).0,
        400
    );
    let huge = report(
        "h",
        t,
        json!([stream(
            "live",
            "a",
            vec![json!({"session": "s", "ip": "81.2.69.142", "bytes": 1e300})]
        )]),
    );
    assert_eq!(error_of(&app.ingest(&token, &huge)).0, 400);
    let future = report("f", t + 86_400, json!([]));
    assert_eq!(error_of(&app.ingest(&token, &future)).2, json!("time"));
    // Authentication and framing.
    assert_eq!(
        app.ingest("tis_wrong", &report("a", t, json!([]))).status,
        401
    );
    let wrong_type = request(
        "POST",
        &format!("{}/api/v1/ingest", app.url),
        Some(&token),
        &[("Content-Type", "text/plain")],
        Some(b"{}".to_vec()),
    );
    assert_eq!(wrong_type.status, 415);
    let big = vec![b' '; 17 << 20];
    assert_eq!(app.ingest_raw(&token, big, &[]).status, 413);
    // A gzip bomb: 64 MiB of zeros compress to ~64 KiB; it is cut off at the limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..64 {
        gz.write_all(&vec![b' '; 1 << 20]).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert_eq!(
        app.ingest_raw(&token, bomb, &[("Content-Encoding", "gzip")])
            .status,
        413
    );
    // gzip works for a real report.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(
        report("gz", t, json!([stream("live", "a", vec![good_viewer])]))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let ok = app.ingest_raw(
        &token,
        gz.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    // Only the gzip report counted; the server is healthy.
    let s = app.get("/api/v1/stats/summary").json();
    assert_eq!(s["views"], 1);
    assert_eq!(app.get_as("/healthz", None).status, 200);
    let peak = app.peak_rss_bytes();
    assert!(peak < 400 << 20, "peak RSS {} MiB", peak >> 20);
}

#[test]
fn api_requires_authentication_and_answers_json_errors() {
    let app = TestApp::spawn();
    for path in [
        "/api/v1/servers",
        "/api/v1/stats/summary",
        "/api/v1/streams",
        "/api/v1/me",
        "/metrics",
    ] {
        assert_eq!(app.get_as(path, None).status, 401, "{path}");
    }
    assert_eq!(app.get_as("/healthz", None).status, 200);
    let wrong = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": "nope-nope-nope"}),
    );
    assert_eq!(wrong.status, 401);
    let missing = app.get("/api/v1/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    let bad = app.get("/api/v1/stats/breakdown?dimension=planet");
    assert_eq!(
        error_of(&bad),
        (400, "invalid_field".into(), json!("dimension"))
    );
    let bad = app.get("/api/v1/stats/summary?from=yesterday");
    assert_eq!(error_of(&bad).2, json!("from"));
    assert_eq!(app.get("/api/v1/servers/0000000000000001").status, 404);
    assert_eq!(app.get("/api/v1/servers/..%2f..").status, 404);
    // An oversized settings body gets the JSON error with the limit, like ingest's.
    let big = request(
        "POST",
        &format!("{}/api/v1/servers", app.url),
        Some(&app.token),
        &[("Content-Type", "application/json")],
        Some(vec![b' '; 300 << 10]),
    );
    assert_eq!(error_of(&big).0, 413);
    assert_eq!(error_of(&big).1, "payload_too_large");
    assert!(big.text().contains("262144"), "{}", big.text());
    // Compressed bodies only where the panel bounds their expansion (ingest).
    let gz = request(
        "POST",
        &format!("{}/api/v1/servers", app.url),
        Some(&app.token),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        Some(vec![0x1f, 0x8b, 0x08, 0]),
    );
    assert_eq!(error_of(&gz).0, 415, "{}", gz.text());
    assert!(gz.text().contains("/api/v1/ingest"), "{}", gz.text());
    let metrics = app.get("/metrics").text();
    assert!(metrics.contains("tally_ingest_reports_total"));
    // Memory figures: the process's RSS and jemalloc's view (the default build).
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    for name in [
        "tally_process_resident_bytes",
        "tally_memory_allocated_bytes",
        "tally_memory_allocator_resident_bytes",
        "tally_storage_open_partitions",
    ] {
        assert!(value(name) >= 0.0, "{name} = {}", value(name));
    }
    let rss = value("tally_process_resident_bytes");
    assert!(rss > 1e6, "RSS {rss}");
    let t = app.token.clone();
    assert_eq!(
        app.send("POST", "/api/v1/auth/logout", Some(&t), None)
            .status,
        204
    );
    assert_eq!(app.get("/api/v1/me").status, 401);
}

#[test]
fn login_sets_a_strict_httponly_cookie() {
    let app = TestApp::spawn();
    let r = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    );
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("tally_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let value = cookie.split(';').next().unwrap();
    let me = request(
        "GET",
        &format!("{}/api/v1/me", app.url),
        None,
        &[("Cookie", value)],
        None,
    );
    assert_eq!(me.status, 200);
    // A cookie-authenticated write from another origin is refused.
    let csrf = request(
        "POST",
        &format!("{}/api/v1/servers", app.url),
        None,
        &[
            ("Cookie", value),
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"name":"x"}"#.to_vec()),
    );
    assert_eq!(csrf.status, 403);
}

/// Distinctive viewer addresses that must never reach disk or logs.
pub(crate) const PLANTED: [&str; 4] = [
    "203.0.113.77",
    "81.2.69.199",
    "2001:db8:dead:beef::4242",
    "198.51.100.213",
];

pub(crate) fn forms(ip: &str) -> Vec<Vec<u8>> {
    let addr: std::net::IpAddr = ip.parse().unwrap();
    let mut v = vec![ip.as_bytes().to_vec()];
    match addr {
        std::net::IpAddr::V4(a) => {
            v.push(a.octets().to_vec());
            v.push(u32::from(a).to_le_bytes().to_vec());
        }
        std::net::IpAddr::V6(a) => {
            v.push(a.octets().to_vec());
            v.push(a.to_string().into_bytes());
            v.push(format!("{:?}", a.segments()).into_bytes());
        }
    }
    v
}

pub(crate) fn scan(dir: &std::path::Path, needles: &[Vec<u8>], hits: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            scan(&path, needles, hits);
        } else if let Ok(bytes) = std::fs::read(&path) {
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                    hits.push(format!("{} contains {:?}", path.display(), n));
                }
            }
        }
    }
}

/// Asserts that no planted viewer IP, in any of its text or binary forms, is anywhere in the
/// (stopped) app's data directory or in its logs.
pub(crate) fn assert_no_planted_ip(app: &TestApp) {
    let needles: Vec<Vec<u8>> = PLANTED.iter().flat_map(|ip| forms(ip)).collect();
    let mut hits = Vec::new();
    scan(&app.data_dir(), &needles, &mut hits);
    assert!(hits.is_empty(), "viewer IPs found on disk: {hits:?}");
    let logs = app.logs();
    for n in &needles {
        assert!(
            !logs.as_bytes().windows(n.len()).any(|w| w == n.as_slice()),
            "viewer IP in logs: {n:?}"
        );
    }
}

#[test]
fn privacy_viewer_ips_never_reach_disk_or_logs() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let t = report_time();
    for round in 0..20 {
        let viewers: Vec<Value> = PLANTED
            .iter()
            .enumerate()
            .map(|(i, ip)| {
                viewer(
                    &format!("p{i}"),
                    ip,
                    "VLC/3.0",
                    "hls",
                    1000,
                    30 * (round + 1),
                    round == 19,
                )
            })
            .collect();
        let r = report(
            &format!("p-{round}"),
            t + 30 * round as i64,
            json!([stream("live", "privacy", viewers)]),
        );
        assert_eq!(app.ingest(&token, &r).status, 200);
    }
    // A rejected report carrying a planted IP must not leak it either.
    let bad = report(
        "bad",
        t,
        json!([stream(
            "live",
            "privacy",
            vec![
                viewer("z", PLANTED[0], "VLC", "hls", 1, 1, false),
                json!({"session": 5, "ip": PLANTED[1]})
            ]
        )]),
    );
    assert_eq!(app.ingest(&token, &bad).status, 400);
    assert_eq!(app.get("/api/v1/stats/summary").json()["views"], 4);
    app.stop();
    assert_no_planted_ip(&app);
}

#[test]
fn cli_version_help_and_clear_startup_errors() {
    let out = std::process::Command::new(bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("tally "));
    for verb in ["serve", "agent", "user", "check", "bench"] {
        let out = std::process::Command::new(bin())
            .args([verb, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{verb} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Example"),
            "{verb} --help has no example"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tally.toml");
    std::fs::write(&cfg, "listen = \"nowhere\"\n").unwrap();
    let out = std::process::Command::new(bin())
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tally.toml") && err.contains("listen"),
        "{err}"
    );
}

/// The load generator runs end to end against the panel it starts (tiny load, no figures
/// checked: timing is never asserted), with a reader watching the panel meanwhile.
#[test]
fn bench_ingest_runs_end_to_end_with_readers() {
    let out = std::process::Command::new(bin())
        .args([
            "bench",
            "ingest",
            "--duration",
            "3",
            "--report-every",
            "1",
            "--servers",
            "2",
            "--viewers",
            "20",
            "--streams",
            "1",
            "--concurrency",
            "2",
            "--rate",
            "400",
            "--readers",
            "1",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "accepted viewer records",
        "errors                    none",
        "panel reads meanwhile     1 readers",
        ", 0 failed",
        "countries, a day",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    } // A reader count out of range is refused before anything starts, naming the flag.
    let bad = std::process::Command::new(bin())
        .args(["bench", "ingest", "--readers", "65"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("--readers") && err.contains("65"), "{err}");
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap_or("").to_string());
                }
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn openapi_document_is_complete_and_consistent() {
    let app = TestApp::spawn();
    let r = app.get_as("/api/v1/openapi.json", None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/ingest",
        "/api/v1/auth/login",
        "/api/v1/servers",
        "/api/v1/servers/{id}",
        "/api/v1/stats/summary",
        "/api/v1/stats/timeseries",
        "/api/v1/stats/breakdown",
        "/api/v1/streams",
        "/api/v1/openapi.json",
        "/healthz",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {r}"
        );
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                continue;
            }
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
            // Every documented GET without path parameters exists on the server.
            if method == "get" && !path.contains('{') {
                let status = app.get(path).status;
                assert_ne!(status, 404, "GET {path} is documented but missing");
                assert!(status < 500, "GET {path} answered {status}");
            }
        }
    }
}

#[test]
fn geoip_city_and_asn_enrich_breakdowns() {
    let geo = fixtures().join("geoip");
    let city = geo.join("GeoLite2-City-Test.mmdb");
    let asn = geo.join("GeoLite2-ASN-Test.mmdb");
    let app = TestApp::spawn_with(
        &[
            "--geoip-city",
            city.to_str().unwrap(),
            "--geoip-asn",
            asn.to_str().unwrap(),
        ],
        &[],
    );
    let (_, token) = app.add_server("edge");
    let r = report(
        "g1",
        report_time(),
        json!([stream(
            "live",
            "geo",
            vec![
                viewer(
                    "a",
                    "81.2.69.142",
                    "VLC/3.0.18 LibVLC/3.0.18",
                    "hls",
                    10,
                    30,
                    false
                ),
                viewer("b", "1.128.0.1", "Lavf/60.3.100", "rtmp", 10, 30, false),
            ]
        )]),
    );
    assert_eq!(app.ingest(&token, &r).status, 200);
    let country = app.get("/api/v1/stats/breakdown?dimension=country").json();
    let gb = country["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "GB")
        .expect("GB row");
    assert_eq!(gb["label"], "United Kingdom");
    let region = app.get("/api/v1/stats/breakdown?dimension=region").json();
    assert!(
        region["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "GB-ENG" && r["label"] == "England"),
        "{region}"
    );
    let city = app.get("/api/v1/stats/breakdown?dimension=city").json();
    assert!(
        city["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "2643743" && r["label"] == "London"),
        "{city}"
    );
    let asn = app.get("/api/v1/stats/breakdown?dimension=asn").json();
    assert!(
        asn["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "1221" && r["label"].as_str().unwrap().contains("Telstra")),
        "{asn}"
    );
    let player = app.get("/api/v1/stats/breakdown?dimension=player").json();
    assert!(
        player["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "VLC"),
        "{player}"
    );
    for row in country["rows"]
        .as_array()
        .unwrap()
        .iter()
        .chain(asn["rows"].as_array().unwrap())
    {
        assert!(!row["label"].as_str().unwrap().is_empty());
    }
    let about = app.get("/api/v1/about").json();
    assert!(about.to_string().contains("GeoLite2-City"), "{about}");
}

#[test]
fn embedded_country_database_works_without_files() {
    let app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let r = report(
        "c1",
        report_time(),
        json!([stream(
            "live",
            "geo",
            vec![viewer("a", "81.2.69.142", "VLC", "hls", 10, 30, false)]
        )]),
    );
    assert_eq!(app.ingest(&token, &r).status, 200);
    let country = app.get("/api/v1/stats/breakdown?dimension=country").json();
    assert_eq!(country["rows"].as_array().unwrap().len(), 1, "{country}");
    assert!(app.get("/api/v1/about").text().contains("DB-IP"));
}

#[test]
fn broken_or_missing_geoip_files_stop_startup_naming_the_file() {
    let geo = fixtures().join("geoip");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mmdb");
    std::fs::write(&junk, b"this is not a MaxMind database").unwrap();
    let missing = dir.path().join("missing.mmdb");
    let cases = vec![
        junk,
        missing,
        geo.join("invalid-string-length.mmdb"),
        geo.join("libmaxminddb-corrupt-search-tree.mmdb"),
    ];
    for file in cases {
        let out = std::process::Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--geoip-city")
            .arg(&file)
            .env("TALLY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{} was accepted", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(err.contains(&name), "error does not name {name}: {err}");
    }
}

#[test]
fn first_run_setup_link_creates_the_first_admin() {
    let mut app = TestApp {
        child: None,
        url: String::new(),
        dir: tempfile::tempdir().unwrap(),
        logs: Default::default(),
        token: String::new(),
        extra_args: Vec::new(),
        env: vec![
            ("TALLY_ADMIN_EMAIL".into(), String::new()),
            ("TALLY_ADMIN_PASSWORD".into(), String::new()),
        ],
    };
    app.start();
    let logs = app.logs();
    let at = logs.find("/setup?token=").expect("setup link in the log");
    let token: String = logs[at + "/setup?token=".len()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    let form = app.get_as(&format!("/setup?token={token}"), None);
    assert_eq!(form.status, 200);
    assert!(
        form.text()
            .contains("<form method=\"post\" action=\"/setup\">")
    );
    let post = |email: &str, password: &str, token: &str| {
        let body = format!("token={token}&email={email}&password={password}&account_name=Acme");
        request(
            "POST",
            &format!("{}/setup", app.url),
            None,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body.into_bytes()),
        )
    };
    // A form past the 16 KiB limit gets the panel's JSON error, not actix's plain text.
    let long = "x".repeat(20 << 10);
    let big = post("ops%40example.com", &long, &token);
    assert_eq!(big.status, 413);
    assert_eq!(big.json()["error"]["code"], "payload_too_large");
    let short = post("ops%40example.com", "short", &token);
    assert_eq!(short.status, 200);
    assert!(
        short.text().contains("at least 10 characters"),
        "{}",
        short.text()
    );
    let wrong = post("ops%40example.com", "long-enough-password", "setup_wrong");
    assert!(wrong.text().contains("invalid or was already used"));
    let ok = post("ops%40example.com", "long-enough-password", &token);
    // The 303 leads to the sign-in page (the client follows it).
    assert_eq!(ok.status, 200);
    assert!(
        !ok.text().contains("Create the first administrator"),
        "{}",
        ok.text()
    );
    let t = app.login("ops@example.com", "long-enough-password");
    let me = app.get_as("/api/v1/me", Some(&t)).json();
    assert_eq!(me["operator"], true);
    assert_eq!(me["account"]["name"], "Acme");
    assert_eq!(
        post("x%40example.com", "long-enough-password", &token).status,
        200,
        "the link works once"
    );
}
