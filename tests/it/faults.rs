//! Faults: SIGKILL during ingest, a full disk, slow clients and hostile request targets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[test]
fn sigkill_during_ingest_loses_no_acknowledged_report_and_counts_none_twice() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("edge");
    let url = Arc::new(Mutex::new(app.url.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<u64>::new()));
    let t0 = report_time() - 3600;
    let client = {
        let (url, stop, acked, token) = (url.clone(), stop.clone(), acked.clone(), token.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let viewers: Vec<_> = (0..5)
                    .map(|v| {
                        viewer(
                            &format!("r{i}-v{v}"),
                            "81.2.69.142",
                            "VLC",
                            "hls",
                            1,
                            1,
                            true,
                        )
                    })
                    .collect();
                let r = report(
                    &format!("crash-{i}"),
                    t0 + i as i64,
                    json!([{"app": "live", "stream": "crash", "viewers": viewers}]),
                );
                let target = format!("{}/api/v1/ingest", url.lock().unwrap());
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .new_agent();
                let req = ureq::http::Request::builder()
                    .method("POST")
                    .uri(&target)
                    .header("Content-Type", "application/json")
                    .header("Authorization", format!("Bearer {token}"))
                    .body(r.to_string())
                    .unwrap();
                match agent.run(req) {
                    Ok(mut resp) if resp.status() == 200 => {
                        let v: serde_json::Value =
                            serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap())
                                .unwrap();
                        if v["duplicate"] == false {
                            acked.lock().unwrap().push(i);
                        }
                        i += 1;
                    }
                    // Not acknowledged: retry the same report (same id) until it is.
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            i
        })
    };
    for round in 0..20 {
        std::thread::sleep(Duration::from_millis(150 + (round * 37) % 250));
        app.kill();
        app.start();
        *url.lock().unwrap() = app.url.clone();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let sent = client.join().unwrap();
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let s = app
        .get(&format!(
            "/api/v1/stats/summary?from={}&to={}",
            t0 - 60,
            t0 + 100_000
        ))
        .json();
    // Every acknowledged report is there once: a report stored but not acknowledged before the
    // kill was resent and then acknowledged as a duplicate, so `sent` counts each id once.
    assert!(sent > 20, "too few reports got through: {sent}");
    assert_eq!(
        s["views"].as_u64().unwrap(),
        sent * 5,
        "views must equal 5 x acknowledged reports ({sent}); acked-new {}",
        acked.lock().unwrap().len()
    );
    assert_eq!(s["bytes_out"].as_u64().unwrap(), sent * 5);
    app.stop();
    let out = std::process::Command::new(bin())
        .arg("check")
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tally check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Unmounts the test's small filesystem even when the test fails (lazily, in case the server
/// still holds files open).
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Mounts a 64 MiB tmpfs at `dir`; `None` (with the reason) when this machine does not allow it.
fn mount_small_fs(dir: &std::path::Path) -> Result<Mounted, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(Mounted(dir.to_path_buf()))
}

/// Free bytes on the filesystem holding `path` (from `df`, to need no extra crate).
fn free_bytes(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap()
}

