//! Checks an uploaded component before anything is stored: that it is a component (not a core
//! module or something else), which interface version it was built for, and that it imports
//! nothing but the host interface.

use wasmtime::component::Component;
use wasmtime::Engine;

/// The WIT package every plugin import and export belongs to.
const PACKAGE: &str = "switchboard:plugin/";

/// Refuses what is not a WebAssembly component, with a message saying what it is instead.
pub fn check_binary(bytes: &[u8]) -> Result<(), String> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => Ok(()),
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            Err("this is a core WebAssembly module, not a component: wrap it with `switchboard plugin build`".into())
        }
        _ => Err("not a WebAssembly component (no \\0asm component header)".into()),
    }
}

/// The interface version the component exports its handlers for, checking that every import
/// is one of ours.
pub fn interface_version(engine: &Engine, component: &Component) -> Result<String, String> {
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        let ours = ["types", "host"]
            .iter()
            .any(|i| name.starts_with(&format!("{PACKAGE}{i}@")));
        if !ours {
            return Err(format!(
                "the component imports {name:?}, which the host does not provide"
            ));
        }
    }
    let handler = format!("{PACKAGE}handler@");
    let version = ty
        .exports(engine)
        .find_map(|(name, _)| name.strip_prefix(&handler).map(str::to_owned));
    version.ok_or_else(|| format!("the component does not export {handler}<version>"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_component_headers_pass() {
        assert!(super::check_binary(b"\0asm\x0d\0\x01\0rest").is_ok());
        assert!(super::check_binary(b"\0asm\x01\0\0\0rest")
            .unwrap_err()
            .contains("core"));
        assert!(super::check_binary(b"PK\x03\x04").is_err());
        assert!(super::check_binary(b"").is_err());
    }
}
