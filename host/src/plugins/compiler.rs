//! The two code tiers. A component is first compiled by Winch, wasmtime's single-pass baseline
//! compiler, so an upload or a first run waits for the short compile, and then again by
//! Cranelift in the background; the optimised code replaces the quick one and is the only code
//! cached on disk. Measured on the 2.7 MB test component, one binary, one hour, 2 cores: Winch
//! 0.53–0.63 s, Cranelift with its single-pass register allocator (the quick tier before) 1.8–1.9
//! s, Cranelift optimising 2.7–3.1 s; Winch's code rendered the large plugin's page in 2.3 ms,
//! the single-pass Cranelift code in 2.8 ms, the optimised code in 1.3–1.5 ms.

use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Strategy};

use super::bindings::Plugin;
use super::glue::Call;
use super::limits::Limits;

/// Bytes of each memory and table slot kept mapped between calls: a small plugin's stack, data
/// and heap.
const KEEP_RESIDENT: usize = 4 << 20;

/// Which compiler made a component's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Compiled fast, runs slower: until the optimised code is ready.
    Quick,
    Optimized,
}

/// An engine for one tier, with the host functions linked.
pub struct Compiler {
    pub engine: Engine,
    pub linker: Linker<Call>,
}

impl Compiler {
    /// A compiler whose pooling allocator holds `concurrency` simultaneous invocations.
    pub fn new(tier: Tier, limits: &Limits, concurrency: u32) -> wasmtime::Result<Self> {
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
        let strategy = match tier {
            Tier::Quick => Strategy::Winch,
            Tier::Optimized => Strategy::Cranelift,
        };
        let mut config = Config::new();
        config
            .strategy(strategy)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack_bytes)
            // Cranelift's mid-end optimisations cost a fifth of a compile and gained nothing
            // measurable on plugin code LLVM already optimised (the large plugin's render:
            // 416 µs with them, 424 µs without; its compile 1.5 s → 1.2 s).
            .cranelift_opt_level(OptLevel::None)
            .wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |c| c)?;
        Ok(Self { engine, linker })
    }
}
