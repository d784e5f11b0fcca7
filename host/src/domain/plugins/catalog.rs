//! The first-party catalog: components built into `plugins/dist/` (`<name>.wasm` beside its
//! `<name>.toml` manifest), loaded at start so a fresh machine needs no wasm toolchain. The
//! catalog offers one version of each plugin: the newest when several files name it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::plugins::manifest::Manifest;
use crate::plugins::runtime::sha256_hex;

pub struct Entry {
    pub manifest: Manifest,
    pub wasm: Arc<Vec<u8>>,
    pub sha256: String,
}

/// A manifest's version as numbers (manifests are checked to be `a.b.c`).
fn version_key(entry: &Entry) -> Vec<u64> {
    entry
        .manifest
        .version
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[derive(Default)]
pub struct Catalog(BTreeMap<String, Entry>);

impl Catalog {
    /// Every `<name>.toml` with its `<name>.wasm` in `dir`; unreadable entries are logged and
    /// skipped, a missing directory gives an empty catalog.
    pub fn load(dir: &Path) -> Self {
        let Ok(files) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "no plugin catalog directory: the catalog is empty");
            return Self::default();
        };
        let mut entries = BTreeMap::new();
        for path in files.flatten().map(|f| f.path()) {
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let loaded = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| Manifest::parse(&text).map_err(|e| e.to_string()))
                .and_then(|m| {
                    let wasm = std::fs::read(path.with_extension("wasm")).map_err(|e| e.to_string())?;
                    Ok(Entry {
                        sha256: sha256_hex(&wasm),
                        wasm: Arc::new(wasm),
                        manifest: m,
                    })
                });
            match loaded {
                // One version per name: the newest of the files naming it.
                Ok(entry) => match entries.get(&entry.manifest.name) {
                    Some(held) if version_key(held) >= version_key(&entry) => {}
                    _ => {
                        entries.insert(entry.manifest.name.clone(), entry);
                    }
                },
                Err(error) => tracing::warn!(path = %path.display(), %error, "skipping a catalog plugin"),
            }
        }
        Self(entries)
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.0.get(name)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.0.values()
    }
}
