//! Job claims with a deep queue, printed (not asserted): BENCH_JOBS (default 1,000,000) due jobs
//! of one tenant plus 5 each of 20 others, then timed one-job claims. Shows that a claim stays
//! cheap however long one tenant's queue is, and that the other tenants are served at once.
//!
//!     cargo bench -p switchboard-host --bench jobs
//!     BENCH_JOBS=100000 BENCH_BACKENDS=sqlite cargo bench -p switchboard-host --bench jobs

use std::collections::HashSet;
use std::time::Instant;

use switchboard::config::Config;
use switchboard::domain::tenants::{self, NewTenant};
use switchboard::jobs::queue;
use switchboard::state::AppState;
use switchboard::store::now_ms;

mod common;

const SMALL_TENANTS: usize = 20;
const CLAIMS: usize = 2_000;

async fn tenant(state: &AppState, n: usize) -> String {
    let created = tenants::create(
        state,
        NewTenant {
            tenant_name: "Bench",
            email: &format!("jobs-{n}@example.com"),
            password: "bench password 1",
        },
        None,
    )
    .await
    .expect("tenant");
    created.tenant.id
}

/// Queues `count` due jobs for `tenant` in one statement.
async fn seed(pool: &sqlx::AnyPool, tenant: &str, count: usize, run_at: i64) {
    sqlx::query("INSERT INTO job_lanes (lane, last_claimed_at) VALUES ($1, 0) ON CONFLICT (lane) DO NOTHING")
        .bind(tenant)
        .execute(pool)
        .await
        .expect("lane");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
         INSERT INTO jobs (id, tenant_id, lane, kind, payload, status, attempts, max_attempts, run_at, created_at, \
         updated_at) SELECT 'job_' || $1 || '_' || i, $1, $1, 'bench.noop', '{}', 'queued', 0, 5, $3, $3, $3 FROM n",
    )
    .bind(tenant)
    .bind(count as i64)
    .bind(run_at)
    .execute(pool)
    .await
    .expect("jobs");
}

async fn run(backend: &str, n: usize) {
    let config = Config {
        database_url: common::database_url(backend).await,
        job_workers: 0,
        ..Config::default()
    };
    let state = AppState::start(config).await.expect("state");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&state.config.database_url).await.expect("pool");
    let now = now_ms();
    let big = tenant(&state, 0).await;
    let started = Instant::now();
    seed(&pool, &big, n, now - 60_000).await;
    let mut small = HashSet::new();
    for i in 1..=SMALL_TENANTS {
        let t = tenant(&state, i).await;
        seed(&pool, &t, 5, now).await;
        small.insert(t);
    }
    if backend == "postgres" {
        sqlx::query("ANALYZE jobs").execute(&pool).await.expect("analyze");
    }
    println!(
        "[{backend}] queued {n} jobs for one tenant in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut samples = Vec::with_capacity(CLAIMS);
    let mut served_small = 0;
    let mut small_done_at = None;
    let started = Instant::now();
    for i in 0..CLAIMS {
        let t = Instant::now();
        let jobs = queue::claim(&state.store, "bench", now + i as i64, 600_000, 1)
            .await
            .expect("claim");
        samples.push(t.elapsed());
        let tenant = jobs[0].tenant_id.clone().unwrap_or_default();
        if small.contains(&tenant) {
            served_small += 1;
            if served_small == SMALL_TENANTS * 5 {
                small_done_at = Some(i + 1);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let (p50, p99) = (
        common::percentile(&mut samples, 0.5),
        common::percentile(&mut samples, 0.99),
    );
    println!(
        "[{backend}] {CLAIMS} claims with {n} queued: {:.0} claims/s, p50 {:?}, p99 {:?}",
        CLAIMS as f64 / secs,
        p50,
        p99
    );
    println!(
        "[{backend}] the {} jobs of {SMALL_TENANTS} small tenants were all claimed within the first {:?} claims",
        SMALL_TENANTS * 5,
        small_done_at
    );
}

#[tokio::main]
async fn main() {
    let n = common::env_usize("BENCH_JOBS", 1_000_000);
    for backend in common::backends() {
        run(&backend, n).await;
    }
}
