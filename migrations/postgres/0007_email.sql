-- Job queue completion (per-tenant fairness lanes) and email campaigns.

-- Fairness: every job belongs to a lane (its tenant id, or '' for platform jobs). A claim
-- serves the lane with due jobs that was served longest ago, so one tenant's million queued
-- jobs delay another tenant's next job by at most one job per busier lane.
ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT '';
UPDATE jobs SET lane = tenant_id WHERE tenant_id IS NOT NULL;
CREATE INDEX jobs_lane_due ON jobs (lane, run_at) WHERE status = 'queued';

CREATE TABLE job_lanes (
    lane             TEXT PRIMARY KEY,
    last_claimed_at  BIGINT NOT NULL
);
CREATE INDEX job_lanes_turn ON job_lanes (last_claimed_at, lane);
INSERT INTO job_lanes (lane, last_claimed_at) SELECT DISTINCT lane, 0 FROM jobs;

-- Email provider per tenant: when set, the tenant's own Resend account (key and, rarely, base
-- URL) instead of the platform's. The key is write-only through the API.
CREATE TABLE email_provider_settings (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    provider    TEXT NOT NULL CHECK (provider IN ('resend')),
    api_key     TEXT NOT NULL,
    base_url    TEXT,
    updated_at  BIGINT NOT NULL
);

-- The dev outbox: what would have been sent when no provider is configured.
CREATE TABLE email_outbox (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    message_key  TEXT NOT NULL,
    from_addr    TEXT NOT NULL,
    to_addr      TEXT NOT NULL,
    reply_to     TEXT,
    subject      TEXT NOT NULL,
    html         TEXT NOT NULL,
    text_body    TEXT NOT NULL,
    -- JSON object of extra headers.
    headers      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, message_key)
);
CREATE INDEX email_outbox_tenant ON email_outbox (tenant_id, id);

-- Lanes are queue infrastructure like jobs: no RLS; tenant transactions register their lane.
GRANT SELECT, INSERT, UPDATE ON job_lanes TO switchboard_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON email_provider_settings, email_outbox TO switchboard_tenant;
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['email_provider_settings', 'email_outbox'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''switchboard.tenant_id'', true))', t);
    END LOOP;
END $$;
