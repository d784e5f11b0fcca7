//! What the benchmarks share: a fresh database per run, the backends to run on, peak RSS,
//! percentiles, a tenant.
#![allow(dead_code)] // each bench binary uses its own subset

use std::time::Duration;

use switchboard::domain::tenants::{self, NewTenant};
use switchboard::ids::{PrefixedId, TenantId, UserId};
use switchboard::state::AppState;
use switchboard::tenancy::{Actor, TenantCtx};

pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// The resident set now.
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// A size in `/proc/self/status`, in MB.
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Starts peak RSS over from the current RSS (Linux's `clear_refs` 5), so [`peak_rss_mb`] tells
/// one phase's peak instead of the whole run's.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU seconds this process has used: on a machine shared with other work, a steadier figure
/// than wall time (it leaves out the database server's own CPU on PostgreSQL).
pub fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    process_cpu(&stat, Children::Left).map_or(0.0, |(_, secs)| secs)
}

/// CPU seconds used by the PostgreSQL server's processes on this machine (0 when it runs
/// elsewhere): with [`cpu_secs`], where a request's CPU goes. A backend that exited (a closed
/// bulk connection) is counted too: the postmaster reaps it, which adds its CPU to the
/// postmaster's children's time.
pub fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| process_cpu(&stat, Children::Reaped))
        .filter(|(name, _)| name == "postgres")
        .map(|(_, secs)| secs)
        .sum()
}

/// CPU spent from a point on, by this process (the server) and, when the backend is
/// PostgreSQL, by PostgreSQL's processes.
pub struct CpuSince {
    own: f64,
    postgres: Option<f64>,
}

impl CpuSince {
    pub fn now(backend: &str) -> Self {
        Self {
            own: cpu_secs(),
            postgres: (backend == "postgres").then(postgres_cpu_secs),
        }
    }

    /// Each of `count` items' share since then (a request over a wrk run, a row of an import):
    /// the server's CPU, and PostgreSQL's when it is the backend and runs on this machine.
    pub fn per(&self, count: u64, item: &str) -> String {
        let per = |secs: f64| secs / count.max(1) as f64 * 1e6;
        let own = format!("{:.0} µs of server CPU per {item}", per(cpu_secs() - self.own));
        match self.postgres.map(|before| postgres_cpu_secs() - before) {
            Some(pg) if pg > 0.0 => format!("{own}, {:.0} µs of PostgreSQL's", per(pg)),
            _ => own,
        }
    }
}

/// Whether a process's CPU includes its children's that it waited for.
#[derive(Clone, Copy, PartialEq)]
enum Children {
    /// Left out: the bench's own children (`wrk`) are not the server.
    Left,
    Reaped,
}

/// A process's name and CPU seconds from its `/proc/<pid>/stat`.
fn process_cpu(stat: &str, children: Children) -> Option<(String, f64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    // Fields after the parenthesised name; utime and stime are the 12th and 13th, the waited-for
    // children's cutime and cstime the 14th and 15th.
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(if children == Children::Reaped { 4 } else { 2 })
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    Some((name, ticks / 100.0))
}

