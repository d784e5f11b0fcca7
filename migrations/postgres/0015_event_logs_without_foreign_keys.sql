-- Foreign keys to a row that every insert of a tenant names (the tenant, the campaign) cost each
-- insert a FOR KEY SHARE lock on that one row: concurrent transactions turn it into a multixact,
-- and the checks were re-planned on every call (41% of PostgreSQL's time while it recorded
-- opens and clicks). The append-only event logs and the message rows are written only from rows
-- looked up in the same transaction, and neither tenants nor campaigns with messages are deleted
-- by the application, so these references are kept by construction instead.
ALTER TABLE email_events
    DROP CONSTRAINT email_events_tenant_id_fkey,
    DROP CONSTRAINT email_events_campaign_id_fkey,
    DROP CONSTRAINT email_events_message_id_fkey;
ALTER TABLE domain_events DROP CONSTRAINT domain_events_tenant_id_fkey;
ALTER TABLE email_messages
    DROP CONSTRAINT email_messages_tenant_id_fkey,
    DROP CONSTRAINT email_messages_campaign_id_fkey;
