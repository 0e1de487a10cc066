//! `tally agent` end to end, without media servers: the compiled binary polls a local fixture
//! server that answers like nginx-rtmp (the captured `/stat` page, counters growing on every
//! poll), follows an HLS access log, and reports to the real panel; then the same while the
//! panel is down (spool, exit status) and after it is back (back-fill, no double counting).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::support::*;

/// Serves `/stat` from the captured page; each poll adds 300,000 bytes out and 100,000 in.
fn fixture_stat_server() -> (String, Arc<AtomicU64>) {
    let page = std::fs::read_to_string(fixtures().join("agent/nginx_rtmp_stat.xml")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/stat",
        listener.local_addr().unwrap().port()
    );
    let polls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&polls);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok() && line != "\r\n" && !line.is_empty() {
                line.clear();
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = page
                .replace(
                    "<bytes_out>1656123</bytes_out>",
                    &format!("<bytes_out>{}</bytes_out>", 1_656_123 + n * 300_000),
                )
                .replace(
                    "<bytes_in>959667</bytes_in>",
                    &format!("<bytes_in>{}</bytes_in>", 959_667 + n * 100_000),
                );
            let mut out = stream;
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, polls)
}

fn hls_lines(log: &Path, at: i64) {
    let t = jiff::Timestamp::from_second(at)
        .unwrap()
        .strftime("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    for (path, bytes) in [
        ("/hls/test.m3u8", 200),
        ("/hls/test-7.ts", 180_000),
        ("/hls/test-8.ts", 170_000),
    ] {
        writeln!(
            f,
            r#"198.51.100.23 - - [{t}] "GET {path} HTTP/1.1" 206 {bytes} "-" "ItPlayer/1.0""#
        )
        .unwrap();
    }
}

fn run_agent(
    panel: &str,
    token: &str,
    stat: &str,
    log: &Path,
    spool: &Path,
) -> std::process::Output {
    let child = Command::new(bin())
        .args([
            "agent",
            "--once",
            "--interval",
            "2s",
            "--name",
            "it-edge",
            "--access-log-app",
            "live",
        ])
        .arg("--panel")
        .arg(panel)
        .arg("--token")
        .arg(token)
        .arg("--source")
        .arg(format!("nginx-rtmp={stat}"))
        .arg("--source")
        .arg(format!("access-log={}", log.display()))
        .arg("--spool")
        .arg(spool)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The agent reads the log from its end at start: write the viewer's requests meanwhile.
    std::thread::sleep(std::time::Duration::from_millis(700));
    hls_lines(log, jiff::Timestamp::now().as_second());
    child.wait_with_output().unwrap()
}

fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json.gz"))
        .count()
}

fn protocol_views(app: &TestApp) -> Vec<(String, u64)> {
    let p = app.get("/api/v1/stats/breakdown?dimension=protocol").json();
    p["rows"]
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
fn agent_reports_rtmp_and_hls_viewers_then_backfills_after_an_outage() {
    let mut app = TestApp::spawn();
    let (_, token) = app.add_server("it-edge");
    let (stat, polls) = fixture_stat_server();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "").unwrap();
    let spool = dir.path().join("spool");

    let out = run_agent(&app.url, &token, &stat, &log, &spool);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(spooled(&spool), 0);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "a baseline poll and the interval's poll"
    );
    let s = app.get("/api/v1/stats/summary").json();
    // Three RTMP players (the publisher is not a viewer) and one HLS player.
    assert_eq!(s["views"], 4, "{s}");
    assert_eq!(s["peak_viewers"], 4, "{s}");
    assert_eq!(s["bytes_in"], 100_000, "{s}");
    // 300,000 RTMP bytes shared by the three players (rounding may lose a byte each) + HLS.
    let bytes_out = s["bytes_out"].as_u64().unwrap();
    assert!(
        (299_997 + 350_200..=300_000 + 350_200).contains(&bytes_out),
        "{s}"
    );
    assert_eq!(
        protocol_views(&app),
        vec![("rtmp".to_string(), 3), ("hls".to_string(), 1)]
    );
    let streams = app.get("/api/v1/stats/breakdown?dimension=stream").json();
    assert_eq!(streams["rows"][0]["key"], "live/test");

    // The panel goes away: the report stays in the spool and the exit status says so.
    app.stop();
    let out = run_agent("http://127.0.0.1:9", &token, &stat, &log, &spool);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not be delivered") && stderr.contains("stay in the spool"),
        "{stderr}"
    );
    assert_eq!(spooled(&spool), 1);

    // Back again: the spooled interval is sent first, then the new one; the same RTMP sessions
    // (same nginx pid and client ids) are not counted as new views.
    app.restart();
    let out = run_agent(&app.url, &token, &stat, &log, &spool);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(spooled(&spool), 0);
    let s: Value = app.get("/api/v1/stats/summary").json();
    assert_eq!(
        s["bytes_in"], 300_000,
        "all three intervals' ingress, none twice: {s}"
    );
    let rtmp_views = protocol_views(&app)
        .into_iter()
        .find(|(k, _)| k == "rtmp")
        .map(|(_, v)| v);
    assert_eq!(rtmp_views, Some(3), "{s}");
}
