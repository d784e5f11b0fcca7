-- CRM: customers, custom fields, tags, consent, suppressions, events, domain-event outbox.

CREATE TABLE custom_fields (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    field_type  TEXT NOT NULL,
    options     TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, key)
);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email        TEXT,
    phone        TEXT,
    first_name   TEXT,
    last_name    TEXT,
    locale       TEXT,
    timezone     TEXT,
    external_id  TEXT,
    -- lower-cased "last first", for sorting by name
    sort_name    TEXT NOT NULL,
    -- normalised words of name, email and phone, for text search
    search_text  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX customers_email ON customers (tenant_id, email);
CREATE UNIQUE INDEX customers_phone ON customers (tenant_id, phone);
CREATE UNIQUE INDEX customers_external_id ON customers (tenant_id, external_id);
CREATE INDEX customers_tenant_id ON customers (tenant_id, id);
CREATE INDEX customers_updated ON customers (tenant_id, updated_at, id);
CREATE INDEX customers_name ON customers (tenant_id, sort_name, id);

-- Custom field values, one row per (customer, field): typed columns keep range conditions
-- indexable and identical on both backends. Secondary indexes lead with what a condition
-- names (field, tag, channel, event type), never with tenant_id alone, so that a lookup by
-- customer ids within a tenant always takes the primary key.
CREATE TABLE customer_field_values (
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    field_key    TEXT NOT NULL,
    value_text   TEXT,
    value_num    DOUBLE PRECISION,
    PRIMARY KEY (customer_id, field_key)
);
CREATE INDEX customer_field_values_num ON customer_field_values (field_key, tenant_id, value_num);
CREATE INDEX customer_field_values_text ON customer_field_values (field_key, tenant_id, value_text);

CREATE TABLE customer_tags (
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag, tenant_id, customer_id);

CREATE TABLE customer_consents (
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    status       TEXT NOT NULL,
    source       TEXT,
    keyword      TEXT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (customer_id, channel)
);
CREATE INDEX customer_consents_status ON customer_consents (channel, status, tenant_id, customer_id);

CREATE TABLE suppressions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel, address)
);

CREATE TABLE customer_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    properties   TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL
);
CREATE INDEX customer_events_customer ON customer_events (tenant_id, customer_id, occurred_at);
-- Probing one customer for an event type (segment activity conditions).
CREATE INDEX customer_events_customer_type ON customer_events (customer_id, event_type, occurred_at);
CREATE INDEX customer_events_type ON customer_events (event_type, tenant_id, occurred_at, customer_id);

-- The domain-event outbox, written in the transaction of the change it describes.
CREATE TABLE domain_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    data         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL
);
CREATE INDEX domain_events_tenant ON domain_events (tenant_id, id);

-- Text search: the same normalised words, as a 'simple' tsvector.
CREATE INDEX customers_search ON customers USING GIN (to_tsvector('simple', search_text));

GRANT SELECT, INSERT, UPDATE, DELETE ON custom_fields, customers, customer_field_values, customer_tags,
    customer_consents, suppressions, customer_events, domain_events TO switchboard_tenant;
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['custom_fields', 'customers', 'customer_field_values', 'customer_tags',
        'customer_consents', 'suppressions', 'customer_events', 'domain_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''switchboard.tenant_id'', true))', t);
    END LOOP;
END $$;
