//! The engine: components compiled once per content hash (in memory with moka, on disk under
//! the data dir), pre-instantiated, and invoked in a fresh store per call with fuel, an epoch
//! deadline, a memory cap and a host-call budget. A failing invocation only ends itself.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Store, UpdateDeadline};

use super::bindings::{Event, HttpRequest, HttpResponse, PluginPre};
use super::capabilities::Grants;
use super::compiler::{Compiler, Tier};
use super::glue::{Call, HostCallsExceeded};
use super::host_api::HostApi;
use super::limits::{Limiter, Limits};
use super::outcome::{classify, Outcome, Run};

/// How often the epoch advances: the granularity of the wall-clock limit.
const EPOCH_TICK: Duration = Duration::from_millis(2);
/// How much slower quick code runs than optimised code, at most (measured on the large test
/// plugin's render: Winch's code 1.5×; Cranelift's single-pass code, the quick tier before,
/// 2.3–2.9×).
const QUICK_SLOWDOWN: u32 = 3;
/// The wall-clock budget covers the plugin's own time; with host calls included an invocation
/// may take at most this many budgets.
const MAX_WALL_WITH_HOST_CALLS: u32 = 100;

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
    pub tier: Tier,
}

/// A component compiled for its first run, and by which tier.
pub struct Compiled {
    pub component: Component,
    pub tier: Tier,
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
    quick: Compiler,
    optimized: Compiler,
    limits: Limits,
    cache: moka::sync::Cache<String, Arc<Prepared>>,
    /// Optimised code on disk, by content hash; `None` keeps it in memory only.
    disk: Option<PathBuf>,
    /// The components whose optimised compile is running, with its thread until someone waits
    /// for it; one whose compile failed stays, so it is not tried again.
    optimizing: Mutex<HashMap<String, Option<JoinHandle<()>>>>,
}

