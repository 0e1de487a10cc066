//! `POST /api/v1/ingest`: authenticate the server, read a bounded body, parse and validate,
//! enrich (IPs dropped here), hand to the writer, answer when durable.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::State;
use crate::auth::token_hash;
use crate::error::ApiError;
use crate::ingest::writer::WriteError;
use crate::model::report::Report;

/// Decompresses a gzip body, stopping as soon as the output passes `limit` (a gzip bomb costs
/// at most `limit` bytes of memory).
pub fn gunzip(raw: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(raw).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        ApiError::bad(
            "invalid_gzip",
            format!("the gzip body could not be decompressed: {e}"),
        )
    })?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(out)
}

/// Turns a received body into a valid report: undoes `Content-Encoding` (at most `limit` bytes
/// out), parses the JSON and checks every limit. Everything outside input meets before the
/// writer, with no I/O, so the fuzz tests drive exactly this. Every rejection is a 4xx naming
/// the field when there is one.
pub fn decode_report(
    raw: Vec<u8>,
    encoding: &str,
    limit: usize,
    now: i64,
) -> Result<Report, ApiError> {
    let body = match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => raw,
        "gzip" | "x-gzip" => gunzip(&raw, limit)?,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding `{other}` is not supported; send gzip or nothing"
            )));
        }
    };
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let report: Report = super::auth::parse_json(&body)?;
    report
        .validate()
        .map_err(|e| ApiError::field(e.field, e.message))?;
    if report.time.0 > now + 600 {
        return Err(ApiError::field(
            "time",
            "is more than 10 minutes in the future; check the sender's clock",
        ));
    }
    Ok(report)
}

/// `POST /api/v1/ingest`
pub async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "send the server's ingest token as Authorization: Bearer <token>".into(),
            )
        })?;
    let server = state
        .meta
        .server_by_token(&token_hash(token.trim()))?
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "unknown ingest token; copy it from the server's page or create the server again"
                    .into(),
            )
        })?;
    let account = state
        .meta
        .account(server.account_id)?
        .ok_or(ApiError::NotFound("account"))?;
    if account.processing_restricted {
        return Err(ApiError::Forbidden {
            code: "processing_restricted",
            message: "processing is restricted for this account; reports are refused until an operator lifts it".into(),
        });
    }
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send Content-Type: application/json (got `{}`)",
            if ctype.is_empty() { "nothing" } else { ctype }
        )));
    }
    let limit = state.config.max_body_bytes;
    let raw = super::body::read(payload, limit).await?;
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_owned();
    let now = crate::now();
    let enricher = state.enricher.clone();
    let (account_id, server_id) = (account.id, server.id);
    // Decompression, parsing and enrichment are CPU work: run them off the I/O threads.
    let enriched = web::block(move || -> Result<_, ApiError> {
        let report = decode_report(raw, &encoding, limit, now)?;
        enricher
            .enrich(account_id, server_id, report, now)
            .map_err(ApiError::from)
    })
    .await
    .map_err(ApiError::internal)??;
    match state.writer.submit(enriched).await {
        Ok(ack) => Ok(HttpResponse::Ok().json(json!({
            "accepted": {"streams": ack.streams, "viewers": ack.viewers},
            "duplicate": ack.duplicate,
        }))),
        Err(WriteError::Busy) => Err(ApiError::TooManyRequests {
            message: "the panel is saturated; retry this report shortly".into(),
            retry_after_s: 1,
        }),
        Err(WriteError::Stopped) => Err(ApiError::Unavailable(
            "the panel is shutting down; retry shortly".into(),
        )),
        Err(WriteError::Store(e)) => Err(e.into()),
    }
}
