//! Request bodies: every body has [`BODY_TIMEOUT`] to arrive, and a body that cannot be read
//! (too large, too slow, broken off) is answered with the panel's JSON error saying why.
//!
//! actix-web bounds the time to receive a request's head (`client_request_timeout`) but not its
//! body, so a client trickling a body a byte at a time (slowloris) could hold its connection,
//! and what it sent so far, for as long as it liked.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{PayloadError, UrlencodedError};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use futures::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;

/// How long a client may take to send its whole body, counted from the request's head.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest body of the JSON endpoints (settings, users, alerts…); ingest, hooks and image
/// uploads read theirs with [`read`] and limits of their own.
pub const JSON_LIMIT: usize = 256 << 10;

/// A payload that fails with `TimedOut` once its deadline has passed. The timer is only armed
/// when the body is not all there yet, so a body that arrived with its head costs none.
struct Deadline {
    inner: Rc<RefCell<Reader>>,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        let polled = {
            let mut reader = self.inner.borrow_mut();
            let polled = reader.payload.poll_next_unpin(cx);
            reader.finished |= matches!(polled, Poll::Ready(None));
            polled
        };
        if polled.is_ready() {
            return polled;
        }
        let deadline = self.deadline;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired = true;
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        )))))
    }
}

/// The request's body as actix delivers it, shared by the deadline stream and the middleware.
struct Reader {
    payload: Payload,
    /// The body was read to its end.
    finished: bool,
}

/// A response body that keeps the request's body reader alive until it has been sent. actix
/// closes the connection after a response whose request body is unread only while that reader
/// exists; once it is dropped, a chunked body is read and thrown away with no time limit, so a
/// client trickling one would keep its connection after its `408`.
struct KeepReader {
    body: BoxBody,
    _reader: Rc<RefCell<Reader>>,
}

impl MessageBody for KeepReader {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// Middleware: puts the deadline on every request's body, refuses compressed bodies where
/// nothing bounds their expansion, and turns actix's plain-text body errors (from the
/// `web::Bytes` extractor) into the panel's JSON errors.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) {
        // actix inflates each received piece whole before any size limit applies (a 128 KiB
        // piece of a gzip bomb becomes ~128 MB); ingest reads its body raw and inflates it
        // with a hard limit of its own.
        let identity = encoding
            .to_str()
            .is_ok_and(|e| e.trim().is_empty() || e.trim().eq_ignore_ascii_case("identity"));
        if !identity && req.path() != INGEST_PATH {
            return Ok(req.error_response(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding is only accepted on {INGEST_PATH}; send this body uncompressed"
            ))));
        }
    }
    let deadline = Instant::now() + BODY_TIMEOUT;
    let inner = Rc::new(RefCell::new(Reader {
        payload: req.take_payload(),
        finished: false,
    }));
    req.set_payload(Payload::Stream {
        payload: Box::pin(Deadline {
            inner: inner.clone(),
            deadline,
            sleep: None,
            expired: false,
        }),
    });
    let res = next.call(req).await?;
    let replacement = res
        .response()
        .error()
        .and_then(|e| e.as_error::<PayloadError>())
        .map(|e| error(e, JSON_LIMIT));
    let res = match replacement {
        Some(body_error) => res.error_response(body_error),
        None => res.map_into_boxed_body(),
    };
    let unread = {
        let reader = inner.borrow();
        !reader.finished && !matches!(reader.payload, Payload::None)
    };
    Ok(if unread {
        res.map_body(|_, body| {
            BoxBody::new(KeepReader {
                body,
                _reader: inner,
            })
        })
    } else {
        res
    })
}

/// The one endpoint that takes compressed bodies.
const INGEST_PATH: &str = "/api/v1/ingest";

/// The `web::Bytes` extractor's limit, registered once for the whole app.
pub fn config() -> web::PayloadConfig {
    web::PayloadConfig::new(JSON_LIMIT)
}

/// The form extractor (the first-admin setup page) with the same errors as every other body.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default().error_handler(|err, _| {
        match err {
            UrlencodedError::Payload(e) => error(&e, JSON_LIMIT),
            UrlencodedError::Overflow { limit, .. } => ApiError::PayloadTooLarge { limit },
            UrlencodedError::ContentType => ApiError::UnsupportedMediaType(
                "send the form as application/x-www-form-urlencoded".into(),
            ),
            other => ApiError::bad("invalid_form", other.to_string()),
        }
        .into()
    })
}

/// The panel's answer to a body that could not be read; `limit` is the one that applied.
pub fn error(e: &PayloadError, limit: usize) -> ApiError {
    match e {
        PayloadError::Overflow => ApiError::PayloadTooLarge { limit },
        PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut => ApiError::BodyTimeout {
            seconds: BODY_TIMEOUT.as_secs(),
        },
        other => ApiError::bad(
            "invalid_body",
            format!("could not read the request body: {other}"),
        ),
    }
}

/// Reads a (not yet decompressed) body, refusing more than `limit` bytes as soon as it is
/// exceeded.
pub async fn read(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| error(&e, limit))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
