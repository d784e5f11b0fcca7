//! Plugin runtime figures, printed (not asserted): compile and cache times, instantiate-and-call
//! throughput and latency of a trivial handler on one thread, and a handler making 10 KV host
//! calls (against an in-memory host, and against the real store on SQLite). Uses the hostile
//! test plugin, and for the compile figures also the large one (about 2 MB), both built under
//! `tests/plugins/dist/`.
//!
//!     cargo bench -p switchboard-host --bench plugins
//!     BENCH_CALLS=200000 cargo bench -p switchboard-host --bench plugins

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use switchboard::config::Config;
use switchboard::domain::plugins::host::TenantHost;
use switchboard::domain::plugins::installations::{self, NewInstallation};
use switchboard::domain::plugins::uploads;
use switchboard::plugins::bindings::{Customer, CustomerInput, Event, HttpResponse, Message, OutgoingRequest};
use switchboard::plugins::capabilities::Capability;
use switchboard::plugins::compiler::Tier;
use switchboard::plugins::host_api::NoHost;
use switchboard::plugins::runtime::CallSetup;
use switchboard::plugins::{Grants, HostApi, HostResult, Input, Limits, Outcome, Prepared, Runtime};
use switchboard::state::AppState;

mod common;

const WASM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/plugins/dist/hostile.wasm");
const LARGE_WASM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/plugins/dist/large.wasm");

/// A KV host in memory: measures the runtime's host-call path without a database.
#[derive(Default)]
struct MemoryKv(HashMap<String, Vec<u8>>);

impl HostApi for MemoryKv {
    fn kv_get(&mut self, key: &str) -> HostResult<Option<Vec<u8>>> {
        Ok(self.0.get(key).cloned())
    }
    fn kv_put(&mut self, key: &str, value: &[u8], _: Option<u64>) -> HostResult<()> {
        self.0.insert(key.to_owned(), value.to_vec());
        Ok(())
    }
    fn kv_delete(&mut self, key: &str) -> HostResult<()> {
        self.0.remove(key);
        Ok(())
    }
    fn kv_list(&mut self, p: &str, a: Option<&str>, l: u32) -> HostResult<Vec<String>> {
        NoHost.kv_list(p, a, l)
    }
    fn customer_get(&mut self, id: &str) -> HostResult<Option<Customer>> {
        NoHost.customer_get(id)
    }
    fn customer_search(&mut self, q: &str, l: u32) -> HostResult<Vec<Customer>> {
        NoHost.customer_search(q, l)
    }
    fn customer_upsert(&mut self, i: CustomerInput) -> HostResult<Customer> {
        NoHost.customer_upsert(i)
    }
    fn tag(&mut self, id: &str, a: Vec<String>, r: Vec<String>) -> HostResult<()> {
        NoHost.tag(id, a, r)
    }
    fn track_event(&mut self, id: &str, t: &str, p: &str) -> HostResult<()> {
        NoHost.track_event(id, t, p)
    }
    fn send_message(&mut self, m: Message) -> HostResult<String> {
        NoHost.send_message(m)
    }
    fn http_fetch(&mut self, r: OutgoingRequest) -> HostResult<HttpResponse> {
        NoHost.http_fetch(r)
    }
    fn schedule(&mut self, d: u64, t: &str, x: &str) -> HostResult<()> {
        NoHost.schedule(d, t, x)
    }
}

fn event(kind: &str, data: &str) -> Input {
    Input::Event(Event {
        id: "dev_bench".into(),
        event_type: kind.into(),
        data: data.into(),
        occurred_at_ms: 0,
    })
}

/// The large plugin's work: a Jinja loop rendering 100 Markdown links, turned into HTML, the
/// links found by a regex and parsed as URLs. Shows what the compiler settings cost at run time.
const RENDER: &str = r#"{"template": "{% for i in range(n) %}* [item {{ i }}](https://x{{ i }}.example.com/p?q={{ i }})\n{% endfor %}", "values": {"n": 100}}"#;

/// Runs `kind` `n` times on this thread and prints calls/s and latency percentiles.
fn measure(
    label: &str,
    runtime: &Runtime,
    prepared: &Prepared,
    (kind, data): (&str, &str),
    n: usize,
    host: impl Fn() -> Box<dyn HostApi>,
) {
    let grants = Grants::new([Capability::Kv]);
    let mut times = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let setup = CallSetup {
            host: host(),
            grants: grants.clone(),
            config: "{}".into(),
        };
        let t = Instant::now();
        let run = runtime.invoke(prepared, setup, event(kind, data));
        times.push(t.elapsed());
        assert_eq!(run.outcome, Outcome::Ok, "{label}: {:?}", run.error);
    }
    let total = started.elapsed();
    println!(
        "{label}: {n} calls in {total:.2?} = {:.0}/s on one thread; p50 {:.1?} p90 {:.1?} p99 {:.1?}",
        n as f64 / total.as_secs_f64(),
        common::percentile(&mut times, 0.5),
        common::percentile(&mut times, 0.9),
        common::percentile(&mut times, 0.99),
    );
}

