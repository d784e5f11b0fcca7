-- The bytes each installation's KV entries take, kept by a trigger, so a put checks the quota
-- by summing a few rows instead of the namespace (which grew with every entry: a shop's
-- remembered webhook ids made each put scan thousands of rows). Entries that expired but are
-- not pruned yet still count here; a put that this total refuses checks the live entries.
-- The total is split over 128 shards by a hash of the key: one row per installation made every
-- concurrent run that puts a key wait for the others' commits (a plugin run's writes are one
-- transaction), and webhooks of one shop then queued behind each other. Puts in flight at once
-- do not see each other's bytes, so together they may pass the quota by what they put.
CREATE TABLE plugin_kv_usage (
    installation_id  TEXT NOT NULL REFERENCES plugin_installations(id) ON DELETE CASCADE,
    shard            INTEGER NOT NULL,
    tenant_id        TEXT NOT NULL,
    bytes            BIGINT NOT NULL,
    PRIMARY KEY (installation_id, shard)
);
INSERT INTO plugin_kv_usage (installation_id, shard, tenant_id, bytes)
    SELECT installation_id, hashtext(key) & 127, MIN(tenant_id), SUM(OCTET_LENGTH(key) + OCTET_LENGTH(value))
    FROM plugin_kv GROUP BY installation_id, hashtext(key) & 127;

CREATE FUNCTION plugin_kv_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE plugin_kv_usage SET bytes = bytes - OCTET_LENGTH(OLD.key) - OCTET_LENGTH(OLD.value)
            WHERE installation_id = OLD.installation_id AND shard = hashtext(OLD.key) & 127;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO plugin_kv_usage (installation_id, shard, tenant_id, bytes)
            VALUES (NEW.installation_id, hashtext(NEW.key) & 127, NEW.tenant_id,
                    OCTET_LENGTH(NEW.key) + OCTET_LENGTH(NEW.value))
            ON CONFLICT (installation_id, shard) DO UPDATE SET bytes = plugin_kv_usage.bytes + excluded.bytes;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER plugin_kv_usage AFTER INSERT OR DELETE OR UPDATE OF key, value ON plugin_kv
    FOR EACH ROW EXECUTE FUNCTION plugin_kv_usage_count();

GRANT SELECT, INSERT, UPDATE, DELETE ON plugin_kv_usage TO switchboard_tenant;
ALTER TABLE plugin_kv_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON plugin_kv_usage
    USING (tenant_id = current_setting('switchboard.tenant_id', true));
