//! Browser-session attacks: cross-site request forgery on cookie-authenticated writes and
//! session fixation at login.

use serde_json::json;

use crate::support::*;

/// Extra request headers of one case.
type Headers<'a> = Vec<(&'a str, &'a str)>;

/// Logs in without a bearer token and returns the `name=value` of the session cookie.
fn login_cookie(app: &TestApp, sent_cookie: Option<&str>) -> String {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(c) = sent_cookie {
        headers.push(("Cookie", c));
    }
    let r = request(
        "POST",
        &format!("{}/api/v1/auth/login", app.url),
        None,
        &headers,
        Some(
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("tally_session="), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

fn me_with_cookie(app: &TestApp, cookie: &str) -> u16 {
    request(
        "GET",
        &format!("{}/api/v1/me", app.url),
        None,
        &[("Cookie", cookie)],
        None,
    )
    .status
}

#[test]
fn cookie_authenticated_writes_without_a_same_origin_proof_are_refused() {
    let app = TestApp::spawn();
    let cookie = login_cookie(&app, None);
    let host = app.url.trim_start_matches("http://").to_string();
    let own_origin = app.url.clone();
    let look_alike = format!("http://{host}.evil.example");
    let cases: Vec<(&str, Headers, u16)> = vec![
        // What a forged form or fetch from another site sends.
        ("POST", vec![("Origin", "https://evil.example")], 403),
        ("POST", vec![("Origin", "null")], 403),
        ("POST", vec![("Origin", &look_alike)], 403),
        ("POST", vec![("Sec-Fetch-Site", "cross-site")], 403),
        ("POST", vec![("Sec-Fetch-Site", "same-site")], 403),
        // No Origin and no Sec-Fetch-Site: no proof, refused.
        ("POST", vec![], 403),
        // The panel's own pages.
        ("POST", vec![("Origin", &own_origin)], 201),
        ("POST", vec![("Sec-Fetch-Site", "same-origin")], 201),
    ];
    for (method, extra, want) in cases {
        let mut headers = vec![
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ];
        headers.extend(extra.iter().copied());
        let r = request(
            method,
            &format!("{}/api/v1/servers", app.url),
            None,
            &headers,
            Some(br#"{"name":"csrf-probe"}"#.to_vec()),
        );
        assert_eq!(r.status, want, "{method} with {extra:?}: {}", r.text());
        if want == 403 {
            assert_eq!(r.json()["error"]["code"], "cross_origin", "{}", r.text());
        }
    }
    // Other write methods are covered the same way.
    let servers = app.get("/api/v1/servers").json();
    let id = servers
        .as_array()
        .or_else(|| servers["servers"].as_array())
        .and_then(|a| a.first())
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_string();
    for (method, path) in [
        ("DELETE", format!("/api/v1/servers/{id}")),
        ("PATCH", "/api/v1/me".to_string()),
        ("PUT", "/api/v1/branding".to_string()),
        ("PUT", "/api/v1/settings/retention".to_string()),
    ] {
        let r = request(
            method,
            &format!("{}{path}", app.url),
            None,
            &[
                ("Cookie", cookie.as_str()),
                ("Origin", "https://evil.example"),
                ("Content-Type", "application/json"),
            ],
            Some(b"{}".to_vec()),
        );
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
    }
    assert_eq!(app.get(&format!("/api/v1/servers/{id}")).status, 200);
    // Reads need no proof, and a bearer token is not sent by browsers on their own, so it
    // needs none either.
    assert_eq!(me_with_cookie(&app, &cookie), 200);
    let r = request(
        "POST",
        &format!("{}/api/v1/servers", app.url),
        Some(&app.token),
        &[
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"name":"bearer"}"#.to_vec()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn a_session_id_set_before_login_is_not_kept_after_login() {
    let app = TestApp::spawn();
    // An id the attacker chose and planted: never valid, and replaced at login.
    let planted = "tally_session=tls_attacker-chosen-session-id";
    assert_eq!(me_with_cookie(&app, planted), 401);
    let after = login_cookie(&app, Some(planted));
    assert_ne!(after, planted);
    assert_eq!(me_with_cookie(&app, planted), 401);
    assert_eq!(me_with_cookie(&app, &after), 200);

    // A real session the attacker obtained (their own login, or one they saw) and planted:
    // the login issues a new id and the planted one stops working.
    let known = login_cookie(&app, None);
    assert_eq!(me_with_cookie(&app, &known), 200);
    let fresh = login_cookie(&app, Some(&known));
    assert_ne!(fresh, known);
    assert_eq!(
        me_with_cookie(&app, &known),
        401,
        "the pre-login session was kept"
    );
    assert_eq!(me_with_cookie(&app, &fresh), 200);
}
