-- 019_audit_stream: state for streaming beacon.audit to a SIEM as JSON lines (AUDIT_STREAM; issue
-- 14, AU-6/AU-9/AU-12). The rules are in code/audit_stream.sql; the relay's half in auditstream/.
--
--  * beacon.audit gains xact: the writing transaction's id (pg_current_xact_id(), 64-bit, never
--    wraps). Identity values are handed out before commit, so audit_id order is not commit order:
--    a row with a lower id can become visible after one with a higher id was already read. The
--    stream therefore reads only rows whose transaction id is below the xmin of its snapshot —
--    every transaction below it has ended, so no row can still appear there — in (xact, audit_id)
--    order, and keeps its place as that pair. Rows written before this migration have NULL (their
--    transactions ended before it could take its lock) and come first.
--  * beacon.audit_stream_cursor: the last row streamed, one row, so a restarted relay, or another
--    relay taking over, goes on where the stream stopped.
--
-- Adding a nullable column and then a default rewrites nothing (old rows keep NULL). Reversible
-- by dropping the table, the index and the column.

ALTER TABLE beacon.audit ADD COLUMN xact xid8;
ALTER TABLE beacon.audit ALTER COLUMN xact SET DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN beacon.audit.xact IS 'The writing (top-level) transaction''s id, pg_current_xact_id(); NULL for rows written before migration 019. The audit stream''s order: (xact, audit_id), read only below the snapshot''s xmin, so a row whose id was taken early but committed late is never skipped.';
CREATE INDEX audit_stream_order ON beacon.audit ((coalesce(xact, '0'::xid8)), audit_id);
COMMENT ON INDEX beacon.audit_stream_order IS 'The audit stream''s keyset: (writing transaction, audit_id) after the cursor (beacon.audit_stream_read).';

CREATE TABLE beacon.audit_stream_cursor (
    only_row    boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    xact        xid8        NOT NULL DEFAULT '0',
    audit_id    bigint      NOT NULL DEFAULT 0,
    streamed_at timestamptz
);
INSERT INTO beacon.audit_stream_cursor DEFAULT VALUES;
COMMENT ON TABLE beacon.audit_stream_cursor IS 'Where the audit stream (AUDIT_STREAM) stopped: the (xact, audit_id) of the last beacon.audit row a relay wrote out and flushed. One row. Moved only forward, by beacon.audit_stream_advance, by the relay holding the stream lock. Starts before the first row: a new stream sends the whole audit kept online. A DBA may move it (UPDATE as the owner) to skip or replay rows.';
COMMENT ON COLUMN beacon.audit_stream_cursor.only_row IS 'Always true: there is one stream and one cursor.';
COMMENT ON COLUMN beacon.audit_stream_cursor.xact IS 'beacon.audit.xact of the last row streamed (0 for rows written before migration 019, and before any row).';
COMMENT ON COLUMN beacon.audit_stream_cursor.audit_id IS 'beacon.audit.audit_id of the last row streamed (0: none yet).';
COMMENT ON COLUMN beacon.audit_stream_cursor.streamed_at IS 'When the cursor last moved; NULL: never.';
