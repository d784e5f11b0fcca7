//! Everything a request needs, built once at start-up.

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use secrecy::ExposeSecret;

use crate::auth::authz::Authz;
use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::Limiter;
use crate::config::Config;
use crate::domain::imports;
use crate::domain::plugins::Plugins;
use crate::domain::profiles::Profiles;
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
        Ok(Arc::new(Self {
            authz: Authz::new(store.clone(), Duration::from_secs(config.authz_cache_ttl_secs)),
            profiles: Profiles::new(Duration::from_secs(config.authz_cache_ttl_secs)),
            jwt: JwtKeys::new(&secret, config.access_token_ttl_secs),
            api_limiter: Limiter::per_second(config.rate_limit_per_second, config.rate_limit_burst),
            login_limiter: Limiter::per_minute(config.login_attempts_per_minute),
            plugins: Plugins::start(&config).map_err(|e| StoreError::Plugins(e.to_string()))?,
            jobs: Queue::new(config.job_max_attempts).with(imports::JOB_KIND, imports::run_job),
            store,
            config,
        }))
    }
}
