//! Plugin components for tests: the hostile test plugin (built from `tests/plugins/hostile`,
//! committed under `tests/plugins/dist/`) and uploading with multipart.

use crate::{Reply, Session};

/// The directory of built test plugins, usable as a catalog directory.
pub const DIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/dist");

/// The first-party catalog of the repository.
pub const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/dist");

/// The hostile plugin's component and manifest.
pub fn hostile() -> (Vec<u8>, String) {
    let wasm = std::fs::read(format!("{DIST}/hostile.wasm")).expect("tests/plugins/dist/hostile.wasm");
    let manifest = std::fs::read_to_string(format!("{DIST}/hostile.toml")).expect("tests/plugins/dist/hostile.toml");
    (wasm, manifest)
}

/// `POST /v1/plugins` with the two parts.
pub async fn upload(session: &Session, wasm: Vec<u8>, manifest: &str) -> Reply {
    let form = reqwest::multipart::Form::new()
        .part("wasm", reqwest::multipart::Part::bytes(wasm).file_name("plugin.wasm"))
        .part(
            "manifest",
            reqwest::multipart::Part::text(manifest.to_owned()).file_name("plugin.toml"),
        );
    session
        .send(session.request(reqwest::Method::POST, "/v1/plugins").multipart(form))
        .await
}
