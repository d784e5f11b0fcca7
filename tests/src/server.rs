//! The server under test.

use std::sync::Arc;

use switchboard::config::Config;
use switchboard::state::AppState;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::Session;
use crate::database;

pub struct TestServer {
    pub base_url: String,
    pub http: reqwest::Client,
    pub state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server whose configuration `tweak` may adjust.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = Config {
            database_url: database::fresh_url().await.expect("test database"),
            database_max_connections: 8,
            public_url: format!("http://{addr}"),
            jwt_secret: Some("test-secret-test-secret-test-secret".to_owned().into()),
            // Generous defaults so only the tests about limits meet them.
            rate_limit_per_second: 10_000,
            rate_limit_burst: 10_000,
            login_attempts_per_minute: 1_000,
            data_dir: std::env::temp_dir().join(format!("sb_data_{}", uuid::Uuid::now_v7().simple())),
            // Background work in tests waits on short timers, never on production ones.
            job_poll_ms: 20,
            job_backoff_base_ms: 5,
            plugin_catalog_dir: crate::plugins::CATALOG.into(),
            plugin_concurrency: 8,
            ..Config::default()
        };
        tweak(&mut config);
        let state = AppState::start(config).await.expect("server state");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(switchboard::app::serve(state.clone(), listener, async {
            let _ = rx.await;
        }));
        Self {
            base_url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A client with no credential.
    pub fn anonymous(&self) -> Session {
        Session::new(self.http.clone(), self.base_url.clone(), None)
    }

    /// Signs up a new tenant and returns its owner's session.
    pub async fn signup(&self, tenant_name: &str) -> Session {
        let email = format!("owner-{}@example.com", uuid::Uuid::now_v7().simple());
        let reply = self
            .anonymous()
            .post(
                "/v1/signup",
                serde_json::json!({"tenant_name": tenant_name, "email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(reply.status, 201, "signup failed: {}", reply.body);
        let token = reply.body["tokens"]["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        let mut session = Session::new(self.http.clone(), self.base_url.clone(), Some(token));
        session.tenant_id = reply.body["tenant"]["id"].as_str().unwrap_or_default().to_owned();
        session.user_id = reply.body["user"]["id"].as_str().unwrap_or_default().to_owned();
        session.email = email;
        session.refresh_token = reply.body["tokens"]["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        session
    }

    /// Awaits background jobs until `check` returns `Some`: it is called now and again after
    /// every job attempt this server settles, so there is no polling interval to tune. Panics
    /// after 30 s.
    pub async fn until_jobs<T, F, Fut>(&self, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        // Subscribed before the first check, so an attempt settled in between is not missed.
        let mut settled = self.state.jobs.settled();
        let wait = async {
            loop {
                if let Some(v) = check().await {
                    return v;
                }
                settled.changed().await.expect("job queue alive");
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), wait)
            .await
            .expect("background jobs did not get there within 30 s")
    }

    /// Like [`TestServer::until_jobs`], for webhook deliveries: `check` runs now and after
    /// every batch of attempts the dispatcher records. Panics after 30 s.
    pub async fn until_webhooks<T, F, Fut>(&self, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let mut settled = self.state.webhooks.settled();
        let wait = async {
            loop {
                if let Some(v) = check().await {
                    return v;
                }
                settled.changed().await.expect("dispatcher alive");
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), wait)
            .await
            .expect("webhook deliveries did not get there within 30 s")
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
