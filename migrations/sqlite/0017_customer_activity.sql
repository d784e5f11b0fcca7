-- Per customer and event type, the latest event's time and how many there are, kept by
-- triggers, for segment conditions on activity: one row per customer to read instead of every
-- event (see the PostgreSQL migration of the same name).
CREATE TABLE customer_activity (
    tenant_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    last_at      BIGINT NOT NULL,
    event_count  BIGINT NOT NULL,
    PRIMARY KEY (customer_id, event_type)
) WITHOUT ROWID;
INSERT INTO customer_activity (tenant_id, customer_id, event_type, last_at, event_count)
    SELECT MIN(tenant_id), customer_id, event_type, MAX(occurred_at), COUNT(*)
    FROM customer_events GROUP BY customer_id, event_type;
CREATE INDEX customer_activity_type ON customer_activity (event_type, tenant_id, last_at, customer_id);

CREATE TRIGGER customer_activity_insert AFTER INSERT ON customer_events BEGIN
    INSERT INTO customer_activity (tenant_id, customer_id, event_type, last_at, event_count)
        VALUES (new.tenant_id, new.customer_id, new.event_type, new.occurred_at, 1)
        ON CONFLICT (customer_id, event_type) DO UPDATE
        SET last_at = MAX(last_at, excluded.last_at), event_count = event_count + 1;
END;
CREATE TRIGGER customer_activity_delete AFTER DELETE ON customer_events BEGIN
    UPDATE customer_activity SET event_count = event_count - 1,
        last_at = COALESCE((SELECT MAX(occurred_at) FROM customer_events
                            WHERE customer_id = old.customer_id AND event_type = old.event_type), last_at)
        WHERE customer_id = old.customer_id AND event_type = old.event_type;
    DELETE FROM customer_activity
        WHERE customer_id = old.customer_id AND event_type = old.event_type AND event_count <= 0;
END;
