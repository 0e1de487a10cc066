//! Faults: SIGKILL during ingest, a full disk.

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
