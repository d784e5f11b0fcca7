-- The event logs are keyed by what they are read by: a tenant's domain events by id, a
-- message's email events. Each had a primary key on the id alone plus an index on the tenant's
-- key; the primary key now is that index, so every insert (an open or click writes one row in
-- each) updates one index less. SQLite changes a primary key by rebuilding the table.
CREATE TABLE domain_events_keyed (
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    data         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    relayed_at   BIGINT,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO domain_events_keyed (id, tenant_id, event_type, data, occurred_at, relayed_at)
    SELECT id, tenant_id, event_type, data, occurred_at, relayed_at FROM domain_events ORDER BY rowid;
DROP TABLE domain_events;
ALTER TABLE domain_events_keyed RENAME TO domain_events;
CREATE INDEX domain_events_unrelayed ON domain_events (occurred_at) WHERE relayed_at IS NULL;

CREATE TABLE email_events_keyed (
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id  TEXT NOT NULL REFERENCES email_campaigns(id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL REFERENCES email_messages(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('delivered', 'delivery_delayed', 'bounced', 'complained',
                                               'opened', 'clicked', 'unsubscribed')),
    url          TEXT,
    occurred_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, message_id, id)
);
INSERT INTO email_events_keyed (id, tenant_id, campaign_id, message_id, kind, url, occurred_at)
    SELECT id, tenant_id, campaign_id, message_id, kind, url, occurred_at FROM email_events ORDER BY rowid;
DROP TABLE email_events;
ALTER TABLE email_events_keyed RENAME TO email_events;
CREATE INDEX email_events_campaign ON email_events (tenant_id, campaign_id, kind, occurred_at);
