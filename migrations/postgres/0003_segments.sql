-- Segments: saved rule trees over customers, evaluated on demand.

CREATE TABLE segments (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT,
    -- the rule tree as JSON, re-validated against the custom fields whenever it is evaluated
    rules        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX segments_tenant_id ON segments (tenant_id, id);

GRANT SELECT, INSERT, UPDATE, DELETE ON segments TO switchboard_tenant;
ALTER TABLE segments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON segments USING (tenant_id = current_setting('switchboard.tenant_id', true));
