//! The Switchboard plugin SDK: what a plugin author depends on.
//!
//! The WIT interface, the guest bindings and the handler macro arrive with the WASM plugin
//! runtime; until then this crate only pins the interface version plugins will be checked against.

/// The major version of the host–plugin interface. The host refuses plugins built for another.
pub const INTERFACE_MAJOR: u32 = 0;
