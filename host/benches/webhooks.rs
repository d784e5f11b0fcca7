//! Webhook delivery figures, printed (not asserted). Events are committed to the outbox at a
//! steady rate (each in its own transaction, as the API does), fanned out to ENDPOINTS
//! endpoints on a local receiver that answers at once, and timed from the event's commit to
//! the receiver getting the request. Two scenarios: every endpoint answering 200, then 20% of
//! the endpoints answering 500 (healthy endpoints' latency is what matters there). On SQLite
//! and (with SWITCHBOARD_TEST_POSTGRES_URL) PostgreSQL.
//!
//!     cargo bench -p switchboard-host --bench webhooks
//!     BENCH_RATE=5000 BENCH_SECS=10 BENCH_BACKENDS=sqlite cargo bench -p switchboard-host --bench webhooks

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::Path;
use poem::{handler, http::StatusCode, EndpointExt, Request, Route, Server};
use serde_json::json;
use switchboard::config::Config;
use switchboard::domain::relay;
use switchboard::domain::webhooks::dispatch;
use switchboard::domain::webhooks::endpoints::{self, EndpointInput};
use switchboard::state::AppState;
use switchboard::store::{self, now_ms};
use tokio::sync::watch;

/// Endpoints subscribed to every event: each event becomes this many deliveries.
const ENDPOINTS: usize = 10;
/// Tasks committing events side by side.
const PRODUCERS: usize = 8;

/// What the receiver saw: (webhook-id, endpoint number, arrival).
type Arrivals = Arc<Mutex<Vec<(String, usize, Instant)>>>;

#[handler]
fn receive(
    req: &Request,
    Path((n, answer)): Path<(usize, String)>,
    arrivals: poem::web::Data<&Arrivals>,
) -> StatusCode {
    let id = req.header("webhook-id").unwrap_or_default().to_owned();
    arrivals.lock().unwrap().push((id, n, Instant::now()));
    if answer == "fail" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn start_receiver(arrivals: Arrivals) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    let addr = *acceptor.local_addr()[0].as_socket_addr().expect("address");
    let app = Route::new().at("/:n/:answer", receive).data(arrivals);
    tokio::spawn(async move { Server::new_with_acceptor(acceptor).run(app).await });
    format!("http://{addr}")
}

struct Figures {
    /// Deliveries per second the producers managed to offer (all endpoints).
    offered: f64,
    delivered: usize,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

async fn scenario(backend: &str, rate: usize, secs: u64, failing: usize) -> Figures {
    let config = Config {
        database_url: common::database_url(backend).await,
        webhooks_allow_nets: "127.0.0.1/32".parse().unwrap(),
        webhooks_allow_http: true,
        ..Config::default()
    };
    let state: Arc<AppState> = AppState::start(config).await.expect("state");
    let ctx = common::tenant(&state, backend).await;
    let arrivals: Arrivals = Arc::default();
    let base = start_receiver(arrivals.clone()).await;
    for n in 0..ENDPOINTS {
        let answer = if n < failing { "fail" } else { "ok" };
        let input = EndpointInput {
            url: format!("{base}/{n}/{answer}"),
            description: None,
            event_types: vec![],
            headers: Default::default(),
            rate_limit: None,
            enabled: true,
        };
        endpoints::create(&state, &ctx, input).await.expect("endpoint");
    }
    let (stop, stopped) = watch::channel(false);
    let relay = tokio::spawn(relay::run(state.clone(), stopped.clone()));
    let dispatcher = tokio::spawn(dispatch::run(state.clone(), stopped));

    // Offer `rate` deliveries per second: rate / ENDPOINTS events, in 10 ms ticks, from several
    // producers (one event per transaction, as the API writes them; one producer alone cannot
    // commit 500 transactions a second on PostgreSQL).
    let events_per_sec = (rate / ENDPOINTS).max(1);
    let total = events_per_sec * secs as usize;
    let commits: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (state, ctx, commits) = (state.clone(), ctx.clone(), commits.clone());
            tokio::spawn(async move {
                let data = json!({"id": "cus_bench", "email": "someone@example.com", "tags": ["a", "b"]}).to_string();
                let mine = total / PRODUCERS + usize::from(p < total % PRODUCERS);
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                let mut sent = 0;
                while sent < mine {
                    tick.tick().await;
                    let due = (started.elapsed().as_secs_f64() * events_per_sec as f64 / PRODUCERS as f64) as usize;
                    while sent < due.min(mine) {
                        let mut tx = state.store.tenant_tx(&ctx).await.expect("tx");
                        let id = store::outbox::insert(&mut tx, &ctx, "customer.created", &data, now_ms())
                            .await
                            .expect("event");
                        tx.commit().await.expect("commit");
                        commits.lock().unwrap().insert(id, Instant::now());
                        sent += 1;
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.expect("producer");
    }
    let offered = total as f64 * ENDPOINTS as f64 / started.elapsed().as_secs_f64();
    let healthy = ENDPOINTS - failing;
    let expected = total * healthy;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut done = HashMap::new();
    while Instant::now() < deadline {
        done.clear();
        for (id, n, at) in arrivals.lock().unwrap().iter() {
            if *n >= failing {
                done.entry((id.clone(), *n)).or_insert(*at);
            }
        }
        if done.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = tokio::join!(relay, dispatcher);
    let commits = commits.lock().unwrap();
    let mut latencies: Vec<Duration> = done
        .iter()
        .map(|((id, _), at)| at.duration_since(commits[id]))
        .collect();
    let last = done.values().max().copied().unwrap_or(started);
    Figures {
        offered,
        delivered: done.len(),
        per_sec: done.len() as f64 / last.duration_since(started).as_secs_f64(),
        p50: common::percentile(&mut latencies, 0.5),
        p99: common::percentile(&mut latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

fn print(label: &str, f: &Figures) {
    println!(
        "  {label:<26} offered {:>5.0}/s  {:>6} delivered  {:>5.0}/s  commit→delivered p50 {:>4} ms  p99 {:>4} ms  max {:>5} ms",
        f.offered,
        f.delivered,
        f.per_sec,
        f.p50.as_millis(),
        f.p99.as_millis(),
        f.max.as_millis()
    );
}

#[tokio::main]
async fn main() {
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let rate = var("BENCH_RATE", 5000) as usize;
    let secs = var("BENCH_SECS", 10);
    for backend in common::backends() {
        println!("webhooks on {backend}: {rate} deliveries/s offered for {secs} s to {ENDPOINTS} endpoints");
        let all_ok = scenario(&backend, rate, secs, 0).await;
        print("all endpoints answer 200", &all_ok);
        let some_fail = scenario(&backend, rate, secs, ENDPOINTS / 5).await;
        print("20% answer 500 (healthy)", &some_fail);
        println!(
            "  healthy p99 with failing endpoints: {:.2}× the all-healthy p99",
            some_fail.p99.as_secs_f64() / all_ok.p99.as_secs_f64().max(1e-9)
        );
    }
}
