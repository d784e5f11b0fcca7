-- Outgoing webhooks: endpoints, deliveries (the delivery queue) and their attempts; and the
-- outbox relay's mark.

-- The relay takes outbox rows that are not yet relayed, hands them to every consumer (webhooks;
-- plugins later) and marks them in the same transaction. A cursor over ids or times could skip
-- a row whose transaction committed after a later one; a mark cannot. The partial index holds
-- only the rows still to relay, so finding them stays cheap however large the outbox grows.
-- Rows written before this migration are history: nobody was subscribed to them.
ALTER TABLE domain_events ADD COLUMN relayed_at BIGINT;
UPDATE domain_events SET relayed_at = occurred_at;
CREATE INDEX domain_events_unrelayed ON domain_events (occurred_at) WHERE relayed_at IS NULL;

CREATE TABLE webhook_endpoints (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                    TEXT NOT NULL,
    description            TEXT,
    -- JSON array of event types and `prefix.*` wildcards; empty means every type
    event_types            TEXT NOT NULL,
    -- JSON object of extra request headers
    headers                TEXT NOT NULL,
    -- deliveries per second; NULL means no limit
    rate_limit             INTEGER,
    -- `whsec_…`; the previous one keeps signing until `previous_secret_until` after a rotation
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  BIGINT,
    -- set when a user or the failure rule disables the endpoint
    disabled_at            BIGINT,
    disabled_reason        TEXT,
    -- first failure of the current unbroken run of failures
    failing_since          BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

-- One row per (event, endpoint): the unit of delivery and the delivery queue itself.
CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id       TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id          TEXT NOT NULL,
    event_type        TEXT NOT NULL,
    -- the exact body sent (and signed) at every attempt
    payload           TEXT NOT NULL,
    -- pending, succeeded or failed
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    -- while pending: when the next attempt is due; while an attempt runs: its lease, after
    -- which another dispatcher takes it over (a crash costs a retry, never the delivery)
    next_attempt_at   BIGINT,
    last_status_code  INTEGER,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, id);

CREATE TABLE webhook_attempts (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id    TEXT NOT NULL,
    delivery_id    TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt        INTEGER NOT NULL,
    -- succeeded or failed
    status         TEXT NOT NULL,
    response_code  INTEGER,
    -- the first 4 KB of the response body
    response_body  TEXT,
    error          TEXT,
    latency_ms     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (tenant_id, endpoint_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_deliveries, webhook_attempts TO switchboard_tenant;
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''switchboard.tenant_id'', true))', t);
    END LOOP;
END $$;
