//! Installations of plugins: install, configure, enable, upgrade, invoke, and read their runs
//! and logs.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{PLUGINS_READ, PLUGINS_WRITE};
use crate::domain::plugins::installations::{self, Installation, InstallationPatch, NewInstallation};
use crate::domain::plugins::invoke::{self, Trigger};
use crate::domain::DomainError;
use crate::ids::{DomainEventId, PrefixedId};
use crate::plugins::bindings::Event;
use crate::plugins::{Input, Output};
use crate::state::AppState;
use crate::store::plugin_runs::{LogRow, RunRow};

/// A plugin installed in the tenant.
#[derive(Object)]
pub struct InstallationOut {
    /// `ins_…`
    pub id: String,
    /// The catalog name or `plg_…` id installed.
    pub plugin: String,
    pub version: String,
    pub enabled: bool,
    /// The configuration without its secret fields.
    pub config: Value,
    /// The secret fields that are set (their values are never returned).
    pub secrets_set: Vec<String>,
    /// The capabilities granted.
    pub capabilities: Vec<String>,
    /// Domain events delivered to it (exact types, `prefix.*` or `*`).
    pub events: Vec<String>,
    /// One absolute URL per webhook route of the plugin.
    pub webhook_urls: Vec<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

fn out(state: &AppState, tenant: &str, i: Installation) -> InstallationOut {
    let base = state.config.public_url.trim_end_matches('/');
    InstallationOut {
        webhook_urls: i
            .webhooks
            .iter()
            .map(|r| format!("{base}/v1/hooks/{tenant}/{}/{r}", i.id))
            .collect(),
        id: i.id,
        plugin: i.plugin,
        version: i.version,
        enabled: i.enabled,
        config: Value::Object(i.config),
        secrets_set: i.secrets_set,
        capabilities: i.capabilities,
        events: i.events,
        created_at: at(i.created_at),
        updated_at: at(i.updated_at),
    }
}

/// Install a plugin.
#[derive(Object)]
pub struct InstallationIn {
    /// A catalog name or the `plg_…` id of one of this tenant's uploads.
    pub plugin: Text,
    /// Default: the newest.
    pub version: Option<Text>,
    /// A JSON object, checked against the plugin's config schema.
    pub config: Option<Value>,
    /// The capabilities granted; each must be requested by the plugin.
    #[oai(default)]
    pub capabilities: Vec<String>,
}

/// Changes to an installation: absent fields stay.
#[derive(Object)]
pub struct InstallationPatchIn {
    pub enabled: Option<bool>,
    /// Replaces the config (a JSON object); secret fields left out keep their values.
    pub config: Option<Value>,
    /// Upgrade or roll back to this version.
    pub version: Option<Text>,
    pub capabilities: Option<Vec<String>>,
}

#[derive(Object)]
pub struct InstallationList {
    pub data: Vec<InstallationOut>,
    pub next_cursor: Option<String>,
}

/// An event to run the installation's handler with.
#[derive(Object)]
pub struct InvokeEvent {
    #[oai(rename = "type")]
    pub event_type: Text,
    #[oai(default)]
    pub data: Value,
}

#[derive(Object)]
pub struct InvokeIn {
    pub event: InvokeEvent,
}

/// How an invocation ended. A failing plugin is still a 200: the call itself worked.
#[derive(Object)]
pub struct InvokeOut {
    /// `run_…`
    pub run_id: String,
    /// `ok`, `error`, `trap`, `timeout`, `out_of_memory` or `denied`.
    pub outcome: String,
    /// The handler's JSON output, when it returned one.
    pub output: Option<Value>,
    pub error: Option<String>,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub memory_peak_bytes: u64,
    pub host_calls: u32,
}

/// One run of an installation.
#[derive(Object)]
pub struct RunOut {
    pub id: String,
    /// `invoke`, `webhook`, `event` (a domain event it subscribed to), `schedule` (a
    /// follow-up it scheduled) or `tick` (one of its manifest's schedules).
    pub trigger: String,
    pub outcome: String,
    pub error: Option<String>,
    pub output: Option<String>,
    pub duration_us: i64,
    pub fuel_used: i64,
    pub memory_peak_bytes: i64,
    pub host_calls: i64,
    pub created_at: OffsetDateTime,
}

impl From<RunRow> for RunOut {
    fn from(r: RunRow) -> Self {
        Self {
            id: r.id,
            trigger: r.trigger,
            outcome: r.outcome,
            error: r.error,
            output: r.output,
            duration_us: r.duration_us,
            fuel_used: r.fuel_used,
            memory_peak_bytes: r.memory_peak_bytes,
            host_calls: r.host_calls,
            created_at: at(r.created_at),
        }
    }
}

#[derive(Object)]
pub struct RunList {
    pub data: Vec<RunOut>,
    pub next_cursor: Option<String>,
}

/// A line the plugin logged, or the host logged about a failed run.
#[derive(Object)]
pub struct LogOut {
    pub id: String,
    pub run_id: String,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
    pub created_at: OffsetDateTime,
}

impl From<LogRow> for LogOut {
    fn from(r: LogRow) -> Self {
        Self {
            id: r.id,
            run_id: r.run_id,
            level: r.level,
            message: r.message,
            created_at: at(r.created_at),
        }
    }
}

#[derive(Object)]
pub struct LogList {
    pub data: Vec<LogOut>,
    pub next_cursor: Option<String>,
}

#[derive(Default)]
pub struct InstallationsApi;

#[OpenApi(tag = "Tag::Plugins")]
impl InstallationsApi {
    /// Install a plugin from the catalog or an upload, granting capabilities.
    #[oai(path = "/v1/installations", method = "post", operation_id = "createInstallation")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<InstallationIn>,
    ) -> ApiResult<Created<InstallationOut>> {
        let ctx = auth.0.require(&state, PLUGINS_WRITE).await?;
        let input = NewInstallation {
            plugin: body.0.plugin.0,
            version: body.0.version.map(|v| v.0),
            config: body.0.config.unwrap_or_else(|| Value::Object(Map::new())),
            capabilities: body.0.capabilities,
        };
        let created = installations::create(&state, &ctx, input).await?;
        Ok(Created::Created(Json(out(&state, ctx.tenant_id.as_str(), created))))
    }

