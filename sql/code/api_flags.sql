-- api_flags: the dashboard's flag endpoints (/api/projects/{id}/flags…), one function each, as in
-- api.sql. Reads need the viewer role, changes the editor role (beacon.require_role). A change is
-- a plain INSERT/UPDATE/DELETE of beacon.flags, so the triggers of code/flags.sql still validate
-- it, write beacon.flag_audit and NOTIFY the relays, which push it to connected clients. The
-- functions name the signed-in account as the actor (beacon.app_user, which flag_audit records)
-- and write beacon.audit too (flag_created, flag_changed, flag_deleted).
--
-- Bad input raises 22023 with COLUMN set to the field at fault (key, rollout, rules, description,
-- enabled, client_visible; body for the object itself): the API answers 400 bad_<column>. A
-- duplicate key raises 23505, an unknown flag P0002 with TABLE flags.

CREATE OR REPLACE FUNCTION beacon.api_flag_json(f beacon.flags) RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('key', f.key, 'description', f.description, 'enabled', f.enabled,
               'rollout', f.rollout_percent, 'rules', f.rules, 'client_visible', f.client_visible,
               'created_at', f.created_at, 'updated_at', f.updated_at, 'updated_by', (
                   SELECT coalesce(ac.email, a.app_user, a.db_role)
                   FROM beacon.flag_audit a
                   LEFT JOIN beacon.accounts ac ON ac.account_id::text = a.app_user
                   WHERE a.project_id = f.project_id AND a.flag_key = f.key
                   ORDER BY a.changed_at DESC, a.audit_id DESC LIMIT 1))
$$;
COMMENT ON FUNCTION beacon.api_flag_json(beacon.flags) IS 'A flag as the dashboard''s API answers it: key, description, enabled, rollout (rollout_percent), rules, client_visible, created_at, updated_at, and updated_by — who made the last change in beacon.flag_audit: the account''s email for a dashboard change, else the app_user or database role.';

