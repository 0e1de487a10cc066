//! `GET /api/v1/admin/backup` (operator): streams a consistent snapshot of the data directory
//! as a tar archive (see `lifecycle::backup` for what it holds and how it stays consistent).

use actix_web::HttpResponse;
use actix_web::web;

use crate::activity::Action;
use crate::error::ApiError;
use crate::http::State;
use crate::http::auth::Principal;
use crate::lifecycle::backup::{self, BackupError, ChannelWriter};

impl From<BackupError> for ApiError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Store(s) => s.into(),
            BackupError::Refused(m) => ApiError::Conflict(m),
            other => ApiError::internal(other),
        }
    }
}

/// `GET /api/v1/admin/backup`
pub async fn backup(state: State, p: Principal) -> Result<HttpResponse, ApiError> {
    p.require_operator()?;
    // Fold what was acknowledged so far, so the snapshot is as recent as possible.
    state
        .writer
        .sync()
        .await
        .map_err(|e| ApiError::Unavailable(format!("storage is catching up: {e}")))?;
    let (lc, gate) = (state.lifecycle.clone(), state.writer.checkpoint_gate());
    let now = crate::now();
    let staged = web::block(move || backup::stage(&lc, &gate, now))
        .await
        .map_err(ApiError::internal)??;
    tracing::info!(
        event = "backup",
        files = staged.len(),
        bytes = staged.bytes(),
        "backup snapshot taken; streaming"
    );
    super::privacy::record_instance(
        &state,
        &p,
        Action::Export,
        format!("backup of the instance ({} files)", staged.len()),
    );
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    std::thread::Builder::new()
        .name("tally-backup".into())
        .spawn(move || {
            let err_tx = tx.clone();
            if let Err(e) = backup::write_archive(&staged, ChannelWriter::new(tx)) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    tracing::error!(error = %e, "backup streaming failed");
                }
                // The client sees a broken archive (no checksum) rather than a short, valid one.
                let _ = err_tx.blocking_send(Err(e));
            }
            // `staged` drops here: the staging copy is deleted.
        })
        .map_err(ApiError::internal)?;
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let date = jiff::Timestamp::from_second(now)
        .map(|t| t.strftime("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("application/x-tar")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"tally-backup-{date}.tar\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}
