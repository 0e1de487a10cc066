//! Hook events: what a media server says when it pushes a notification — nginx-rtmp `on_*`
//! calls (form-encoded) and SRS `http_hooks` callbacks (JSON) — parsed into one [`HookEvent`].
//!
//! Pure parsing: no state, no I/O. The viewer IP is inside the event; the event is consumed by
//! [`super::hooks::Hooks::apply`], which resolves the IP and drops it. Error messages name the
//! field and never echo its value, so nothing a viewer sent (least of all an address) reaches a
//! response or a log through here.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;

use crate::model::report::MAX_STRING_LEN;

/// Largest hook body accepted. nginx-rtmp appends the client's query string to the form, so
/// allow for long tokens; anything larger is not a hook.
pub const MAX_BODY: usize = 16 * 1024;

/// Which media server family sent the event (also the `software` shown for the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Source {
    NginxRtmp,
    Srs,
}

impl Source {
    /// Software name as reports carry it.
    pub fn software(self) -> &'static str {
        match self {
            Source::NginxRtmp => "nginx-rtmp",
            Source::Srs => "srs",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A publisher started sending the stream.
    Publish,
    /// The publisher stopped.
    Unpublish,
    /// A viewer started playing; carries the viewer's address.
    Play { ip: IpAddr },
    /// A viewer stopped playing (nginx-rtmp `play_done`, SRS `on_stop`).
    Stop,
    /// nginx-rtmp `done`: the play or publish of this client ended, whichever it was.
    Done,
    /// SRS `on_close`: the connection closed, with its byte counters.
    Close { send_bytes: u64, recv_bytes: u64 },
    /// nginx-rtmp `update_play` / `update_publish`: the client is still there.
    Update,
    /// A call that needs no bookkeeping (`connect`, `record_done`, `on_dvr`, `on_hls`, and
    /// calls added by later versions): answered "allow", otherwise ignored.
    Ignored,
}

/// One notification, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    pub source: Source,
    pub kind: Kind,
    /// The media server's id for the connection (nginx-rtmp `clientid`, SRS `client_id`).
    pub client: String,
    pub app: String,
    pub stream: String,
    /// Client-declared software (nginx-rtmp `flashver`), used like a user agent.
    pub user_agent: Option<String>,
    /// Delivery protocol of the session.
    pub protocol: &'static str,
}

/// A hook body that cannot be used: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct HookError {
    /// Form field or JSON member name; empty when the body as a whole is unusable.
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> HookError {
    HookError {
        field,
        message: message.into(),
    }
}

fn ignored(source: Source) -> HookEvent {
    HookEvent {
        source,
        kind: Kind::Ignored,
        client: String::new(),
        app: String::new(),
        stream: String::new(),
        user_agent: None,
        protocol: "rtmp",
    }
}

/// A required, non-empty, bounded text field.
fn required(field: &'static str, value: Option<&str>) -> Result<String, HookError> {
    let v = value.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Err(err(field, "is missing or empty"));
    }
    bounded(field, v)
}

fn bounded(field: &'static str, v: &str) -> Result<String, HookError> {
    if v.len() > MAX_STRING_LEN {
        return Err(err(field, format!("is longer than {MAX_STRING_LEN} bytes")));
    }
    if v.chars().any(char::is_control) {
        return Err(err(field, "contains control characters"));
    }
    Ok(v.to_string())
}

fn parse_ip(field: &'static str, value: Option<&str>) -> Result<IpAddr, HookError> {
    let v = value.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Err(err(
            field,
            "is missing; the viewer's address is needed for a play",
        ));
    }
    // IPv4-mapped IPv6 (`::ffff:203.0.113.7`, from dual-stack listeners) counts as IPv4.
    v.parse::<IpAddr>()
        .map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        })
        .map_err(|_| err(field, "is not an IP address"))
}

/// Parses an nginx-rtmp notification (`application/x-www-form-urlencoded`).
///
/// nginx-rtmp appends the client's own query arguments (`rtmp://…/live/x?name=…`) after its
/// fields, so a key may repeat: the **first** occurrence is nginx-rtmp's, later ones are the
/// client's and are ignored — a viewer cannot rename the stream or forge `addr` through them.
pub fn parse_nginx_rtmp(body: &[u8]) -> Result<HookEvent, HookError> {
    let mut call = None;
    let mut addr = None;
    let mut clientid = None;
    let mut app = None;
    let mut name = None;
    let mut flashver = None;
    let mut tcurl = None;
    for (k, v) in form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "call" => &mut call,
            "addr" => &mut addr,
            "clientid" => &mut clientid,
            "app" => &mut app,
            "name" => &mut name,
            "flashver" => &mut flashver,
            "tcurl" => &mut tcurl,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    let get = |v: &Option<Cow<'_, str>>| v.as_deref().map(str::to_owned);
    let call = call.ok_or_else(|| {
        err(
            "call",
            "is missing; this URL takes nginx-rtmp notifications (on_play, on_done, on_publish…)",
        )
    })?;
    let kind = match call.as_ref() {
        "play" => Kind::Play {
            ip: parse_ip("addr", addr.as_deref())?,
        },
        "play_done" => Kind::Stop,
        "publish" => Kind::Publish,
        "publish_done" => Kind::Unpublish,
        "done" => Kind::Done,
        "update_play" | "update_publish" => Kind::Update,
        c if c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            return Ok(ignored(Source::NginxRtmp));
        }
        _ => return Err(err("call", "is not an nginx-rtmp call name")),
    };
    let client = required("clientid", get(&clientid).as_deref())?;
    if client.len() > 20 || !client.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("clientid", "must be the decimal connection number"));
    }
    let user_agent = match get(&flashver).as_deref().map(str::trim) {
        Some("") | None => None,
        Some(f) => Some(bounded("flashver", f)?),
    };
    if let Some(t) = get(&tcurl) {
        bounded("tcurl", &t)?;
    }
    Ok(HookEvent {
        source: Source::NginxRtmp,
        kind,
        client,
        app: required("app", get(&app).as_deref())?,
        stream: required("name", get(&name).as_deref())?,
        user_agent,
        protocol: "rtmp",
    })
}

