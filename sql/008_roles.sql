-- 008_roles: least-privilege roles and grants.
--
--   beacon_relay      COPY/INSERT into beacon.events (no SELECT on it), read beacon.projects, TEMP
--                     for the dedup retry, EXECUTE identify / evaluate_flags(_many) / maintain.
--   beacon_dashboard  read analytics.*, manage beacon.flags and beacon.projects, merge people.
--   beacon_reader     read-only on analytics.* (BI tools).
--
-- Roles are cluster-wide and this migration runs in every database of the cluster (tests clone
-- many), so they are created only when missing, as NOLOGIN group roles: operators create LOGIN
-- roles and grant them into these (docs/sql.md). Grants are per database.
--
-- Functions that must reach tables their callers may not touch are SECURITY DEFINER (owned by the
-- migration role, search_path pinned to pg_catalog, pg_temp): maintain (creates and drops
-- partitions, refreshes views), identify, evaluate_flags(_many), merge/unmerge/unalias, and the
-- trigger functions on beacon.events and beacon.flags. EXECUTE on every beacon function is revoked
-- from PUBLIC and granted by name below.
--
-- Contract change for the relay: CREATE TEMP TABLE … (LIKE beacon.events) needs SELECT on
-- beacon.events, which beacon_relay must not have; the slow dedup path uses
-- (LIKE beacon.event_row) instead, a composite type with the same columns in the same order.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['beacon_relay', 'beacon_dashboard', 'beacon_reader'] LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration created it meanwhile
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % does not exist and % may not create it', r, current_user
                    USING ERRCODE = '42501', HINT = format('As a superuser: CREATE ROLE %I NOLOGIN;', r);
        END;
    END LOOP;
END $$;

-- The shape of an event row, for the relay's dedup retry table ----------------------------------

CREATE TYPE beacon.event_row AS (
    project_id  uuid,
    event_id    uuid,
    session_id  text,
    anon_id     text,
    user_id     text,
    name        text,
    props       jsonb,
    ts          timestamptz,
    received_at timestamptz
);
COMMENT ON TYPE beacon.event_row IS 'The columns of beacon.events in order, for CREATE TEMP TABLE … (LIKE beacon.event_row): the ingest role may not SELECT beacon.events, which LIKE beacon.events requires. A test keeps it equal to beacon.events.';

-- Nobody but the owner by default ----------------------------------------------------------------

REVOKE ALL ON SCHEMA beacon FROM PUBLIC;
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA beacon FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA beacon REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- beacon_relay -----------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA beacon TO beacon_relay;
GRANT INSERT ON beacon.events TO beacon_relay;
GRANT SELECT ON beacon.projects TO beacon_relay;
GRANT USAGE ON TYPE beacon.event_row TO beacon_relay;
DO $$ BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO beacon_relay', current_database());
END $$;
GRANT EXECUTE ON FUNCTION
    beacon.identify(uuid, text, text, jsonb),
    beacon.evaluate_flags(uuid, text, text),
    beacon.evaluate_flags_many(uuid, text[], text[]),
    beacon.maintain()
TO beacon_relay;

-- beacon_dashboard -------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA beacon, analytics TO beacon_dashboard;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO beacon_dashboard;
GRANT SELECT, INSERT, UPDATE, DELETE ON beacon.flags, beacon.projects TO beacon_dashboard;
GRANT EXECUTE ON FUNCTION
    beacon.evaluate_flags(uuid, text, text),
    beacon.evaluate_flags_many(uuid, text[], text[]),
    beacon.check_flag_rules(jsonb),
    beacon.merge_users(uuid, text, text),
    beacon.unmerge_users(uuid, bigint),
    beacon.unalias(uuid, text)
TO beacon_dashboard;

-- beacon_reader ----------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA analytics TO beacon_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO beacon_reader;

-- Views added to analytics by later migrations (run as this owner) are readable by both.
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO beacon_dashboard, beacon_reader;
