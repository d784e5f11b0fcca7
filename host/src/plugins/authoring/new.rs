//! `switchboard plugin new NAME`: a plugin crate that builds as it is.

use std::path::{Path, PathBuf};

use super::{io, AuthoringError};

/// Where this binary was built from the repository, its SDK is beside it.
const SDK_IN_REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");

fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// How the new crate depends on the SDK: `sdk` if given, else the repository's, else crates.io.
fn sdk_dependency(sdk: Option<&Path>) -> String {
    let path = sdk
        .map(Path::to_path_buf)
        .or_else(|| Path::new(SDK_IN_REPO).canonicalize().ok());
    match path {
        Some(p) => format!("switchboard-sdk = {{ path = {:?} }}", p.display().to_string()),
        None => format!("switchboard-sdk = \"{}\"", env!("CARGO_PKG_VERSION")),
    }
}

/// Creates `./NAME/` under `parent` with `Cargo.toml`, `plugin.toml` and `src/lib.rs`.
pub fn create(parent: &Path, name: &str, sdk: Option<&Path>) -> Result<PathBuf, AuthoringError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.as_bytes()[0].is_ascii_lowercase();
    if !valid {
        return Err(AuthoringError::Usage(
            "a plugin name is 1 to 64 lower-case letters, digits and '-', starting with a letter".into(),
        ));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(AuthoringError::Usage(format!("{} already exists", dir.display())));
    }
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(io(&src))?;
    let files = [
        (
            dir.join("Cargo.toml"),
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[dependencies]
{sdk}

[profile.release]
opt-level = "s"
lto = true
panic = "abort"
strip = true
codegen-units = 1

# A plugin is built on its own, never as part of another workspace.
[workspace]
"#,
                sdk = sdk_dependency(sdk)
            ),
        ),
        (
            dir.join("plugin.toml"),
            format!(
                r#"name = "{name}"
version = "0.1.0"
interface = "{interface}"
description = "What {name} does."
# Domain events delivered to on_event, e.g. ["customer.created"].
events = ["customer.created"]
# Webhook routes: POST /v1/hooks/{{tenant}}/{{installation}}/{{route}} runs transform.
webhooks = []
# What the tenant is asked to grant: kv, customers:read, customers:write, messages:send, http:<host>.
capabilities = []

[config_schema]
type = "object"
"#,
                interface = crate::plugins::INTERFACE_VERSION
            ),
        ),
        (
            src.join("lib.rs"),
            format!(
                r#"use switchboard_sdk::serde_json::Value;
use switchboard_sdk::{{plugin, Event, Plugin, Result}};

struct {ty};

impl Plugin for {ty} {{
    fn on_event(event: Event) -> Result<Value> {{
        // handle the event here
        let _ = event;
        Ok(Value::Null)
    }}
}}

plugin!({ty});
"#,
                ty = type_name(name)
            ),
        ),
    ];
    for (path, text) in files {
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scaffolds_a_crate_with_the_handler_placeholder() {
        let parent = std::env::temp_dir().join(format!("sb_new_{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&parent).unwrap();
        let dir = super::create(&parent, "order-notes", None).unwrap();
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("struct OrderNotes;"));
        let body = lib
            .split("fn on_event(event: Event) -> Result<Value> {\n")
            .nth(1)
            .unwrap();
        assert!(body.trim_start().starts_with("// handle the event here"), "{body}");
        let manifest = super::super::read_manifest(&dir).unwrap();
        assert_eq!(manifest.name, "order-notes");
        assert!(std::fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .contains("switchboard-sdk"));
        assert!(super::create(&parent, "order-notes", None).is_err(), "exists");
        assert!(super::create(&parent, "Bad Name", None).is_err());
        std::fs::remove_dir_all(parent).unwrap();
    }
}
