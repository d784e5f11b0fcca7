#!/usr/bin/env bash
# Builds every plugin component with `switchboard plugin build`: the first-party plugins into
# plugins/dist/ (the catalog `serve` offers) and the test plugins into tests/plugins/dist/, each
# with its manifest (NAME.toml) and a build record (NAME.build: interface version and hashes of
# its sources, lock file and the SDK). `plugins/build.sh --check` builds nothing and fails when a
# committed component's sources changed since its record was written.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
switchboard=${SWITCHBOARD_BIN:-$root/target/debug/switchboard}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/wasm}

# Everything a component is built from: its crate, the shared commerce crate and the SDK (and
# for test plugins the hostile plugin's sources, which hostile-next builds as another version).
sources_hash() {
    local shared=(plugins/commerce/src plugins/commerce/Cargo.toml)
    case $1 in tests/*) shared+=(tests/plugins/hostile/src) ;; esac
    find "$1/src" "$1/Cargo.toml" "$1/Cargo.lock" "$1/plugin.toml" \
        sdk/src sdk/wit sdk/Cargo.toml "${shared[@]}" -type f |
        LC_ALL=C sort | xargs sha256sum | sed "s|$root/||" | sha256sum | cut -d' ' -f1
}

stale=0
for crate in plugins/*/ tests/plugins/*/; do
    crate=${crate%/}
    [ -f "$crate/plugin.toml" ] || continue
    name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$crate/plugin.toml" | head -n1)
    # Named after the crate's folder: two versions of one plugin are two folders.
    out=$(basename "$crate")
    dist=$(dirname "$crate")/dist
    if [ "${1:-}" = --check ]; then
        if ! grep -qx "sources_sha256 = \"$(sources_hash "$crate")\"" "$dist/$out.build" 2>/dev/null; then
            echo "stale: $dist/$out.wasm does not match $crate (run plugins/build.sh and commit)" >&2
            stale=1
        fi
        continue
    fi
    (cd "$crate" && "$switchboard" plugin build)
    mkdir -p "$dist"
    cp "$crate/dist/$name.wasm" "$dist/$out.wasm"
    cp "$crate/plugin.toml" "$dist/$out.toml"
    interface=$(sed -n 's/^interface = "\(.*\)"$/\1/p' "$crate/plugin.toml" | head -n1)
    printf 'interface = "%s"\nsources_sha256 = "%s"\nwasm_sha256 = "%s"\n' \
        "$interface" "$(sources_hash "$crate")" "$(sha256sum "$dist/$out.wasm" | cut -d' ' -f1)" >"$dist/$out.build"
    (cd "$crate" && "$switchboard" plugin check --wasm "$root/$dist/$out.wasm")
done
exit $stale
