-- Dead letters: events PostgreSQL refused to store in beacon.events even alone (a data error such
-- as "\u0000" in props, or a trigger bug shipped in a migration), after the relay retried their
-- batch and isolated them by halving it. The relay writes them here in the transaction that
-- commits the rest of their batch, then acknowledges them: they are kept, not lost, and a DBA can
-- fix the cause and replay them into beacon.events (docs/config.md, "Rejected events"). Props are
-- text, not jsonb, so a value jsonb refuses (22P05) can still be kept. Nothing reads this table on
-- the ingest path.

CREATE TABLE beacon.events_rejected (
    rejected_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    uuid NOT NULL,
    event_id      uuid NOT NULL,
    session_id    text,
    anon_id       text,
    user_id       text,
    name          text,
    props         text,
    ts            timestamptz,
    received_at   timestamptz,
    error_code    text NOT NULL,
    error_message text NOT NULL,
    rejected_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_rejected_project_rejected_at ON beacon.events_rejected (project_id, rejected_at);
COMMENT ON INDEX beacon.events_rejected_project_rejected_at IS
    'A project''s rejected events in the order they came, for the dashboard and a DBA''s replay.';

COMMENT ON TABLE beacon.events_rejected IS
    'Events the relay could not store in beacon.events, kept with PostgreSQL''s error; the sender was acknowledged. Fix the cause, then replay them into beacon.events.';
COMMENT ON COLUMN beacon.events_rejected.rejected_id IS 'Row number, in the order rows were rejected.';
COMMENT ON COLUMN beacon.events_rejected.project_id IS 'Project the event was sent to (beacon.projects).';
COMMENT ON COLUMN beacon.events_rejected.event_id IS 'The event''s id, as it would have been stored in beacon.events.';
COMMENT ON COLUMN beacon.events_rejected.session_id IS 'Session id the client sent.';
COMMENT ON COLUMN beacon.events_rejected.anon_id IS 'Anonymous id the client sent.';
COMMENT ON COLUMN beacon.events_rejected.user_id IS 'User id, when the sender was identified; NULL otherwise.';
COMMENT ON COLUMN beacon.events_rejected.name IS 'Event name.';
COMMENT ON COLUMN beacon.events_rejected.props IS 'Event properties as the JSON text the relay validated (text: jsonb may be what refused it).';
COMMENT ON COLUMN beacon.events_rejected.ts IS 'Client time of the event.';
COMMENT ON COLUMN beacon.events_rejected.received_at IS 'When the relay received the event.';
COMMENT ON COLUMN beacon.events_rejected.error_code IS 'SQLSTATE of the error that refused the event (e.g. 22P05, P0001).';
COMMENT ON COLUMN beacon.events_rejected.error_message IS 'PostgreSQL''s error message.';
COMMENT ON COLUMN beacon.events_rejected.rejected_at IS 'When the relay gave up on storing the event in beacon.events.';

GRANT INSERT ON beacon.events_rejected TO beacon_relay;
