//! Tenancy through the real HTTP API: accounts, users and roles, invitations, password
//! change and reset, sessions, TOTP, API tokens, slices, the activity log, login protection,
//! white-label branding and the user CLI over the admin socket.

use serde_json::{Value, json};

use crate::support::*;

pub const USER_PASSWORD: &str = "a-long-user-password";

/// Creates an account as the operator; returns its id.
pub fn create_account(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/accounts", Some(&app.token), &json!({"name": name}));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

/// Adds a user to an account with `token`; returns the user id.
pub fn add_user(app: &TestApp, token: &str, account: &str, email: &str, role: &str) -> String {
    let r = app.post(
        &format!("/api/v1/accounts/{account}/users"),
        Some(token),
        &json!({"email": email, "password": USER_PASSWORD, "role": role}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

/// Registers a server with `token`; returns (id, ingest token).
pub fn add_server_as(app: &TestApp, token: &str, name: &str) -> (String, String) {
    let r = app.post("/api/v1/servers", Some(token), &json!({"name": name}));
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    (
        v["id"].as_str().unwrap().to_string(),
        v["ingest_token"].as_str().unwrap().to_string(),
    )
}

/// A stream entry with one viewer per session name.
pub fn stream(app: &str, name: &str, sessions: &[&str]) -> Value {
    let viewers: Vec<Value> = sessions
        .iter()
        .map(|s| viewer(s, "81.2.69.142", "VLC/3.0", "hls", 1000, 30, false))
        .collect();
    json!({"app": app, "stream": name, "protocol": "rtmp", "publishing": true, "ingress_bytes": 10, "ingress_kbps": 1000.0, "viewers": viewers})
}

fn error_code(r: &Resp) -> String {
    r.json()["error"]["code"].as_str().unwrap_or("").to_string()
}

fn error_field(r: &Resp) -> Value {
    r.json()["error"]["field"].clone()
}

fn me_account(app: &TestApp) -> String {
    app.get("/api/v1/me").json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn operator_manages_accounts_and_roles_limit_what_users_do() {
    let app = TestApp::spawn();
    let acc = create_account(&app, "Acme");
    let accounts = app.get("/api/v1/accounts").json();
    assert_eq!(accounts.as_array().unwrap().len(), 2, "{accounts}");
    // Partial update: fields not given keep their values.
    let r = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"domains": ["Panel.Acme.example"]})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"name": "Acme Ltd"})),
    );
    let v = r.json();
    assert_eq!(
        (v["name"].as_str(), v["domains"][0].as_str()),
        (Some("Acme Ltd"), Some("panel.acme.example"))
    );
    let bad = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"domains": ["not a domain"]})),
    );
    assert_eq!((bad.status, error_field(&bad)), (400, json!("domains[0]")));
    let tz = app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"timezone": "Mars/Olympus"})),
    );
    assert_eq!(error_field(&tz), json!("timezone"));
    // Quotas can be set when the account is made; a wrong one is refused, naming it.
    let limited = app.post(
        "/api/v1/accounts",
        Some(&app.token),
        &json!({"name": "Small", "limits": {"max_servers": 1, "max_users": null}}),
    );
    assert_eq!(limited.status, 201, "{}", limited.text());
    assert_eq!(
        limited.json()["limits"],
        json!({"max_servers": 1, "max_users": null})
    );
    for (body, field) in [
        (
            json!({"name": "Bad", "limits": {"max_servers": -1}}),
            "limits.max_servers",
        ),
        (json!({"name": "Bad", "limits": {"servers": 1}}), "limits"),
        (json!({"name": "Bad", "limits": 3}), "limits"),
    ] {
        let r = app.post("/api/v1/accounts", Some(&app.token), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(
            error_field(&r).as_str().unwrap_or("").starts_with(field),
            "{body}: {}",
            r.text()
        );
    }
    assert_eq!(
        app.get("/api/v1/accounts").json().as_array().unwrap().len(),
        3,
        "a refused account is not created"
    );

    add_user(&app, &app.token, &acc, "owner@acme.example", "owner");
    let owner = app.login("owner@acme.example", USER_PASSWORD);
    let viewer_id = add_user(&app, &owner, &acc, "viewer@acme.example", "viewer");
    add_user(&app, &owner, &acc, "billing@acme.example", "billing");
    let viewer = app.login("viewer@acme.example", USER_PASSWORD);
    let billing = app.login("billing@acme.example", USER_PASSWORD);
    // The owner acts on their own account; creating accounts and setting domains is the operator's.
    assert_eq!(
        app.post("/api/v1/accounts", Some(&owner), &json!({"name": "x"}))
            .status,
        403
    );
    assert_eq!(
        app.send(
            "PATCH",
            &format!("/api/v1/accounts/{acc}"),
            Some(&owner),
            Some(&json!({"domains": []}))
        )
        .status,
        403
    );
    assert_eq!(
        app.send(
            "PATCH",
            &format!("/api/v1/accounts/{acc}"),
            Some(&owner),
            Some(&json!({"name": "Acme"}))
        )
        .status,
        200
    );
    assert_eq!(
        app.get_as("/api/v1/accounts", Some(&owner))
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (server, ingest) = add_server_as(&app, &owner, "edge");
    let slice = app
        .post(
            "/api/v1/slices",
            Some(&owner),
            &json!({"name": "live", "app_regex": "^live$"}),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let owner_users = app
        .get_as(&format!("/api/v1/accounts/{acc}/users"), Some(&owner))
        .json();
    assert_eq!(owner_users.as_array().unwrap().len(), 3);

    // A viewer changes nothing: every write is 403.
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        ("POST", "/api/v1/servers".into(), Some(json!({"name": "x"}))),
        ("DELETE", format!("/api/v1/servers/{server}"), None),
        (
            "PATCH",
            format!("/api/v1/accounts/{acc}"),
            Some(json!({"name": "x"})),
        ),
        (
            "POST",
            format!("/api/v1/accounts/{acc}/users"),
            Some(json!({"email": "n@acme.example", "password": USER_PASSWORD, "role": "viewer"})),
        ),
        (
            "PUT",
            format!("/api/v1/accounts/{acc}/users/{viewer_id}"),
            Some(json!({"role": "owner"})),
        ),
        (
            "DELETE",
            format!("/api/v1/accounts/{acc}/users/{viewer_id}"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/accounts/{acc}/users/{viewer_id}/password"),
            Some(json!({})),
        ),
        (
            "POST",
            "/api/v1/invitations".into(),
            Some(json!({"email": "i@acme.example", "role": "viewer"})),
        ),
        ("POST", "/api/v1/slices".into(), Some(json!({"name": "x"}))),
        (
            "PATCH",
            format!("/api/v1/slices/{slice}"),
            Some(json!({"name": "x"})),
        ),
        ("DELETE", format!("/api/v1/slices/{slice}"), None),
        (
            "PUT",
            "/api/v1/branding".into(),
            Some(json!({"product_name": "x"})),
        ),
        ("DELETE", "/api/v1/branding/logo".into(), None),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "w", "scope": "write"})),
        ),
    ];
    for (method, path, body) in &writes {
        let r = app.send(method, path, Some(&viewer), body.as_ref());
        assert_eq!(r.status, 403, "viewer {method} {path}: {}", r.text());
    }
    // …but reads, and their own read token, work.
    assert_eq!(app.get_as("/api/v1/servers", Some(&viewer)).status, 200);
    assert_eq!(
        app.get_as("/api/v1/stats/summary", Some(&viewer)).status,
        200
    );
    assert_eq!(
        app.post(
            "/api/v1/tokens",
            Some(&viewer),
            &json!({"name": "r", "scope": "read"})
        )
        .status,
        201
    );
    // Billing sees traffic reports only.
    assert_eq!(
        app.get_as("/api/v1/stats/summary", Some(&billing)).status,
        403
    );
    for path in [
        "/api/v1/stats/breakdown?dimension=country",
        "/api/v1/stats/daily",
        "/api/v1/live",
    ] {
        assert_eq!(app.get_as(path, Some(&billing)).status, 403, "{path}");
    }
    // The server list shows billing users traffic, not how many are watching.
    let viewers_of = |token: &str| {
        app.get_as(&format!("/api/v1/servers/{server}"), Some(token))
            .json()["viewers"]
            .clone()
    };
    assert_eq!(viewers_of(&owner), json!(0));
    assert_eq!(viewers_of(&billing), Value::Null);
    // The stream list names what a bill can be filtered by.
    for path in ["/api/v1/stats/billing", "/api/v1/streams"] {
        assert_eq!(app.get_as(path, Some(&billing)).status, 200, "{path}");
    }
    assert_eq!(
        app.get_as("/api/v1/stats/timeseries?metric=bandwidth", Some(&billing))
            .status,
        200
    );
    assert_eq!(
        app.post("/api/v1/servers", Some(&billing), &json!({"name": "x"}))
            .status,
        403
    );

    // Role change, and the account keeps an owner.
    let r = app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{viewer_id}"),
        Some(&owner),
        Some(&json!({"role": "admin"})),
    );
    assert_eq!((r.status, r.json()["role"].as_str()), (200, Some("admin")));
    assert_eq!(
        app.post(
            "/api/v1/servers",
            Some(&viewer),
            &json!({"name": "now-admin"})
        )
        .status,
        201
    );
    let owner_id = app.get_as("/api/v1/me", Some(&owner)).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{owner_id}"),
        Some(&owner),
        Some(&json!({"role": "admin"})),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    // Removing a user ends their sessions.
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/accounts/{acc}/users/{viewer_id}"),
            Some(&owner),
            None
        )
        .status,
        204
    );
    assert_eq!(app.get_as("/api/v1/me", Some(&viewer)).status, 401);

    // Restricting processing refuses reports (data kept) until lifted.
    let t = report_time();
    assert_eq!(
        app.ingest(
            &ingest,
            &report("p1", t, json!([stream("live", "a", &["s1"])]))
        )
        .status,
        200
    );
    app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"processing_restricted": true})),
    );
    let r = app.ingest(&ingest, &report("p2", t + 30, json!([])));
    assert_eq!(
        (r.status, error_code(&r)),
        (403, "processing_restricted".into())
    );
    assert_eq!(
        app.get_as("/api/v1/stats/summary", Some(&owner)).json()["views"],
        1
    );
    // Limits.
    app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"limits": {"max_servers": 2}})),
    );
    assert_eq!(
        app.post("/api/v1/servers", Some(&owner), &json!({"name": "third"}))
            .status,
        403
    );
    // The operator acts on any account with ?account=.
    let servers = app.get(&format!("/api/v1/servers?account={acc}")).json();
    assert_eq!(servers.as_array().unwrap().len(), 2);
}

