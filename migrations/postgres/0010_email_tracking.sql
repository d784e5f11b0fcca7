-- Email tracking, provider events, campaign stats and verified senders.

-- A tenant's tracking domain: links in its emails (clicks, the open pixel, unsubscribe) point
-- there, and requests arriving for it are served only those routes, for its own messages.
CREATE TABLE tracking_domains (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    domain      TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

-- The Standard Webhooks secret Resend signs the tenant's own account's webhooks with.
ALTER TABLE email_provider_settings ADD COLUMN webhook_secret TEXT;

-- What the provider last reported of a message. Ranks only rise (sent 1, delivery_delayed 2,
-- delivered 3, bounced 4, complained 5), so a late `delivered` never overwrites `bounced`.
ALTER TABLE email_messages ADD COLUMN delivery TEXT;
ALTER TABLE email_messages ADD COLUMN delivery_rank INTEGER NOT NULL DEFAULT 0;
CREATE INDEX email_messages_provider ON email_messages (provider_id);
CREATE INDEX email_messages_customer_sent ON email_messages (tenant_id, customer_id, sent_at);

-- Audience members whose address cannot be sent to (skipped and counted, not fatal).
ALTER TABLE email_campaigns ADD COLUMN invalid BIGINT NOT NULL DEFAULT 0;

-- What happened to messages after they were handed over: opens and clicks (ours and the
-- provider's), and each forward move of the delivery status. Stats count these.
CREATE TABLE email_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id  TEXT NOT NULL REFERENCES email_campaigns(id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL REFERENCES email_messages(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('delivered', 'delivery_delayed', 'bounced', 'complained',
                                               'opened', 'clicked', 'unsubscribed')),
    url          TEXT,
    occurred_at  BIGINT NOT NULL
);
CREATE INDEX email_events_campaign ON email_events (tenant_id, campaign_id, kind, occurred_at);
CREATE INDEX email_events_message ON email_events (tenant_id, message_id);

-- Sender addresses a tenant proved it reads: a link mailed to the address verifies it.
-- Campaigns send only from verified senders.
CREATE TABLE email_senders (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
    created_at   BIGINT NOT NULL,
    verified_at  BIGINT,
    UNIQUE (tenant_id, email)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON tracking_domains, email_events, email_senders TO switchboard_tenant;
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['tracking_domains', 'email_events', 'email_senders'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''switchboard.tenant_id'', true))', t);
    END LOOP;
END $$;
