-- people: what deleting a user and deleting a person mean for the merge forest.
--
-- Deleting one user row (a plain DELETE FROM beacon.users, the dashboard removing a duplicate
-- account) removes that user id only: the other users of its person stay one person. The
-- users_delete trigger re-points the merges around the deleted user before the row goes:
--  * a user merged into another (it has a parent merge D → P): the merges into it (C → D) now
--    point at its parent (C → P); the person's root does not change;
--  * a root with merges into it: the user of its oldest merge (C0 → D, smallest merge_id) becomes
--    the root — that merge row goes, the other merges into D point at C0, and every member's
--    merged_into becomes C0.
-- Its anonymous ids then belong to the user that took its place (parent or new root); a user in
-- no merge keeps the plain behaviour: its aliases stay (unalias removes them). Audited as
-- 'delete'. Without this, deleting R in B → A → R left A and B both roots with the merge B → A
-- still in force, and merge_users(B, A) failed with 23505.
--
-- Deleting a person (beacon.delete_person, a privacy request) removes everything Beacon holds that
-- names the person: every user of the person, their aliases, their anonymous ids' and user ids'
-- events, sessions, and their ids (users, anonymous ids, those sessions) in the daily id sets.
-- Aggregate counts (rollup_hourly, rollup_daily_dims) carry no id and stay; the days whose unique
-- counts change are recounted. The identity audit keeps one 'delete' row with the person's root
-- user id and the counts (the audit is append-only: the proof that the request was carried out).
--
-- One DELETE statement must not remove two users of one person: the trigger for the first would
-- change the second's row, which PostgreSQL then refuses to delete. Delete them one by one, or
-- the whole person with beacon.delete_person.

CREATE OR REPLACE FUNCTION beacon.user_deleted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_parent text;
    v_heir   text;
BEGIN
    -- A project being deleted takes all its users: nothing to keep together.
    IF NOT EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = OLD.project_id) THEN
        RETURN OLD;
    END IF;
    SELECT um.into_user INTO v_parent FROM beacon.user_merges um
    WHERE um.project_id = OLD.project_id AND um.from_user = OLD.user_id;
    IF v_parent IS NULL AND NOT EXISTS (SELECT FROM beacon.user_merges um
                                        WHERE um.project_id = OLD.project_id AND um.into_user = OLD.user_id) THEN
        RETURN OLD; -- in no merge
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, pg_catalog.hashtext(OLD.project_id::text));
    IF v_parent IS NOT NULL THEN
        UPDATE beacon.user_merges um SET into_user = v_parent
        WHERE um.project_id = OLD.project_id AND um.into_user = OLD.user_id;
    ELSE
        SELECT um.from_user INTO v_heir FROM beacon.user_merges um
        WHERE um.project_id = OLD.project_id AND um.into_user = OLD.user_id
        ORDER BY um.merge_id LIMIT 1;
        DELETE FROM beacon.user_merges um WHERE um.project_id = OLD.project_id AND um.from_user = v_heir;
        UPDATE beacon.user_merges um SET into_user = v_heir
        WHERE um.project_id = OLD.project_id AND um.into_user = OLD.user_id;
        UPDATE beacon.users u SET merged_into = nullif(v_heir, u.user_id)
        WHERE u.project_id = OLD.project_id AND u.merged_into = OLD.user_id;
    END IF;
    UPDATE beacon.aliases a SET user_id = coalesce(v_parent, v_heir)
    WHERE a.project_id = OLD.project_id AND a.user_id = OLD.user_id;
    INSERT INTO beacon.identity_audit (project_id, action, user_id, other_user, detail)
    VALUES (OLD.project_id, 'delete', OLD.user_id, coalesce(v_parent, v_heir),
            jsonb_build_object('took_its_place', coalesce(v_parent, v_heir), 'new_root', v_heir IS NOT NULL));
    RETURN OLD;
END $$;
COMMENT ON FUNCTION beacon.user_deleted() IS 'BEFORE DELETE trigger of beacon.users: keeps the rest of a deleted user''s person together — merges into the user are re-pointed to its parent, or, for a root, its oldest merged user becomes the root — and moves its aliases to the user taking its place. Audited as delete. Does nothing for a user in no merge or a project being deleted.';

