//! The Shopify plugin end to end, printed (not asserted): signed `orders/create` webhooks over
//! real HTTP into the catalog's shopify component, each verified in the plugin, deduplicated by
//! its webhook id, upserting its buyer, recording `order.created` and tagging the buyer.
//! BENCH_WEBHOOKS requests (default 10,000) from BENCH_CLIENTS concurrent clients (default 32),
//! spread over BENCH_BUYERS buyers (default 1,000), on each backend (`BENCH_BACKENDS`); then,
//! when `wrk` is installed, BENCH_WRK_WEBHOOKS more (default 40,000) from wrk for 5 s, in a
//! process of its own, over as many connections.
//!
//!     cargo bench -p switchboard-host --bench shopify

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use switchboard::config::Config;
use switchboard::domain::plugins::installations::{self, NewInstallation};
use switchboard::state::AppState;
use switchboard::store::sql::Sql;

mod common;

const SECRET: &str = "bench-shop-secret";

/// wrk's request from a line `id<TAB>signature<TAB>body`.
const WRK_REQUEST: &str = r#"local id, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
  return wrk.format("POST", nil, {["X-Shopify-Topic"] = "orders/create", ["X-Shopify-Hmac-Sha256"] = signature,
    ["X-Shopify-Webhook-Id"] = id, ["Content-Type"] = "application/json"}, body)"#;

/// One delivery: its body and signature, as Shopify would send them.
struct Delivery {
    id: String,
    body: String,
    signature: String,
}

fn delivery(i: usize, buyers: usize) -> Delivery {
    let buyer = i % buyers;
    let body = json!({
        "id": 820_982_911_946_154_508u64 + i as u64,
        "email": format!("buyer{buyer}@bench.test"),
        "total_price": format!("{}.{:02}", 10 + i % 90, i % 100),
        "currency": "USD",
        "customer": {
            "id": 115_310_627_314_723_954u64 + buyer as u64,
            "email": format!("buyer{buyer}@bench.test"),
            "first_name": "Buyer",
            "last_name": format!("N{buyer}"),
        },
    })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    Delivery {
        id: format!("bench-{i:08}"),
        body,
        signature: STANDARD.encode(mac.finalize().into_bytes()),
    }
}

async fn count(state: &AppState, ctx: &switchboard::tenancy::TenantCtx, table: &str) -> i64 {
    let mut sql = Sql::new(&format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = "));
    sql.bind(ctx.tenant_id.as_str());
    let mut read = state.store.tenant_tx(ctx).await.expect("tx");
    let n: Vec<i64> = sql.fetch_scalars(&mut read).await.expect("count");
    read.commit().await.expect("commit");
    n[0]
}

async fn run(backend: &str) {
    let requests = common::env_usize("BENCH_WEBHOOKS", 10_000);
    let clients = common::env_usize("BENCH_CLIENTS", 32);
    let buyers = common::env_usize("BENCH_BUYERS", 1_000);
    let data_dir = std::env::temp_dir().join(format!("sb_bench_shopify_{}", uuid::Uuid::now_v7().simple()));
    let config = Config {
        database_url: common::database_url(backend).await,
        data_dir: data_dir.clone(),
        plugin_catalog_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/dist").into(),
        ..Config::default()
    };
    let state: Arc<AppState> = AppState::start(config).await.expect("state");
    let ctx = common::tenant(&state, backend).await;
    let installation = installations::create(
        &state,
        &ctx,
        NewInstallation {
            plugin: "shopify".into(),
            version: None,
            config: json!({"webhook_secret": SECRET}),
            capabilities: vec!["kv".into(), "customers:write".into()],
        },
    )
    .await
    .expect("install shopify");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/v1/hooks/{}/{}/shopify",
        listener.local_addr().expect("addr"),
        ctx.tenant_id,
        installation.id
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard::app::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));

    let deliveries: Arc<Vec<Delivery>> = Arc::new((0..requests).map(|i| delivery(i, buyers)).collect());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, url, deliveries, next) = (http.clone(), url.clone(), deliveries.clone(), next.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(d) = deliveries.get(i) else {
                        return times;
                    };
                    let t = Instant::now();
                    let reply = http
                        .post(&url)
                        .header("x-shopify-topic", "orders/create")
                        .header("x-shopify-hmac-sha256", &d.signature)
                        .header("x-shopify-webhook-id", &d.id)
                        .body(d.body.clone())
                        .send()
                        .await
                        .expect("request");
                    let status = reply.status();
                    let text = reply.text().await.expect("body");
                    assert_eq!(status, 200, "{text}");
                    times.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut times: Vec<Duration> = Vec::with_capacity(requests);
    for t in tasks {
        times.extend(t.await.expect("client"));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "[{backend}] shopify orders/create: {requests} webhooks from {clients} clients in {secs:.1} s = {:.0} req/s; \
         p50 {:.1?} p99 {:.1?}; peak RSS {:.0} MB",
        requests as f64 / secs,
        common::percentile(&mut times, 0.5),
        common::percentile(&mut times, 0.99),
        common::peak_rss_mb()
    );
    // Then the same from wrk, with deliveries of its own (enough not to come round again).
    let more = common::env_usize("BENCH_WRK_WEBHOOKS", 40_000);
    let lines: Vec<String> = (requests..requests + more)
        .map(|i| {
            let d = delivery(i, buyers);
            format!("{}\t{}\t{}", d.id, d.signature, d.body)
        })
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let cpu = common::CpuSince::now(backend);
    if let Some((rate, done)) = common::wrk(&url, clients, &lines, WRK_REQUEST).await {
        println!(
            "[{backend}] shopify orders/create: {rate:.0} req/s from wrk in a process of its own, {clients} connections; \
             {}{}",
            cpu.per(done, "request"),
            if done as usize > more { " (deliveries came round again: raise BENCH_WRK_WEBHOOKS)" } else { "" }
        );
    }
    println!(
        "[{backend}] written: {} customers, {} events, {} tagged, {} runs",
        count(&state, &ctx, "customers").await,
        count(&state, &ctx, "customer_events").await,
        count(&state, &ctx, "customer_tags").await,
        count(&state, &ctx, "plugin_runs").await,
    );
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::main]
async fn main() {
    // Each backend in a process of its own, as peak RSS is the process's.
    let Some(backend) = common::backend_in_own_process() else {
        return;
    };
    run(&backend).await;
}
