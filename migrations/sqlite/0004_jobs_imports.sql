-- The durable job queue (cross-tenant infrastructure) and CSV imports of customers.

-- Times are epoch milliseconds. A 'running' job whose lease (locked_until) has passed belongs
-- to a worker that died; the claim query takes it again.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    run_at           BIGINT NOT NULL,
    locked_until     BIGINT,
    locked_by        TEXT,
    last_error       TEXT,
    idempotency_key  TEXT UNIQUE,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);

CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    mode        TEXT NOT NULL,
    -- JSON object header → target; NULL means "headers named like a standard field".
    mapping     TEXT,
    file_path   TEXT NOT NULL,
    -- Data rows committed so far: a resumed job skips this many.
    rows_done   BIGINT NOT NULL,
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    failed      BIGINT NOT NULL,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX imports_tenant ON imports (tenant_id, id);

CREATE TABLE import_errors (
    tenant_id    TEXT NOT NULL,
    import_id    TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_number   BIGINT NOT NULL,
    column_name  TEXT NOT NULL,
    reason       TEXT NOT NULL
);
CREATE INDEX import_errors_import ON import_errors (import_id, row_number);
