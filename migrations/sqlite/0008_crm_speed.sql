-- CRM speed: custom field values and tags become WITHOUT ROWID tables keyed by (customer, …).
-- A probe for one customer's value or tag (segment conditions, list filters, export) then reads
-- one b-tree instead of an index and then the table, and every insert writes one b-tree fewer.
-- The value indexes become partial: a value is a number or a text (dates are both), so each
-- row is indexed once, not twice. Queries on them always say `IS NOT NULL`.

CREATE TABLE customer_field_values_new (
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    field_key    TEXT NOT NULL,
    value_text   TEXT,
    value_num    DOUBLE PRECISION,
    PRIMARY KEY (customer_id, field_key)
) WITHOUT ROWID;
INSERT INTO customer_field_values_new (tenant_id, customer_id, field_key, value_text, value_num)
    SELECT tenant_id, customer_id, field_key, value_text, value_num FROM customer_field_values;
DROP TABLE customer_field_values;
ALTER TABLE customer_field_values_new RENAME TO customer_field_values;
CREATE INDEX customer_field_values_num ON customer_field_values (field_key, tenant_id, value_num)
    WHERE value_num IS NOT NULL;
CREATE INDEX customer_field_values_text ON customer_field_values (field_key, tenant_id, value_text)
    WHERE value_text IS NOT NULL;

CREATE TABLE customer_tags_new (
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
) WITHOUT ROWID;
INSERT INTO customer_tags_new (tenant_id, customer_id, tag) SELECT tenant_id, customer_id, tag FROM customer_tags;
DROP TABLE customer_tags;
ALTER TABLE customer_tags_new RENAME TO customer_tags;
CREATE INDEX customer_tags_tag ON customer_tags (tag, tenant_id, customer_id);
