-- Ids of inbound provider webhooks already processed, so a replayed or retried delivery is
-- recognised. `source` names the sender and, where it matters, the tenant or installation. The
-- table holds no tenant data, so tenant transactions may record receipts with their effects.
CREATE TABLE webhook_receipts (
    source TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source, receipt_id)
);
CREATE INDEX webhook_receipts_received ON webhook_receipts (received_at);
GRANT SELECT, INSERT ON webhook_receipts TO switchboard_tenant;
