//! `switchboard plugin new | build | check`: the plugin author's tools.

pub mod build;
pub mod check;
pub mod new;

use std::path::Path;

use super::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    #[error("{0}")]
    Usage(String),
    #[error("plugin.toml: {0}")]
    Manifest(#[from] super::manifest::ManifestError),
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthoringError + '_ {
    move |error| AuthoringError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// The `plugin.toml` in `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, AuthoringError> {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    Ok(Manifest::parse(&text)?)
}
