-- KV entries may expire (`kv-put-expiring`, interface 0.1.1): expired ones are invisible at
-- once and deleted hourly, oldest first, through this index of the entries that expire at all.
ALTER TABLE plugin_kv ADD COLUMN expires_at BIGINT;
CREATE INDEX plugin_kv_expiry ON plugin_kv (expires_at) WHERE expires_at IS NOT NULL;
