-- The relay follows a cursor over the outbox instead of marking each event relayed: the mark
-- rewrote every event once (never a HOT update, so a heap tuple and an index entry more per
-- event; 11.6% of PostgreSQL's CPU while the open pixel was loaded) and kept a partial index
-- of the unrelayed rows.
--
-- Transactions commit out of id order, so the cursor is a pair of snapshots, as PgQ's: each
-- event records the transaction that wrote it, and a relay window is the events whose
-- transaction is visible in the later snapshot and not in the earlier one. A transaction that
-- is still running when a window is taken falls in a later window; none is passed over.
ALTER TABLE domain_events ADD COLUMN tx xid8;
-- Events not relayed yet fall in the first window (this migration's transaction); relayed ones
-- keep no transaction and are never read by the relay again.
UPDATE domain_events SET tx = pg_current_xact_id() WHERE relayed_at IS NULL;
ALTER TABLE domain_events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
DROP INDEX domain_events_unrelayed;
ALTER TABLE domain_events DROP COLUMN relayed_at;
CREATE INDEX domain_events_relay ON domain_events (tx, id);

-- One row: the last window relayed whole (`window_from`) and, while a window is being relayed
-- in batches, its end and the last event handed on. The relay locks it, so hosts relay in turn.
CREATE TABLE outbox_relay (
    id           INT PRIMARY KEY CHECK (id = 1),
    window_from  pg_snapshot NOT NULL,
    window_to    pg_snapshot,
    after_tx     xid8,
    after_id     TEXT
);
-- Every transaction is after this one.
INSERT INTO outbox_relay (id, window_from) VALUES (1, '1:1:');
