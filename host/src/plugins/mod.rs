//! The WebAssembly plugin runtime: components compiled once and cached, a fresh sandbox per
//! invocation with hard limits, and host functions gated by the capabilities an installation
//! was granted. Nothing here knows about HTTP or SQL: the host functions reach the tenant's data
//! through [`HostApi`], which `domain::plugins` implements on the normal store.

pub mod authoring;
pub mod bindings;
pub mod capabilities;
pub mod compiler;
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
pub const INTERFACE_VERSION: &str = "0.1.1";

/// Whether a plugin built for interface `version` can run here: a version this host's
/// interface extends (semver-compatible, so same major, for major 0 same minor, and no newer).
pub fn interface_compatible(version: &str) -> bool {
    let Ok(built_for) = semver::Version::parse(version) else {
        return false;
    };
    let host = semver::Version::parse(INTERFACE_VERSION).expect("INTERFACE_VERSION is a version");
    let caret = semver::VersionReq::parse(&format!("^{built_for}")).expect("a version makes a requirement");
    caret.matches(&host) && built_for.pre.is_empty()
}

#[cfg(test)]
mod tests {
    #[test]
    fn interface_versions_are_compatible_within_a_major() {
        assert!(super::interface_compatible("0.1.0"));
        assert!(super::interface_compatible("0.1.1"));
        assert!(!super::interface_compatible("0.1.2"), "newer than the host");
        assert!(!super::interface_compatible("0.1.1-rc.1"));
        assert!(!super::interface_compatible("0.2.0"));
        assert!(!super::interface_compatible("1.1.0"));
        assert!(!super::interface_compatible("0.1"));
        assert!(!super::interface_compatible("banana"));
    }
}
