//! Test support: a tiny real HTTP/1.1 server on `127.0.0.1:0` that answers from a script (a
//! sequence of replies, or fixed replies per path) and records every request. Used to test the
//! pollers and the sender over real sockets without mocking any agent code.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    close_without_answer: bool,
}

impl Reply {
    /// A JSON body with `status`.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.as_bytes().to_vec(),
            close_without_answer: false,
        }
    }
    /// An XML body with status 200.
    pub fn xml(body: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "text/xml",
            body: body.as_bytes().to_vec(),
            close_without_answer: false,
        }
    }
    /// An empty body with `status`.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: Vec::new(),
            close_without_answer: false,
        }
    }
    /// Closes the connection without answering (a network failure).
    pub fn close() -> Reply {
        Reply {
            close_without_answer: true,
            ..Reply::status(0)
        }
    }
}

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path with query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
    /// The body, gunzipped and parsed as JSON.
    pub fn gunzip_json(&self) -> serde_json::Value {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&self.body[..])
            .read_to_string(&mut text)
            .unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

enum Script {
    Sequence(Vec<Reply>, usize),
    Routes(Vec<(String, Reply)>),
}

/// The running server; it stops accepting when dropped with the test process.
pub struct TestServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<Script>>,
}

impl TestServer {
    /// Answers requests with `replies` in order, repeating the last one.
    pub fn start(replies: Vec<Reply>) -> TestServer {
        Self::spawn(Script::Sequence(replies, 0))
    }

    /// Answers by exact path (with query); unknown paths get 404.
    pub fn routes(routes: Vec<(&str, Reply)>) -> TestServer {
        Self::spawn(Script::Routes(
            routes
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
        ))
    }

    /// Replaces the reply of one route.
    pub fn set_route(&self, path: &str, reply: Reply) {
        if let Script::Routes(routes) = &mut *self.script.lock().unwrap() {
            routes.retain(|(p, _)| p != path);
            routes.push((path.to_string(), reply));
        }
    }

    fn spawn(script: Script) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let (r, s) = (Arc::clone(&requests), Arc::clone(&script));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                handle(stream, &r, &s);
            }
        });
        TestServer {
            port,
            requests,
            script,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn handle(stream: TcpStream, requests: &Mutex<Vec<Request>>, script: &Mutex<Script>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = match &mut *script.lock().unwrap() {
        Script::Sequence(replies, next) => {
            let r = replies
                .get(*next)
                .or(replies.last())
                .cloned()
                .unwrap_or(Reply::status(500));
            *next += 1;
            r
        }
        Script::Routes(routes) => routes
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, r)| r.clone())
            .unwrap_or(Reply::status(404)),
    };
    requests.lock().unwrap().push(Request {
        method,
        path,
        headers,
        body,
    });
    if reply.close_without_answer {
        return;
    }
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&reply.body);
    let _ = out.flush();
}