impl Runtime {
    /// Engines with pooling allocators sized for `concurrency` simultaneous invocations.
    pub fn new(limits: Limits, concurrency: u32, disk: Option<PathBuf>) -> Result<Self, RuntimeError> {
        let quick = Compiler::new(Tier::Quick, &limits, concurrency).map_err(RuntimeError::Engine)?;
        let optimized = Compiler::new(Tier::Optimized, &limits, concurrency).map_err(RuntimeError::Engine)?;
        if let Some(dir) = &disk {
            std::fs::create_dir_all(dir)?;
        }
        spawn_epoch_ticker(&[&quick.engine, &optimized.engine]);
        Ok(Self {
            quick,
            optimized,
            limits,
            cache: moka::sync::Cache::builder().max_capacity(256).build(),
            disk,
            optimizing: Mutex::default(),
        })
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

    /// The optimised component compiled before under `sha256`, linked; `None` when not on disk.
    fn linked_from_disk(&self, sha256: &str) -> Option<Result<Arc<Prepared>, RuntimeError>> {
        let component = self.load_compiled(sha256)?;
        Some(self.link(component, sha256, Tier::Optimized).map(Arc::new))
    }

    /// The component of `wasm`, ready to run: from the caches, or compiled quickly now and
    /// optimised in the background. Runs asking for the same code at once share one
    /// compilation: the first compiles, the others wait for it (a burst of webhooks to a plugin
    /// not yet compiled no longer compiles it once each).
    pub fn prepare(self: &Arc<Self>, wasm: &[u8]) -> Result<Arc<Prepared>, RuntimeError> {
        let sha = sha256_hex(wasm);
        let prepared = self
            .cache
            .try_get_with_by_ref(&sha, || match self.linked_from_disk(&sha) {
                Some(prepared) => prepared,
                None => self.ready(&sha, self.compile(wasm)?).map(Arc::new),
            })
            .map_err(|shared| Arc::try_unwrap(shared).unwrap_or_else(|e| RuntimeError::Invalid(e.to_string())))?;
        if prepared.tier == Tier::Quick {
            self.optimize_in_background(&sha, wasm);
        }
        Ok(prepared)
    }

    /// Takes a component [`Runtime::compile`] made of `wasm` into the memory cache, and starts
    /// its optimised compile if it is quick code.
    pub fn admit(self: &Arc<Self>, compiled: Compiled, wasm: &[u8]) -> Result<Arc<Prepared>, RuntimeError> {
        let sha = sha256_hex(wasm);
        let prepared = Arc::new(self.ready(&sha, compiled)?);
        self.cache.insert(sha.clone(), prepared.clone());
        if prepared.tier == Tier::Quick {
            self.optimize_in_background(&sha, wasm);
        }
        Ok(prepared)
    }

    /// Compiles `wasm` for its first run, without caching it (uploads compile to check a
    /// component before anything is stored): quickly, or optimised when the quick compiler
    /// cannot take it (Winch lacks some WebAssembly proposals Cranelift has, tail calls among
    /// them).
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, RuntimeError> {
        let (component, tier) = match compile(&self.quick, wasm) {
            Ok(component) => (component, Tier::Quick),
            // Invalid for both compilers: the optimising one's reason, which knows every proposal.
            Err(_) => (compile(&self.optimized, wasm)?, Tier::Optimized),
        };
        Ok(Compiled { component, tier })
    }

    /// Links compiled code; optimised code goes to the disk cache as well.
    fn ready(&self, sha256: &str, compiled: Compiled) -> Result<Prepared, RuntimeError> {
        let Compiled { component, tier } = compiled;
        let prepared = self.link(component.clone(), sha256, tier)?;
        if tier == Tier::Optimized {
            self.save(sha256, &component);
        }
        Ok(prepared)
    }

    /// Links a component compiled by `tier`'s compiler against the host functions.
    fn link(&self, component: Component, sha256: &str, tier: Tier) -> Result<Prepared, RuntimeError> {
        let compiler = match tier {
            Tier::Quick => &self.quick,
            Tier::Optimized => &self.optimized,
        };
        let instance_pre = compiler
            .linker
            .instantiate_pre(&component)
            .map_err(|e| RuntimeError::Invalid(format!("the component's imports cannot be satisfied: {e:#}")))?;
        let pre = PluginPre::new(instance_pre)
            .map_err(|e| RuntimeError::Invalid(format!("the component does not export the plugin interface: {e:#}")))?;
        Ok(Prepared {
            pre,
            sha256: sha256.to_owned(),
            tier,
        })
    }

    /// Starts [`Runtime::optimize`] on a thread of its own unless it is running (or failed).
    fn optimize_in_background(self: &Arc<Self>, sha256: &str, wasm: &[u8]) {
        let mut optimizing = self.optimizing();
        if optimizing.contains_key(sha256) {
            return;
        }
        let (runtime, sha, wasm) = (self.clone(), sha256.to_owned(), wasm.to_vec());
        let spawned = std::thread::Builder::new()
            .name("plugin-optimize".into())
            .spawn(move || match runtime.optimize(&sha, &wasm) {
                Ok(()) => {
                    runtime.optimizing().remove(&sha);
                }
                // The quick code keeps serving.
                Err(error) => tracing::error!(%error, sha256 = sha, "optimising a plugin failed"),
            });
        match spawned {
            Ok(handle) => {
                optimizing.insert(sha256.to_owned(), Some(handle));
            }
            Err(error) => tracing::warn!(%error, "could not start optimising a plugin"),
        }
    }

    /// Waits for the optimised compile of `sha256` to end, if one is running and nobody else
    /// waits for it (benchmarks and tests).
    pub fn finish_optimizing(&self, sha256: &str) {
        let handle = self.optimizing().get_mut(sha256).and_then(Option::take);
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    fn optimizing(&self) -> MutexGuard<'_, HashMap<String, Option<JoinHandle<()>>>> {
        self.optimizing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Compiles `wasm` optimised, caches it on disk and puts it in place of the quick code: the
    /// runs that start from now on use it.
    fn optimize(&self, sha256: &str, wasm: &[u8]) -> Result<(), RuntimeError> {
        let started = Instant::now();
        let component = compile(&self.optimized, wasm)?;
        let prepared = self.ready(
            sha256,
            Compiled {
                component,
                tier: Tier::Optimized,
            },
        )?;
        self.cache.insert(sha256.to_owned(), Arc::new(prepared));
        tracing::info!(sha256, ms = started.elapsed().as_millis() as u64, "plugin optimised");
        Ok(())
    }

    /// Writes optimised code to the disk cache, if there is one.
    fn save(&self, sha256: &str, component: &Component) {
        let Some(path) = self.disk_path(sha256) else { return };
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

    fn disk_path(&self, sha256: &str) -> Option<PathBuf> {
        self.disk.as_ref().map(|d| d.join(format!("{sha256}.cwasm")))
    }

    fn load_compiled(&self, sha256: &str) -> Option<Component> {
        let path = self.disk_path(sha256)?;
        let bytes = std::fs::read(&path).ok()?;
        match deserialize(&self.optimized.engine, &bytes) {
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
        let mut store = self.store(prepared, setup)?;
        let plugin = prepared.pre.instantiate(&mut store).map_err(RuntimeError::Engine)?;
        let meta = plugin
            .switchboard_plugin_handler()
            .call_metadata(&mut store)
            .map_err(|e| RuntimeError::Invalid(format!("the plugin's metadata export failed: {}", classify(&e).1)))?;
        Ok((meta.name, meta.version))
    }

    fn store(&self, prepared: &Prepared, setup: CallSetup) -> Result<Store<Call>, RuntimeError> {
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
        let mut store = Store::new(prepared.pre.engine(), call);
        store.limiter(|c| &mut c.limiter);
        store.set_fuel(self.limits.fuel).map_err(RuntimeError::Engine)?;
        // The deadline is the plugin's own time: when it passes, time spent in host functions
        // (database, HTTP, each with its own timeout) is given back, up to a hard total cap.
        let wall = wall_budget(self.limits.wall, prepared.tier);
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
        self.invoke_then(prepared, setup, input, |run| run)
    }

    /// [`Runtime::invoke`], handing the run to `then` before the store is torn down: returning
    /// the instance's memory to the pool takes a while, and a run that wrote holds its
    /// transaction open until `then` records it.
    pub fn invoke_then<R>(
        &self,
        prepared: &Prepared,
        setup: CallSetup,
        input: Input,
        then: impl FnOnce(Run) -> R,
    ) -> R {
        let started = Instant::now();
        if input.size() > self.limits.input_bytes {
            return then(failed(
                Outcome::Error,
                format!("input exceeds {} bytes", self.limits.input_bytes),
                started,
            ));
        }
        let mut store = match self.store(prepared, setup) {
            Ok(s) => s,
            Err(e) => return then(failed(Outcome::Trap, e.to_string(), started)),
        };
        let result = self.call(prepared, &mut store, input);
        let fuel_used = self.limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let call = store.data_mut();
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
        let run = Run {
            outcome,
            output,
            error,
            duration_us: started.elapsed().as_micros() as u64,
            fuel_used,
            memory_peak_bytes: call.limiter.peak as u64,
            host_calls: call.host_calls,
            logs: std::mem::take(&mut call.logs),
        };
        let out = then(run);
        drop(store);
        out
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

/// The wall-clock budget of a run of code of `tier`: quick code does the same work (the same
/// fuel) up to [`QUICK_SLOWDOWN`] times slower, and a plugin must not fail only because its
/// optimised code is not ready yet.
fn wall_budget(wall: Duration, tier: Tier) -> Duration {
    match tier {
        Tier::Quick => wall * QUICK_SLOWDOWN,
        Tier::Optimized => wall,
    }
}

fn compile(compiler: &Compiler, wasm: &[u8]) -> Result<Component, RuntimeError> {
    Component::new(&compiler.engine, wasm).map_err(|e| RuntimeError::Invalid(format!("not a valid component: {e:#}")))
}

/// Advances the engines' epochs until they are dropped, so deadlines measure wall time.
fn spawn_epoch_ticker(engines: &[&Engine]) {
    let weak: Vec<_> = engines.iter().map(|e| e.weak()).collect();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            let mut live = false;
            for engine in weak.iter().filter_map(|w| w.upgrade()) {
                engine.increment_epoch();
                live = true;
            }
            if !live {
                break;
            }
        })
        .expect("spawn the plugin epoch thread");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::host_api::NoHost;

    const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/plugins/dist/hostile.wasm");

    fn run(runtime: &Runtime, prepared: &Prepared, event_type: &str) -> Run {
        let setup = CallSetup {
            host: Box::new(NoHost),
            grants: Grants::default(),
            config: "{}".into(),
        };
        let event = Event {
            id: "evt_1".into(),
            event_type: event_type.into(),
            data: "{}".into(),
            occurred_at_ms: 0,
        };
        runtime.invoke(prepared, setup, Input::Event(event))
    }

    fn noop(runtime: &Runtime, prepared: &Prepared) -> Run {
        run(runtime, prepared, "noop")
    }

    /// The quick tier's code comes from another compiler (Winch), so the sandbox's limits are
    /// checked on both tiers' code.
    #[test]
    fn both_tiers_hold_hostile_code_to_every_limit() {
        let wasm = std::fs::read(HOSTILE).expect("tests/plugins/dist/hostile.wasm");
        // A wall clock far above what the fuel lasts, and then fuel far above the wall clock.
        let by_fuel = Limits {
            wall: Duration::from_secs(5),
            ..Limits::default()
        };
        let by_clock = Limits {
            fuel: 1 << 60,
            wall: Duration::from_millis(20),
            ..Limits::default()
        };
        let cases = [
            (&by_fuel, "loop", Outcome::Timeout, "instruction budget exhausted"),
            (&by_fuel, "memory-bomb", Outcome::OutOfMemory, "memory limit"),
            (&by_fuel, "recurse", Outcome::Trap, "stack overflow"),
            (&by_clock, "loop", Outcome::Timeout, "wall-clock budget exhausted"),
        ];
        for (limits, event, outcome, reason) in cases {
            let runtime = Arc::new(Runtime::new(limits.clone(), 1, None).expect("runtime"));
            let quick = runtime.prepare(&wasm).expect("prepare");
            runtime.finish_optimizing(&quick.sha256);
            let optimized = runtime.prepare(&wasm).expect("prepare again");
            for prepared in [&quick, &optimized] {
                let tier = prepared.tier;
                let done = run(&runtime, prepared, event);
                assert_eq!(done.outcome, outcome, "{event} on {tier:?}: {:?}", done.error);
                let error = done.error.unwrap_or_default();
                assert!(error.contains(reason), "{event} on {tier:?}: {error}");
                assert_eq!(noop(&runtime, prepared).outcome, Outcome::Ok, "{event} on {tier:?}");
            }
            assert_eq!((quick.tier, optimized.tier), (Tier::Quick, Tier::Optimized));
        }
    }

    #[test]
    fn the_first_run_gets_quick_code_then_the_optimised_code_replaces_it_and_outlives_a_restart() {
        let wasm = std::fs::read(HOSTILE).expect("tests/plugins/dist/hostile.wasm");
        let disk = std::env::temp_dir().join(format!("sb_tiers_{}", uuid::Uuid::now_v7().simple()));
        let runtime = Arc::new(Runtime::new(Limits::default(), 2, Some(disk.clone())).expect("runtime"));

        let first = runtime.prepare(&wasm).expect("prepare");
        assert_eq!(first.tier, Tier::Quick);
        assert_eq!(noop(&runtime, &first).outcome, Outcome::Ok);

        runtime.finish_optimizing(&first.sha256);
        let later = runtime.prepare(&wasm).expect("prepare again");
        assert_eq!(later.tier, Tier::Optimized);
        assert_eq!(noop(&runtime, &later).outcome, Outcome::Ok);
        // The quick code a run still holds keeps working beside it.
        assert_eq!(noop(&runtime, &first).outcome, Outcome::Ok);
        assert!(runtime.optimizing().is_empty(), "not optimising again");

        let restarted = Runtime::new(Limits::default(), 2, Some(disk.clone())).expect("runtime");
        let from_disk = restarted.cached(&first.sha256).expect("optimised code on disk");
        assert_eq!(from_disk.tier, Tier::Optimized);
        assert_eq!(noop(&restarted, &from_disk).outcome, Outcome::Ok);
        assert!(restarted.optimizing().is_empty(), "nothing compiled");
        let _ = std::fs::remove_dir_all(disk);
    }

    /// Winch lacks some proposals Cranelift has: such code is compiled optimised at once
    /// instead of being refused.
    #[test]
    fn code_the_quick_compiler_cannot_take_is_compiled_optimised_at_once() {
        let runtime = Runtime::new(Limits::default(), 1, None).expect("runtime");
        let tail_call =
            wat::parse_str(r#"(component (core module (func $g) (func (export "f") return_call $g)))"#).expect("wat");
        assert!(
            compile(&runtime.quick, &tail_call).is_err(),
            "Winch compiles tail calls now: this test needs a proposal it lacks"
        );
        assert_eq!(runtime.compile(&tail_call).expect("compiled").tier, Tier::Optimized);
        let plain = wat::parse_str(r#"(component (core module (func (export "f"))))"#).expect("wat");
        assert_eq!(runtime.compile(&plain).expect("compiled").tier, Tier::Quick);
        assert!(runtime.compile(b"\0asm\x0d\0\x01\0not a component").is_err());
    }

    #[test]
    fn quick_code_gets_more_wall_clock_for_the_same_fuel() {
        let wall = Duration::from_millis(50);
        assert_eq!(wall_budget(wall, Tier::Optimized), wall);
        assert_eq!(wall_budget(wall, Tier::Quick), Duration::from_millis(150));
    }

    #[test]
    fn an_upload_admits_quick_code_and_starts_its_optimisation() {
        let wasm = std::fs::read(HOSTILE).expect("tests/plugins/dist/hostile.wasm");
        let runtime = Arc::new(Runtime::new(Limits::default(), 2, None).expect("runtime"));
        let admitted = runtime
            .admit(runtime.compile(&wasm).expect("compile"), &wasm)
            .expect("admit");
        assert_eq!(admitted.tier, Tier::Quick);
        runtime.finish_optimizing(&admitted.sha256);
        let cached = runtime.cached(&admitted.sha256).expect("in memory");
        assert_eq!(cached.tier, Tier::Optimized);
        assert_eq!(noop(&runtime, &cached).outcome, Outcome::Ok);

        // Without a disk cache, code the memory cache let go is compiled and optimised again.
        runtime.cache.invalidate(&admitted.sha256);
        let again = runtime.prepare(&wasm).expect("prepare");
        assert_eq!(again.tier, Tier::Quick);
        runtime.finish_optimizing(&again.sha256);
        assert_eq!(runtime.cached(&again.sha256).expect("in memory").tier, Tier::Optimized);
    }
}