#[test]
fn invitations_are_one_time_links_and_passwords_can_change_and_be_reset() {
    let app = TestApp::spawn();
    let acc = me_account(&app);
    let r = app.post(
        "/api/v1/invitations",
        Some(&app.token),
        &json!({"email": "New@Example.com", "role": "viewer"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let inv = r.json();
    let token = inv["token"].as_str().unwrap().to_string();
    assert_eq!(inv["link"], json!(format!("/invite/{token}")));
    let listed = app.get("/api/v1/invitations").json();
    assert_eq!(listed[0]["email"], "new@example.com");
    assert!(listed[0].get("token").is_none(), "links are shown once");
    let public = app.get_as(&format!("/api/v1/invitations/{token}"), None);
    assert_eq!(
        (public.status, public.json()["role"].as_str()),
        (200, Some("viewer"))
    );
    // A bad password does not burn the link.
    let short = app.post(
        &format!("/api/v1/invitations/{token}/accept"),
        None,
        &json!({"password": "short"}),
    );
    assert_eq!(
        (short.status, error_field(&short)),
        (400, json!("password"))
    );
    let ok = app.post(
        &format!("/api/v1/invitations/{token}/accept"),
        None,
        &json!({"password": USER_PASSWORD, "name": "New"}),
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json()["user"]["role"], "viewer");
    let again = app.post(
        &format!("/api/v1/invitations/{token}/accept"),
        None,
        &json!({"password": USER_PASSWORD}),
    );
    assert_eq!(again.status, 404);
    assert_eq!(
        app.get_as(&format!("/api/v1/invitations/{token}"), None)
            .status,
        404
    );
    let user = app.login("new@example.com", USER_PASSWORD);
    // Revoked invitations cannot be accepted.
    let other = app
        .post(
            "/api/v1/invitations",
            Some(&app.token),
            &json!({"email": "other@example.com", "role": "admin"}),
        )
        .json();
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/invitations/{}", other["id"].as_str().unwrap()),
            Some(&app.token),
            None
        )
        .status,
        204
    );
    let r = app.post(
        &format!(
            "/api/v1/invitations/{}/accept",
            other["token"].as_str().unwrap()
        ),
        None,
        &json!({"password": USER_PASSWORD}),
    );
    assert_eq!(r.status, 404);

    // Password change: needs the current password, ends the other sessions, keeps this one.
    let second = app.login("new@example.com", USER_PASSWORD);
    let wrong = app.send(
        "PUT",
        "/api/v1/me/password",
        Some(&user),
        Some(
            &json!({"current_password": "nope-nope-nope", "new_password": "another-long-password"}),
        ),
    );
    assert_eq!(
        (wrong.status, error_field(&wrong)),
        (400, json!("current_password"))
    );
    let weak = app.send(
        "PUT",
        "/api/v1/me/password",
        Some(&user),
        Some(&json!({"current_password": USER_PASSWORD, "new_password": "short"})),
    );
    assert_eq!(error_field(&weak), json!("new_password"));
    let r = app.send(
        "PUT",
        "/api/v1/me/password",
        Some(&user),
        Some(&json!({"current_password": USER_PASSWORD, "new_password": "another-long-password"})),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(app.get_as("/api/v1/me", Some(&user)).status, 200);
    assert_eq!(app.get_as("/api/v1/me", Some(&second)).status, 401);
    let fresh = app.login("new@example.com", "another-long-password");
    // Admin reset: a generated password, shown once; the user's sessions end.
    let uid = app.get_as("/api/v1/me", Some(&fresh)).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{uid}/password"),
        Some(&app.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let generated = r.json()["password"].as_str().unwrap().to_string();
    assert_eq!(app.get_as("/api/v1/me", Some(&fresh)).status, 401);
    app.login("new@example.com", &generated);
}

#[test]
fn sessions_are_listed_and_revocable_and_totp_guards_login() {
    let app = TestApp::spawn();
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let sessions = app.get("/api/v1/me/sessions").json();
    let list = sessions.as_array().unwrap();
    assert_eq!(list.len(), 2, "{sessions}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(list[0]["ip"], "127.0.0.0/24");
    let other_id = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.send(
            "DELETE",
            "/api/v1/me/sessions/00000000000000ff",
            Some(&app.token),
            None
        )
        .status,
        404
    );
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/me/sessions/{other_id}"),
            Some(&app.token),
            None
        )
        .status,
        204
    );
    assert_eq!(app.get_as("/api/v1/me", Some(&other)).status, 401);
    assert_eq!(app.get("/api/v1/me").status, 200);

    // TOTP: set up, confirm with a code, then login needs a fresh code.
    let setup = app
        .post("/api/v1/me/totp", Some(&app.token), &json!({}))
        .json();
    let secret = data_encoding::BASE32_NOPAD
        .decode(setup["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    assert!(
        setup["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Tally:admin@example.com?secret=")
    );
    let wrong = app.post(
        "/api/v1/me/totp/confirm",
        Some(&app.token),
        &json!({"code": "000000"}),
    );
    let step = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
        / 30;
    let code = |s: u64| format!("{:06}", tally::totp::code_at(&secret, s));
    if code(step) != "000000" && code(step - 1) != "000000" && code(step + 1) != "000000" {
        assert_eq!((wrong.status, error_field(&wrong)), (400, json!("code")));
    }
    let r = app.post(
        "/api/v1/me/totp/confirm",
        Some(&app.token),
        &json!({"code": code(step)}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.get("/api/v1/me").json()["totp_enabled"], true);
    let no_code = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    );
    assert_eq!(
        (no_code.status, error_code(&no_code)),
        (401, "totp_required".into())
    );
    let replay = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "code": code(step)}),
    );
    assert_eq!(
        (replay.status, error_code(&replay)),
        (400, "totp_invalid".into()),
        "a code works once"
    );
    let ok = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "code": code(step + 1)}),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let bad_pw = app.post(
        "/api/v1/auth/login",
        None,
        &json!({"email": ADMIN_EMAIL, "password": "wrong-wrong-wrong", "code": code(step + 1)}),
    );
    assert_eq!(bad_pw.status, 401);
    assert_eq!(
        error_code(&bad_pw),
        "unauthorized",
        "a wrong password never reveals the second factor"
    );
    let off = app.send(
        "DELETE",
        "/api/v1/me/totp",
        Some(&app.token),
        Some(&json!({"password": ADMIN_PASSWORD})),
    );
    assert_eq!(off.status, 204, "{}", off.text());
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD);
}

