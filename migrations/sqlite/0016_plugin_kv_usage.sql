-- The bytes each installation's KV entries take, kept by triggers, so a put checks the quota
-- with one row instead of summing the namespace (which grew with every entry: a shop's
-- remembered webhook ids made each put scan thousands of rows). Entries that expired but are
-- not pruned yet still count here; a put that this total refuses checks the live entries.
-- One row per installation: SQLite has one writer, so no put waits on another's row
-- (PostgreSQL's total is split over shards).
CREATE TABLE plugin_kv_usage (
    installation_id  TEXT PRIMARY KEY REFERENCES plugin_installations(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    bytes            INTEGER NOT NULL
);
INSERT INTO plugin_kv_usage (installation_id, tenant_id, bytes)
    SELECT installation_id, MIN(tenant_id), SUM(OCTET_LENGTH(key) + OCTET_LENGTH(value))
    FROM plugin_kv GROUP BY installation_id;
CREATE TRIGGER plugin_kv_usage_insert AFTER INSERT ON plugin_kv BEGIN
    INSERT INTO plugin_kv_usage (installation_id, tenant_id, bytes)
        VALUES (new.installation_id, new.tenant_id, OCTET_LENGTH(new.key) + OCTET_LENGTH(new.value))
        ON CONFLICT (installation_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER plugin_kv_usage_update AFTER UPDATE OF key, value ON plugin_kv BEGIN
    UPDATE plugin_kv_usage
        SET bytes = bytes - OCTET_LENGTH(old.key) - OCTET_LENGTH(old.value)
            + OCTET_LENGTH(new.key) + OCTET_LENGTH(new.value)
        WHERE installation_id = new.installation_id;
END;
CREATE TRIGGER plugin_kv_usage_delete AFTER DELETE ON plugin_kv BEGIN
    UPDATE plugin_kv_usage SET bytes = bytes - OCTET_LENGTH(old.key) - OCTET_LENGTH(old.value)
        WHERE installation_id = old.installation_id;
END;