/// The members of an SRS callback that are used; SRS sends more (and more with each version),
/// which are ignored.
#[derive(Deserialize)]
struct SrsBody {
    action: Option<String>,
    /// A string since SRS 4, a number before.
    client_id: Option<serde_json::Value>,
    ip: Option<String>,
    app: Option<String>,
    stream: Option<String>,
    #[serde(rename = "tcUrl")]
    tc_url: Option<String>,
    send_bytes: Option<u64>,
    recv_bytes: Option<u64>,
}

/// Parses an SRS `http_hooks` callback (JSON).
pub fn parse_srs(body: &[u8]) -> Result<HookEvent, HookError> {
    let b: SrsBody = serde_json::from_slice(body).map_err(|e| {
        err(
            "",
            format!("the body is not an SRS callback JSON object: {e}"),
        )
    })?;
    let action = b.action.as_deref().map(str::trim).unwrap_or("");
    let kind = match action {
        "on_play" => Kind::Play {
            ip: parse_ip("ip", b.ip.as_deref())?,
        },
        "on_stop" => Kind::Stop,
        "on_publish" => Kind::Publish,
        "on_unpublish" => Kind::Unpublish,
        "on_close" => Kind::Close {
            send_bytes: b.send_bytes.unwrap_or(0),
            recv_bytes: b.recv_bytes.unwrap_or(0),
        },
        "" => {
            return Err(err(
                "action",
                "is missing; this URL takes SRS http_hooks callbacks",
            ));
        }
        a if a.len() <= 64 && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            return Ok(ignored(Source::Srs));
        }
        _ => return Err(err("action", "is not an SRS callback name")),
    };
    let client = match &b.client_id {
        Some(serde_json::Value::String(s)) => required("client_id", Some(s))?,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => {
            return Err(err(
                "client_id",
                "is missing; SRS sends it with every callback",
            ));
        }
    };
    // on_close names no stream: the connection is found by its client id.
    let (app, stream) = if matches!(kind, Kind::Close { .. }) {
        (
            b.app.as_deref().map(str::trim).unwrap_or("").to_string(),
            String::new(),
        )
    } else {
        (
            required("app", b.app.as_deref())?,
            required("stream", b.stream.as_deref())?,
        )
    };
    let protocol = match b
        .tc_url
        .as_deref()
        .and_then(|u| u.split_once("://"))
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .as_deref()
    {
        Some("http" | "https") => "http-flv",
        Some("webrtc") => "webrtc",
        Some("srt") => "srt",
        _ => "rtmp",
    };
    Ok(HookEvent {
        source: Source::Srs,
        kind,
        client,
        app: bounded("app", &app)?,
        stream,
        user_agent: None,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real bodies captured from nginx 1.22.1 + libnginx-mod-rtmp 1.2.2.
    const PLAY: &str = "app=live&flashver=LNX%209,0,124,2&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=127.0.0.1&clientid=4&call=play&name=test&start=4294965296&duration=0&reset=0&viewer=1";
    const PUBLISH: &str = "app=live&flashver=FMLE/3.0%20(compatible%3B%20Lavf59.27&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=127.0.0.1&clientid=1&call=publish&name=test&type=live&token=abc123";
    const CONNECT: &str = "app=live&flashver=FMLE/3.0%20(compatible%3B%20Lavf59.27&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=127.0.0.1&epoch=234948&call=connect";
    const DONE: &str = "app=live&flashver=LNX%209,0,124,2&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=127.0.0.1&clientid=4&call=done&name=test&viewer=1";

    #[test]
    fn parses_captured_nginx_rtmp_bodies() {
        let e = parse_nginx_rtmp(PLAY.as_bytes()).unwrap();
        assert_eq!(
            e.kind,
            Kind::Play {
                ip: "127.0.0.1".parse().unwrap()
            }
        );
        assert_eq!((e.client.as_str(), e.app.as_str()), ("4", "live"));
        assert_eq!(e.stream, "test");
        assert_eq!(e.user_agent.as_deref(), Some("LNX 9,0,124,2"));
        let e = parse_nginx_rtmp(PUBLISH.as_bytes()).unwrap();
        assert_eq!(e.kind, Kind::Publish);
        assert_eq!(e.client, "1");
        assert_eq!(
            parse_nginx_rtmp(CONNECT.as_bytes()).unwrap().kind,
            Kind::Ignored
        );
        assert_eq!(parse_nginx_rtmp(DONE.as_bytes()).unwrap().kind, Kind::Done);
    }

    #[test]
    fn client_query_args_cannot_override_nginx_fields() {
        let body = format!("{PLAY}&name=other&addr=198.51.100.1&call=publish");
        let e = parse_nginx_rtmp(body.as_bytes()).unwrap();
        assert_eq!(e.stream, "test");
        assert_eq!(
            e.kind,
            Kind::Play {
                ip: "127.0.0.1".parse().unwrap()
            }
        );
    }

    #[test]
    fn nginx_rtmp_errors_name_the_field_without_the_value() {
        let e = parse_nginx_rtmp(b"app=live&name=x&clientid=3").unwrap_err();
        assert_eq!(e.field, "call");
        let e =
            parse_nginx_rtmp(b"call=play&app=live&name=x&clientid=3&addr=999.1.2.3").unwrap_err();
        assert_eq!(e.field, "addr");
        assert!(!e.message.contains("999"));
        let e = parse_nginx_rtmp(b"call=play&app=live&name=x&addr=203.0.113.9").unwrap_err();
        assert_eq!(e.field, "clientid");
        assert!(!e.to_string().contains("203.0.113.9"));
        let e = parse_nginx_rtmp(b"call=publish&app=live&clientid=3").unwrap_err();
        assert_eq!(e.field, "name");
        let long = "x".repeat(MAX_STRING_LEN + 1);
        let e =
            parse_nginx_rtmp(format!("call=publish&app=live&clientid=3&name={long}").as_bytes())
                .unwrap_err();
        assert_eq!(e.field, "name");
        assert_eq!(parse_nginx_rtmp(b"call=%00bad").unwrap_err().field, "call");
    }

    #[test]
    fn mapped_ipv6_counts_as_ipv4() {
        let e =
            parse_nginx_rtmp(b"call=play&app=a&name=b&clientid=1&addr=::ffff:203.0.113.7").unwrap();
        assert_eq!(
            e.kind,
            Kind::Play {
                ip: "203.0.113.7".parse().unwrap()
            }
        );
    }

    #[test]
    fn parses_srs_callbacks() {
        let play = r#"{"server_id":"vid-0xk989d","service_id":"g7r1k2q9","action":"on_play","client_id":"341w361a","ip":"203.0.113.10","vhost":"__defaultVhost__","app":"live","stream":"livestream","tcUrl":"rtmp://127.0.0.1:1935/live","param":"?token=xxx","pageUrl":"","stream_url":"/live/livestream","stream_id":"vid-2k3j4h5"}"#;
        let e = parse_srs(play.as_bytes()).unwrap();
        assert_eq!(e.client, "341w361a");
        assert_eq!(e.stream, "livestream");
        assert_eq!(e.protocol, "rtmp");
        let close = r#"{"server_id":"vid-0xk989d","service_id":"g7r1k2q9","action":"on_close","client_id":"341w361a","ip":"203.0.113.10","vhost":"__defaultVhost__","app":"live","send_bytes":10240,"recv_bytes":512}"#;
        let e = parse_srs(close.as_bytes()).unwrap();
        assert_eq!(
            e.kind,
            Kind::Close {
                send_bytes: 10240,
                recv_bytes: 512
            }
        );
        // SRS 3 sends a numeric client id.
        let old = r#"{"action":"on_publish","client_id":1985,"ip":"192.168.1.10","vhost":"v","app":"live","stream":"s","tcUrl":"http://h/live"}"#;
        let e = parse_srs(old.as_bytes()).unwrap();
        assert_eq!((e.client.as_str(), e.protocol), ("1985", "http-flv"));
        let e = parse_srs(br#"{"action":"on_connect","client_id":"a"}"#).unwrap();
        assert_eq!(e.kind, Kind::Ignored);
    }

    #[test]
    fn srs_errors_name_the_field() {
        assert_eq!(parse_srs(b"not json").unwrap_err().field, "");
        assert_eq!(parse_srs(b"{}").unwrap_err().field, "action");
        let e = parse_srs(br#"{"action":"on_play","client_id":"a","app":"l","stream":"s"}"#)
            .unwrap_err();
        assert_eq!(e.field, "ip");
        let e = parse_srs(br#"{"action":"on_play","ip":"203.0.113.1","app":"l","stream":"s"}"#)
            .unwrap_err();
        assert_eq!(e.field, "client_id");
        assert!(!e.to_string().contains("203.0.113.1"));
        assert_eq!(
            parse_srs(br#"{"action":"on_publish","client_id":"a","app":"l"}"#)
                .unwrap_err()
                .field,
            "stream"
        );
        assert!(parse_srs(br#"{"action":"on_close","client_id":"a","send_bytes":-1}"#).is_err());
    }
}
