//! Plugin components for tests: the hostile test plugin (built from `tests/plugins/hostile`, and
//! as another version from `tests/plugins/hostile-next`, committed under `tests/plugins/dist/`)
//! and uploading with multipart.

use serde_json::{json, Value};

use crate::{Reply, Session};

/// The directory of built test plugins, usable as a catalog directory.
pub const DIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/dist");

/// The first-party catalog of the repository.
pub const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/dist");

/// The hostile plugin's component and manifest (version 0.1.0).
pub fn hostile() -> (Vec<u8>, String) {
    built("hostile")
}

/// The same sources built as version 0.2.0 of the hostile plugin.
pub fn hostile_next() -> (Vec<u8>, String) {
    built("hostile-next")
}

/// The hostile plugin as built for interface 0.1.0, kept as it was (`tests/plugins/compat/`):
/// the host runs components built for the interface versions it extends.
pub fn hostile_for_interface_0_1_0() -> (Vec<u8>, String) {
    component_and_manifest(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plugins/compat/hostile-interface-0.1.0"
    ))
}

/// A test plugin's component and manifest, by its folder under `tests/plugins/`.
fn built(folder: &str) -> (Vec<u8>, String) {
    component_and_manifest(&format!("{DIST}/{folder}"))
}

/// `<path>.wasm` and `<path>.toml`.
fn component_and_manifest(path: &str) -> (Vec<u8>, String) {
    let wasm = std::fs::read(format!("{path}.wasm")).unwrap_or_else(|e| panic!("{path}.wasm: {e}"));
    let manifest = std::fs::read_to_string(format!("{path}.toml")).unwrap_or_else(|e| panic!("{path}.toml: {e}"));
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

/// Installs `plugin` (a catalog name or `plg_` id) with `caps` and the hostile plugin's config,
/// with a secret; answers the installation id.
pub async fn install(owner: &Session, plugin: &str, caps: &[&str]) -> String {
    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": plugin, "config": {"greeting": "hi", "token": "s3cret"}, "capabilities": caps}),
        )
        .await;
    assert_eq!(ins.status, 201, "{}", ins.body);
    ins.body["id"].as_str().unwrap().to_owned()
}

/// Uploads the hostile plugin (0.1.0) and installs it with `caps`.
pub async fn installed(owner: &Session, caps: &[&str]) -> String {
    let (wasm, manifest) = hostile();
    let up = upload(owner, wasm, &manifest).await;
    assert_eq!(up.status, 201, "{}", up.body);
    install(owner, up.body["id"].as_str().unwrap(), caps).await
}

/// `POST /v1/installations/{ins}/invoke` with an event; answers the 200 body.
pub async fn invoke(session: &Session, ins: &str, event_type: &str, data: Value) -> Value {
    let reply = session
        .post(
            &format!("/v1/installations/{ins}/invoke"),
            json!({"event": {"type": event_type, "data": data}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// [`invoke`] of a run that must succeed; answers its output.
pub async fn invoke_ok(session: &Session, ins: &str, event_type: &str, data: Value) -> Value {
    let run = invoke(session, ins, event_type, data).await;
    assert_eq!(run["outcome"], "ok", "{run}");
    run["output"].clone()
}
