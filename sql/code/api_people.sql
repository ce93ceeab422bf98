-- api_people: the dashboard's People page (GET/DELETE /api/projects/{id}/people…). A person is a
-- root user and the users merged into it (code/identity.sql); their anonymous ids are the aliases
-- of those users. Search reads indexes of migration 011 where it can; the delete is
-- beacon.delete_person (code/people.sql), for owners only, audited in beacon.audit.

CREATE OR REPLACE FUNCTION beacon.api_people(p_project uuid, p_q text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_q   text := btrim(coalesce(p_q, ''));
    v_n   int := least(greatest(coalesce(p_limit, 50), 1), 100);
    v_key text;
    v_val text;
    v_low text;
    v_out jsonb;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    IF length(v_q) > 200 THEN
        RAISE EXCEPTION 'the search is too long (at most 200 characters)' USING ERRCODE = '22023';
    END IF;
    IF strpos(v_q, '=') > 1 THEN
        v_key := btrim(split_part(v_q, '=', 1));
        v_val := btrim(substr(v_q, strpos(v_q, '=') + 1));
    END IF;
    v_low := lower(v_q);
    WITH hits AS (
        -- no query: the most recently identified (users_updated)
        (SELECT u.user_id, u.merged_into FROM beacon.users u
         WHERE v_q = '' AND u.project_id = p_project ORDER BY u.updated_at DESC LIMIT v_n)
        UNION ALL
        -- key=value: a trait equal to the value, as a string (users_traits, GIN)
        (SELECT u.user_id, u.merged_into FROM beacon.users u
         WHERE v_key IS NOT NULL AND u.project_id = p_project
           AND u.traits @> jsonb_build_object(v_key, v_val) LIMIT v_n)
        UNION ALL
        -- a user id beginning with the query, case-insensitively (users_id_lower)
        (SELECT u.user_id, u.merged_into FROM beacon.users u
         WHERE v_q <> '' AND u.project_id = p_project
           AND lower(u.user_id) ~>=~ v_low AND lower(u.user_id) ~<~ (v_low || chr(1114111))
         LIMIT v_n)
        UNION ALL
        -- a trait value containing the query: reads the project's users until it has v_n
        (SELECT u.user_id, u.merged_into FROM beacon.users u
         WHERE v_q <> '' AND v_key IS NULL AND u.project_id = p_project
           AND strpos(lower(u.traits::text), v_low) > 0 -- cheap first test on the whole JSON text
           AND EXISTS (SELECT FROM jsonb_each_text(u.traits) t
                       WHERE strpos(lower(t.value), v_low) > 0)
         LIMIT v_n)
    ), people AS (
        SELECT DISTINCT coalesce(h.merged_into, h.user_id) AS person_id FROM hits h
    )
    SELECT coalesce(jsonb_agg(x.j ORDER BY x.updated DESC, x.person_id), '[]') INTO v_out
    FROM (SELECT p.person_id, m.updated,
                 jsonb_build_object('person_id', p.person_id, 'user_ids', m.user_ids,
                                    'traits', beacon.person_traits(p_project, p.person_id),
                                    'first_identified', m.first_identified, 'last_updated', m.updated) AS j
          FROM people p
          CROSS JOIN LATERAL (
              SELECT array_agg(u.user_id ORDER BY u.user_id) AS user_ids, min(u.created_at) AS first_identified,
                     max(u.updated_at) AS updated
              FROM beacon.users u
              WHERE u.project_id = p_project AND (u.user_id = p.person_id OR u.merged_into = p.person_id)) m
          ORDER BY m.updated DESC, p.person_id
          LIMIT v_n) x;
    RETURN jsonb_build_object('people', v_out);
END $$;
COMMENT ON FUNCTION beacon.api_people(uuid, text, int) IS 'GET /api/projects/{id}/people?q=: {"people":[{"person_id","user_ids","traits","first_identified","last_updated"}]}, at most p_limit (1–100, default 50), latest updated first. Without q: the most recently identified people. q = key=value: people with that trait equal to the value (GIN index users_traits). Any other q: people with a user id beginning with it (case-insensitive, index users_id_lower) or a trait value containing it (reads the project''s users until it has p_limit: linear in users when few match). Needs the viewer role.';

CREATE OR REPLACE FUNCTION beacon.api_person(p_project uuid, p_person text, p_before text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_root  text;
    v_users text[];
    v_anons text[];
    v_floor timestamptz;
    v_n     int := least(greatest(coalesce(p_limit, 50), 1), 200);
    c       record;
    pg      record;
    v_evs   jsonb;
    v_last  jsonb;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    v_root := beacon.root_user(p_project, p_person);
    IF v_root IS NULL THEN
        RAISE EXCEPTION 'person not found' USING ERRCODE = 'P0002';
    END IF;
    c := beacon.api_cursor_read(p_before, 'b');
    SELECT array_agg(u.user_id ORDER BY u.user_id), min(u.created_at) INTO v_users, v_floor FROM beacon.users u
    WHERE u.project_id = p_project AND (u.user_id = v_root OR u.merged_into = v_root);
    SELECT coalesce(array_agg(a.anon_id ORDER BY a.created_at, a.anon_id), '{}') INTO v_anons FROM beacon.aliases a
    WHERE a.project_id = p_project AND a.user_id = ANY (v_users);
    -- The timeline is read from the person's first session (or first identify) on: their events
    -- cannot be older, and the windows stop there instead of reading all history.
    SELECT least(v_floor, min(s.first_seen)) - interval '1 day' INTO v_floor FROM beacon.sessions s
    WHERE s.project_id = p_project AND (s.user_id = ANY (v_users) OR (s.anon_id <> '' AND s.anon_id = ANY (v_anons)));
    pg := beacon.api_event_page(p_project, v_floor, c.at, c.id, NULL, NULL, NULL, v_root, v_n);
    v_evs := pg.events;
    v_last := v_evs -> -1;
    RETURN jsonb_build_object(
        'person_id', v_root,
        'traits', beacon.person_traits(p_project, v_root),
        'users', (SELECT jsonb_agg(jsonb_build_object('user_id', u.user_id, 'traits', u.traits, 'created_at', u.created_at,
                                                      'updated_at', u.updated_at, 'merged', u.merged_into IS NOT NULL)
                                   ORDER BY u.merged_into IS NOT NULL, u.created_at, u.user_id)
                  FROM beacon.users u WHERE u.project_id = p_project AND u.user_id = ANY (v_users)),
        'aliases', (SELECT coalesce(jsonb_agg(jsonb_build_object('anon_id', a.anon_id, 'user_id', a.user_id, 'created_at', a.created_at)
                                              ORDER BY a.created_at, a.anon_id), '[]')
                    FROM beacon.aliases a WHERE a.project_id = p_project AND a.user_id = ANY (v_users)),
        'sessions', (SELECT coalesce(jsonb_agg(jsonb_build_object('session_id', s.session_id, 'first_seen', s.first_seen,
                                                                  'last_seen', s.last_seen, 'events', s.event_count,
                                                                  'entry_page', s.entry_page) ORDER BY s.first_seen DESC), '[]')
                     FROM (SELECT * FROM beacon.sessions s
                           WHERE s.project_id = p_project
                             AND (s.user_id = ANY (v_users) OR (s.anon_id <> '' AND s.anon_id = ANY (v_anons)))
                           ORDER BY s.first_seen DESC LIMIT 20) s),
        'events', v_evs,
        'next', CASE WHEN jsonb_array_length(v_evs) = v_n
                     THEN beacon.api_cursor('b', (v_last ->> 'ts')::timestamptz, (v_last ->> 'id')::uuid)
                     WHEN pg.resume IS NOT NULL THEN beacon.api_cursor('b', pg.resume, NULL) END,
        'timezone', (SELECT p.timezone FROM beacon.projects p WHERE p.project_id = p_project));
END $$;
COMMENT ON FUNCTION beacon.api_person(uuid, text, text, int) IS 'GET /api/projects/{id}/people/{person}: the person of user id p_person — person_id (the root user), merged traits, users (each with its own traits; merged: true for users merged into the root), aliases (anonymous ids), the 20 latest sessions, and a page of their events newest first (events, next: keyset cursor on (ts, event_id), p_before the previous next; p_limit 1–200, default 50) read from their first session or identify on. Needs the viewer role; P0002 ''person not found'' for an unknown user.';

CREATE OR REPLACE FUNCTION beacon.api_delete_person(p_project uuid, p_person text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_root text;
    v_n    jsonb;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_recent_auth(); -- a sensitive action: the password within SESSION_REAUTH_WINDOW (code/tokens.sql)
    v_root := beacon.root_user(p_project, p_person);
    IF v_root IS NULL THEN
        RAISE EXCEPTION 'person not found' USING ERRCODE = 'P0002';
    END IF;
    v_n := beacon.delete_person(p_project, v_root);
    PERFORM beacon.write_audit('person_deleted', 'project:' || p_project || '/person:' || v_root, NULL, v_n);
    RETURN jsonb_build_object('person_id', v_root, 'deleted', v_n);
END $$;
COMMENT ON FUNCTION beacon.api_delete_person(uuid, text) IS 'DELETE /api/projects/{id}/people/{person}: privacy delete of the person of user id p_person and all their events (beacon.delete_person), audited in beacon.audit as person_deleted (who, when, from where, the person id as target, the counts deleted as after — never the deleted data). {"person_id","deleted":{counts}}. Needs the owner role (42501 for editors and viewers, P0002 for non-members and unknown people).';

REVOKE ALL ON FUNCTION beacon.api_people(uuid, text, int), beacon.api_person(uuid, text, text, int),
    beacon.api_delete_person(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_people(uuid, text, int),
    beacon.api_person(uuid, text, text, int),
    beacon.api_delete_person(uuid, text)
TO beacon_api;
