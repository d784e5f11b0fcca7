//! One typed configuration: defaults in code, an optional TOML file, `SWITCHBOARD_*` env vars on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::webhooks::schedule::RetrySchedule;
use crate::egress::NetList;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// `sqlite://…` (default, created on first start) or `postgres://…`.
    pub database_url: String,
    /// Connections in the database pool.
    pub database_max_connections: u32,
    /// Base URL clients reach this server at; used for links in emails and webhook URLs.
    pub public_url: String,
    /// Whether `POST /v1/signup` creates tenants (operators may prefer `switchboard tenant create`).
    pub signup_enabled: bool,
    /// HMAC key for access tokens. Generated per process when unset, which logs everyone out on
    /// restart and cannot be shared by several hosts: set it in production.
    #[serde(serialize_with = "serialize_secret")]
    pub jwt_secret: Option<SecretString>,
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: u64,
    /// Refresh token lifetime in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Invitation lifetime in seconds.
    pub invitation_ttl_secs: u64,
    /// Requests per second allowed to one principal (user or API key), with `rate_limit_burst`.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// Login attempts per minute for one email and for one client address.
    pub login_attempts_per_minute: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds a cached authorization enforcer lives before it is rebuilt from the database
    /// (changes made through this process invalidate it at once).
    pub authz_cache_ttl_secs: u64,
    /// Log format: `pretty` or `json`.
    pub log_format: String,
    /// Where uploaded files wait for their job (imports live under `imports/`).
    pub data_dir: PathBuf,
    /// Largest CSV upload accepted by `POST /v1/imports`, in bytes (exempt from `max_body_bytes`).
    pub max_import_bytes: u64,
    /// Background job workers in this process (0 runs none: another host works the queue).
    pub job_workers: usize,
    /// How often an idle worker looks for due jobs, in milliseconds; a local enqueue wakes it early.
    pub job_poll_ms: u64,
    /// How long a claimed job stays locked to its worker without a heartbeat, in milliseconds.
    pub job_lease_ms: u64,
    /// First retry delay in milliseconds; it doubles per attempt, with jitter.
    pub job_backoff_base_ms: u64,
    /// Attempts before a failing job is dead-lettered.
    pub job_max_attempts: u32,
    /// Networks outgoing webhooks may reach although the SSRF guard refuses them (private,
    /// loopback…): comma-separated CIDRs, e.g. `127.0.0.1/32`.
    pub webhooks_allow_nets: NetList,
    /// Delays before each delivery attempt (the first is usually `0s`), comma-separated
    /// durations; jittered. A delivery fails after the last one.
    pub webhooks_retry_schedule: RetrySchedule,
    /// Whether endpoint URLs may use plain `http` (otherwise `https` only).
    pub webhooks_allow_http: bool,
    /// Longest wait for one delivery attempt, connection included, in milliseconds.
    pub webhooks_timeout_ms: u64,
    /// An endpoint failing without a single success for this long is disabled, in seconds.
    pub webhooks_disable_after_secs: u64,
    /// How long a rotated-out endpoint secret still signs deliveries, in seconds.
    pub webhooks_secret_grace_secs: u64,
    /// Delivery attempts in flight at once in this process (0 runs no dispatcher).
    pub webhooks_max_in_flight: usize,
    /// How often the outbox relay and the dispatcher look for work when idle, in milliseconds.
    pub webhooks_poll_ms: u64,
    /// Finished deliveries (and their attempts) older than this many days are deleted.
    pub webhooks_retention_days: u64,
    /// The platform's Resend API key; tenants may set their own. Unset (and no SMTP): the dev outbox.
    #[serde(serialize_with = "serialize_secret")]
    pub resend_api_key: Option<SecretString>,
    /// Resend's API base URL (tests point it at a fake).
    pub resend_base_url: String,
    /// The Standard Webhooks secret (`whsec_…`) the platform's Resend account signs its webhooks
    /// with (`POST /v1/webhooks/resend`). Unset: that route answers 404.
    #[serde(serialize_with = "serialize_secret")]
    pub resend_webhook_secret: Option<SecretString>,
    /// `From` of the platform's own emails (sender verification links).
    pub system_email_from: String,
    /// `smtp://user:pass@host:port` (or `smtps://…`, `?tls=required`) when sending through SMTP
    /// instead of Resend; used when no Resend key is set.
    #[serde(serialize_with = "serialize_secret")]
    pub smtp_url: Option<SecretString>,
    /// Seconds one request to the email provider may take before it is retried.
    pub email_timeout_secs: u64,
    /// Recipients per provider request in campaign sends (1 to 100).
    pub email_batch_size: usize,
    /// Where the first-party plugin catalog's built components are (`<name>.wasm` + `<name>.toml`).
    pub plugin_catalog_dir: PathBuf,
    /// Key sealing installation secrets (base64 of 32 bytes); generated into the data dir when
    /// unset. Every host sharing a database needs the same key.
    #[serde(serialize_with = "serialize_secret")]
    pub plugin_secrets_key: Option<SecretString>,
    /// Largest plugin component accepted by `POST /v1/plugins`, in bytes.
    pub plugin_max_bytes: u64,
    /// Plugin invocations running at once in this process (the pooling allocator's size).
    pub plugin_concurrency: u32,
    /// Per-invocation limits: wall-clock milliseconds, instructions (fuel), memory bytes, host calls.
    pub plugin_wall_ms: u64,
    pub plugin_fuel: u64,
    pub plugin_memory_bytes: usize,
    pub plugin_host_calls: u32,
    /// Bytes (keys and values) one installation may keep in its KV store.
    pub plugin_kv_quota_bytes: u64,
    /// The `From` of emails plugins send (`send-message`): `Name <address>` or an address.
    pub plugin_email_from: String,
    /// The shortest period of a manifest schedule: ticks asked for more often come this often.
    pub plugin_tick_min_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: ([127, 0, 0, 1], 8080).into(),
            database_url: "sqlite://switchboard.db".into(),
            database_max_connections: 16,
            public_url: "http://127.0.0.1:8080".into(),
            signup_enabled: true,
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            invitation_ttl_secs: 7 * 24 * 3600,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            login_attempts_per_minute: 10,
            max_body_bytes: 2 * 1024 * 1024,
            authz_cache_ttl_secs: 60,
            log_format: "pretty".into(),
            data_dir: PathBuf::from("./data"),
            max_import_bytes: 100 * 1024 * 1024,
            job_workers: 2,
            job_poll_ms: 500,
            job_lease_ms: 60_000,
            job_backoff_base_ms: 1_000,
            job_max_attempts: 5,
            webhooks_allow_nets: NetList::default(),
            webhooks_retry_schedule: RetrySchedule::default(),
            webhooks_allow_http: false,
            webhooks_timeout_ms: 15_000,
            webhooks_disable_after_secs: 5 * 24 * 3600,
            webhooks_secret_grace_secs: 24 * 3600,
            webhooks_max_in_flight: 512,
            webhooks_poll_ms: 50,
            webhooks_retention_days: 30,
            resend_api_key: None,
            resend_base_url: "https://api.resend.com".into(),
            resend_webhook_secret: None,
            system_email_from: "Switchboard <no-reply@switchboard.invalid>".into(),
            smtp_url: None,
            email_timeout_secs: 10,
            email_batch_size: 50,
            plugin_catalog_dir: PathBuf::from("plugins/dist"),
            plugin_secrets_key: None,
            plugin_max_bytes: 10 * 1024 * 1024,
            plugin_concurrency: 32,
            plugin_wall_ms: 50,
            plugin_fuel: 50_000_000,
            plugin_memory_bytes: 32 * 1024 * 1024,
            plugin_host_calls: 1_000,
            plugin_kv_quota_bytes: 1024 * 1024,
            plugin_email_from: "Switchboard <noreply@localhost>".into(),
            plugin_tick_min_secs: 60,
        }
    }
}

