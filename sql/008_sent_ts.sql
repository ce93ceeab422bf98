-- 008_sent_ts: keep the ts a client sent when the relay replaced it (issue 11, item 2).
--
-- The relay replaces a ts older than MAX_EVENT_AGE or more than a day ahead of its clock
-- (protocol.ResolveTS, docs/protocol.md). It now warns the sender (ts_replaced) and writes the
-- original here; NULL means the stored ts is the one sent (or none was sent). timestamptz rather
-- than the raw milliseconds: the relay refuses a ts over 1e15 ms (year 33658, bad_ts) and a
-- negative one, so every value it can replace fits timestamptz (4713 BC to 294276 AD) exactly
-- (whole milliseconds), and a BI user compares it with ts directly.
--
-- Nullable without a default: a catalog change only, no rewrite of any partition. The column is
-- also added to beacon.event_row (the relay's dedup retry table is LIKE it, and a test keeps it
-- equal to beacon.events) and to the dead letters, so a replayed row keeps it.

ALTER TABLE beacon.events ADD COLUMN sent_ts timestamptz;
COMMENT ON COLUMN beacon.events.sent_ts IS 'The ts the client sent, when the relay replaced it (older than MAX_EVENT_AGE or more than 1 day ahead; the sender was warned with ts_replaced). NULL when ts is the time sent, or none was sent.';
COMMENT ON COLUMN beacon.events.ts IS 'Client time. The relay replaces values more than 1 day ahead or older than its MAX_EVENT_AGE by the time in the event''s UUIDv7 id, or by received_at, and keeps the value sent in sent_ts.';

ALTER TYPE beacon.event_row ADD ATTRIBUTE sent_ts timestamptz;

ALTER TABLE beacon.events_rejected ADD COLUMN sent_ts timestamptz;
COMMENT ON COLUMN beacon.events_rejected.sent_ts IS 'The ts the client sent, when the relay replaced it (as beacon.events.sent_ts).';

COMMENT ON TABLE beacon.events_default IS 'Catches events whose day has no partition (a backfill, an import, a late or early clock) so a COPY never fails for want of one; beacon.maintain() (beacon.make_partitions) moves the rows of every past day within retention into that day''s new partition. Otherwise holds only stray rows: days too far ahead, non-finite ts, and rows older than retention until the retention step deletes them.';