#[test]
fn full_disk_answers_507_keeps_acknowledged_reports_and_recovers_when_space_returns() {
    let mut mounted = None;
    let mut skip = None;
    let mut app = TestApp::spawn_prepared(&[], &[], |data| match mount_small_fs(data) {
        Ok(m) => mounted = Some(m),
        Err(e) => skip = Some(e),
    });
    if let Some(reason) = skip {
        eprintln!("SKIPPED full-disk test: cannot mount a tmpfs ({reason}); run as root");
        return;
    }
    let _mounted = mounted;
    let (_, token) = app.add_server("edge");
    let data = app.data_dir();
    let t0 = report_time() - 7200;
    let viewers_per_report = 200u64;
    let make = |i: u64| {
        let viewers: Vec<_> = (0..viewers_per_report)
            .map(|v| {
                viewer(
                    &format!("disk-{i}-{v}-{}", "x".repeat(200)),
                    "81.2.69.142",
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
                    "hls",
                    1,
                    1,
                    true,
                )
            })
            .collect();
        report(
            &format!("disk-{i}"),
            t0 + i as i64,
            json!([{"app": "live", "stream": "disk", "viewers": viewers}]),
        )
    };

    // Leave the panel's reserve (16 MiB, kept for checkpoints) and 1 MiB more; ingest fills
    // the 1 MiB.
    let filler = data.join("filler.bin");
    let leave = (16 << 20) + (1 << 20);
    let size = free_bytes(&data).saturating_sub(leave);
    std::fs::write(&filler, vec![0xa5u8; size as usize]).unwrap();

    let started = std::time::Instant::now();
    let mut acked = 0u64;
    let mut i = 0u64;
    let mut full = None;
    while i < 3000 {
        let r = app.ingest(&token, &make(i));
        match r.status {
            200 => {
                assert_eq!(r.json()["duplicate"], false, "{}", r.text());
                acked += 1;
                i += 1;
            }
            507 | 503 => {
                full = Some(r);
                break;
            }
            other => panic!("unexpected {other} while filling the disk: {}", r.text()),
        }
    }
    let full = full.unwrap_or_else(|| panic!("the disk never filled after {i} reports"));
    eprintln!("disk full after {i} reports, {:?}", started.elapsed());
    let body = full.json();
    assert_eq!(
        body["error"]["code"],
        "insufficient_storage",
        "{}",
        full.text()
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("out of space"),
        "{}",
        full.text()
    );
    // Then another process takes the reserve too, to the last byte: the checkpoint of the
    // reports acknowledged last now fails inside sled, which has to be re-opened to recover.
    let brim = data.join("brim.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&brim).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0x5au8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        let _ = f.sync_all();
    }
    // Still full: more reports are refused the same way, and the panel keeps answering.
    for _ in 0..5 {
        let r = app.ingest(&token, &make(i));
        assert!(
            r.status == 507 || r.status == 503 || r.status == 200,
            "{} {}",
            r.status,
            r.text()
        );
        if r.status == 200 {
            acked += 1;
            i += 1;
        }
    }
    assert_eq!(app.get("/healthz").status, 200);
    assert!(!app.logs().contains("panicked"), "{}", app.logs());

    // Long enough for a checkpoint to run into the full disk (one is due every 5 s).
    std::thread::sleep(Duration::from_secs(6));
    // Informational: whether this run's checkpoint hit the full disk inside storage (it does
    // unless a checkpoint happened to run between the last acknowledgement and the filling).
    eprintln!(
        "checkpoint failed on the full disk: {}",
        app.logs().contains("checkpoint failed; retrying")
    );
    assert_eq!(app.get("/healthz").status, 200);

    // Space comes back: ingest recovers without a restart.
    std::fs::remove_file(&brim).unwrap();
    std::fs::remove_file(&filler).unwrap();
    let mut recovered = false;
    for _ in 0..600 {
        let r = app.ingest(&token, &make(i));
        if r.status == 200 {
            acked += 1;
            i += 1;
            recovered = true;
            break;
        }
        assert!(
            r.status == 507 || r.status == 503,
            "{} {}",
            r.status,
            r.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(recovered, "ingest did not recover after space was freed");
    eprintln!("recovered at {:?}", started.elapsed());
    for _ in 0..10 {
        let r = app.ingest(&token, &make(i));
        assert_eq!(r.status, 200, "{}", r.text());
        acked += 1;
        i += 1;
    }
    let s = app
        .get(&format!(
            "/api/v1/stats/summary?from={}&to={}",
            t0 - 60,
            t0 + 100_000
        ))
        .json();
    assert_eq!(
        s["views"].as_u64().unwrap(),
        acked * viewers_per_report,
        "every acknowledged report is counted once ({acked} acknowledged): {s}"
    );
    assert!(!app.logs().contains("panicked"), "{}", app.logs());
    let logs = app.logs();
    assert!(logs.contains("refusing reports (507)"), "{logs}");
    assert!(logs.contains("accepting reports"), "{logs}");
    eprintln!("queried at {:?}", started.elapsed());
    app.stop();
    let out = std::process::Command::new(bin())
        .arg("check")
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tally check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A connection opened with `head` already sent, read without blocking.
struct RawConn {
    what: &'static str,
    stream: std::net::TcpStream,
    received: Vec<u8>,
    closed: bool,
}

impl RawConn {
    fn open(addr: &str, what: &'static str, head: &str) -> RawConn {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.write_all(head.as_bytes()).expect("send head");
        stream.set_nonblocking(true).expect("non-blocking");
        RawConn {
            what,
            stream,
            received: Vec::new(),
            closed: false,
        }
    }

    /// Reads what has arrived; notes the end of the connection.
    fn poll(&mut self) {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while !self.closed {
            match self.stream.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => self.closed = true,
            }
        }
    }

    fn trickle(&mut self, byte: u8) {
        use std::io::Write;
        let _ = self.stream.write_all(&[byte]);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// Slowloris over raw TCP: request heads and bodies trickled a byte a second. Heads get `408`
/// when the head timeout (10 s) passes, bodies `408 body_timeout` when the body timeout (30 s)
/// passes, on ingest and on a JSON endpoint alike, with a length or chunked, and every such
/// connection is then closed by the panel; every other client is served meanwhile.
/// Then path traversal on the static routes (raw request targets, which HTTP clients would
/// normalise) gets 404 and no file. The panel's peak RSS stays under 400 MB throughout.
#[test]
fn slow_clients_and_path_traversal_get_clear_answers_and_the_panel_stays_healthy() {
    let app = TestApp::spawn();
    let (_, ingest_token) = app.add_server("edge");
    let addr = app.url.trim_start_matches("http://").to_string();
    let json_post = |path: &str, token: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{{\"name\": "
        )
    };
    let started = std::time::Instant::now();
    let mut conns = Vec::new();
    for _ in 0..20 {
        conns.push(RawConn::open(
            &addr,
            "head",
            "GET /api/v1/servers HTTP/1.1\r\nHost: t\r\nX-Slow: ",
        ));
        conns.push(RawConn::open(
            &addr,
            "ingest",
            &json_post("/api/v1/ingest", &ingest_token),
        ));
        conns.push(RawConn::open(
            &addr,
            "json",
            &json_post("/api/v1/servers", &app.token),
        ));
        // A chunked body (one 4 KiB chunk announced), which actix would otherwise read and
        // discard without a time limit after answering.
        conns.push(RawConn::open(
            &addr,
            "chunked",
            &format!(
                "POST /api/v1/servers HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                 1000\r\n{{\"name\": ",
                app.token
            ),
        ));
    }
    // Trickle while the panel's deadlines cannot have passed yet (they count from the
    // connection, opened above), then wait for its answers. Others are served all along.
    let t = report_time();
    let mut round = 0;
    while conns.iter().any(|c| !c.closed) && started.elapsed() < Duration::from_secs(120) {
        round += 1;
        for c in &mut conns {
            c.poll();
            let until = if c.what == "head" { 6 } else { 25 };
            if !c.closed && c.received.is_empty() && started.elapsed().as_secs() < until {
                c.trickle(if c.what == "head" { b'a' } else { b' ' });
            }
        }
        assert_eq!(app.get_as("/healthz", None).status, 200);
        let ok = app.ingest(
            &ingest_token,
            &report(&format!("fast-{round}"), t, json!([])),
        );
        assert_eq!(ok.status, 200, "{}", ok.text());
        std::thread::sleep(Duration::from_secs(1));
    }
    for c in &conns {
        let text = c.text();
        assert!(c.closed, "{} connection still open: {text:?}", c.what);
        assert!(
            text.starts_with("HTTP/1.1 408"),
            "{} connection: {text:?}",
            c.what
        );
        if c.what != "head" {
            assert!(text.contains("\"body_timeout\""), "{}: {text}", c.what);
        }
    }
    for target in [
        "/../../../../etc/passwd",
        "/assets/../../Cargo.toml",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%2E%2E%5C%2E%2E%5CCargo.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
    ] {
        let mut c = RawConn::open(
            &addr,
            "traversal",
            &format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        );
        let begun = std::time::Instant::now();
        while !c.closed && begun.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
            c.poll();
        }
        let text = c.text();
        assert!(text.starts_with("HTTP/1.1 404"), "{target}: {text:?}");
        assert!(
            !text.contains("root:") && !text.contains("[package]"),
            "{target}: {text}"
        );
    }
    assert_eq!(app.get_as("/healthz", None).status, 200);
    assert!(!app.logs().contains("panicked"), "{}", app.logs());
    let peak = app.peak_rss_bytes();
    assert!(peak < 400 << 20, "peak RSS {} MiB", peak >> 20);
}
