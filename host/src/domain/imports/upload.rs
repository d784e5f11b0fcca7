//! Spooling an upload to the data directory without holding it in memory.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::domain::{DomainError, Result};
use crate::ids::{ImportId, TenantId};

/// Where an import's file lives: one directory per tenant under `data_dir/imports`.
pub fn path_for(data_dir: &Path, tenant: &TenantId, id: &ImportId) -> PathBuf {
    data_dir
        .join("imports")
        .join(tenant.as_str())
        .join(format!("{}.csv", id.as_str()))
}

/// Copies `body` to `path`; more than `max_bytes` removes the partial file and is `TooLarge`.
pub async fn save(body: impl AsyncRead + Send, path: &Path, max_bytes: u64) -> Result<u64> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    // One byte past the limit tells "exactly the limit" from "over it".
    let mut limited = Box::pin(body).take(max_bytes + 1);
    let copied = tokio::io::copy(&mut limited, &mut file).await;
    let flushed = file.flush().await;
    match (copied, flushed) {
        (Ok(n), Ok(())) if n <= max_bytes => Ok(n),
        (Ok(_), Ok(())) => {
            discard(path).await;
            Err(DomainError::TooLarge(max_bytes))
        }
        (Err(e), _) | (_, Err(e)) => {
            discard(path).await;
            Err(io(e))
        }
    }
}

/// Removes a file that is no longer needed; a failure only leaves litter, so it is logged.
pub async fn discard(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove an import file");
        }
    }
}

fn io(e: std::io::Error) -> DomainError {
    DomainError::Io(e)
}
