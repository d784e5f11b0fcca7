//! Which code an installation runs: a catalog plugin by name, or a version of one of the
//! tenant's uploads by `plg_` id, and its compiled form.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::Any;

use crate::domain::{DomainError, Result};
use crate::ids::{PluginId, PrefixedId};
use crate::plugins::manifest::Manifest;
use crate::plugins::Prepared;
use crate::state::AppState;
use crate::store::{self, Conn};
use crate::tenancy::TenantCtx;

pub enum Source {
    Catalog,
    Upload(PluginId),
}

/// A resolved plugin version.
pub struct Code {
    pub source: Source,
    pub manifest: Manifest,
    pub sha256: String,
}

fn stored_manifest(json: &str) -> Result<Manifest> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
}

/// The plugin `reference` names for this tenant, at `version` (the newest when `None`).
/// `field` names the input for the 422 when nothing matches.
pub async fn resolve(
    state: &AppState,
    conn: &mut Conn,
    ctx: &TenantCtx,
    reference: &str,
    version: Option<&str>,
    field: &str,
) -> Result<Code> {
    let missing = |what: String| DomainError::invalid(field, what);
    if let Some(id) = PluginId::parse(reference) {
        let row = match store::plugins::version(conn, ctx, &id, version).await {
            Err(store::StoreError::NotFound) => {
                return Err(missing(match version {
                    Some(v) => format!("this tenant has no plugin {reference} version {v}"),
                    None => format!("this tenant has no plugin {reference}"),
                }))
            }
            other => other?,
        };
        return Ok(Code {
            source: Source::Upload(id),
            manifest: stored_manifest(&row.manifest)?,
            sha256: row.sha256,
        });
    }
    let entry = state
        .plugins
        .catalog
        .get(reference)
        .ok_or_else(|| missing(format!("no catalog plugin named {reference:?} (or use a plg_ id)")))?;
    if version.is_some_and(|v| v != entry.manifest.version) {
        return Err(DomainError::invalid(
            "version",
            format!("the catalog has {reference} {} only", entry.manifest.version),
        ));
    }
    Ok(Code {
        source: Source::Catalog,
        manifest: entry.manifest.clone(),
        sha256: entry.sha256.clone(),
    })
}

/// The compiled, pre-instantiated code: from memory, from disk, or compiled now (off the
/// async threads). An upload's component is read on `conn` when the caller holds one.
pub async fn prepared(
    state: &AppState,
    ctx: &TenantCtx,
    code: &Code,
    conn: Option<&mut PoolConnection<Any>>,
) -> Result<Arc<Prepared>> {
    let runtime = state.plugins.runtime.clone();
    if let Some(p) = runtime.cached(&code.sha256) {
        return Ok(p);
    }
    let wasm = match &code.source {
        Source::Catalog => state
            .plugins
            .catalog
            .get(&code.manifest.name)
            .map(|e| e.wasm.clone())
            .ok_or(DomainError::NotFound)?,
        Source::Upload(id) => {
            let version = &code.manifest.version;
            Arc::new(match conn {
                Some(conn) => store::plugins::wasm(conn, ctx, id, version).await?,
                None => store::plugins::wasm(&mut *state.store.connection().await?, ctx, id, version).await?,
            })
        }
    };
    let compiled = tokio::task::spawn_blocking(move || runtime.prepare(&wasm))
        .await
        .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    compiled.map_err(|e| DomainError::Io(std::io::Error::other(e)))
}
