-- Finished deliveries are deleted after the retention period (hourly, oldest first); this index
-- finds them without scanning the table. Creation times only grow, so it is appended to cheaply.
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
