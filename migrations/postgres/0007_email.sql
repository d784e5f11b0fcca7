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


-- Email campaigns. `audience` is JSON {segment_ids, tags, exclude_segment_ids}. While sending,
-- `prepared_after` is the last customer id whose message rows exist (the audience is walked
-- in id order, a page per transaction) and `prepared_at` says when the walk ended; `batches_done`
-- counts batches handed to the provider, in order.
CREATE TABLE email_campaigns (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'paused', 'cancelled')),
    from_name       TEXT,
    from_email      TEXT NOT NULL,
    reply_to        TEXT,
    subject         TEXT NOT NULL,
    html            TEXT NOT NULL,
    text_body       TEXT,
    audience        TEXT NOT NULL,
    send_at         BIGINT,
    timezone        TEXT,
    batch_size      INTEGER NOT NULL,
    prepared_after  TEXT NOT NULL DEFAULT '',
    prepared_at     BIGINT,
    recipients      BIGINT NOT NULL DEFAULT 0,
    batches_done    BIGINT NOT NULL DEFAULT 0,
    sent            BIGINT NOT NULL DEFAULT 0,
    skipped         BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    started_at      BIGINT,
    finished_at     BIGINT
);
CREATE INDEX email_campaigns_tenant ON email_campaigns (tenant_id, id);

-- One row per recipient, created before anything is sent: `batch_no` fixes which provider
-- request the message goes in, so a retried batch carries exactly the same messages (and the
-- same idempotency key). queued → sending (frozen for the provider call) → sent, or skipped
-- (unsubscribed or suppressed by the time its batch went).
CREATE TABLE email_messages (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id  TEXT NOT NULL REFERENCES email_campaigns(id) ON DELETE CASCADE,
    customer_id  TEXT NOT NULL,
    email        TEXT NOT NULL,
    batch_no     BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'skipped')),
    provider_id  TEXT,
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT,
    UNIQUE (campaign_id, email)
);
CREATE INDEX email_messages_batch ON email_messages (tenant_id, campaign_id, batch_no);
CREATE INDEX email_messages_customer ON email_messages (tenant_id, customer_id);

-- Lanes are queue infrastructure like jobs: no RLS; tenant transactions register their lane.
GRANT SELECT, INSERT, UPDATE ON job_lanes TO switchboard_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON email_provider_settings, email_outbox, email_campaigns, email_messages TO switchboard_tenant;
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['email_provider_settings', 'email_outbox', 'email_campaigns', 'email_messages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''switchboard.tenant_id'', true))', t);
    END LOOP;
END $$;
