//! The engine: components compiled once per content hash (in memory with moka, on disk under
//! the data dir), pre-instantiated, and invoked in a fresh store per call with fuel, an epoch
//! deadline, a memory cap and a host-call budget. A failing invocation only ends itself.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline};

use super::bindings::{Event, HttpRequest, HttpResponse, Plugin, PluginPre};
use super::capabilities::Grants;
use super::glue::{Call, HostCallsExceeded};
use super::host_api::HostApi;
use super::limits::{Limiter, Limits};
use super::outcome::{classify, Outcome, Run};

/// How often the epoch advances: the granularity of the wall-clock limit.
const EPOCH_TICK: Duration = Duration::from_millis(2);
/// The wall-clock budget covers the plugin's own time; with host calls included an invocation
/// may take at most this many budgets.
const MAX_WALL_WITH_HOST_CALLS: u32 = 100;

/// Bytes of each memory and table slot kept mapped between calls: a small plugin's stack, data
/// and heap.
const KEEP_RESIDENT: usize = 4 << 20;

fn ticks(d: Duration) -> u64 {
    (d.as_millis().div_ceil(EPOCH_TICK.as_millis()) as u64).max(1)
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    Invalid(String),
    #[error("plugin engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A compiled, pre-instantiated component, ready to run in a fresh store.
pub struct Prepared {
    pre: PluginPre<Call>,
    pub sha256: String,
}

/// What to run.
pub enum Input {
    Event(Event),
    Transform(HttpRequest),
    Tick { schedule: String, now_ms: i64 },
}

impl Input {
    fn size(&self) -> usize {
        match self {
            Input::Event(e) => e.data.len(),
            Input::Transform(r) => r.body.len() + r.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(),
            Input::Tick { schedule, .. } => schedule.len(),
        }
    }
}

/// What a successful handler returned.
#[derive(Debug, Clone)]
pub enum Output {
    /// An event handler's JSON output ("" for none).
    Event(String),
    Transform(HttpResponse),
    Tick,
}

impl Output {
    fn size(&self) -> usize {
        match self {
            Output::Event(s) => s.len(),
            Output::Transform(r) => r.body.len() + r.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(),
            Output::Tick => 0,
        }
    }
}

/// The tenant side of one invocation.
pub struct CallSetup {
    pub host: Box<dyn HostApi>,
    pub grants: Grants,
    /// The installation's configuration as JSON, secrets included.
    pub config: String,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<Call>,
    limits: Limits,
    cache: moka::sync::Cache<String, Arc<Prepared>>,
    /// Compiled code on disk, by content hash; `None` keeps it in memory only.
    disk: Option<PathBuf>,
}

impl Runtime {
    /// An engine with the pooling allocator sized for `concurrency` simultaneous invocations.
    pub fn new(limits: Limits, concurrency: u32, disk: Option<PathBuf>) -> Result<Self, RuntimeError> {
        let mut pool = PoolingAllocationConfig::default();
        let n = concurrency.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 2)
            .total_tables(n * 8)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(8)
            .max_memory_size(limits.memory_bytes)
            .table_elements(limits.table_elements)
            // Reset a slot's dirty pages in place rather than unmapping them: each unmap costs a
            // TLB shootdown and the next call page-faults them back. With PAGEMAP_SCAN (Linux
            // 6.7+) only the pages a call wrote are reset. Measured: a trivial call's p50 went
            // from 35 to 30 µs, ten KV gets on SQLite from 198 to 101 µs.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            .pagemap_scan(Enabled::Auto);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack_bytes)
            .wasm_component_model(true);
        let engine = Engine::new(&config).map_err(RuntimeError::Engine)?;
        let mut linker = Linker::new(&engine);
        Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |c| c)
            .map_err(RuntimeError::Engine)?;
        if let Some(dir) = &disk {
            std::fs::create_dir_all(dir)?;
        }
        spawn_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker,
            limits,
            cache: moka::sync::Cache::builder().max_capacity(256).build(),
            disk,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The prepared component with this content hash, if compiled before (memory, then disk).
    pub fn cached(&self, sha256: &str) -> Option<Arc<Prepared>> {
        if let Some(p) = self.cache.get(sha256) {
            return Some(p);
        }
        let prepared = self.linked_from_disk(sha256)?.ok()?;
        self.cache.insert(sha256.to_owned(), prepared.clone());
        Some(prepared)
    }

    /// The component compiled before under `sha256`, linked; `None` when not on disk.
    fn linked_from_disk(&self, sha256: &str) -> Option<Result<Arc<Prepared>, RuntimeError>> {
        let component = self.load_compiled(sha256)?;
        Some(self.pre(component, sha256).map(Arc::new))
    }

    /// Compiles `wasm` (or takes it from the caches) and pre-instantiates it. Runs asking for
    /// the same code at once share one compilation: the first compiles, the others wait for it
    /// (a burst of webhooks to a plugin not yet compiled no longer compiles it once each).
    pub fn prepare(&self, wasm: &[u8]) -> Result<Arc<Prepared>, RuntimeError> {
        let sha = sha256_hex(wasm);
        self.cache
            .try_get_with_by_ref(&sha, || match self.linked_from_disk(&sha) {
                Some(prepared) => prepared,
                None => self.linked_and_stored(self.compile(wasm)?, &sha),
            })
            .map_err(|shared| Arc::try_unwrap(shared).unwrap_or_else(|e| RuntimeError::Invalid(e.to_string())))
    }

    /// Links a freshly compiled component and caches it, in memory and on disk.
    pub fn admit(&self, component: Component, sha256: &str) -> Result<Arc<Prepared>, RuntimeError> {
        let prepared = self.linked_and_stored(component, sha256)?;
        self.cache.insert(sha256.to_owned(), prepared.clone());
        Ok(prepared)
    }

    /// Links a compiled component and writes it to the disk cache.
    fn linked_and_stored(&self, component: Component, sha256: &str) -> Result<Arc<Prepared>, RuntimeError> {
        let prepared = Arc::new(self.pre(component.clone(), sha256)?);
        if let Some(path) = self.disk_path(sha256) {
            let written = component
                .serialize()
                .map_err(|e| std::io::Error::other(format!("{e:#}")))
                .and_then(|bytes| {
                    let tmp = path.with_extension("tmp");
                    std::fs::write(&tmp, bytes)?;
                    std::fs::rename(&tmp, &path)
                });
            if let Err(error) = written {
                tracing::warn!(%error, "could not cache a compiled plugin on disk");
            }
        }
        Ok(prepared)
    }

    /// Compiles a component without caching it (upload checks compile before anything is stored).
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, RuntimeError> {
        Component::new(&self.engine, wasm).map_err(|e| RuntimeError::Invalid(format!("not a valid component: {e:#}")))
    }

    /// Links a compiled component against the host functions.
    fn pre(&self, component: Component, sha256: &str) -> Result<Prepared, RuntimeError> {
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| RuntimeError::Invalid(format!("the component's imports cannot be satisfied: {e:#}")))?;
        let pre = PluginPre::new(instance_pre)
            .map_err(|e| RuntimeError::Invalid(format!("the component does not export the plugin interface: {e:#}")))?;
        Ok(Prepared {
            pre,
            sha256: sha256.to_owned(),
        })
    }

    fn disk_path(&self, sha256: &str) -> Option<PathBuf> {
        self.disk.as_ref().map(|d| d.join(format!("{sha256}.cwasm")))
    }

    fn load_compiled(&self, sha256: &str) -> Option<Component> {
        let path = self.disk_path(sha256)?;
        let bytes = std::fs::read(&path).ok()?;
        match deserialize(&self.engine, &bytes) {
            Ok(c) => Some(c),
            Err(error) => {
                // Another wasmtime version or configuration: compile again.
                tracing::info!(%error, "discarding a stale compiled plugin");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// The plugin's own name and version (its `metadata` export).
    pub fn metadata(&self, prepared: &Prepared, host: Box<dyn HostApi>) -> Result<(String, String), RuntimeError> {
        let setup = CallSetup {
            host,
            grants: Grants::default(),
            config: "{}".into(),
        };
        let mut store = self.store(setup)?;
        let plugin = prepared.pre.instantiate(&mut store).map_err(RuntimeError::Engine)?;
        let meta = plugin
            .switchboard_plugin_handler()
            .call_metadata(&mut store)
            .map_err(|e| RuntimeError::Invalid(format!("the plugin's metadata export failed: {}", classify(&e).1)))?;
        Ok((meta.name, meta.version))
    }

    fn store(&self, setup: CallSetup) -> Result<Store<Call>, RuntimeError> {
        let call = Call {
            limiter: Limiter::new(&self.limits),
            host: setup.host,
            grants: setup.grants,
            config: setup.config,
            host_calls: 0,
            max_host_calls: self.limits.host_calls,
            denied: None,
            logs: Vec::new(),
            host_time: Duration::ZERO,
        };
        let mut store = Store::new(&self.engine, call);
        store.limiter(|c| &mut c.limiter);
        store.set_fuel(self.limits.fuel).map_err(RuntimeError::Engine)?;
        // The deadline is the plugin's own time: when it passes, time spent in host functions
        // (database, HTTP, each with its own timeout) is given back, up to a hard total cap.
        let wall = self.limits.wall;
        let started = Instant::now();
        store.set_epoch_deadline(ticks(wall));
        store.epoch_deadline_callback(move |ctx| {
            let elapsed = started.elapsed();
            let own = elapsed.saturating_sub(ctx.data().host_time);
            if own >= wall || elapsed >= wall * MAX_WALL_WITH_HOST_CALLS {
                return Err(wasmtime::Trap::Interrupt.into());
            }
            Ok(UpdateDeadline::Continue(ticks(wall - own)))
        });
        Ok(store)
    }

    /// Runs one handler in a fresh store. Blocks: call it from a blocking thread.
    pub fn invoke(&self, prepared: &Prepared, setup: CallSetup, input: Input) -> Run {
        let started = Instant::now();
        if input.size() > self.limits.input_bytes {
            return Run {
                outcome: Outcome::Error,
                output: None,
                error: Some(format!("input exceeds {} bytes", self.limits.input_bytes)),
                duration_us: 0,
                fuel_used: 0,
                memory_peak_bytes: 0,
                host_calls: 0,
                logs: Vec::new(),
            };
        }
        let mut store = match self.store(setup) {
            Ok(s) => s,
            Err(e) => return failed(Outcome::Trap, e.to_string(), started),
        };
        let result = self.call(prepared, &mut store, input);
        let fuel_used = self.limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let call = store.into_data();
        let (outcome, output, error) = match result {
            Ok(Ok(output)) if output.size() > self.limits.output_bytes => (
                Outcome::Trap,
                None,
                Some(format!("output exceeds {} bytes", self.limits.output_bytes)),
            ),
            Ok(Ok(output)) => (Outcome::Ok, Some(output), None),
            Ok(Err(message)) => {
                let outcome = if call.denied.is_some() {
                    Outcome::Denied
                } else {
                    Outcome::Error
                };
                (outcome, None, Some(message))
            }
            Err(e) => {
                let (outcome, reason) = match e.downcast_ref::<HostCallsExceeded>() {
                    Some(limit) => (Outcome::Trap, limit.to_string()),
                    None => classify(&e),
                };
                (outcome, None, Some(reason))
            }
        };
        Run {
            outcome,
            output,
            error,
            duration_us: started.elapsed().as_micros() as u64,
            fuel_used,
            memory_peak_bytes: call.limiter.peak as u64,
            host_calls: call.host_calls,
            logs: call.logs,
        }
    }

    fn call(
        &self,
        prepared: &Prepared,
        store: &mut Store<Call>,
        input: Input,
    ) -> wasmtime::Result<Result<Output, String>> {
        let plugin = prepared.pre.instantiate(&mut *store)?;
        let handler = plugin.switchboard_plugin_handler();
        Ok(match input {
            Input::Event(event) => handler.call_on_event(&mut *store, &event)?.map(Output::Event),
            Input::Transform(request) => handler.call_transform(&mut *store, &request)?.map(Output::Transform),
            Input::Tick { schedule, now_ms } => handler
                .call_tick(&mut *store, &schedule, now_ms)?
                .map(|()| Output::Tick),
        })
    }
}

fn failed(outcome: Outcome, error: String, started: Instant) -> Run {
    Run {
        outcome,
        output: None,
        error: Some(error),
        duration_us: started.elapsed().as_micros() as u64,
        fuel_used: 0,
        memory_peak_bytes: 0,
        host_calls: 0,
        logs: Vec::new(),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Loads code this process's engine serialized into our own data dir.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the bytes are a file we wrote from `Component::serialize` under the data dir, named
    // by the hash of the wasm they were compiled from; wasmtime rejects code compiled by another
    // version or configuration. The data dir is trusted like the database.
    unsafe { Component::deserialize(engine, bytes) }
}

/// Advances the engine's epoch until the engine is dropped, so deadlines measure wall time.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .expect("spawn the plugin epoch thread");
}