    /// List installations, oldest first.
    #[oai(path = "/v1/installations", method = "get", operation_id = "listInstallations")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<InstallationList>> {
        let ctx = auth.0.require(&state, PLUGINS_READ).await?;
        let rows = installations::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page::<_, Installation>(rows, limit.0, |i| &i.id);
        let data = data
            .into_iter()
            .map(|i| out(&state, ctx.tenant_id.as_str(), i))
            .collect();
        Ok(Json(InstallationList { data, next_cursor }))
    }

    /// Get an installation.
    #[oai(path = "/v1/installations/:id", method = "get", operation_id = "getInstallation")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<InstallationOut>> {
        let ctx = auth.0.require(&state, PLUGINS_READ).await?;
        let found = installations::get(&state, &ctx, &path_id(&id)?).await?;
        Ok(Json(out(&state, ctx.tenant_id.as_str(), found)))
    }

    /// Enable or disable, reconfigure, change grants, upgrade or roll back.
    #[oai(
        path = "/v1/installations/:id",
        method = "patch",
        operation_id = "updateInstallation"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<InstallationPatchIn>,
    ) -> ApiResult<Json<InstallationOut>> {
        let ctx = auth.0.require(&state, PLUGINS_WRITE).await?;
        let patch = InstallationPatch {
            enabled: body.0.enabled,
            config: body.0.config,
            version: body.0.version.map(|v| v.0),
            capabilities: body.0.capabilities,
        };
        let updated = installations::update(&state, &ctx, &path_id(&id)?, patch).await?;
        Ok(Json(out(&state, ctx.tenant_id.as_str(), updated)))
    }

    /// Uninstall: deletes the installation with its KV data, runs and logs.
    #[oai(
        path = "/v1/installations/:id",
        method = "delete",
        operation_id = "deleteInstallation"
    )]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, PLUGINS_WRITE).await?;
        installations::delete(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }

    /// Run the installation's event handler now with the given event.
    #[oai(
        path = "/v1/installations/:id/invoke",
        method = "post",
        operation_id = "invokeInstallation"
    )]
    async fn invoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<InvokeIn>,
    ) -> ApiResult<Json<InvokeOut>> {
        let ctx = auth.0.require(&state, PLUGINS_WRITE).await?;
        let loaded = installations::load(&state, &ctx, &path_id(&id)?).await?;
        if !loaded.enabled {
            return Err(DomainError::Conflict {
                field: None,
                message: "the installation is disabled".into(),
            }
            .into());
        }
        let event = Event {
            id: DomainEventId::generate().to_string(),
            event_type: body.0.event.event_type.0,
            data: body.0.event.data.to_string(),
            occurred_at_ms: crate::store::now_ms(),
        };
        let (run_id, run) = invoke::run(&state, &ctx, &loaded, Trigger::Invoke, Input::Event(event)).await?;
        let output = match run.output {
            Some(Output::Event(s)) if !s.is_empty() => Some(serde_json::from_str(&s).unwrap_or(Value::String(s))),
            _ => None,
        };
        Ok(Json(InvokeOut {
            run_id: run_id.to_string(),
            outcome: run.outcome.as_str().to_owned(),
            output,
            error: run.error,
            duration_us: run.duration_us,
            fuel_used: run.fuel_used,
            memory_peak_bytes: run.memory_peak_bytes,
            host_calls: run.host_calls,
        }))
    }

    /// The installation's runs, newest first.
    #[oai(
        path = "/v1/installations/:id/runs",
        method = "get",
        operation_id = "listInstallationRuns"
    )]
    async fn runs(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<RunList>> {
        let ctx = auth.0.require(&state, PLUGINS_READ).await?;
        let rows = invoke::runs(&state, &ctx, &path_id(&id)?, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |r| &r.id);
        Ok(Json(RunList { data, next_cursor }))
    }

    /// The installation's log, newest first.
    #[oai(
        path = "/v1/installations/:id/logs",
        method = "get",
        operation_id = "listInstallationLogs"
    )]
    async fn logs(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<LogList>> {
        let ctx = auth.0.require(&state, PLUGINS_READ).await?;
        let rows = invoke::logs(&state, &ctx, &path_id(&id)?, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |r| &r.id);
        Ok(Json(LogList { data, next_cursor }))
    }
}