CREATE OR REPLACE TRIGGER users_delete BEFORE DELETE ON beacon.users
    FOR EACH ROW EXECUTE FUNCTION beacon.user_deleted();
COMMENT ON TRIGGER users_delete ON beacon.users IS 'Keeps the merge forest whole when a user is deleted (beacon.user_deleted).';

CREATE OR REPLACE FUNCTION beacon.delete_person(p_project uuid, p_user_id text) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_root  text;
    v_users text[];
    v_anons text[];
    v_sids  text[];
    v_n     jsonb := '{}';
    v_k     bigint;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, pg_catalog.hashtext(p_project::text));
    v_root := beacon.root_user(p_project, p_user_id);
    IF v_root IS NULL THEN
        RAISE EXCEPTION 'delete_person: no user % in project %', p_user_id, p_project USING ERRCODE = 'P0002';
    END IF;
    SELECT array_agg(u.user_id ORDER BY u.user_id) INTO v_users FROM beacon.users u
    WHERE u.project_id = p_project AND (u.user_id = v_root OR u.merged_into = v_root);
    SELECT coalesce(array_agg(a.anon_id), '{}') INTO v_anons FROM beacon.aliases a
    WHERE a.project_id = p_project AND a.user_id = ANY (v_users);

    -- Events and what was derived from them with an id in it. The events delete reads every
    -- partition of the project (no index by user): a rare, deliberate cost.
    DELETE FROM beacon.events e
    WHERE e.project_id = p_project AND (e.user_id = ANY (v_users) OR e.anon_id = ANY (v_anons));
    GET DIAGNOSTICS v_k = ROW_COUNT;
    v_n := v_n || jsonb_build_object('events', v_k);
    WITH gone AS (
        DELETE FROM beacon.sessions s
        WHERE s.project_id = p_project AND (s.user_id = ANY (v_users) OR s.anon_id = ANY (v_anons))
        RETURNING s.session_id
    )
    SELECT coalesce(array_agg(g.session_id), '{}') INTO v_sids FROM gone g;
    v_n := v_n || jsonb_build_object('sessions', cardinality(v_sids));
    WITH gone AS (
        DELETE FROM beacon.rollup_daily_ids i
        WHERE i.project_id = p_project
          AND ((i.kind = 'u' AND i.id = ANY (v_users)) OR (i.kind = 'a' AND i.id = ANY (v_anons))
               OR (i.kind = 's' AND i.id = ANY (v_sids)))
        RETURNING i.day
    ), dirty AS (
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT DISTINCT p_project, g.day FROM gone g WHERE g.day >= beacon.view_since()
        ON CONFLICT DO NOTHING
    )
    SELECT count(*) INTO v_k FROM gone;
    v_n := v_n || jsonb_build_object('daily_ids', v_k);

    -- Identity: the merges first, so deleting the users has no forest left to keep whole.
    DELETE FROM beacon.user_merges um WHERE um.project_id = p_project AND um.from_user = ANY (v_users);
    UPDATE beacon.users u SET merged_into = NULL
    WHERE u.project_id = p_project AND u.user_id = ANY (v_users) AND u.merged_into IS NOT NULL;
    DELETE FROM beacon.aliases a WHERE a.project_id = p_project AND a.user_id = ANY (v_users);
    DELETE FROM beacon.users u WHERE u.project_id = p_project AND u.user_id = ANY (v_users);
    v_n := v_n || jsonb_build_object('users', cardinality(v_users), 'anon_ids', cardinality(v_anons));

    INSERT INTO beacon.identity_audit (project_id, action, user_id, detail)
    VALUES (p_project, 'delete', v_root, v_n || jsonb_build_object('person', true));
    RETURN v_n;
END $$;
COMMENT ON FUNCTION beacon.delete_person(uuid, text) IS 'Privacy delete of the person of user p_user_id: deletes every user of the person, their aliases, the events and sessions of their user ids and anonymous ids, and those ids (sessions'' too) in the daily id sets (aggregate counts stay; changed days are recounted). Audited as one delete row with the root user id and the counts, which it returns as JSON. Error P0002 for an unknown user.';
