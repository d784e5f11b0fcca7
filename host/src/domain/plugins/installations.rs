//! Installations: a plugin version in a tenant with its config (secrets sealed apart) and the
//! capabilities the tenant granted, which must be among those the manifest requests.

use serde_json::{Map, Value};

use super::code::{self, Code};
use super::ticks;
use crate::domain::{audit, page_limit, DomainError, FieldError, Result};
use crate::ids::{InstallationId, PrefixedId};
use crate::plugins::capabilities::Capability;
use crate::plugins::Grants;
use crate::state::AppState;
use crate::store::plugin_installations::{Fields, InstallationRow};
use crate::store::{self, Conn};
use crate::tenancy::TenantCtx;

/// An installation as the API shows it: no secret values.
#[derive(Debug, Clone)]
pub struct Installation {
    pub id: String,
    pub plugin: String,
    pub version: String,
    pub enabled: bool,
    pub config: Map<String, Value>,
    /// Names of the secret fields that are set.
    pub secrets_set: Vec<String>,
    pub capabilities: Vec<String>,
    pub events: Vec<String>,
    pub webhooks: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An installation loaded to run: its code, full config and grants.
pub struct Loaded {
    pub id: InstallationId,
    pub enabled: bool,
    pub code: Code,
    /// Config with the secrets, as JSON.
    pub config: String,
    pub grants: Grants,
}

pub struct NewInstallation {
    pub plugin: String,
    pub version: Option<String>,
    pub config: Value,
    pub capabilities: Vec<String>,
}

#[derive(Default)]
pub struct InstallationPatch {
    pub enabled: Option<bool>,
    /// Replaces the config; secret fields left out keep their stored values.
    pub config: Option<Value>,
    /// Upgrade or roll back.
    pub version: Option<String>,
    pub capabilities: Option<Vec<String>>,
}

fn stored<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
}

