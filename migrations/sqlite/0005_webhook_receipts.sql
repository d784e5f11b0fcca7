-- Ids of inbound provider webhooks already processed, so a replayed or retried delivery is
-- recognised. `source` names the sender and, where it matters, the tenant or installation.
CREATE TABLE webhook_receipts (
    source TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, receipt_id)
);
CREATE INDEX webhook_receipts_received ON webhook_receipts (received_at);
