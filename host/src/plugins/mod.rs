//! The WebAssembly plugin runtime: components compiled once and cached, a fresh sandbox per
//! invocation with hard limits, and host functions gated by the capabilities an installation
//! was granted. Nothing here knows about HTTP or SQL: the host functions reach the tenant's data
//! through [`HostApi`], which `domain::plugins` implements on the normal store.

pub mod authoring;
pub mod bindings;
pub mod capabilities;
pub mod component;
mod glue;
pub mod host_api;
pub mod limits;
pub mod manifest;
pub mod outcome;
pub mod runtime;
pub mod secrets;
pub mod verify;

pub use capabilities::Grants;
pub use host_api::{HostApi, HostResult};
pub use limits::Limits;
pub use outcome::{Outcome, Run};
pub use runtime::{Input, Output, Prepared, Runtime, RuntimeError};

/// The interface version this host implements (the WIT package version in `sdk/wit/`).
pub const INTERFACE_VERSION: &str = "0.1.0";

/// Whether a plugin built for interface `version` can run here: semver-compatible with
/// [`INTERFACE_VERSION`] (same major; for major 0, same minor).
pub fn interface_compatible(version: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        it.next()?.parse::<u64>().ok()?;
        it.next().is_none().then_some((major, minor))
    };
    match (parts(version), parts(INTERFACE_VERSION)) {
        (Some((a, b)), Some((x, y))) => a == x && (a != 0 || b == y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn interface_versions_are_compatible_within_a_major() {
        assert!(super::interface_compatible("0.1.0"));
        assert!(super::interface_compatible("0.1.7"));
        assert!(!super::interface_compatible("0.2.0"));
        assert!(!super::interface_compatible("1.1.0"));
        assert!(!super::interface_compatible("0.1"));
        assert!(!super::interface_compatible("banana"));
    }
}