CREATE OR REPLACE FUNCTION beacon.api_flag_check(p_flag jsonb, p_creating boolean) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    r numeric;
BEGIN
    IF jsonb_typeof(p_flag) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the body must be a JSON object' USING ERRCODE = '22023', COLUMN = 'body';
    END IF;
    SELECT min(x) INTO k FROM jsonb_object_keys(p_flag) x
    WHERE x NOT IN ('key', 'description', 'enabled', 'rollout', 'rules', 'client_visible');
    IF k IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field "%": a flag has key, description, enabled, rollout, rules and client_visible', left(k, 40)
            USING ERRCODE = '22023', COLUMN = 'body';
    END IF;
    IF p_creating AND (jsonb_typeof(p_flag->'key') IS DISTINCT FROM 'string'
                       OR NOT p_flag->>'key' ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$') THEN
        RAISE EXCEPTION 'the key must start with a letter or digit, followed by up to 99 letters, digits, _ . : or -'
            USING ERRCODE = '22023', COLUMN = 'key';
    END IF;
    IF NOT p_creating AND p_flag ? 'key' THEN
        RAISE EXCEPTION 'a flag''s key cannot change (the SDK asks for it by key): create a new flag instead'
            USING ERRCODE = '22023', COLUMN = 'key';
    END IF;
    IF p_flag ? 'rollout' THEN
        IF jsonb_typeof(p_flag->'rollout') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'rollout must be a number from 0 to 100' USING ERRCODE = '22023', COLUMN = 'rollout';
        END IF;
        r := (p_flag->>'rollout')::numeric;
        IF r < 0 OR r > 100 OR r <> round(r, 2) THEN
            RAISE EXCEPTION 'rollout must be a number from 0 to 100, with at most 2 decimals (got %)', left(r::text, 20)
                USING ERRCODE = '22023', COLUMN = 'rollout';
        END IF;
    END IF;
    IF p_flag ? 'description' AND (jsonb_typeof(p_flag->'description') IS DISTINCT FROM 'string'
                                   OR length(p_flag->>'description') > 1000) THEN
        RAISE EXCEPTION 'description must be text of at most 1000 characters' USING ERRCODE = '22023', COLUMN = 'description';
    END IF;
    IF p_flag ? 'enabled' AND jsonb_typeof(p_flag->'enabled') IS DISTINCT FROM 'boolean' THEN
        RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = '22023', COLUMN = 'enabled';
    END IF;
    IF p_flag ? 'client_visible' AND jsonb_typeof(p_flag->'client_visible') IS DISTINCT FROM 'boolean' THEN
        RAISE EXCEPTION 'client_visible must be true or false' USING ERRCODE = '22023', COLUMN = 'client_visible';
    END IF;
    IF p_flag ? 'rules' THEN
        IF jsonb_typeof(p_flag->'rules') = 'array' AND jsonb_array_length(p_flag->'rules') > 50 THEN
            RAISE EXCEPTION 'at most 50 rules' USING ERRCODE = '22023', COLUMN = 'rules';
        END IF;
        BEGIN
            PERFORM beacon.check_flag_rules(p_flag->'rules');
        EXCEPTION WHEN check_violation THEN
            RAISE EXCEPTION '%', SQLERRM USING ERRCODE = '22023', COLUMN = 'rules';
        END;
    END IF;
END $$;
COMMENT ON FUNCTION beacon.api_flag_check(jsonb, boolean) IS 'Checks a flag sent to the API (p_creating: a new flag, whose key is required; else a change, which may not name the key): only known fields, each of its type; rollout 0..100 with at most 2 decimals; rules as beacon.check_flag_rules wants them, at most 50. Raises 22023 with COLUMN naming the field at fault and a message for people.';

CREATE OR REPLACE FUNCTION beacon.api_flags(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r text := beacon.require_role(p_project, 'viewer');
BEGIN
    RETURN jsonb_build_object('role', r, 'flags', coalesce((
        SELECT jsonb_agg(beacon.api_flag_json(f) ORDER BY f.key)
        FROM beacon.flags f WHERE f.project_id = p_project), '[]'));
END $$;
COMMENT ON FUNCTION beacon.api_flags(uuid) IS 'GET /api/projects/{id}/flags: {"role","flags":[…]} — the account''s role in the project and every flag (beacon.api_flag_json) by key. Needs the viewer role (P0002 for a non-member).';

CREATE OR REPLACE FUNCTION beacon.api_flag_create(p_project uuid, p_flag jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f beacon.flags;
BEGIN
    PERFORM beacon.require_role(p_project, 'editor');
    PERFORM beacon.api_flag_check(p_flag, true);
    PERFORM set_config('beacon.app_user', beacon.current_account()::text, true);
    INSERT INTO beacon.flags (project_id, key, description, enabled, rollout_percent, rules, client_visible)
    VALUES (p_project, p_flag->>'key', coalesce(p_flag->>'description', ''),
            coalesce((p_flag->'enabled')::boolean, false), coalesce((p_flag->>'rollout')::numeric, 100),
            coalesce(p_flag->'rules', '[]'), (p_flag->'client_visible')::boolean)
    RETURNING * INTO f;
    PERFORM beacon.write_audit('flag_created', 'project:' || p_project || '/flag:' || f.key, NULL,
                               to_jsonb(f) - 'project_id');
    RETURN beacon.api_flag_json(f);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'a flag with the key % exists in this project', p_flag->>'key' USING ERRCODE = '23505', COLUMN = 'key';
END $$;
COMMENT ON FUNCTION beacon.api_flag_create(uuid, jsonb) IS 'POST /api/projects/{id}/flags: creates the flag {"key", "description"?, "enabled"? (false), "rollout"? (100), "rules"? ([]), "client_visible"? (the project''s new_flags_client_visible)} and answers it. Needs the editor role (42501 for a viewer). The signed-in account is the actor of flag_audit; audited flag_created in beacon.audit. 22023 for bad input (beacon.api_flag_check), 23505 for a key that exists.';

CREATE OR REPLACE FUNCTION beacon.api_flag_update(p_project uuid, p_key text, p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old beacon.flags;
    f beacon.flags;
BEGIN
    PERFORM beacon.require_role(p_project, 'editor');
    PERFORM beacon.api_flag_check(p_changes, false);
    SELECT * INTO old FROM beacon.flags x WHERE x.project_id = p_project AND x.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'flag not found' USING ERRCODE = 'P0002', TABLE = 'flags';
    END IF;
    PERFORM set_config('beacon.app_user', beacon.current_account()::text, true);
    UPDATE beacon.flags x SET
        description = coalesce(p_changes->>'description', x.description),
        enabled = coalesce((p_changes->'enabled')::boolean, x.enabled),
        rollout_percent = coalesce((p_changes->>'rollout')::numeric, x.rollout_percent),
        rules = coalesce(p_changes->'rules', x.rules),
        client_visible = coalesce((p_changes->'client_visible')::boolean, x.client_visible)
    WHERE x.project_id = p_project AND x.key = p_key
    RETURNING * INTO f;
    IF to_jsonb(f) - 'updated_at' IS DISTINCT FROM to_jsonb(old) - 'updated_at' THEN
        PERFORM beacon.write_audit('flag_changed', 'project:' || p_project || '/flag:' || p_key,
                                   to_jsonb(old) - 'project_id', to_jsonb(f) - 'project_id');
    END IF;
    RETURN beacon.api_flag_json(f);
END $$;
COMMENT ON FUNCTION beacon.api_flag_update(uuid, text, jsonb) IS 'PATCH /api/projects/{id}/flags/{key}: changes the fields present in p_changes (description, enabled, rollout, rules, client_visible; never the key) and answers the flag. Needs the editor role. The signed-in account is the actor of flag_audit; audited flag_changed (before → after) in beacon.audit when something changed. P0002 (TABLE flags) for an unknown flag, 22023 for bad input.';

CREATE OR REPLACE FUNCTION beacon.api_flag_delete(p_project uuid, p_key text) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old beacon.flags;
BEGIN
    PERFORM beacon.require_role(p_project, 'editor');
    PERFORM set_config('beacon.app_user', beacon.current_account()::text, true);
    DELETE FROM beacon.flags x WHERE x.project_id = p_project AND x.key = p_key RETURNING * INTO old;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'flag not found' USING ERRCODE = 'P0002', TABLE = 'flags';
    END IF;
    PERFORM beacon.write_audit('flag_deleted', 'project:' || p_project || '/flag:' || p_key,
                               to_jsonb(old) - 'project_id', NULL);
END $$;
COMMENT ON FUNCTION beacon.api_flag_delete(uuid, text) IS 'DELETE /api/projects/{id}/flags/{key}: deletes the flag (connected clients lose it at the next push; its history stays in beacon.flag_audit). Needs the editor role, as every flag change: the whole row is kept in both audits, so a deletion is as reversible as an edit. Audited flag_deleted. P0002 (TABLE flags) for an unknown flag.';

CREATE OR REPLACE FUNCTION beacon.api_flag_history(p_project uuid, p_key text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h jsonb;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    SELECT jsonb_agg(jsonb_build_object('id', t.audit_id, 'action', t.action, 'at', t.changed_at,
               'by', t.by, 'before', t.old_row - 'project_id', 'after', t.new_row - 'project_id')
               ORDER BY t.changed_at DESC, t.audit_id DESC)
    INTO h
    FROM (SELECT a.*, coalesce(ac.email, a.app_user, a.db_role) AS by
          FROM beacon.flag_audit a
          LEFT JOIN beacon.accounts ac ON ac.account_id::text = a.app_user
          WHERE a.project_id = p_project AND a.flag_key = p_key
          ORDER BY a.changed_at DESC, a.audit_id DESC LIMIT 200) t;
    IF h IS NULL THEN
        RAISE EXCEPTION 'flag not found' USING ERRCODE = 'P0002', TABLE = 'flags';
    END IF;
    RETURN jsonb_build_object('key', p_key, 'history', h);
END $$;
COMMENT ON FUNCTION beacon.api_flag_history(uuid, text) IS 'GET /api/projects/{id}/flags/{key}/history: {"key","history":[{"id","action","at","by","before","after"}]}, the 200 newest changes of the flag from beacon.flag_audit (a deleted flag''s too), newest first; by is the account''s email for a dashboard change, else the app_user or database role; before and after are the whole flag (NULL for none). Needs the viewer role. P0002 (TABLE flags) when the flag never existed.';

REVOKE ALL ON FUNCTION
    beacon.api_flag_json(beacon.flags), beacon.api_flag_check(jsonb, boolean),
    beacon.api_flags(uuid), beacon.api_flag_create(uuid, jsonb), beacon.api_flag_update(uuid, text, jsonb),
    beacon.api_flag_delete(uuid, text), beacon.api_flag_history(uuid, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_flags(uuid), beacon.api_flag_create(uuid, jsonb), beacon.api_flag_update(uuid, text, jsonb),
    beacon.api_flag_delete(uuid, text), beacon.api_flag_history(uuid, text)
TO beacon_api;