/// A fresh database for `backend` (`sqlite` or `postgres`, the latter at
/// `SWITCHBOARD_TEST_POSTGRES_URL`). Earlier runs' databases are removed first: a 1M-row run
/// leaves gigabytes, on a disk CI shares. PostgreSQL refuses to drop a database in use, so a
/// bench still running keeps its own; SQLite files are removed regardless (run one bench at a
/// time, as the figures need anyway).
pub async fn database_url(backend: &str) -> String {
    let name = format!("sb_bench_{}", uuid::Uuid::now_v7().simple());
    match backend {
        "postgres" => {
            use sqlx::{Connection, Executor};
            let base = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").expect("SWITCHBOARD_TEST_POSTGRES_URL");
            let mut conn = sqlx::PgConnection::connect(&base).await.expect("postgres");
            let stale: Vec<String> =
                sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'sb\\_bench\\_%'")
                    .fetch_all(&mut conn)
                    .await
                    .expect("list databases");
            for old in stale {
                if let Err(e) = conn.execute(format!("DROP DATABASE IF EXISTS {old}").as_str()).await {
                    println!("kept {old}: {e}");
                }
            }
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create database");
            // Only the database changes: the rest (`?sslmode=…`, a socket `host=`) stays.
            let mut url = url::Url::parse(&base).expect("url");
            url.set_path(&name);
            url.into()
        }
        _ => {
            let dir = std::env::temp_dir();
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let file = entry.file_name();
                let file = file.to_string_lossy();
                if file.starts_with("sb_bench_") && file.contains(".db") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
    }
}

/// The backends to run: `BENCH_BACKENDS`, else SQLite plus PostgreSQL when its URL is set.
pub fn backends() -> Vec<String> {
    let chosen = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| {
        if std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").is_ok() {
            "sqlite postgres"
        } else {
            "sqlite"
        }
        .to_owned()
    });
    chosen.split_whitespace().map(str::to_owned).collect()
}

/// With one backend chosen, answers it. With several, runs this bench again for each, in a
/// process of its own, and answers `None`: peak RSS is the process's, so the second backend's
/// figure would otherwise count the first one's run.
pub fn backend_in_own_process() -> Option<String> {
    let mut backends = backends();
    if backends.len() == 1 {
        return backends.pop();
    }
    let me = std::env::current_exe().expect("the bench's path");
    for backend in backends {
        let status = std::process::Command::new(&me)
            .args(std::env::args_os().skip(1))
            .env("BENCH_BACKENDS", &backend)
            .status()
            .expect("running the bench");
        assert!(status.success(), "the {backend} run failed: {status}");
    }
    None
}

/// The number in environment variable `name`, else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The `p` quantile (0 to 1) of `samples`, which it sorts.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

/// A new tenant, and its owner acting on it.
pub async fn tenant(state: &AppState, backend: &str) -> TenantCtx {
    let created = tenants::create(
        state,
        NewTenant {
            tenant_name: "Bench",
            email: &format!("bench-{backend}-{}@example.com", uuid::Uuid::now_v7().simple()),
            password: "bench password 1",
        },
        None,
    )
    .await
    .expect("tenant");
    TenantCtx::new(
        TenantId::parse(&created.tenant.id).expect("tenant id"),
        Actor::User(UserId::parse(&created.owner.id).expect("user id")),
        None,
    )
}

/// Requests/s and requests that `wrk` (when installed) drives at `base` for 5 s with
/// `connections`, from a process of its own: the server's figure without the load client's own
/// cost in this process. Each request is made by `request`, the body of a Lua function that has
/// the next of `lines` (in turn, starting over at the end) as `line`.
pub async fn wrk(base: &str, connections: usize, lines: &[&str], request: &str) -> Option<(f64, u64)> {
    let dir = std::env::temp_dir().join(format!("sb_bench_wrk_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(dir.join("lines"), lines.join("\n")).ok()?;
    let script = format!(
        r#"local lines = {{}}
for line in io.lines("{}") do lines[#lines + 1] = line end
local i = 0
request = function()
  local line = lines[i % #lines + 1]
  i = i + 1
  {request}
end
"#,
        dir.join("lines").display()
    );
    std::fs::write(dir.join("script.lua"), script).ok()?;
    let run = tokio::process::Command::new("wrk")
        .args(["-t1", "-d5s", &format!("-c{connections}"), "-s"])
        .arg(dir.join("script.lua"))
        .arg(base)
        .output()
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    let out = String::from_utf8(run.ok()?.stdout).ok()?;
    let errors = out
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
    if let Some(line) = errors {
        println!("  wrk: {}", line.trim());
    }
    let rate = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())?;
    // "  123456 requests in 5.00s, 12.34MB read"
    let done = out
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())?;
    Some((rate, done))
}
