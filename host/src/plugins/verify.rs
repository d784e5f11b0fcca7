//! The checks a component must pass before it is accepted, shared by uploads and
//! `switchboard plugin check`: a component (not a core module), built for a compatible
//! interface version that its manifest states truthfully, importing only the host interface,
//! and calling itself by its manifest's name and version.

use std::sync::Arc;

use super::host_api::NoHost;
use super::manifest::Manifest;
use super::runtime::{Prepared, Runtime};
use super::{component, interface_compatible, INTERFACE_VERSION};

/// Why a component was refused, naming the part at fault (`wasm` or `manifest.<field>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

fn wasm(message: impl ToString) -> Refused {
    Refused {
        field: "wasm",
        message: message.to_string(),
    }
}

/// Checks `bytes` against `manifest`; on success the component is compiled and cached.
pub fn verify(runtime: &Arc<Runtime>, bytes: &[u8], manifest: &Manifest) -> Result<Arc<Prepared>, Refused> {
    component::check_binary(bytes).map_err(wasm)?;
    let compiled = runtime.compile(bytes).map_err(wasm)?;
    let built_for = component::interface_version(compiled.component.engine(), &compiled.component).map_err(wasm)?;
    if !interface_compatible(&built_for) {
        return Err(wasm(format!(
            "the component was built for interface {built_for}; this host implements {INTERFACE_VERSION}"
        )));
    }
    if built_for != manifest.interface {
        return Err(Refused {
            field: "manifest.interface",
            message: format!(
                "the manifest says {} but the component was built for {built_for}",
                manifest.interface
            ),
        });
    }
    let prepared = runtime.admit(compiled, bytes).map_err(wasm)?;
    let (name, version) = runtime.metadata(&prepared, Box::new(NoHost)).map_err(wasm)?;
    if name != manifest.name || version != manifest.version {
        return Err(Refused {
            field: "manifest.name",
            message: format!(
                "the manifest says {} {} but the component is {name} {version}",
                manifest.name, manifest.version
            ),
        });
    }
    Ok(prepared)
}
