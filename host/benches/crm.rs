//! CRM figures at scale, printed (not asserted): bulk creation, filtered list latency and
//! streamed export, over BENCH_CUSTOMERS customers (default 1,000,000) with 5 custom fields and
//! 3 tags each, on SQLite and (with SWITCHBOARD_TEST_POSTGRES_URL) PostgreSQL.
//!
//!     cargo bench -p switchboard-host --bench crm
//!     BENCH_CUSTOMERS=100000 BENCH_BACKENDS=sqlite cargo bench -p switchboard-host --bench crm

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use switchboard::config::Config;
use switchboard::domain::crm::bulk::create_many_in;
use switchboard::domain::crm::custom_fields::{self, definitions};
use switchboard::domain::crm::customers::{self, CustomerInput, ListParams, Patch};
use switchboard::domain::crm::export;
use switchboard::domain::tenants::{self, NewTenant};
use switchboard::ids::{PrefixedId, TenantId, UserId};
use switchboard::state::AppState;
use switchboard::tenancy::{Actor, TenantCtx};

const BATCH: usize = 2000;
const PLANS: [&str; 4] = ["free", "starter", "pro", "enterprise"];
const TAGS: [&str; 10] = [
    "vip",
    "newsletter",
    "beta",
    "churn-risk",
    "b2b",
    "b2c",
    "eu",
    "us",
    "apac",
    "partner",
];

fn input(i: usize) -> CustomerInput {
    let fields: Map<String, Value> = [
        ("plan", json!(PLANS[i % 4])),
        ("score", json!((i * 37) % 1000)),
        ("vip", json!(i % 10 == 0)),
        (
            "signup_date",
            json!(format!("20{:02}-{:02}-{:02}", 10 + i % 15, 1 + i % 12, 1 + i % 28)),
        ),
        ("nickname", json!(format!("nick{i}"))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    CustomerInput {
        email: Patch::Set(format!("user{i}@example.com")),
        first_name: Patch::Set(format!("First{}", i % 5000)),
        last_name: Patch::Set(format!("Last{}", i % 7919)),
        external_id: Patch::Set(format!("ext-{i}")),
        custom_fields: Some(fields),
        tags: Some(vec![
            TAGS[i % 10].to_owned(),
            TAGS[(i / 10) % 10].to_owned(),
            TAGS[(i / 100) % 10].to_owned(),
        ]),
        ..CustomerInput::default()
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

async fn database_url(backend: &str) -> String {
    let name = format!("sb_bench_{}", uuid::Uuid::now_v7().simple());
    match backend {
        "postgres" => {
            use sqlx::{Connection, Executor};
            let base = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").expect("SWITCHBOARD_TEST_POSTGRES_URL");
            let mut conn = sqlx::PgConnection::connect(&base).await.expect("postgres");
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create database");
            format!("{}/{name}", base.rsplit_once('/').expect("url").0)
        }
        _ => format!("sqlite://{}", std::env::temp_dir().join(format!("{name}.db")).display()),
    }
}

async fn run(backend: &str, n: usize) {
    let config = Config {
        database_url: database_url(backend).await,
        ..Config::default()
    };
    let state: Arc<AppState> = AppState::start(config).await.expect("state");
    let created = tenants::create(
        &state,
        NewTenant {
            tenant_name: "Bench",
            email: &format!("bench-{backend}@example.com"),
            password: "bench password 1",
        },
        None,
    )
    .await
    .expect("tenant");
    let ctx = TenantCtx::new(
        TenantId::parse(&created.tenant.id).expect("tenant id"),
        Actor::User(UserId::parse(&created.owner.id).expect("user id")),
        None,
    );
    for (key, kind, options) in [
        ("plan", "enum", PLANS.iter().map(|p| p.to_string()).collect::<Vec<_>>()),
        ("score", "number", vec![]),
        ("vip", "boolean", vec![]),
        ("signup_date", "date", vec![]),
        ("nickname", "text", vec![]),
    ] {
        custom_fields::create(&state, &ctx, key, None, kind, &options)
            .await
            .expect("custom field");
    }

    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let end = (done + BATCH).min(n);
        let mut tx = state.store.tenant_tx(&ctx).await.expect("tx");
        let defs = definitions(&mut tx, &ctx).await.expect("defs");
        let rows = (done..end).map(|i| (i, input(i))).collect();
        let results = create_many_in(&mut tx, &ctx, &defs, rows).await.expect("bulk");
        assert!(results.iter().all(|(_, r)| r.is_ok()), "every generated row is valid");
        tx.commit().await.expect("commit");
        done = end;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{backend:9} bulk create      {n} customers in {secs:.1} s = {:.0} rows/s, peak RSS {:.0} MB",
        n as f64 / secs,
        peak_rss_mb()
    );

    let mut samples = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let params = ListParams {
            tag: Some("vip".into()),
            field: Some("plan:pro".into()),
            limit: Some(50),
            ..ListParams::default()
        };
        let page = customers::list(&state, &ctx, params).await.expect("list");
        samples.push(t.elapsed());
        assert!(!page.customers.is_empty());
    }
    let (p50, p99) = (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99));
    println!("{backend:9} filtered list    first page (tag=vip, plan=pro, 50 rows): p50 {p50:.2?}, p99 {p99:.2?}");

    let t = Instant::now();
    let mut rx = export::start(state.clone(), ctx.clone(), ListParams::default())
        .await
        .expect("export");
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = rx.recv().await {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{backend:9} export           {} rows, {:.0} MB in {secs:.1} s = {:.0} rows/s",
        lines - 1,
        bytes as f64 / 1e6,
        (lines - 1) as f64 / secs
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| {
        if std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").is_ok() {
            "sqlite postgres"
        } else {
            "sqlite"
        }
        .to_owned()
    });
    for backend in backends.split_whitespace() {
        run(backend, n).await;
    }
}
