//! Per-invocation limits, and the resource limiter that enforces the memory cap and records the
//! peak.

use std::time::Duration;

/// Limits applied to every invocation.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock budget (epoch interruption); host calls count towards it.
    pub wall: Duration,
    /// Instruction budget (fuel, about one unit per WebAssembly instruction).
    pub fuel: u64,
    /// Linear memory per instance.
    pub memory_bytes: usize,
    /// Table elements per table.
    pub table_elements: usize,
    /// Host calls per invocation.
    pub host_calls: u32,
    /// Largest input (event data, request body) and output (result, response body).
    pub input_bytes: usize,
    pub output_bytes: usize,
    /// WebAssembly stack, which bounds recursion.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wall: Duration::from_millis(50),
            fuel: 50_000_000,
            memory_bytes: 32 << 20,
            table_elements: 20_000,
            host_calls: 1_000,
            input_bytes: 1 << 20,
            output_bytes: 1 << 20,
            stack_bytes: 512 << 10,
        }
    }
}

/// Raised (as a trap) when an instance asks for more memory than its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes reached (asked for {desired})")]
pub struct MemoryExceeded {
    pub limit: usize,
    pub desired: usize,
}

/// Raised (as a trap) when a table would grow past its cap.
#[derive(Debug, thiserror::Error)]
#[error("table limit of {0} elements reached")]
pub struct TableExceeded(pub usize);

/// Tracks one store's memory and enforces the caps.
pub struct Limiter {
    memory_limit: usize,
    table_limit: usize,
    pub peak: usize,
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        Self {
            memory_limit: limits.memory_bytes,
            table_limit: limits.table_elements,
            peak: 0,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            return Err(MemoryExceeded {
                limit: self.memory_limit,
                desired,
            }
            .into());
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.table_limit {
            return Err(TableExceeded(self.table_limit).into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        8
    }

    fn memories(&self) -> usize {
        2
    }
}
