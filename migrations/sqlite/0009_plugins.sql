-- WASM plugins: tenants' uploaded components and their versions, installations (of an upload
-- or a first-party catalog plugin), each installation's KV store, runs and log lines.

CREATE TABLE plugins (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE plugin_versions (
    plugin_id   TEXT NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    -- the parsed plugin.toml, as JSON
    manifest    TEXT NOT NULL,
    wasm        BLOB NOT NULL,
    -- the compiled-code cache key
    sha256      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, version)
);

CREATE TABLE plugin_installations (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- a first-party catalog name, or the plg_ id of one of the tenant's uploads
    plugin        TEXT NOT NULL,
    version       TEXT NOT NULL,
    enabled       BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    -- the configuration without its secret fields, as JSON
    config        TEXT NOT NULL,
    -- the secret fields as JSON, sealed (XChaCha20-Poly1305, the installation id as context)
    secrets       BLOB,
    -- the granted capabilities, as a JSON array
    capabilities  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX plugin_installations_tenant ON plugin_installations (tenant_id, id);

CREATE TABLE plugin_kv (
    tenant_id        TEXT NOT NULL,
    installation_id  TEXT NOT NULL REFERENCES plugin_installations(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    value            BLOB NOT NULL,
    PRIMARY KEY (installation_id, key)
);

CREATE TABLE plugin_runs (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    installation_id    TEXT NOT NULL REFERENCES plugin_installations(id) ON DELETE CASCADE,
    -- event, webhook, tick or invoke
    trigger            TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    error              TEXT,
    output             TEXT,
    duration_us        BIGINT NOT NULL,
    fuel_used          BIGINT NOT NULL,
    memory_peak_bytes  BIGINT NOT NULL,
    host_calls         BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX plugin_runs_installation ON plugin_runs (installation_id, id);

CREATE TABLE plugin_logs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    installation_id  TEXT NOT NULL REFERENCES plugin_installations(id) ON DELETE CASCADE,
    run_id           TEXT NOT NULL,
    level            TEXT NOT NULL,
    message          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX plugin_logs_installation ON plugin_logs (installation_id, id);