#[test]
fn api_tokens_are_scoped_expire_and_honour_ip_allow_lists() {
    let app = TestApp::spawn();
    let r = app.post(
        "/api/v1/tokens",
        Some(&app.token),
        &json!({"name": "grafana", "scope": "read"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let (read_id, read) = (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    );
    assert_eq!(app.get_as("/api/v1/servers", Some(&read)).status, 200);
    assert_eq!(
        app.post("/api/v1/servers", Some(&read), &json!({"name": "x"}))
            .status,
        403
    );
    assert_eq!(
        app.post(
            "/api/v1/tokens",
            Some(&read),
            &json!({"name": "x", "scope": "read"})
        )
        .status,
        403
    );
    let listed = app.get("/api/v1/tokens").json();
    assert_eq!(listed[0]["name"], "grafana");
    assert!(listed[0].get("token").is_none(), "tokens are shown once");
    // Write tokens write but do not manage credentials or people.
    let write = app
        .post(
            "/api/v1/tokens",
            Some(&app.token),
            &json!({"name": "ci", "scope": "write"}),
        )
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.post("/api/v1/servers", Some(&write), &json!({"name": "from-ci"}))
            .status,
        201
    );
    assert_eq!(
        app.post(
            "/api/v1/invitations",
            Some(&write),
            &json!({"email": "a@b.example", "role": "viewer"})
        )
        .status,
        403
    );
    // IP allow-list.
    let far = app
        .post(
            "/api/v1/tokens",
            Some(&app.token),
            &json!({"name": "far", "scope": "read", "allowed_ips": ["10.0.0.0/8"]}),
        )
        .json();
    let r = app.get_as("/api/v1/servers", Some(far["token"].as_str().unwrap()));
    assert_eq!((r.status, error_code(&r)), (403, "ip_not_allowed".into()));
    let near = app
        .post(
            "/api/v1/tokens",
            Some(&app.token),
            &json!({"name": "near", "scope": "read", "allowed_ips": ["127.0.0.1", "::1/128"]}),
        )
        .json();
    assert_eq!(near["allowed_ips"], json!(["127.0.0.1/32", "::1/128"]));
    assert_eq!(
        app.get_as("/api/v1/servers", Some(near["token"].as_str().unwrap()))
            .status,
        200
    );
    // Validation names the field.
    let r = app.post(
        "/api/v1/tokens",
        Some(&app.token),
        &json!({"name": "x", "scope": "root"}),
    );
    assert_eq!(error_field(&r), json!("scope"));
    let r = app.post(
        "/api/v1/tokens",
        Some(&app.token),
        &json!({"name": "x", "scope": "read", "allowed_ips": ["10.0.0.0/8", "nope"]}),
    );
    assert_eq!(error_field(&r), json!("allowed_ips[1]"));
    let r = app.post(
        "/api/v1/tokens",
        Some(&app.token),
        &json!({"name": "x", "scope": "read", "expires_at": 1000}),
    );
    assert_eq!(error_field(&r), json!("expires_at"));
    // Expiry.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let short = app
        .post(
            "/api/v1/tokens",
            Some(&app.token),
            &json!({"name": "short", "scope": "read", "expires_at": now + 2}),
        )
        .json();
    let short = short["token"].as_str().unwrap().to_string();
    assert_eq!(app.get_as("/api/v1/servers", Some(&short)).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(3200));
    assert_eq!(app.get_as("/api/v1/servers", Some(&short)).status, 401);
    // Revocation.
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/tokens/{read_id}"),
            Some(&app.token),
            None
        )
        .status,
        204
    );
    assert_eq!(app.get_as("/api/v1/servers", Some(&read)).status, 401);
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/tokens/{read_id}"),
            Some(&app.token),
            None
        )
        .status,
        404
    );
}