/// Compiles `wasm` as the first invocation after an upload does (the quick tier), waits for the
/// optimised compile the runtime starts in the background, then prepares it again from the
/// memory cache and from the disk cache (as a new process would). Returns the quick and the
/// optimised code.
fn compile_figures(runtime: &Arc<Runtime>, disk: &std::path::Path, wasm: &[u8]) -> (Arc<Prepared>, Arc<Prepared>) {
    let kb = wasm.len() / 1024;
    let t = Instant::now();
    let quick = runtime.prepare(wasm).expect("compile");
    println!(
        "compile + link {kb} KB component, quick tier (the first run's wait): {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    runtime.finish_optimizing(&quick.sha256);
    println!("  optimised tier, compiled in the background: {:.1?}", t.elapsed());
    let t = Instant::now();
    let prepared = runtime.prepare(wasm).expect("cached");
    println!("  prepare again (memory cache): {:.1?}", t.elapsed());
    assert_eq!(prepared.tier, Tier::Optimized);
    let fresh = Arc::new(Runtime::new(Limits::default(), 4, Some(disk.to_owned())).expect("runtime"));
    let t = Instant::now();
    fresh.prepare(wasm).expect("from disk");
    println!("  prepare in a new process (disk cache): {:.1?}", t.elapsed());
    (quick, prepared)
}

fn main() {
    let n = common::env_usize("BENCH_CALLS", 100_000);
    let disk = std::env::temp_dir().join(format!("sb_bench_plugins_{}", uuid::Uuid::now_v7().simple()));
    let runtime = Arc::new(Runtime::new(Limits::default(), 4, Some(disk.clone())).expect("runtime"));
    let (large_quick, large) = compile_figures(
        &runtime,
        &disk,
        &std::fs::read(LARGE_WASM).expect("tests/plugins/dist/large.wasm"),
    );
    let hostile = std::fs::read(WASM).expect("tests/plugins/dist/hostile.wasm");
    let (_, prepared) = compile_figures(&runtime, &disk, &hostile);

    let (noop, kv10) = (("noop", "{}"), ("kv10", "{}"));
    measure("trivial handler, warm-up", &runtime, &prepared, noop, n / 10, || {
        Box::new(NoHost)
    });
    measure("trivial handler", &runtime, &prepared, noop, n, || Box::new(NoHost));
    measure("10 KV gets, in-memory host", &runtime, &prepared, kv10, n / 2, || {
        Box::new(MemoryKv::default())
    });
    measure(
        "large plugin rendering 100 links",
        &runtime,
        &large,
        ("render", RENDER),
        n / 50,
        || Box::new(NoHost),
    );
    measure(
        "the same on the quick tier's code",
        &runtime,
        &large_quick,
        ("render", RENDER),
        n / 200,
        || Box::new(NoHost),
    );

    // The same handler against the real store, on each backend (`BENCH_BACKENDS`).
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    for backend in common::backends() {
        let (state, ctx, installation) = tokio.block_on(async {
            let config = Config {
                database_url: common::database_url(&backend).await,
                data_dir: std::env::temp_dir().join(format!("sb_bench_data_{}", uuid::Uuid::now_v7().simple())),
                ..Config::default()
            };
            let state: Arc<AppState> = AppState::start(config).await.expect("state");
            let ctx = common::tenant(&state, &backend).await;
            // An installation of the hostile plugin owns the KV namespace.
            let manifest = std::fs::read_to_string(WASM.replace(".wasm", ".toml")).expect("hostile.toml");
            let plugin = uploads::upload(&state, &ctx, hostile.clone(), &manifest)
                .await
                .expect("upload");
            let new = NewInstallation {
                plugin: plugin.id,
                version: None,
                config: serde_json::json!({}),
                capabilities: vec!["kv".into()],
            };
            let installation = installations::create(&state, &ctx, new).await.expect("install");
            (state, ctx, installation.id)
        });
        let handle = tokio.handle().clone();
        let host = || {
            TenantHost::new(
                state.clone(),
                ctx.clone(),
                installation.clone(),
                "dev_bench".into(),
                handle.clone(),
            )
        };
        // The keys the handler reads hold values, as they would in use.
        let mut seeding = host();
        for i in 0..10 {
            seeding
                .kv_put(&format!("k{i}"), b"a small value", None)
                .expect("kv put");
        }
        seeding.commit_writes().expect("commit");
        measure(
            &format!("10 KV gets, {backend} store"),
            &runtime,
            &prepared,
            kv10,
            n / 20,
            || Box::new(host()),
        );
        let _ = std::fs::remove_dir_all(&state.config.data_dir);
    }
    let _ = std::fs::remove_dir_all(disk);
}
