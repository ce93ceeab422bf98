-- roles: EXECUTE on functions and procedures, SELECT on views, by name. The roles themselves, the
-- schema usage and the table grants are state (001_baseline.sql, 005_access_freshness.sql). EXECUTE
-- is revoked from PUBLIC on every routine of beacon and analytics below, on every install, so a
-- routine — including one added by any file of this package — is callable only by its owner and
-- the roles named here. GRANT and REVOKE are idempotent: re-running this changes nothing.
-- sql/privileges_test.go holds every object to its intended grants (TestPrivilegesAsIntended).
--
-- Functions that must reach tables their callers may not touch are SECURITY DEFINER (owned by the
-- migration role, search_path pinned to pg_catalog, pg_temp): identify, connect,
-- evaluate_flags(_many), merge/unmerge/unalias, the maintenance steps, and the trigger functions
-- on beacon.events, beacon.flags, beacon.users and beacon.aliases.

-- PUBLIC first: the default privileges in 001_baseline (IN SCHEMA …) cannot take away the global
-- default EXECUTE to PUBLIC (per-schema default privileges only add), so every routine created
-- by this package would otherwise be callable by anyone with USAGE on its schema.
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA beacon, analytics FROM PUBLIC;

-- Project-scoped readers (code/access.sql): every analytics view with a project_id filters on
-- beacon.visible_projects(), defined now that all the views are.
SELECT beacon.scope_analytics_views();

GRANT EXECUTE ON FUNCTION
    beacon.identify(uuid, text, text, jsonb, boolean),
    beacon.identity_key(uuid),
    beacon.connect(uuid, text),
    beacon.evaluate_flags(uuid, text, text),
    beacon.evaluate_flags_many(uuid, text[], text[]),
    beacon.maintenance_plan(),
    beacon.maintenance_step(text),
    beacon.claim_maintenance(interval),
    beacon.finish_maintenance(bigint),
    beacon.claim_event_ids(uuid[], uuid[], timestamptz[]),
    beacon.keep_fresh()
TO beacon_relay;
GRANT EXECUTE ON PROCEDURE beacon.maintain(), beacon.maintain_scheduled(interval) TO beacon_relay;

GRANT EXECUTE ON FUNCTION
    beacon.evaluate_flags(uuid, text, text),
    beacon.evaluate_flags_many(uuid, text[], text[]),
    beacon.check_flag_rules(jsonb),
    beacon.merge_users(uuid, text, text),
    beacon.unmerge_users(uuid, bigint),
    beacon.unalias(uuid, text),
    beacon.delete_person(uuid, text),
    beacon.create_project(text, text[])
TO beacon_dashboard;

-- Identity secrets: beacon.identity_secret, rotate_identity_secret and set_identity_verification
-- are the owner's alone (no grant): the dashboard has no accounts that could limit who reads a
-- secret yet. The relay reads one project's secret at a time through identity_key.

-- Readers: every analytics view, and the functions that serve them. beacon_scoped_reader's rows
-- are filtered by beacon.visible_projects(), which every view calls as its reader (EXECUTE needed;
-- without USAGE on beacon, no reader can call it by name).
GRANT EXECUTE ON FUNCTION
    analytics.visitors(uuid, date, date),
    analytics.refresh(),
    beacon.visible_projects(name)
TO beacon_dashboard, beacon_reader, beacon_scoped_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO beacon_dashboard, beacon_reader, beacon_scoped_reader;