#[test]
fn a_sliced_user_sees_only_the_slice_in_lists_queries_and_exports() {
    let app = TestApp::spawn();
    let acc = me_account(&app);
    let (s1, t1) = app.add_server("edge-1");
    let (s2, t2) = app.add_server("edge-2");
    let t = report_time();
    let r = app.ingest(
        &t1,
        &report(
            "a1",
            t,
            json!([
                stream("live", "news", &["v1", "v2"]),
                stream("live", "sport", &["v3"]),
                stream("vod", "film", &["v4"])
            ]),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        app.ingest(
            &t2,
            &report("b1", t, json!([stream("live", "news", &["v5"])]))
        )
        .status,
        200
    );
    let slice = app.post("/api/v1/slices", Some(&app.token), &json!({"name": "Live on edge-1", "servers": [s1], "app_regex": "^live$", "timezone": "Europe/Berlin"}));
    assert_eq!(slice.status, 201, "{}", slice.text());
    let slice_id = slice.json()["id"].as_str().unwrap().to_string();
    let bad = app.post(
        "/api/v1/slices",
        Some(&app.token),
        &json!({"name": "x", "stream_regex": "("}),
    );
    assert_eq!(error_field(&bad), json!("stream_regex"));
    let other = app
        .post(
            "/api/v1/slices",
            Some(&app.token),
            &json!({"name": "Other"}),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uid = add_user(&app, &app.token, &acc, "sliced@example.com", "viewer");
    // Admins cannot be limited to slices; viewers can.
    let admin_id = add_user(&app, &app.token, &acc, "adm@example.com", "admin");
    let r = app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{admin_id}"),
        Some(&app.token),
        Some(&json!({"slices": [slice_id]})),
    );
    assert_eq!((r.status, error_field(&r)), (400, json!("slices")));
    let r = app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{uid}"),
        Some(&app.token),
        Some(&json!({"slices": [slice_id]})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["slices"], json!([slice_id]));
    let v = app.login("sliced@example.com", USER_PASSWORD);
    let get = |path: &str| app.get_as(path, Some(&v));

    let servers = get("/api/v1/servers").json();
    assert_eq!(servers.as_array().unwrap().len(), 1, "{servers}");
    assert_eq!(servers[0]["id"], json!(s1));
    assert_eq!(
        servers[0]["viewers"], 3,
        "only the slice's streams count: {servers}"
    );
    assert!(
        servers[0]["cpu_pct"].is_null(),
        "host metrics need the whole server"
    );
    assert_eq!(get(&format!("/api/v1/servers/{s2}")).status, 404);
    assert_eq!(
        get(&format!("/api/v1/stats/summary?server={s2}")).status,
        404
    );
    let summary = get("/api/v1/stats/summary").json();
    assert_eq!(summary["views"], 3, "{summary}");
    assert_eq!(summary["bytes_out"], 3000);
    assert_eq!(get("/api/v1/stats/summary?app=vod").json()["views"], 0);
    let streams = get("/api/v1/stats/breakdown?dimension=stream").json();
    let keys: Vec<&str> = streams["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["live/news", "live/sport"], "{streams}");
    let by_server = get("/api/v1/stats/breakdown?dimension=server").json();
    assert_eq!(by_server["rows"].as_array().unwrap().len(), 1);
    assert_eq!(by_server["rows"][0]["views"], 3);
    let protocols = get("/api/v1/stats/breakdown?dimension=protocol").json();
    assert_eq!(protocols["rows"][0]["views"], 3, "{protocols}");
    let csv = get("/api/v1/stats/breakdown?dimension=stream&format=csv").text();
    assert!(
        csv.contains("live/news") && !csv.contains("vod/film") && csv.lines().count() == 3,
        "{csv}"
    );
    let list = get("/api/v1/streams").json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(get("/api/v1/live").json()["viewers"], 3);
    let ts = get(&format!(
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
    assert_eq!(
        get("/api/v1/stats/daily").json()["tz"],
        "Europe/Berlin",
        "the slice's time zone"
    );
    assert!(
        get("/api/v1/stats/billing").json()["peak_bps"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // Slices: only their own; others are not found.
    assert_eq!(get("/api/v1/slices").json().as_array().unwrap().len(), 1);
    assert_eq!(get(&format!("/api/v1/slices/{other}")).status, 404);
    // The unlimited admin still sees everything.
    assert_eq!(app.get("/api/v1/stats/summary").json()["views"], 5);
    // A slice in use cannot be deleted (that would widen its users' view).
    let r = app.send(
        "DELETE",
        &format!("/api/v1/slices/{slice_id}"),
        Some(&app.token),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{uid}"),
        Some(&app.token),
        Some(&json!({"slices": []})),
    );
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/slices/{slice_id}"),
            Some(&app.token),
            None
        )
        .status,
        204
    );
    assert_eq!(
        app.get_as("/api/v1/servers", Some(&v))
            .json()
            .as_array()
            .unwrap()
            .len(),
        2,
        "unlimited again"
    );
}

#[test]
fn activity_log_records_actions_with_truncated_addresses_and_pages() {
    let app = TestApp::spawn_with(&["--trusted-proxy", "127.0.0.1/32"], &[]);
    let acc = me_account(&app);
    let login = request(
        "POST",
        &format!("{}/api/v1/auth/login", app.url),
        None,
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "203.0.113.77"),
        ],
        Some(
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(login.status, 200);
    let failed = request(
        "POST",
        &format!("{}/api/v1/auth/login", app.url),
        None,
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "2001:db8:dead:beef::1"),
        ],
        Some(
            json!({"email": "nobody@example.com", "password": "whatever-whatever"})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(failed.status, 401);
    let (server, _) = app.add_server("edge");
    assert_eq!(
        app.send(
            "DELETE",
            &format!("/api/v1/servers/{server}"),
            Some(&app.token),
            None
        )
        .status,
        204
    );
    let tok = app
        .post(
            "/api/v1/tokens",
            Some(&app.token),
            &json!({"name": "t", "scope": "read"}),
        )
        .json();
    app.send(
        "DELETE",
        &format!("/api/v1/tokens/{}", tok["id"].as_str().unwrap()),
        Some(&app.token),
        None,
    );
    let uid = add_user(&app, &app.token, &acc, "v@example.com", "viewer");
    app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{uid}"),
        Some(&app.token),
        Some(&json!({"role": "billing"})),
    );
    app.send(
        "DELETE",
        &format!("/api/v1/accounts/{acc}/users/{uid}"),
        Some(&app.token),
        None,
    );
    app.send(
        "PUT",
        "/api/v1/branding",
        Some(&app.token),
        Some(&json!({"product_name": "Panel"})),
    );
    app.get("/api/v1/stats/summary?format=csv");
    create_account(&app, "Other");

    let log = app.get("/api/v1/activity").json();
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "login",
        "login_failed",
        "server_added",
        "server_removed",
        "token_created",
        "token_revoked",
        "user_added",
        "user_role_changed",
        "user_removed",
        "branding_changed",
        "export",
        "account_created",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["time"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let proxied = entries
        .iter()
        .find(|e| e["action"] == "login" && e["ip"] == "203.0.113.0/24");
    assert!(
        proxied.is_some(),
        "login from behind the proxy, truncated: {log}"
    );
    let unknown = entries
        .iter()
        .find(|e| e["action"] == "login_failed")
        .unwrap();
    assert_eq!(
        (unknown["scope"].as_str(), unknown["ip"].as_str()),
        (Some("instance"), Some("2001:db8:dead::/48"))
    );
    assert_eq!(
        entries
            .iter()
            .find(|e| e["action"] == "server_added")
            .unwrap()["actor"],
        ADMIN_EMAIL
    );
    // The full addresses never reach the log.
    let raw = app.get("/api/v1/activity?format=csv").text();
    assert!(
        raw.starts_with("time,scope,actor,action,target,ip,country\n"),
        "{raw}"
    );
    assert!(!raw.contains("203.0.113.77") && !raw.contains("dead:beef"));
    // Filters and paging.
    let only = app
        .get("/api/v1/activity?action=server_added,server_removed")
        .json();
    assert_eq!(only["entries"].as_array().unwrap().len(), 2);
    assert_eq!(
        error_field(&app.get("/api/v1/activity?action=nope")),
        json!("action")
    );
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/api/v1/activity?limit=3{cursor}")).json();
        seen += page["entries"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert!(seen >= entries.len());
    // Viewers do not read the log.
    add_user(&app, &app.token, &acc, "v2@example.com", "viewer");
    let v = app.login("v2@example.com", USER_PASSWORD);
    assert_eq!(app.get_as("/api/v1/activity", Some(&v)).status, 403);
}

#[test]
fn login_throttle_answers_429_without_revealing_accounts() {
    let app = TestApp::spawn_with(&["--trusted-proxy", "127.0.0.1/32"], &[]);
    let attempt = |email: &str, password: &str, from: &str| {
        request(
            "POST",
            &format!("{}/api/v1/auth/login", app.url),
            None,
            &[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", from),
            ],
            Some(
                json!({"email": email, "password": password})
                    .to_string()
                    .into_bytes(),
            ),
        )
    };
    let unknown = attempt("ghost@example.com", "wrong-password-1", "198.51.100.1");
    let known = attempt(ADMIN_EMAIL, "wrong-password-1", "198.51.100.2");
    assert_eq!((unknown.status, known.status), (401, 401));
    assert_eq!(unknown.json(), known.json(), "no user enumeration");
    // Per e-mail: ten failures from different addresses block that e-mail everywhere.
    for i in 3..12 {
        assert_eq!(
            attempt(ADMIN_EMAIL, "wrong-password-1", &format!("198.51.100.{i}")).status,
            401
        );
    }
    let blocked = attempt(ADMIN_EMAIL, ADMIN_PASSWORD, "198.51.100.99");
    assert_eq!(blocked.status, 429, "{}", blocked.text());
    assert!(
        blocked
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // Per address: ten failures for different e-mails block that address.
    for i in 0..10 {
        assert_eq!(
            attempt(
                &format!("u{i}@example.com"),
                "wrong-password-1",
                "192.0.2.10"
            )
            .status,
            401
        );
    }
    assert_eq!(
        attempt("someone@example.com", "wrong-password-1", "192.0.2.10").status,
        429
    );
    assert_eq!(
        attempt("someone@example.com", "wrong-password-1", "192.0.2.11").status,
        401
    );
}

#[test]
fn branding_follows_the_host_and_uploads_are_checked() {
    let app = TestApp::spawn();
    let acc = create_account(&app, "Acme");
    app.send(
        "PATCH",
        &format!("/api/v1/accounts/{acc}"),
        Some(&app.token),
        Some(&json!({"domains": ["stats.acme.example"]})),
    );
    add_user(&app, &app.token, &acc, "owner@acme.example", "owner");
    let owner = app.login("owner@acme.example", USER_PASSWORD);
    // Instance branding by the operator; the account's own by its owner.
    let r = app.send(
        "PUT",
        "/api/v1/branding?scope=instance",
        Some(&app.token),
        Some(&json!({"product_name": "StreamStats", "accent_color": "#112233"})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        app.send(
            "PUT",
            "/api/v1/branding?scope=instance",
            Some(&owner),
            Some(&json!({"product_name": "x"}))
        )
        .status,
        403
    );
    let r = app.send("PUT", "/api/v1/branding", Some(&owner), Some(&json!({"product_name": "Acme Analytics", "accent_color": "#FF0000", "support_contact": "help@acme.example", "powered_by": false})));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.send(
        "PUT",
        "/api/v1/branding",
        Some(&owner),
        Some(&json!({"background_color": "#000000"})),
    );
    let stored = &r.json()["stored"];
    assert_eq!(
        (
            stored["product_name"].as_str(),
            stored["accent_color"].as_str()
        ),
        (Some("Acme Analytics"), Some("#ff0000")),
        "partial update keeps fields"
    );
    for (field, value) in [
        ("accent_color", json!("red")),
        ("text_color", json!("#fff")),
        ("product_name", json!("x".repeat(61))),
    ] {
        let r = app.send(
            "PUT",
            "/api/v1/branding",
            Some(&owner),
            Some(&json!({field: value})),
        );
        assert_eq!((r.status, error_field(&r)), (400, json!(field)));
    }
    let on_host = |host: &str, path: &str| {
        request(
            "GET",
            &format!("{}{path}", app.url),
            None,
            &[("Host", host)],
            None,
        )
    };
    let b = on_host("stats.acme.example", "/api/v1/branding").json();
    assert_eq!(
        (
            b["product_name"].as_str(),
            b["accent_color"].as_str(),
            b["powered_by"].as_bool()
        ),
        (Some("Acme Analytics"), Some("#ff0000"), Some(false)),
        "{b}"
    );
    let b = on_host("stats.acme.example:8443", "/api/v1/branding").json();
    assert_eq!(b["product_name"], "Acme Analytics");
    let b = on_host("panel.provider.example", "/api/v1/branding").json();
    assert_eq!(
        (
            b["product_name"].as_str(),
            b["accent_color"].as_str(),
            b["powered_by"].as_bool()
        ),
        (Some("StreamStats"), Some("#112233"), Some(true))
    );
    let css = on_host("stats.acme.example", "/branding.css").text();
    assert!(
        css.contains("--accent:#ff0000") && css.contains("--bg:#000000"),
        "{css}"
    );
    let page = on_host("stats.acme.example", "/login").text();
    assert!(page.contains("Acme Analytics"), "{page}");

    // Uploads: magic bytes, type, size, SVG safety.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-rest-of-a-tiny-png".to_vec();
    let upload = |ctype: &str, body: Vec<u8>| {
        request(
            "PUT",
            &format!("{}/api/v1/branding/logo", app.url),
            Some(&owner),
            &[("Content-Type", ctype)],
            Some(body),
        )
    };
    let r = upload("image/png", png.clone());
    assert_eq!(r.status, 200, "{}", r.text());
    let logo_url = r.json()["effective"]["logo_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        logo_url.starts_with(&format!("/branding/{acc}/logo?v=")),
        "{logo_url}"
    );
    assert_eq!(
        on_host("stats.acme.example", "/api/v1/branding").json()["logo_url"],
        json!(logo_url)
    );
    let img = app.get_as(&logo_url, None);
    assert_eq!(
        (img.status, img.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(img.body, png);
    assert_eq!(
        error_code(&upload("image/png", b"\xff\xd8\xff\xe0jpeg".to_vec())),
        "invalid_image"
    );
    assert_eq!(upload("image/gif", b"GIF89a".to_vec()).status, 415);
    assert_eq!(
        upload("image/png", [png.clone(), vec![0; 1 << 20]].concat()).status,
        413
    );
    let svg = |s: &str| upload("image/svg+xml", s.as_bytes().to_vec());
    assert_eq!(
        error_code(&svg(
            r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#
        )),
        "unsafe_svg"
    );
    assert_eq!(
        error_code(&svg(
            r#"<svg><image href="https://elsewhere.example/a.png"/></svg>"#
        )),
        "unsafe_svg"
    );
    let ok = svg(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#f00"/></svg>"##,
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let served = app.get_as(ok.json()["effective"]["logo_url"].as_str().unwrap(), None);
    assert_eq!(served.header("content-type"), Some("image/svg+xml"));
    assert!(
        served
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(
        app.send("DELETE", "/api/v1/branding/logo", Some(&owner), None)
            .status,
        200
    );
    assert!(on_host("stats.acme.example", "/api/v1/branding").json()["logo_url"].is_null());
}

#[test]
fn user_cli_works_while_the_server_runs() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn();
    let sock = app.data_dir().join("admin.sock");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = std::process::Command::new(bin())
            .arg("user")
            .args(args)
            .arg("--data-dir")
            .arg(app.data_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = run(
        &[
            "add",
            "--email",
            "cli@example.com",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some("cli-password-long\n"),
    );
    assert!(ok, "{out}");
    assert!(out.contains("added cli@example.com (viewer)"), "{out}");
    app.login("cli@example.com", "cli-password-long");
    let (ok, out) = run(&["list"], None);
    assert!(
        ok && out.contains("cli@example.com") && out.contains(ADMIN_EMAIL),
        "{out}"
    );
    let (ok, out) = run(&["reset-password", "--email", "cli@example.com"], None);
    assert!(ok, "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_string();
    app.login("cli@example.com", &password);
    let (ok, out) = run(
        &["add", "--email", "cli@example.com", "--password-stdin"],
        Some("cli-password-long\n"),
    );
    assert!(!ok && out.contains("already exists"), "{out}");
    let log = app
        .get("/api/v1/activity?action=user_added,password_reset")
        .json();
    assert_eq!(log["entries"].as_array().unwrap().len(), 2, "{log}");
}
