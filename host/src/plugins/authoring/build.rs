//! `switchboard plugin build`: compiles the plugin crate in the current folder for
//! `wasm32-unknown-unknown`, wraps the module into a component and writes `dist/NAME.wasm`.
//!
//! Two toolchains work: rustup's wasm target when installed, or Debian's Rust with its std
//! sources (`rustc-web cargo-web rust-web-src`), which builds std for the target itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{io, read_manifest, AuthoringError};

const TARGET: &str = "wasm32-unknown-unknown";
/// Debian's cargo and the std sources it builds for the target.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library";

pub const INSTALL_HINT: &str = "no WebAssembly std found: run `rustup target add wasm32-unknown-unknown`, \
     or on Debian `apt-get install rustc-web cargo-web rust-web-src`";

/// How to run cargo for the wasm target on this machine.
#[derive(Debug)]
pub enum Toolchain {
    /// rustup with the target installed: a plain cargo build.
    Rustup,
    /// Debian's cargo building std from source, linked with `linker`.
    DebianStd { linker: PathBuf },
}

fn rustc_sysroot() -> Option<PathBuf> {
    let out = Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The toolchain to use, or what to install.
pub fn detect() -> Result<Toolchain, AuthoringError> {
    let sysroot = rustc_sysroot();
    if let Some(root) = &sysroot {
        if root.join("lib/rustlib").join(TARGET).join("lib").is_dir() {
            return Ok(Toolchain::Rustup);
        }
    }
    if Path::new(DEBIAN_CARGO).exists() && Path::new(DEBIAN_STD_SRC).is_dir() {
        let host_bins = sysroot.map(|r| r.join("lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"));
        let linker = [host_bins, Some(PathBuf::from("/usr/bin/rust-lld"))]
            .into_iter()
            .flatten()
            .find(|p| p.exists());
        if let Some(linker) = linker {
            return Ok(Toolchain::DebianStd { linker });
        }
    }
    Err(AuthoringError::Usage(INSTALL_HINT.into()))
}

/// The cargo command that builds the crate in `dir` for the wasm target.
pub fn cargo_command(toolchain: &Toolchain, dir: &Path) -> Command {
    let mut cmd = match toolchain {
        Toolchain::Rustup => Command::new("cargo"),
        Toolchain::DebianStd { linker } => {
            let mut cmd = Command::new(DEBIAN_CARGO);
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("/usr/bin:{path}"))
                .env("RUSTC", "/usr/bin/rustc")
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker);
            cmd
        }
    };
    cmd.current_dir(dir).args(["build", "--release", "--target", TARGET]);
    cmd
}

/// The library's file name stem as cargo writes it.
fn crate_stem(dir: &Path) -> Result<String, AuthoringError> {
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let value: toml::Value =
        toml::from_str(&text).map_err(|e| AuthoringError::Usage(format!("Cargo.toml: {}", e.message())))?;
    let name = value
        .get("lib")
        .and_then(|l| l.get("name"))
        .or_else(|| value.get("package").and_then(|p| p.get("name")))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| AuthoringError::Usage("Cargo.toml has no package name".into()))?;
    Ok(name.replace('-', "_"))
}

/// Wraps a core module built with the SDK into a component.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, AuthoringError> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)
        .and_then(|e| e.encode())
        .map_err(|e| AuthoringError::Usage(format!("wrapping the module into a component failed: {e:#}")))
}

/// Builds the plugin in `dir`; returns the component's path and size.
pub fn build(dir: &Path) -> Result<(PathBuf, u64), AuthoringError> {
    let manifest = read_manifest(dir)?;
    let toolchain = detect()?;
    let status = cargo_command(&toolchain, dir)
        .status()
        .map_err(|e| AuthoringError::Usage(format!("could not run cargo: {e}")))?;
    if !status.success() {
        return Err(AuthoringError::Usage(format!("cargo build failed ({status})")));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    let module_path = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", crate_stem(dir)?));
    let module = std::fs::read(&module_path).map_err(io(&module_path))?;
    let component = componentize(&module)?;
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).map_err(io(&dist))?;
    let out = dist.join(format!("{}.wasm", manifest.name));
    std::fs::write(&out, &component).map_err(io(&out))?;
    Ok((out, component.len() as u64))
}
