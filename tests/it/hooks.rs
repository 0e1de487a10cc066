//! Hook receivers: nginx-rtmp and SRS notifications posted to a server's secret URL end up in
//! the same live view and statistics as reports, answer each server in the form it expects,
//! refuse what is wrong precisely, stay within their account, and keep no viewer IP.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::accounts::{USER_PASSWORD, add_server_as, add_user, create_account};
use crate::core::{PLANTED, assert_no_planted_ip};
use crate::support::*;

const FORM: &str = "application/x-www-form-urlencoded";

/// Enables hooks for a server; returns (secret, nginx-rtmp URL, SRS URL).
fn enable_hooks(app: &TestApp, token: &str, server: &str) -> (String, String, String) {
    let r = app.send(
        "POST",
        &format!("/api/v1/servers/{server}/hooks"),
        Some(token),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let url = |k: &str| v["urls"][k].as_str().unwrap().to_string();
    (
        v["secret"].as_str().unwrap().to_string(),
        url("nginx_rtmp"),
        url("srs"),
    )
}

fn post(url: &str, ctype: &str, body: &str) -> Resp {
    request(
        "POST",
        url,
        None,
        &[("Content-Type", ctype)],
        Some(body.as_bytes().to_vec()),
    )
}

/// An nginx-rtmp notification body as nginx-rtmp 1.2.2 sends it (the client's query string
/// appended as extra fields).
fn nginx(call: &str, clientid: u32, addr: &str, name: &str, extra: &str) -> String {
    let flashver = if call.contains("publish") {
        "FMLE/3.0%20(compatible%3B%20Lavf59.27"
    } else {
        "LNX%209,0,124,2"
    };
    format!(
        "app=live&flashver={flashver}&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=\
         &addr={addr}&clientid={clientid}&call={call}&name={name}{extra}"
    )
}

fn srs(action: &str, client: &str, ip: &str, stream: &str, extra: Value) -> String {
    let mut v = json!({"server_id": "vid-0xk989d", "service_id": "g7r1k2q9", "action": action,
        "client_id": client, "ip": ip, "vhost": "__defaultVhost__", "app": "live",
        "tcUrl": "rtmp://127.0.0.1:1935/live", "stream": stream, "param": "",
        "stream_url": format!("/live/{stream}"), "stream_id": "vid-2k3j4h5"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string()
}

/// Polls `path` until `ok` holds (hook state reaches the writer within a few seconds).
fn wait_for(app: &TestApp, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = app.get(path).json();
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting on {path}: {v}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn series_sum(app: &TestApp, metric: &str) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let v = app
        .get(&format!(
            "/api/v1/stats/timeseries?metric={metric}&step=60&from={}&to={}",
            now - now % 60 - 600,
            now - now % 60 + 600
        ))
        .json();
    v["points"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum()
}

fn geo_app() -> TestApp {
    let geo = fixtures().join("geoip");
    TestApp::spawn_with(
        &[
            "--geoip-city",
            geo.join("GeoLite2-City-Test.mmdb").to_str().unwrap(),
            "--geoip-asn",
            geo.join("GeoLite2-ASN-Test.mmdb").to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn nginx_rtmp_hooks_give_publish_state_live_viewers_sessions_and_countries() {
    let app = geo_app();
    let (id, _) = app.add_server("hooked-edge");
    let (secret, url, srs_url) = enable_hooks(&app, &app.token, &id);
    assert!(
        url.ends_with(&format!("/hooks/v1/{secret}/nginx-rtmp")),
        "{url}"
    );
    assert!(srs_url.ends_with("/srs"), "{srs_url}");
    let server = app.get(&format!("/api/v1/servers/{id}")).json();
    assert_eq!(server["hooks"]["enabled"], true, "{server}");
    assert!(!server.to_string().contains(&secret), "secret shown again");

    // Exactly what nginx-rtmp sends: connect (no clientid), publish, plays, done.
    let ok = |r: Resp| {
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.body.is_empty(), "nginx-rtmp gets an empty body");
    };
    ok(post(
        &url,
        FORM,
        "app=live&flashver=FMLE/3.0&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=127.0.0.1&epoch=234948&call=connect",
    ));
    ok(post(
        &url,
        FORM,
        &nginx("publish", 1, "127.0.0.1", "news", "&type=live&token=abc"),
    ));
    ok(post(
        &url,
        FORM,
        &nginx(
            "play",
            4,
            "81.2.69.142",
            "news",
            "&start=4294965296&duration=0&reset=0&viewer=1",
        ),
    ));
    // The viewer's own query args come after nginx's fields and cannot rename the stream.
    ok(post(
        &url,
        FORM,
        &nginx("play", 5, "1.128.0.1", "news", "&name=other&addr=9.9.9.9"),
    ));
    ok(post(
        &url,
        FORM,
        &nginx("update_play", 4, "81.2.69.142", "news", "&time=10"),
    ));

    let live = wait_for(&app, "/api/v1/live", |v| v["viewers"] == 2);
    assert_eq!(live["streams_live"], 1, "{live}");
    let streams = app.get("/api/v1/streams").json();
    let row = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stream"] == "news")
        .unwrap_or_else(|| panic!("{streams}"));
    assert_eq!(
        (row["live"].clone(), row["viewers"].clone()),
        (json!(true), json!(2))
    );
    assert!(!streams.to_string().contains("other"), "{streams}");
    let srv = app.get(&format!("/api/v1/servers/{id}")).json();
    assert_eq!(srv["status"], "online", "{srv}");
    assert_eq!(srv["software"], "nginx-rtmp", "{srv}");

    std::thread::sleep(Duration::from_secs(2));
    ok(post(
        &url,
        FORM,
        &nginx("play_done", 4, "81.2.69.142", "news", "&viewer=1"),
    ));
    ok(post(
        &url,
        FORM,
        &nginx("done", 4, "81.2.69.142", "news", "&viewer=1"),
    ));
    wait_for(&app, "/api/v1/live", |v| v["viewers"] == 1);
    ok(post(
        &url,
        FORM,
        &nginx("publish_done", 1, "127.0.0.1", "news", "&token=abc"),
    ));
    ok(post(
        &url,
        FORM,
        &nginx("done", 1, "127.0.0.1", "news", "&token=abc"),
    ));
    ok(post(&url, FORM, &nginx("done", 5, "1.128.0.1", "news", "")));
    let live = wait_for(&app, "/api/v1/live", |v| v["viewers"] == 0);
    assert_eq!(live["streams_live"], 0, "{live}");

    let summary = wait_for(&app, "/api/v1/stats/summary", |v| v["views"] == 2);
    assert!(summary["view_time_s"].as_u64().unwrap() >= 2, "{summary}");
    let country = app.get("/api/v1/stats/breakdown?dimension=country").json();
    assert!(
        country["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "GB" && r["views"] == 1),
        "{country}"
    );
    let asn = app.get("/api/v1/stats/breakdown?dimension=asn").json();
    assert!(
        asn["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "1221"),
        "{asn}"
    );
    let protocol = app.get("/api/v1/stats/breakdown?dimension=protocol").json();
    assert!(
        protocol["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "rtmp" && r["views"] == 2),
        "{protocol}"
    );
    let durations = app.get("/api/v1/stats/breakdown?dimension=duration").json();
    let ended: u64 = durations["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{durations}"))
        .iter()
        .map(|r| r["views"].as_u64().unwrap())
        .sum();
    assert_eq!(ended, 2, "both sessions ended with a duration: {durations}");
    assert_eq!(series_sum(&app, "publish_up"), 1.0);
    assert_eq!(series_sum(&app, "publish_down"), 1.0);
    assert!(
        app.get("/metrics")
            .text()
            .contains("tally_hook_events_total")
    );
}

#[test]
fn srs_hooks_answer_code_0_and_count_bytes_from_on_close() {
    let app = TestApp::spawn();
    let (id, _) = app.add_server("srs-edge");
    let (_, _, url) = enable_hooks(&app, &app.token, &id);
    let ok = |r: Resp| {
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!({"code": 0}));
    };
    ok(post(
        &url,
        "application/json",
        &srs("on_connect", "p1", "127.0.0.1", "cam", json!({})),
    ));
    ok(post(
        &url,
        "application/json",
        &srs("on_publish", "p1", "127.0.0.1", "cam", json!({})),
    ));
    ok(post(
        &url,
        "application/json",
        &srs(
            "on_play",
            "v1",
            "203.0.113.5",
            "cam",
            json!({"pageUrl": ""}),
        ),
    ));
    // SRS 3 sends numeric client ids.
    ok(post(
        &url,
        "application/json",
        &srs(
            "on_play",
            "",
            "198.51.100.5",
            "cam",
            json!({"client_id": 77}),
        ),
    ));
    wait_for(&app, "/api/v1/live", |v| {
        v["viewers"] == 2 && v["streams_live"] == 1
    });
    ok(post(
        &url,
        "application/json",
        &srs("on_stop", "v1", "203.0.113.5", "cam", json!({})),
    ));
    ok(post(
        &url,
        "application/json",
        &json!({"action": "on_close", "client_id": "v1", "ip": "203.0.113.5", "vhost": "__defaultVhost__",
                "app": "live", "send_bytes": 123_456, "recv_bytes": 300}).to_string(),
    ));
    wait_for(&app, "/api/v1/live", |v| v["viewers"] == 1);
    ok(post(
        &url,
        "application/json",
        &srs("on_unpublish", "p1", "127.0.0.1", "cam", json!({})),
    ));
    ok(post(
        &url,
        "application/json",
        &json!({"action": "on_close", "client_id": "p1", "ip": "127.0.0.1", "app": "live",
                "send_bytes": 10, "recv_bytes": 5_000_000})
        .to_string(),
    ));
    ok(post(
        &url,
        "application/json",
        &srs(
            "on_stop",
            "",
            "198.51.100.5",
            "cam",
            json!({"client_id": 77}),
        ),
    ));
    ok(post(
        &url,
        "application/json",
        &json!({"action": "on_close", "client_id": 77, "send_bytes": 1000, "recv_bytes": 1})
            .to_string(),
    ));
    let summary = wait_for(&app, "/api/v1/stats/summary", |v| {
        v["views"] == 2 && v["bytes_out"] == 124_456 && v["bytes_in"] == 5_000_000
    });
    assert!(
        summary["unique_viewers"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    let live = wait_for(&app, "/api/v1/live", |v| v["viewers"] == 0);
    assert_eq!(live["streams_live"], 0, "{live}");
    assert_eq!(series_sum(&app, "publish_up"), 1.0);
    assert_eq!(series_sum(&app, "publish_down"), 1.0);
    let srv = app.get(&format!("/api/v1/servers/{id}")).json();
    assert_eq!(srv["software"], "srs", "{srv}");
}

fn error(r: &Resp) -> (u16, String, Value) {
    let v = r.json();
    (
        r.status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
        v["error"]["field"].clone(),
    )
}

#[test]
fn hook_errors_are_precise_and_secrets_are_per_server() {
    let app = TestApp::spawn();
    let (id, _) = app.add_server("edge");
    let (secret, url, srs_url) = enable_hooks(&app, &app.token, &id);
    let base = url
        .trim_end_matches(&format!("/hooks/v1/{secret}/nginx-rtmp"))
        .to_string();

    // Unknown secrets, paths and methods: 404 (or 405), never a hint.
    let unknown = post(
        &format!("{base}/hooks/v1/ths_not-a-secret/nginx-rtmp"),
        FORM,
        &nginx("play", 1, "203.0.113.1", "x", ""),
    );
    assert_eq!(error(&unknown), (404, "not_found".into(), Value::Null));
    let other = post(
        &format!("{base}/hooks/v1/{secret}/wowza"),
        FORM,
        "call=play",
    );
    assert_eq!(other.status, 404);
    assert_eq!(
        other.json(),
        unknown.json(),
        "same answer for a good secret on a bad path"
    );
    assert_eq!(post(&format!("{base}/hooks/v1/"), FORM, "").status, 404);
    assert!(matches!(
        app.get_as(&url.replace(&base, ""), None).status,
        404 | 405
    ));

    // Malformed bodies name the problem.
    let bad = |body: &str| error(&post(&url, FORM, body));
    assert_eq!(
        bad("app=live&name=x&clientid=1"),
        (400, "invalid_hook".into(), json!("call"))
    );
    assert_eq!(
        bad("call=play&app=live&name=x&clientid=1&addr=not-an-ip"),
        (400, "invalid_hook".into(), json!("addr"))
    );
    assert_eq!(
        bad("call=play&app=live&name=x&addr=203.0.113.1"),
        (400, "invalid_hook".into(), json!("clientid"))
    );
    assert_eq!(
        bad("call=publish&app=live&clientid=2"),
        (400, "invalid_hook".into(), json!("name"))
    );
    assert_eq!(
        bad("call=%FF%00"),
        (400, "invalid_hook".into(), json!("call"))
    );
    let json_to_nginx = post(&url, "application/json", "{}");
    assert_eq!(json_to_nginx.status, 415, "{}", json_to_nginx.text());
    let gzipped = request(
        "POST",
        &url,
        None,
        &[("Content-Type", FORM), ("Content-Encoding", "gzip")],
        Some(vec![0x1f, 0x8b, 0x08, 0]),
    );
    assert_eq!(error(&gzipped).0, 415, "{}", gzipped.text());
    let huge = format!(
        "{}&pad={}",
        nginx("play", 1, "203.0.113.1", "x", ""),
        "a".repeat(20_000)
    );
    assert_eq!(error(&post(&url, FORM, &huge)).0, 413);
    assert_eq!(
        error(&post(&srs_url, "application/json", "{\"action\":")),
        (400, "invalid_hook".into(), Value::Null)
    );
    assert_eq!(
        error(&post(
            &srs_url,
            "application/json",
            r#"{"action":"on_play","client_id":"c","app":"live","stream":"s"}"#
        )),
        (400, "invalid_hook".into(), json!("ip"))
    );
    assert_eq!(
        error(&post(&srs_url, "application/json", r#"[1,2,3]"#)).0,
        400
    );
    assert_eq!(app.get("/api/v1/stats/summary").json()["views"], 0);

    // Rotation: the old URL stops working, the new one works.
    let (secret2, url2, _) = enable_hooks(&app, &app.token, &id);
    assert_ne!(secret, secret2);
    assert_eq!(
        post(&url, FORM, &nginx("publish", 1, "127.0.0.1", "a", "")).status,
        404
    );
    assert_eq!(
        post(&url2, FORM, &nginx("publish", 1, "127.0.0.1", "a", "")).status,
        200
    );

    // Another account's admin cannot see, rotate or disable this server's hooks, and its own
    // secret only ever touches its own server.
    let other = create_account(&app, "other");
    add_user(&app, &app.token, &other, "owner@other.example", "owner");
    let owner = app.login("owner@other.example", USER_PASSWORD);
    for method in ["POST", "DELETE"] {
        let r = app.send(
            method,
            &format!("/api/v1/servers/{id}/hooks"),
            Some(&owner),
            None,
        );
        assert_eq!(r.status, 404, "{method}: {}", r.text());
    }
    let (their_server, _) = add_server_as(&app, &owner, "their-edge");
    let (_, their_url, _) = enable_hooks(&app, &owner, &their_server);
    assert_eq!(
        post(
            &their_url,
            FORM,
            &nginx("play", 9, "203.0.113.9", "theirs", "")
        )
        .status,
        200
    );
    wait_for(&app, "/api/v1/live", |v| v["streams_live"] == 1);
    std::thread::sleep(Duration::from_secs(2));
    let mine = app.get("/api/v1/live").json();
    assert_eq!(
        mine["viewers"], 0,
        "another account's viewer is not mine: {mine}"
    );
    let theirs = app.get_as("/api/v1/live", Some(&owner)).json();
    assert_eq!(theirs["viewers"], 1, "{theirs}");
    assert!(!app.get("/api/v1/streams").text().contains("theirs"));
    // A viewer role cannot rotate.
    add_user(&app, &owner, &other, "viewer@other.example", "viewer");
    let viewer = app.login("viewer@other.example", USER_PASSWORD);
    let r = app.send(
        "POST",
        &format!("/api/v1/servers/{their_server}/hooks"),
        Some(&viewer),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.text());

    // Restricted processing: the media server is still told "allow" (its viewers are not cut
    // off) but nothing is processed.
    let r = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{other}"),
        Some(&app.token),
        Some(&json!({"processing_restricted": true})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let refused = post(
        &their_url,
        FORM,
        &nginx("play", 10, "203.0.113.10", "theirs", ""),
    );
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused.header("tally-refused"),
        Some("processing_restricted")
    );
    std::thread::sleep(Duration::from_secs(3));
    let r = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{other}"),
        Some(&app.token),
        Some(&json!({"processing_restricted": false})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        app.get_as("/api/v1/stats/summary", Some(&owner)).json()["views"],
        1,
        "the play during the restriction was not counted"
    );

    // Disabling: 204, then 404.
    let r = app.send(
        "DELETE",
        &format!("/api/v1/servers/{id}/hooks"),
        Some(&app.token),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        post(&url2, FORM, &nginx("publish", 1, "127.0.0.1", "a", "")).status,
        404
    );
    let srv = app.get(&format!("/api/v1/servers/{id}")).json();
    assert_eq!(srv["hooks"]["enabled"], false, "{srv}");
}

#[test]
fn privacy_hook_viewer_ips_never_reach_disk_or_logs() {
    let mut app = TestApp::spawn();
    let (id, _) = app.add_server("edge");
    let (_, url, srs_url) = enable_hooks(&app, &app.token, &id);
    for (i, ip) in PLANTED.iter().enumerate() {
        let i = i as u32;
        assert_eq!(
            post(&url, FORM, &nginx("play", 100 + i, ip, "p", "")).status,
            200
        );
        let body = srs("on_play", &format!("s{i}"), ip, "p", json!({}));
        assert_eq!(post(&srs_url, "application/json", &body).status, 200);
        // Refused bodies carrying the address must not leak it either.
        let bad = format!("call=play&app=live&name=p&clientid=x{i}&addr={ip}");
        assert_eq!(post(&url, FORM, &bad).status, 400);
        let bad = format!(r#"{{"action":"on_play","ip":"{ip}","app":"live","stream":"p"}}"#);
        let r = post(&srs_url, "application/json", &bad);
        assert_eq!(r.status, 400);
        assert!(!r.text().contains(ip), "{}", r.text());
    }
    wait_for(&app, "/api/v1/live", |v| v["viewers"] == 8);
    for i in 0..4u32 {
        assert_eq!(
            post(&url, FORM, &nginx("done", 100 + i, PLANTED[0], "p", "")).status,
            200
        );
    }
    wait_for(&app, "/api/v1/stats/summary", |v| v["views"] == 8);
    app.stop();
    assert_no_planted_ip(&app);
}

#[test]
fn hooks_answer_fast() {
    let app = TestApp::spawn();
    let (id, _) = app.add_server("edge");
    let (_, url, _) = enable_hooks(&app, &app.token, &id);
    let agent = agent();
    let mut times = Vec::new();
    for i in 0..300u32 {
        let call = if i % 2 == 0 { "play" } else { "done" };
        let body = nginx(call, 1000 + i / 2, "203.0.113.50", "load", "");
        let started = Instant::now();
        let r = agent
            .post(&url)
            .header("Content-Type", FORM)
            .send(body.as_bytes())
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(r.status().as_u16(), 200);
    }
    times.sort();
    let p50 = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    eprintln!(
        "hook latency over {} calls: p50 {p50:?}, p99 {p99:?}",
        times.len()
    );
    assert!(p99 < Duration::from_millis(250), "p99 {p99:?}");
    wait_for(&app, "/api/v1/stats/summary", |v| v["views"] == 150);
}

#[test]
fn open_hook_sessions_survive_a_restart() {
    let mut app = TestApp::spawn();
    let (id, _) = app.add_server("edge");
    let (secret, url, _) = enable_hooks(&app, &app.token, &id);
    assert_eq!(
        post(&url, FORM, &nginx("publish", 1, "127.0.0.1", "r", "")).status,
        200
    );
    assert_eq!(
        post(&url, FORM, &nginx("play", 4, "81.2.69.142", "r", "")).status,
        200
    );
    wait_for(&app, "/api/v1/live", |v| v["viewers"] == 1);
    app.restart();
    assert!(
        app.logs().contains("hook sessions restored"),
        "{}",
        app.logs()
    );
    let url = format!("{}/hooks/v1/{secret}/nginx-rtmp", app.url);
    let live = wait_for(&app, "/api/v1/live", |v| v["viewers"] == 1);
    assert_eq!(live["streams_live"], 1, "{live}");
    assert_eq!(
        post(&url, FORM, &nginx("done", 4, "81.2.69.142", "r", "")).status,
        200
    );
    wait_for(&app, "/api/v1/live", |v| v["viewers"] == 0);
    let durations = wait_for(&app, "/api/v1/stats/breakdown?dimension=duration", |v| {
        v["rows"].as_array().is_some_and(|r| !r.is_empty())
    });
    assert_eq!(
        durations["rows"].as_array().unwrap().len(),
        1,
        "{durations}"
    );
    let summary = app.get("/api/v1/stats/summary").json();
    assert_eq!(
        summary["views"], 1,
        "the restored session is not a new view: {summary}"
    );
    assert!(!app.data_dir().join("state/hooks.bin").exists());
}
