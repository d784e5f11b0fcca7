//! How an invocation ended, and what it cost.

use super::limits::{MemoryExceeded, TableExceeded};
use super::runtime::Output;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned success.
    Ok,
    /// The handler returned an error.
    Error,
    /// The plugin trapped: a panic, a stack overflow, an invalid access, too many host calls or
    /// an oversized output.
    Trap,
    /// The instruction budget or the wall-clock budget ran out.
    Timeout,
    /// The plugin asked for more memory than its cap.
    OutOfMemory,
    /// The plugin failed after being refused a capability it was not granted.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Trap => "trap",
            Outcome::Timeout => "timeout",
            Outcome::OutOfMemory => "out_of_memory",
            Outcome::Denied => "denied",
        }
    }
}

/// A log line written by the plugin during an invocation.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// The record of one invocation.
#[derive(Debug)]
pub struct Run {
    pub outcome: Outcome,
    pub output: Option<Output>,
    pub error: Option<String>,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub memory_peak_bytes: u64,
    pub host_calls: u32,
    pub logs: Vec<LogLine>,
}

/// The outcome and a short reason for an invocation that did not return.
pub fn classify(error: &wasmtime::Error) -> (Outcome, String) {
    if let Some(e) = error.downcast_ref::<MemoryExceeded>() {
        return (Outcome::OutOfMemory, e.to_string());
    }
    if let Some(e) = error.downcast_ref::<TableExceeded>() {
        return (Outcome::OutOfMemory, e.to_string());
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => (Outcome::Timeout, "instruction budget exhausted".into()),
        Some(wasmtime::Trap::Interrupt) => (Outcome::Timeout, "wall-clock budget exhausted".into()),
        Some(wasmtime::Trap::StackOverflow) => (Outcome::Trap, "stack overflow".into()),
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            (Outcome::Trap, "the plugin panicked (unreachable executed)".into())
        }
        Some(trap) => (Outcome::Trap, trap.to_string()),
        None => (Outcome::Trap, format!("{error:#}")),
    }
}
