//! Uploading a plugin version: everything is checked (size, manifest, component format,
//! interface version, imports, the plugin's own name and version) before anything is stored.

use serde_json::json;

use crate::domain::{audit, DomainError, Result};
use crate::plugins::manifest::Manifest;
use crate::plugins::verify::verify;
use crate::state::AppState;
use crate::store;
use crate::tenancy::TenantCtx;

pub struct Uploaded {
    pub id: String,
    pub name: String,
    pub version: String,
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn upload(state: &AppState, ctx: &TenantCtx, wasm: Vec<u8>, manifest: &str) -> Result<Uploaded> {
    let max = state.plugins.max_upload_bytes;
    if wasm.len() as u64 > max {
        return Err(DomainError::TooLarge(max));
    }
    let manifest = Manifest::parse(manifest).map_err(|e| {
        let field = if e.field == "manifest" {
            e.field
        } else {
            format!("manifest.{}", e.field)
        };
        DomainError::invalid(&field, e.message)
    })?;
    let runtime = state.plugins.runtime.clone();
    let checked = manifest.clone();
    let (wasm, prepared) = tokio::task::spawn_blocking(move || {
        let prepared = verify(&runtime, &wasm, &checked);
        (wasm, prepared)
    })
    .await
    .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    let prepared = prepared.map_err(|e| DomainError::invalid(e.field, e.message))?;
    let mut tx = state.store.tenant_tx(ctx).await?;
    let id = store::plugins::ensure(&mut tx, ctx, &manifest.name).await?;
    let version = store::plugins::NewVersion {
        version: &manifest.version,
        manifest: &json!(manifest).to_string(),
        wasm: &wasm,
        sha256: &prepared.sha256,
    };
    store::plugins::insert_version(&mut tx, ctx, &id, &version).await?;
    audit::record(&mut tx, ctx, "plugin.uploaded", "plugin", id.as_str()).await?;
    tx.commit().await?;
    Ok(Uploaded {
        id: id.to_string(),
        name: manifest.name,
        version: manifest.version,
    })
}
