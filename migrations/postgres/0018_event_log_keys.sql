-- The event logs are keyed by what they are read by: a tenant's domain events by id, a
-- message's email events. Each had a primary key on the id alone plus an index on the tenant's
-- key; the primary key now is that index, so every insert (an open or click writes one row in
-- each) updates one index less, and so does the relay's mark of a domain event (not a HOT
-- update: its column is in the unrelayed index's predicate).
ALTER TABLE domain_events DROP CONSTRAINT domain_events_pkey, ADD PRIMARY KEY (tenant_id, id);
DROP INDEX domain_events_tenant;
ALTER TABLE email_events DROP CONSTRAINT email_events_pkey, ADD PRIMARY KEY (tenant_id, message_id, id);
DROP INDEX email_events_message;