/// The granted capabilities, each of which the manifest must request.
fn grants(code: &Code, names: &[String]) -> Result<Vec<String>> {
    let requested = code.manifest.requested();
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Capability::parse(name) {
            Some(cap) if requested.contains(&cap) => {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            Some(_) => errors.push(FieldError::new(
                format!("capabilities[{i}]"),
                format!("{} does not request {name}", code.manifest.name),
            )),
            None => errors.push(FieldError::new(format!("capabilities[{i}]"), "is not a capability")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// Checks `config` against the manifest's schema and splits off the secret fields.
fn split_config(code: &Code, config: Value) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let errors = code.manifest.config_errors(&config);
    if !errors.is_empty() {
        return Err(DomainError::Invalid(
            errors
                .into_iter()
                .map(|(pointer, message)| FieldError::new(format!("config{}", pointer.replace('/', ".")), message))
                .collect(),
        ));
    }
    let Value::Object(mut plain) = config else {
        return Err(DomainError::invalid("config", "must be an object"));
    };
    let mut secrets = Map::new();
    for name in code.manifest.secret_fields() {
        if let Some(v) = plain.remove(&name) {
            secrets.insert(name, v);
        }
    }
    Ok((plain, secrets))
}

fn output(row: InstallationRow, code: &Code, secrets_set: Vec<String>) -> Result<Installation> {
    Ok(Installation {
        config: stored(&row.config)?,
        capabilities: stored(&row.capabilities)?,
        events: code.manifest.events.clone(),
        webhooks: code.manifest.webhooks.clone(),
        id: row.id,
        plugin: row.plugin,
        version: row.version,
        enabled: row.enabled != 0,
        secrets_set,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn open_secrets(state: &AppState, row: &InstallationRow) -> Result<Map<String, Value>> {
    match &row.secrets {
        None => Ok(Map::new()),
        Some(sealed) => {
            let plain = state
                .plugins
                .secrets
                .open(&row.id, sealed)
                .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
            stored(&String::from_utf8_lossy(&plain))
        }
    }
}

fn seal(state: &AppState, id: &str, secrets: &Map<String, Value>) -> Option<Vec<u8>> {
    (!secrets.is_empty()).then(|| {
        state
            .plugins
            .secrets
            .seal(id, Value::Object(secrets.clone()).to_string().as_bytes())
    })
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn create(state: &AppState, ctx: &TenantCtx, input: NewInstallation) -> Result<Installation> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let code = code::resolve(state, &mut tx, ctx, &input.plugin, input.version.as_deref(), "plugin").await?;
    let granted = grants(&code, &input.capabilities)?;
    let (plain, secrets) = split_config(&code, input.config)?;
    let id = InstallationId::generate();
    let sealed = seal(state, id.as_str(), &secrets);
    let fields = Fields {
        plugin: &input.plugin,
        version: &code.manifest.version,
        enabled: true,
        config: &Value::Object(plain).to_string(),
        secrets: sealed.as_deref(),
        capabilities: &serde_json::to_string(&granted).unwrap_or_default(),
    };
    let row = store::plugin_installations::insert(&mut tx, ctx, &id, &fields).await?;
    ticks::arm(state, &mut tx, ctx, &id, &code.manifest).await?;
    audit::record(&mut tx, ctx, "installation.created", "installation", id.as_str()).await?;
    tx.commit().await?;
    state.jobs.wake();
    output(row, &code, secrets.keys().cloned().collect())
}

async fn load_row(
    state: &AppState,
    conn: &mut Conn,
    ctx: &TenantCtx,
    id: &InstallationId,
) -> Result<(InstallationRow, Code)> {
    let row = store::plugin_installations::get(conn, ctx, id).await?;
    let code = code::resolve(state, conn, ctx, &row.plugin, Some(&row.version), "plugin").await?;
    Ok((row, code))
}

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &InstallationId) -> Result<Installation> {
    let mut read = state.store.tenant_read(ctx).await?;
    let (row, code) = load_row(state, &mut read, ctx, id).await?;
    read.commit().await?;
    let secrets = open_secrets(state, &row)?;
    output(row, &code, secrets.keys().cloned().collect())
}

pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<Installation>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::plugin_installations::page(&mut read, ctx, after, page_limit(limit)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let code = code::resolve(state, &mut read, ctx, &row.plugin, Some(&row.version), "plugin").await?;
        let secrets = open_secrets(state, &row)?;
        out.push(output(row, &code, secrets.keys().cloned().collect())?);
    }
    read.commit().await?;
    Ok(out)
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn update(
    state: &AppState,
    ctx: &TenantCtx,
    id: &InstallationId,
    patch: InstallationPatch,
) -> Result<Installation> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::plugin_installations::get(&mut tx, ctx, id).await?;
    let version = patch.version.as_deref().unwrap_or(&row.version);
    let code = code::resolve(state, &mut tx, ctx, &row.plugin, Some(version), "version").await?;
    let current: Vec<String> = stored(&row.capabilities)?;
    let granted = grants(&code, patch.capabilities.as_ref().unwrap_or(&current))?;
    let mut secrets = open_secrets(state, &row)?;
    let mut config: Map<String, Value> = match patch.config {
        Some(Value::Object(c)) => c,
        Some(_) => return Err(DomainError::invalid("config", "must be an object")),
        None => stored(&row.config)?,
    };
    for (k, v) in &secrets {
        config.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let (plain, new_secrets) = split_config(&code, Value::Object(config))?;
    secrets = new_secrets;
    let sealed = seal(state, id.as_str(), &secrets);
    let fields = Fields {
        plugin: &row.plugin,
        version: &code.manifest.version,
        enabled: patch.enabled.unwrap_or(row.enabled != 0),
        config: &Value::Object(plain).to_string(),
        secrets: sealed.as_deref(),
        capabilities: &serde_json::to_string(&granted).unwrap_or_default(),
    };
    let row = store::plugin_installations::update(&mut tx, ctx, id, &fields).await?;
    ticks::arm(state, &mut tx, ctx, id, &code.manifest).await?;
    audit::record(&mut tx, ctx, "installation.updated", "installation", id.as_str()).await?;
    tx.commit().await?;
    state.jobs.wake();
    output(row, &code, secrets.keys().cloned().collect())
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn delete(state: &AppState, ctx: &TenantCtx, id: &InstallationId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::plugin_installations::delete(&mut tx, ctx, id).await?;
    audit::record(&mut tx, ctx, "installation.deleted", "installation", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

/// The installation ready to run.
pub async fn load(state: &AppState, ctx: &TenantCtx, id: &InstallationId) -> Result<Loaded> {
    load_on(state, &mut *state.store.connection().await?, ctx, id).await
}

/// [`load`] on a connection the caller keeps for the run ([`super::invoke::Slot::hold`]).
pub async fn load_on(state: &AppState, conn: &mut Conn, ctx: &TenantCtx, id: &InstallationId) -> Result<Loaded> {
    // The installation, then (for an upload) its version's manifest, each in autocommit: rows
    // that do not change together, and the version's never changes.
    let (row, code) = load_row(state, conn, ctx, id).await?;
    let mut config: Map<String, Value> = stored(&row.config)?;
    config.extend(open_secrets(state, &row)?);
    let names: Vec<String> = stored(&row.capabilities)?;
    Ok(Loaded {
        id: id.clone(),
        enabled: row.enabled != 0,
        code,
        config: Value::Object(config).to_string(),
        grants: Grants::new(names.iter().filter_map(|n| Capability::parse(n))),
    })
}
