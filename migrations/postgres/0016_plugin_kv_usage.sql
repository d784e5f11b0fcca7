-- The bytes each installation's KV entries take, kept by a trigger, so a put checks the quota
-- with one row instead of summing the namespace (which grew with every entry: a shop's
-- remembered webhook ids made each put scan thousands of rows). Entries that expired but are
-- not pruned yet still count here; a put that this total refuses checks the live entries.
CREATE TABLE plugin_kv_usage (
    installation_id  TEXT PRIMARY KEY REFERENCES plugin_installations(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    bytes            BIGINT NOT NULL
);
INSERT INTO plugin_kv_usage (installation_id, tenant_id, bytes)
    SELECT installation_id, MIN(tenant_id), SUM(OCTET_LENGTH(key) + OCTET_LENGTH(value))
    FROM plugin_kv GROUP BY installation_id;

CREATE FUNCTION plugin_kv_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE plugin_kv_usage SET bytes = bytes - OCTET_LENGTH(OLD.key) - OCTET_LENGTH(OLD.value)
            WHERE installation_id = OLD.installation_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO plugin_kv_usage (installation_id, tenant_id, bytes)
            VALUES (NEW.installation_id, NEW.tenant_id, OCTET_LENGTH(NEW.key) + OCTET_LENGTH(NEW.value))
            ON CONFLICT (installation_id) DO UPDATE SET bytes = plugin_kv_usage.bytes + excluded.bytes;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER plugin_kv_usage AFTER INSERT OR DELETE OR UPDATE OF key, value ON plugin_kv
    FOR EACH ROW EXECUTE FUNCTION plugin_kv_usage_count();

GRANT SELECT, INSERT, UPDATE, DELETE ON plugin_kv_usage TO switchboard_tenant;
ALTER TABLE plugin_kv_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON plugin_kv_usage
    USING (tenant_id = current_setting('switchboard.tenant_id', true));
