-- The relay follows a cursor over the outbox instead of marking each event relayed (the mark
-- rewrote every event once and kept a partial index of the unrelayed rows). Writers take turns
-- on SQLite, so events are numbered in commit order; AUTOINCREMENT keeps a number from being
-- given again after the last events are deleted (a tenant's cascade), which a cursor past
-- them would skip. SQLite adds a column to a key by rebuilding the table.
CREATE TABLE domain_events_numbered (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    data         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
INSERT INTO domain_events_numbered (seq, id, tenant_id, event_type, data, occurred_at)
    SELECT rowid, id, tenant_id, event_type, data, occurred_at FROM domain_events ORDER BY rowid;

-- One row: the last event handed on. Events not relayed yet are after it.
CREATE TABLE outbox_relay (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    after_seq  INTEGER NOT NULL
);
INSERT INTO outbox_relay (id, after_seq) VALUES (1, COALESCE(
    (SELECT MIN(rowid) - 1 FROM domain_events WHERE relayed_at IS NULL),
    (SELECT MAX(rowid) FROM domain_events),
    0));

DROP TABLE domain_events;
ALTER TABLE domain_events_numbered RENAME TO domain_events;
