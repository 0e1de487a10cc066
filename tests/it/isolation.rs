//! Tenant isolation, table-driven: a user of account A can neither read, list, filter by,
//! export nor change anything of account B. Foreign ids answer exactly like ids that do not
//! exist (404, same body), so not even existence leaks. The same holds between the slices of
//! one account for a slice-limited user.

use serde_json::{Value, json};

use crate::accounts::{USER_PASSWORD, add_server_as, add_user, create_account, stream};
use crate::support::*;

/// An id no record has.
const NOWHERE: &str = "0123456789abcdef";

/// Everything one account owns, by id.
struct Tenant {
    account: String,
    owner: String,
    owner_id: String,
    viewer_id: String,
    server: String,
    slice: String,
    token_id: String,
    token: String,
    invitation: String,
    session: String,
}

fn tenant(app: &TestApp, name: &str) -> Tenant {
    let account = create_account(app, name);
    let owner_email = format!("owner@{name}.example");
    let owner_id = add_user(app, &app.token, &account, &owner_email, "owner");
    let owner = app.login(&owner_email, USER_PASSWORD);
    let viewer_id = add_user(
        app,
        &owner,
        &account,
        &format!("viewer@{name}.example"),
        "viewer",
    );
    let (server, ingest) = add_server_as(app, &owner, &format!("{name}-edge"));
    let t = report_time();
    let r = app.ingest(
        &ingest,
        &report(
            &format!("{name}-1"),
            t,
            json!([stream("live", &format!("{name}-stream"), &["a", "b"])]),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let slice = app
        .post(
            "/api/v1/slices",
            Some(&owner),
            &json!({"name": "s", "servers": [server]}),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tok = app
        .post(
            "/api/v1/tokens",
            Some(&owner),
            &json!({"name": "t", "scope": "read"}),
        )
        .json();
    let invitation = app
        .post(
            "/api/v1/invitations",
            Some(&owner),
            &json!({"email": format!("invitee@{name}.example"), "role": "viewer"}),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = app.get_as("/api/v1/me/sessions", Some(&owner)).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Tenant {
        account,
        owner,
        owner_id,
        viewer_id,
        server,
        slice,
        token_id: tok["id"].as_str().unwrap().to_string(),
        token: tok["token"].as_str().unwrap().to_string(),
        invitation,
        session,
    }
}

/// Every id-taking route, with `{}` where the foreign id goes.
fn id_routes(own: &Tenant) -> Vec<(&'static str, String, Option<Value>)> {
    let a = &own.account;
    vec![
        ("GET", "/api/v1/servers/{}".into(), None),
        ("POST", "/api/v1/servers/{}/hooks".into(), None),
        ("DELETE", "/api/v1/servers/{}/hooks".into(), None),
        ("DELETE", "/api/v1/servers/{}".into(), None),
        ("GET", "/api/v1/stats/summary?server={}".into(), None),
        (
            "GET",
            "/api/v1/stats/summary?server={}&format=csv".into(),
            None,
        ),
        ("GET", "/api/v1/stats/timeseries?server={}".into(), None),
        (
            "GET",
            "/api/v1/stats/breakdown?dimension=country&server={}".into(),
            None,
        ),
        (
            "GET",
            "/api/v1/stats/breakdown?dimension=stream&server={}&format=csv".into(),
            None,
        ),
        ("GET", "/api/v1/stats/daily?server={}".into(), None),
        (
            "GET",
            "/api/v1/stats/billing?server={}&format=csv".into(),
            None,
        ),
        ("GET", "/api/v1/live?server={}".into(), None),
        ("GET", "/api/v1/streams?server={}".into(), None),
        ("GET", "/api/v1/slices/{}".into(), None),
        (
            "PATCH",
            "/api/v1/slices/{}".into(),
            Some(json!({"name": "mine now"})),
        ),
        (
            "PUT",
            "/api/v1/slices/{}".into(),
            Some(json!({"name": "mine now"})),
        ),
        ("DELETE", "/api/v1/slices/{}".into(), None),
        ("GET", "/api/v1/accounts/{}".into(), None),
        (
            "PATCH",
            "/api/v1/accounts/{}".into(),
            Some(json!({"name": "mine now"})),
        ),
        ("GET", "/api/v1/accounts/{}/users".into(), None),
        (
            "POST",
            "/api/v1/accounts/{}/users".into(),
            Some(json!({"email": "spy@example.com", "password": USER_PASSWORD, "role": "owner"})),
        ),
        (
            "PUT",
            format!("/api/v1/accounts/{a}/users/{{}}"),
            Some(json!({"role": "viewer"})),
        ),
        ("DELETE", format!("/api/v1/accounts/{a}/users/{{}}"), None),
        (
            "PUT",
            format!("/api/v1/accounts/{a}/users/{{}}/password"),
            Some(json!({})),
        ),
        (
            "DELETE",
            format!("/api/v1/accounts/{a}/users/{{}}/totp"),
            None,
        ),
        ("DELETE", "/api/v1/tokens/{}".into(), None),
        ("DELETE", "/api/v1/me/sessions/{}".into(), None),
        ("DELETE", "/api/v1/invitations/{}".into(), None),
        ("GET", "/api/v1/servers?account={}".into(), None),
        ("GET", "/api/v1/stats/summary?account={}".into(), None),
        ("GET", "/api/v1/activity?account={}".into(), None),
        ("GET", "/api/v1/branding/settings?account={}".into(), None),
        (
            "PUT",
            "/api/v1/branding?account={}".into(),
            Some(json!({"product_name": "mine now"})),
        ),
        (
            "POST",
            "/api/v1/servers?account={}".into(),
            Some(json!({"name": "planted"})),
        ),
    ]
}

/// The id of B each route is asked about.
fn foreign_id<'a>(path: &str, b: &'a Tenant) -> &'a str {
    if path.contains("/servers/{}") || path.contains("server={}") {
        &b.server
    } else if path.contains("/slices/") {
        &b.slice
    } else if path.contains("/users/{}") {
        if path.ends_with("/password") || path.ends_with("/totp") {
            &b.owner_id
        } else {
            &b.viewer_id
        }
    } else if path.contains("/tokens/") {
        &b.token_id
    } else if path.contains("/sessions/") {
        &b.session
    } else if path.contains("/invitations/") {
        &b.invitation
    } else {
        &b.account
    }
}

fn check_no_access(
    app: &TestApp,
    who: &str,
    token: &str,
    routes: &[(&'static str, String, Option<Value>)],
    pick: &dyn Fn(&str) -> String,
) {
    for (method, template, body) in routes {
        let foreign = template.replace("{}", &pick(template));
        let missing = template.replace("{}", NOWHERE);
        let r = app.send(method, &foreign, Some(token), body.as_ref());
        let m = app.send(method, &missing, Some(token), body.as_ref());
        assert_eq!(
            r.status,
            404,
            "{who}: {method} {foreign} must be not found: {}",
            r.text()
        );
        assert_eq!(
            (r.status, r.json()),
            (m.status, m.json()),
            "{who}: {method} {foreign} answers unlike a missing id"
        );
    }
}

#[test]
fn accounts_cannot_see_or_touch_each_other() {
    let app = TestApp::spawn();
    let a = tenant(&app, "alpha");
    let b = tenant(&app, "beta");
    let routes = id_routes(&a);
    check_no_access(&app, "owner of A", &a.owner, &routes, &|path| {
        foreign_id(path, &b).to_string()
    });
    // A's own ids work on the same routes (the table is not vacuous).
    for (method, template) in [
        ("GET", "/api/v1/servers/{}"),
        ("GET", "/api/v1/slices/{}"),
        ("GET", "/api/v1/stats/summary?server={}"),
        ("GET", "/api/v1/accounts/{}"),
    ] {
        let own = template.replace("{}", foreign_id(template, &a));
        assert_eq!(
            app.send(method, &own, Some(&a.owner), None).status,
            200,
            "{own}"
        );
    }
    // A read token of A is bound the same way.
    let token_routes: Vec<_> = routes
        .iter()
        .filter(|(m, _, _)| *m == "GET")
        .cloned()
        .collect();
    check_no_access(&app, "token of A", &a.token, &token_routes, &|path| {
        foreign_id(path, &b).to_string()
    });

    // Lists, filters and exports show nothing of B.
    let get = |path: &str| app.get_as(path, Some(&a.owner));
    let body = |path: &str| get(path).text();
    for path in [
        "/api/v1/servers",
        "/api/v1/slices",
        "/api/v1/tokens",
        "/api/v1/invitations",
        "/api/v1/accounts",
        "/api/v1/me/sessions",
        "/api/v1/streams",
        "/api/v1/streams?format=csv",
        "/api/v1/stats/breakdown?dimension=server",
        "/api/v1/stats/breakdown?dimension=stream&format=csv",
        "/api/v1/activity",
        "/api/v1/activity?format=csv",
    ] {
        let text = body(path);
        for (what, id) in [
            ("server", &b.server),
            ("slice", &b.slice),
            ("token", &b.token_id),
            ("invitation", &b.invitation),
            ("account", &b.account),
            ("session", &b.session),
            ("user", &b.viewer_id),
        ] {
            assert!(
                !text.contains(id.as_str()),
                "{path} shows B's {what}: {text}"
            );
        }
        assert!(!text.contains("beta"), "{path} mentions B: {text}");
    }
    assert_eq!(
        get(&format!("/api/v1/accounts/{}/users", a.account))
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let s = get("/api/v1/stats/summary").json();
    assert_eq!(s["views"], 2, "only A's own viewers: {s}");
    assert_eq!(
        get("/api/v1/stats/summary?app=live&stream=beta-stream").json()["views"],
        0
    );
    assert_eq!(get("/api/v1/live").json()["viewers"], 2);
    // B's ids in bodies read like unknown ids.
    let as_body = |servers: &str| {
        app.post(
            "/api/v1/slices",
            Some(&a.owner),
            &json!({"name": "x", "servers": [servers]}),
        )
    };
    let (foreign, missing) = (as_body(&b.server), as_body(NOWHERE));
    assert_eq!(
        (foreign.status, foreign.json()),
        (missing.status, missing.json())
    );
    assert_eq!(foreign.json()["error"]["field"], "servers[0]");
    let user_slices = |slice: &str| {
        app.send(
            "PUT",
            &format!("/api/v1/accounts/{}/users/{}", a.account, a.viewer_id),
            Some(&a.owner),
            Some(&json!({"slices": [slice]})),
        )
    };
    let (foreign, missing) = (user_slices(&b.slice), user_slices(NOWHERE));
    assert_eq!(
        (foreign.status, foreign.json()),
        (missing.status, missing.json())
    );
    assert_eq!(foreign.status, 400);

    // Nothing of B changed.
    assert_eq!(
        app.get_as(&format!("/api/v1/servers/{}", b.server), Some(&b.owner))
            .status,
        200
    );
    assert_eq!(
        app.get_as(&format!("/api/v1/slices/{}", b.slice), Some(&b.owner))
            .json()["name"],
        "s"
    );
    assert_eq!(app.get_as("/api/v1/servers", Some(&b.token)).status, 200);
    assert_eq!(
        app.get_as("/api/v1/invitations", Some(&b.owner))
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get_as(&format!("/api/v1/accounts/{}", b.account), Some(&b.owner))
            .json()["name"],
        "beta"
    );
    assert_eq!(
        app.get_as(
            &format!("/api/v1/accounts/{}/users", b.account),
            Some(&b.owner)
        )
        .json()
        .as_array()
        .unwrap()
        .len(),
        2
    );
    assert_eq!(
        app.get_as("/api/v1/servers", Some(&b.owner))
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing planted in B"
    );
    assert_eq!(
        app.get_as("/api/v1/stats/summary", Some(&b.owner)).json()["views"],
        2
    );
}

#[test]
fn a_slice_cannot_see_or_touch_another_slice_of_its_account() {
    let app = TestApp::spawn();
    let acc = app.get("/api/v1/me").json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s1, t1) = app.add_server("one");
    let (s2, t2) = app.add_server("two");
    let t = report_time();
    assert_eq!(
        app.ingest(
            &t1,
            &report("1", t, json!([stream("live", "one-stream", &["a"])]))
        )
        .status,
        200
    );
    assert_eq!(
        app.ingest(
            &t2,
            &report("2", t, json!([stream("live", "two-stream", &["b", "c"])]))
        )
        .status,
        200
    );
    let mk = |name: &str, server: &str| {
        app.post(
            "/api/v1/slices",
            Some(&app.token),
            &json!({"name": name, "servers": [server]}),
        )
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (slice1, slice2) = (mk("one", &s1), mk("two", &s2));
    let uid = add_user(&app, &app.token, &acc, "one@example.com", "viewer");
    app.send(
        "PUT",
        &format!("/api/v1/accounts/{acc}/users/{uid}"),
        Some(&app.token),
        Some(&json!({"slices": [slice1]})),
    );
    let v = app.login("one@example.com", USER_PASSWORD);
    let routes: Vec<(&'static str, String, Option<Value>)> = vec![
        ("GET", "/api/v1/servers/{}".into(), None),
        ("GET", "/api/v1/stats/summary?server={}".into(), None),
        (
            "GET",
            "/api/v1/stats/timeseries?server={}&format=csv".into(),
            None,
        ),
        (
            "GET",
            "/api/v1/stats/breakdown?dimension=city&server={}".into(),
            None,
        ),
        ("GET", "/api/v1/stats/daily?server={}".into(), None),
        ("GET", "/api/v1/stats/billing?server={}".into(), None),
        ("GET", "/api/v1/live?server={}".into(), None),
        ("GET", "/api/v1/streams?server={}".into(), None),
        ("GET", "/api/v1/slices/{}".into(), None),
        (
            "PATCH",
            "/api/v1/slices/{}".into(),
            Some(json!({"name": "x"})),
        ),
        ("DELETE", "/api/v1/slices/{}".into(), None),
    ];
    let pick = |path: &str| {
        if path.contains("/slices/") {
            slice2.clone()
        } else {
            s2.clone()
        }
    };
    check_no_access(&app, "slice one", &v, &routes, &pick);
    let get = |path: &str| app.get_as(path, Some(&v));
    for path in [
        "/api/v1/servers",
        "/api/v1/slices",
        "/api/v1/streams",
        "/api/v1/stats/breakdown?dimension=stream&format=csv",
        "/api/v1/stats/breakdown?dimension=server",
    ] {
        let text = get(path).text();
        assert!(
            !text.contains(&s2) && !text.contains(&slice2) && !text.contains("two-stream"),
            "{path}: {text}"
        );
    }
    assert_eq!(get("/api/v1/stats/summary").json()["views"], 1);
    assert_eq!(
        get("/api/v1/stats/summary?app=live&stream=two-stream").json()["views"],
        0
    );
    assert_eq!(get("/api/v1/live").json()["viewers"], 1);
    assert_eq!(
        app.get("/api/v1/stats/summary").json()["views"],
        3,
        "the unlimited owner sees both"
    );
}
