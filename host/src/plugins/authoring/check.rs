//! `switchboard plugin check`: the upload checks, run locally on `dist/NAME.wasm`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{io, read_manifest, AuthoringError};
use crate::plugins::verify::verify;
use crate::plugins::{Limits, Runtime};

/// Validates the manifest, the component's imports and its interface version. Returns the
/// component checked.
pub fn check(dir: &Path, wasm: Option<&Path>) -> Result<PathBuf, AuthoringError> {
    let manifest = read_manifest(dir)?;
    let path = wasm
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("dist").join(format!("{}.wasm", manifest.name)));
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let runtime = Runtime::new(Limits::default(), 1, None)
        .map(Arc::new)
        .map_err(|e| AuthoringError::Usage(format!("the plugin engine did not start: {e}")))?;
    verify(&runtime, &bytes, &manifest).map_err(|e| AuthoringError::Usage(e.to_string()))?;
    Ok(path)
}
