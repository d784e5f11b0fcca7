//! Plugins for tenants: the first-party catalog, uploads, installations with their config and
//! grants, invocations and their records. The sandbox itself is `crate::plugins`.

pub mod catalog;
pub mod code;
pub mod dispatch;
pub mod hooks;
pub mod host;
pub mod installations;
pub mod invoke;
pub mod kv_expiry;
pub mod kv_usage;
pub mod kv_view;
pub mod run_writes;
pub mod ticks;
pub mod uploads;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::config::Config;
use crate::plugins::secrets::{SecretBox, SecretsError};
use crate::plugins::{Limits, Runtime, RuntimeError};
use catalog::Catalog;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// The plugin machinery of this process.
pub struct Plugins {
    pub runtime: Arc<Runtime>,
    pub catalog: Catalog,
    pub secrets: SecretBox,
    /// One permit per pooled instance slot: invocations beyond it wait.
    permits: Arc<Semaphore>,
    pub max_upload_bytes: u64,
    pub kv_quota_bytes: u64,
    /// Installations whose KV namespace outgrew a run's snapshot lately: their runs read key by
    /// key without trying (a hint; it expires, so a namespace that shrank is snapshot again).
    pub kv_large: moka::sync::Cache<String, ()>,
    pub kv_usage: kv_usage::KvUsage,
    /// The client behind `http-fetch`.
    pub http: reqwest::Client,
}

impl Plugins {
    pub fn permits(&self) -> Arc<Semaphore> {
        self.permits.clone()
    }

    pub fn start(config: &Config) -> Result<Self, StartError> {
        let limits = Limits {
            wall: Duration::from_millis(config.plugin_wall_ms),
            fuel: config.plugin_fuel,
            memory_bytes: config.plugin_memory_bytes,
            host_calls: config.plugin_host_calls,
            ..Limits::default()
        };
        let dir = config.data_dir.join("plugins");
        let runtime = Runtime::new(limits, config.plugin_concurrency, Some(dir.join("compiled")))?;
        let key = config
            .plugin_secrets_key
            .as_ref()
            .map(secrecy::ExposeSecret::expose_secret);
        Ok(Self {
            runtime: Arc::new(runtime),
            catalog: Catalog::load(&config.plugin_catalog_dir),
            secrets: SecretBox::load(key, &dir)?,
            permits: Arc::new(Semaphore::new(config.plugin_concurrency.max(1) as usize)),
            max_upload_bytes: config.plugin_max_bytes,
            kv_quota_bytes: config.plugin_kv_quota_bytes,
            kv_large: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            kv_usage: kv_usage::KvUsage::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        })
    }
}
