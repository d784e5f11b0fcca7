//! Everything a request needs, built once at start-up.

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use secrecy::ExposeSecret;
use sha2::Digest;

use crate::auth::authz::Authz;
use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::Limiter;
use crate::config::Config;
use crate::domain::email::recorder::Recorder;
use crate::domain::email::tracking_domain::TrackingHosts;
use crate::domain::plugins::Plugins;
use crate::domain::profiles::Profiles;
use crate::domain::webhooks::Webhooks;
use crate::domain::{campaigns, imports, plugins};
use crate::egress;
use crate::jobs::Queue;
use crate::store::{Store, StoreError};

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub authz: Authz,
    /// Users and tenants for the authenticated hot path.
    pub profiles: Profiles,
    pub jwt: JwtKeys,
    /// Requests per principal.
    pub api_limiter: Limiter,
    /// Login attempts per email and per client address.
    pub login_limiter: Limiter,
    /// The job queue's handlers and local wake-ups; workers run in `app::serve`.
    pub jobs: Queue,
    /// Outgoing webhooks: the guarded HTTP client and the dispatcher's wake-ups.
    pub webhooks: Webhooks,
    /// One HTTP client (connection pools, TLS) for every outside provider.
    pub http: reqwest::Client,
    /// The client for provider URLs a tenant chose (its own Resend base URL): behind the same
    /// SSRF guard as outgoing webhooks.
    pub tenant_http: reqwest::Client,
    /// Which tenant a tracking domain belongs to.
    pub tracking_hosts: TrackingHosts,
    /// Writes opens and clicks, group-committed.
    pub tracking_recorder: Recorder,
    /// HMAC key of links in emails (unsubscribe), derived from the JWT secret: set that secret
    /// or links sent before a restart stop working.
    pub link_key: Vec<u8>,
    /// The plugin runtime, catalog and secrets.
    pub plugins: Plugins,
}

impl AppState {
    /// Connects to the database and applies migrations.
    pub async fn start(config: Config) -> Result<Arc<Self>, StoreError> {
        let store = Store::connect(&config.database_url, config.database_max_connections).await?;
        store.migrate().await?;
        let secret = match &config.jwt_secret {
            Some(s) => s.expose_secret().as_bytes().to_vec(),
            None => {
                tracing::warn!("SWITCHBOARD_JWT_SECRET is unset: using a per-process key");
                let mut key = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                key
            }
        };
        // Building the client fails only when the TLS backend cannot start: a broken install.
        let webhooks = Webhooks::new(&config).expect("the webhook HTTP client builds");
        let email_timeout = Duration::from_secs(config.email_timeout_secs.max(1));
        Ok(Arc::new(Self {
            authz: Authz::new(store.clone(), Duration::from_secs(config.authz_cache_ttl_secs)),
            profiles: Profiles::new(Duration::from_secs(config.authz_cache_ttl_secs)),
            jwt: JwtKeys::new(&secret, config.access_token_ttl_secs),
            api_limiter: Limiter::per_second(config.rate_limit_per_second, config.rate_limit_burst),
            login_limiter: Limiter::per_minute(config.login_attempts_per_minute),
            tenant_http: egress::client::guarded(webhooks.egress.shared_policy(), email_timeout)
                .build()
                .map_err(|e| StoreError::Db(sqlx::Error::Configuration(e.into())))?,
            tracking_hosts: TrackingHosts::new(Duration::from_secs(config.authz_cache_ttl_secs), &config.public_url),
            tracking_recorder: Recorder::start(store.clone()),
            webhooks,
            jobs: Queue::new(config.job_max_attempts)
                .with(imports::JOB_KIND, imports::run_job)
                .with(campaigns::send::JOB_KIND, campaigns::send::run_job)
                .with(plugins::dispatch::JOB_KIND, plugins::dispatch::run_job)
                .with(plugins::ticks::JOB_KIND, plugins::ticks::run_job),
            link_key: sha2::Sha256::new_with_prefix(b"switchboard email links\0")
                .chain_update(&secret)
                .finalize()
                .to_vec(),
            http: reqwest::Client::builder()
                .timeout(email_timeout)
                .build()
                .map_err(|e| StoreError::Db(sqlx::Error::Configuration(e.into())))?,
            plugins: Plugins::start(&config).map_err(|e| StoreError::Plugins(e.to_string()))?,
            store,
            config,
        }))
    }
}
