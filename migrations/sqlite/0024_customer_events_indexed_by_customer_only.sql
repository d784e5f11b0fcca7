-- Events are read by customer only (see the PostgreSQL migration of the same name): the two
-- indexes by type had no reader but the activity trigger's recount on delete, which now reads
-- the customer's events by (tenant_id, customer_id, occurred_at).
DROP INDEX customer_events_type;
DROP INDEX customer_events_customer_type;

DROP TRIGGER customer_activity_delete;
CREATE TRIGGER customer_activity_delete AFTER DELETE ON customer_events BEGIN
    UPDATE customer_activity SET event_count = event_count - 1,
        last_at = COALESCE((SELECT MAX(occurred_at) FROM customer_events
                            WHERE tenant_id = old.tenant_id AND customer_id = old.customer_id
                              AND event_type = old.event_type), last_at)
        WHERE customer_id = old.customer_id AND event_type = old.event_type;
    DELETE FROM customer_activity
        WHERE customer_id = old.customer_id AND event_type = old.event_type AND event_count <= 0;
END;
