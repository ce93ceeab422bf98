-- Exactly-once for events whose ts the relay could not derive from the message itself.
--
-- beacon.events drops a re-sent event through its unique index (project_id, event_id, ts), which
-- works only when a re-send gets the same ts: the client sent a plausible one, or the id is a
-- UUIDv7 of a plausible time. When the relay had to use its own clock (no ts and a UUIDv4 id, a
-- ts too far ahead), or a ts ahead of its clock that may resolve differently a moment later, the
-- relay also writes (project_id, event_id) here, in the same transaction as the event: a re-send
-- within the window finds it and is not stored again. beacon.maintain() deletes the rows once
-- they are older than the window (24 h, docs/protocol.md "Duplicates"); a re-send after that is
-- stored again. Only those events pay for this table, so the SDK's (client ts, UUIDv7) do not.

CREATE TABLE beacon.event_ids (
    project_id  uuid        NOT NULL,
    event_id    uuid        NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
COMMENT ON TABLE beacon.event_ids IS 'Ids of events stored in the last 24 h whose ts came from the relay''s clock (or lay ahead of it), so a re-send with the same id is stored once whatever its ts resolves to. Written by the relay in the event''s own transaction; rows older than the window are deleted by beacon.maintain() (step dedup). Not a public interface.';
COMMENT ON COLUMN beacon.event_ids.project_id IS 'Project the event was sent to.';
COMMENT ON COLUMN beacon.event_ids.event_id IS 'The event''s id, as stored in beacon.events.event_id.';
COMMENT ON COLUMN beacon.event_ids.received_at IS 'When the relay received the first copy of the event; the row is deleted once this is older than the dedup window.';
COMMENT ON INDEX beacon.event_ids_pkey IS 'Refuses a second event with the same id in a project within the window: the relay then retries that batch with ON CONFLICT DO NOTHING and skips the re-sent rows.';

-- The cleanup deletes by age; a BRIN index stays tiny and costs the COPY almost nothing.
CREATE INDEX event_ids_received_at ON beacon.event_ids USING brin (received_at);
COMMENT ON INDEX beacon.event_ids_received_at IS 'BRIN on received_at (rows arrive in time order), for the cleanup of rows past the dedup window.';

GRANT INSERT ON beacon.event_ids TO beacon_relay;
