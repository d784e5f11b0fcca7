//! The first-party plugin catalog and tenants' plugin uploads.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{Multipart, Object, OpenApi};
use serde_json::Value;

use super::problem::ApiResult;
use super::responses::Created;
use super::security::BearerAuth;
use super::Tag;
use crate::auth::permissions::{PLUGINS_READ, PLUGINS_WRITE};
use crate::domain::plugins::uploads;
use crate::domain::DomainError;
use crate::state::AppState;

/// A first-party plugin a tenant can install by name.
#[derive(Object)]
pub struct CatalogPlugin {
    pub name: String,
    pub version: String,
    pub description: String,
    /// What it asks to be granted: `kv`, `customers:read`, `customers:write`, `messages:send`,
    /// `http:<host>`.
    pub capabilities: Vec<String>,
    /// JSON Schema of its configuration; properties with `"secret": true` are encrypted at rest.
    pub config_schema: Value,
    /// Domain events it handles.
    pub events: Vec<String>,
    /// Its webhook routes.
    pub webhooks: Vec<String>,
}

#[derive(Object)]
pub struct CatalogList {
    pub data: Vec<CatalogPlugin>,
}

/// A plugin component and its manifest.
#[derive(Multipart)]
pub struct PluginUpload {
    /// The WebAssembly component (`switchboard plugin build` writes it to `dist/NAME.wasm`).
    pub wasm: Upload,
    /// `plugin.toml`.
    pub manifest: Upload,
}

/// An uploaded plugin version.
#[derive(Object)]
pub struct PluginOut {
    /// `plg_…`: install it with `{"plugin": "plg_…"}`.
    pub id: String,
    pub name: String,
    pub version: String,
}

#[derive(Default)]
pub struct PluginsApi;

#[OpenApi(tag = "Tag::Plugins")]
impl PluginsApi {
    /// The first-party plugins.
    #[oai(path = "/v1/plugin-catalog", method = "get", operation_id = "listPluginCatalog")]
    async fn catalog(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<CatalogList>> {
        auth.0.require(&state, PLUGINS_READ).await?;
        let data = state
            .plugins
            .catalog
            .entries()
            .map(|e| CatalogPlugin {
                name: e.manifest.name.clone(),
                version: e.manifest.version.clone(),
                description: e.manifest.description.clone(),
                capabilities: e.manifest.capabilities.clone(),
                config_schema: e.manifest.config_schema.clone(),
                events: e.manifest.events.clone(),
                webhooks: e.manifest.webhooks.clone(),
            })
            .collect();
        Ok(Json(CatalogList { data }))
    }

    /// Upload a plugin version (private to this tenant); a newer version of the same name adds
    /// a version. Everything is checked before anything is stored.
    #[oai(path = "/v1/plugins", method = "post", operation_id = "uploadPlugin")]
    async fn upload(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        form: PluginUpload,
    ) -> ApiResult<Created<PluginOut>> {
        let ctx = auth.0.require(&state, PLUGINS_WRITE).await?;
        let wasm = form.wasm.into_vec().await.map_err(DomainError::Io)?;
        let manifest = form.manifest.into_vec().await.map_err(DomainError::Io)?;
        let manifest =
            String::from_utf8(manifest).map_err(|_| DomainError::invalid("manifest", "must be UTF-8 TOML"))?;
        let up = uploads::upload(&state, &ctx, wasm, &manifest).await?;
        Ok(Created::Created(Json(PluginOut {
            id: up.id,
            name: up.name,
            version: up.version,
        })))
    }
}