fn serialize_secret<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some("[redacted]"),
        None => s.serialize_none(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// Loads defaults, then `path` (if given and present), then `SWITCHBOARD_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            figment = figment.merge(Toml::file(path));
        }
        figment
            .merge(Env::prefixed("SWITCHBOARD_"))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_settings_read_from_strings_as_env_vars_give_them() {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(
                "webhooks_allow_nets = \"127.0.0.1/32,10.0.0.0/8\"\nwebhooks_retry_schedule = \"1s, 5s, 5m\"",
            ))
            .extract()
            .unwrap();
        assert_eq!(config.webhooks_allow_nets.to_string(), "127.0.0.1/32,10.0.0.0/8");
        assert_eq!(config.webhooks_retry_schedule.attempts(), 3);
        // Environment values go through figment's own parsing first: lists stay strings.
        std::env::set_var("SBTEST_WEBHOOKS_WEBHOOKS_ALLOW_NETS", "127.0.0.1/32,::1");
        std::env::set_var("SBTEST_WEBHOOKS_WEBHOOKS_RETRY_SCHEDULE", "0s,10ms,2h");
        let from_env: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Env::prefixed("SBTEST_WEBHOOKS_"))
            .extract()
            .unwrap();
        assert_eq!(from_env.webhooks_allow_nets.to_string(), "127.0.0.1/32,::1/128");
        assert_eq!(from_env.webhooks_retry_schedule.to_string(), "0s,10ms,2h");
        let bad = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string("webhooks_retry_schedule = \"soon\""))
            .extract::<Config>();
        assert!(bad.is_err());
    }
}
