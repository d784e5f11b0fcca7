//! Builds the HTTP application: every API, the middleware stack, the spec and Swagger UI.

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::make_sync;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route, Server};

use tokio::sync::watch;

use crate::api;
use crate::domain::relay;
use crate::domain::webhooks::{dispatch, retention};
use crate::http::layer::Layered;
use crate::http::state_data::StateData;
use crate::http::{body_limit, idempotency, json_errors, problem_errors, request_id, tracking_host};
use crate::jobs::Workers;
use crate::state::AppState;

/// The whole application as one endpoint.
pub fn build(state: Arc<AppState>) -> impl Endpoint {
    let service = api::service(&state.config.public_url);
    let spec = service.spec();
    let docs = service.swagger_ui();
    let limits = body_limit::Limits {
        body: state.config.max_body_bytes as u64,
        upload: state.config.max_import_bytes,
        // A plugin component plus its manifest; the handler names the component's own limit.
        plugin: state.config.plugin_max_bytes + 64 * 1024,
    };
    Route::new()
        .nest("/", service)
        .at(
            "/v1/hooks/:tenant/:installation/:route",
            poem::post(api::hooks::endpoint),
        )
        .at("/v1/webhooks/resend", poem::post(api::resend_webhooks::platform))
        .at("/v1/webhooks/resend/:tenant", poem::post(api::resend_webhooks::tenant))
        .at(
            "/openapi.json",
            make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            }),
        )
        .nest("/docs", docs)
        .at("/", make_sync(|_| Html(r#"<a href="/docs">Switchboard API docs</a>"#)))
        .with(Layered(json_errors::FieldErrors))
        .with(Layered(idempotency::Idempotency))
        .with(Layered(tracking_host::HostTenants))
        .with(Layered(StateData(state)))
        .with(Layered(body_limit::BodyLimit(limits)))
        .with(Layered(problem_errors::Problems))
        .with(Layered(request_id::RequestIds))
        .into_endpoint()
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish (up to 30 s) and the
/// job workers finish their current jobs.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    for addr in acceptor.local_addr() {
        tracing::info!(%addr, "listening");
    }
    let workers = Workers::start(state.clone());
    let pruning = tokio::spawn(housekeeping(state.clone()));
    let (stop_outbox, outbox_stopped) = watch::channel(false);
    let relay = tokio::spawn(relay::run(state.clone(), outbox_stopped.clone()));
    let dispatcher = tokio::spawn(dispatch::run(state.clone(), outbox_stopped));
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(build(state), shutdown, Some(Duration::from_secs(30)))
        .await;
    pruning.abort();
    let _ = stop_outbox.send(true);
    let _ = tokio::join!(relay, dispatcher);
    workers.stop().await;
    served
}

/// Bounded state stays bounded. Rate limiters keep state per key (every email and address that
/// tried to log in): keys back under their limit are dropped every minute. Webhook receipts,
/// finished webhook deliveries past their retention and expired plugin KV entries are deleted
/// every hour.
async fn housekeeping(state: Arc<AppState>) {
    const PRUNE_EVERY: u64 = 60;
    let mut every = tokio::time::interval(Duration::from_secs(60));
    for minute in 0u64.. {
        every.tick().await;
        state.api_limiter.shrink();
        state.login_limiter.shrink();
        if minute % PRUNE_EVERY == 0 {
            let pruned = [
                (
                    "webhook receipts",
                    crate::signatures::receipts::prune(&state.store).await,
                ),
                ("webhook deliveries", retention::prune(&state).await),
                (
                    "expired plugin KV entries",
                    crate::domain::plugins::kv_expiry::prune(&state.store).await,
                ),
            ];
            for (what, result) in pruned {
                match result {
                    Ok(n) => tracing::debug!(pruned = n, what, "pruned past retention"),
                    Err(error) => tracing::warn!(%error, what, "pruning failed"),
                }
            }
        }
    }
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
