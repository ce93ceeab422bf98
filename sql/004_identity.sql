-- 004_identity: identity merging with an append-only audit.
--
-- Rules:
--  * identify(project, anon, user, traits) upserts the user (traits merged, newer wins per key) and
--    aliases the anon id to the user. An anon id keeps its first user: when a second user logs in
--    on the same device, the anonymous history stays with the first (a shared device is not one
--    person). This replaces 001's last-wins alias.
--  * Several anon ids that identify as one user are one person: their histories are attributed to
--    the user through beacon.aliases.
--  * Two users found to be one person are merged explicitly with beacon.merge_users; every user
--    row keeps its own traits, users.merged_into points at the person's root user, and
--    beacon.unmerge_users reverses one merge exactly. The analytics views resolve people through
--    merged_into; a person's traits are their users' traits merged, most recently updated wins.
--  * Every alias, unalias, merge and unmerge is written to beacon.identity_audit (append-only).
--
-- Concurrency: identify locks one users row, then inserts one alias row, always in that order, so
-- concurrent identifies cannot deadlock; traits merge inside the row lock, so none is lost. Merges
-- of a project are serialized by an advisory lock.

-- Who did it -------------------------------------------------------------------------------------

CREATE FUNCTION beacon.actor_role() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN current_setting('role') IN ('none', '') THEN session_user::text
                ELSE current_setting('role') END
$$;
COMMENT ON FUNCTION beacon.actor_role() IS 'The database role acting: the role set with SET ROLE, else the login role. Correct inside security-definer functions too (current_user is the owner there).';

CREATE FUNCTION beacon.app_user() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('beacon.app_user', true), '') $$;
COMMENT ON FUNCTION beacon.app_user() IS 'Application user the dashboard declared for this transaction with SET LOCAL beacon.app_user = ''…'' (NULL when none).';

CREATE FUNCTION beacon.forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = '42501';
END $$;
COMMENT ON FUNCTION beacon.forbid_change() IS 'BEFORE UPDATE/DELETE/TRUNCATE trigger of append-only audit tables: refuses the change, even for the owner.';

-- Users: merged_into -----------------------------------------------------------------------------

ALTER TABLE beacon.users
    ADD COLUMN merged_into text,
    ADD CONSTRAINT users_not_merged_into_self CHECK (merged_into <> user_id),
    ADD CONSTRAINT users_merged_into_fkey FOREIGN KEY (project_id, merged_into)
        REFERENCES beacon.users (project_id, user_id) ON DELETE SET NULL (merged_into);
CREATE INDEX users_merged_into ON beacon.users (project_id, merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON COLUMN beacon.users.merged_into IS 'Root user of the person this user was merged into (always a root: a user whose merged_into is NULL); NULL when the user is its own person. Set only by beacon.merge_users / beacon.unmerge_users.';
COMMENT ON COLUMN beacon.users.project_id IS 'Project of the user.';
COMMENT ON COLUMN beacon.users.user_id IS 'The product''s user id, 1–200 characters.';
COMMENT ON COLUMN beacon.users.created_at IS 'First identify.';
COMMENT ON COLUMN beacon.users.updated_at IS 'Latest identify (traits change).';
COMMENT ON COLUMN beacon.aliases.project_id IS 'Project of the alias.';
COMMENT ON COLUMN beacon.aliases.anon_id IS 'Anonymous id (the SDK''s anon= id).';
COMMENT ON COLUMN beacon.aliases.user_id IS 'The first user this anonymous id identified as.';
COMMENT ON COLUMN beacon.aliases.created_at IS 'When the anonymous id first identified.';

CREATE TABLE beacon.user_merges (
    merge_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    from_user  text        NOT NULL,
    into_user  text        NOT NULL,
    merged_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, from_user),
    FOREIGN KEY (project_id, from_user) REFERENCES beacon.users (project_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (project_id, into_user) REFERENCES beacon.users (project_id, user_id) ON DELETE CASCADE,
    CHECK (from_user <> into_user)
);
COMMENT ON TABLE beacon.user_merges IS 'Merges in force: the person rooted at from_user was merged into the person rooted at into_user. A forest: each root is merged at most once. beacon.unmerge_users deletes a row; beacon.identity_audit keeps the history.';
COMMENT ON COLUMN beacon.user_merges.merge_id IS 'Id to pass to beacon.unmerge_users.';
COMMENT ON COLUMN beacon.user_merges.from_user IS 'Root user of the person merged away.';
COMMENT ON COLUMN beacon.user_merges.into_user IS 'Root user of the person it joined (at merge time).';
COMMENT ON COLUMN beacon.user_merges.merged_at IS 'When the merge was made.';

CREATE TABLE beacon.identity_audit (
    audit_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('alias', 'unalias', 'merge', 'unmerge')),
    anon_id    text,
    user_id    text        NOT NULL,
    other_user text,
    merge_id   bigint,
    detail     jsonb       NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now(),
    db_role    text        NOT NULL DEFAULT beacon.actor_role(),
    login_role text        NOT NULL DEFAULT session_user,
    app_user   text                 DEFAULT beacon.app_user()
);
CREATE INDEX identity_audit_project_at ON beacon.identity_audit (project_id, at);
COMMENT ON TABLE beacon.identity_audit IS 'Append-only history of identity links: aliases made and removed, users merged and unmerged. No role may update or delete it (a trigger refuses even the owner).';
COMMENT ON COLUMN beacon.identity_audit.action IS 'alias (anon_id linked to user_id), unalias, merge (user_id''s person merged into other_user''s), unmerge (that merge reversed).';
COMMENT ON COLUMN beacon.identity_audit.anon_id IS 'Anonymous id, for alias and unalias.';
COMMENT ON COLUMN beacon.identity_audit.user_id IS 'User linked (alias) or merged away (merge: root of the person merged).';
COMMENT ON COLUMN beacon.identity_audit.other_user IS 'For merge and unmerge: root user of the person merged into.';
COMMENT ON COLUMN beacon.identity_audit.merge_id IS 'For merge and unmerge: beacon.user_merges.merge_id.';
COMMENT ON COLUMN beacon.identity_audit.detail IS 'For merge: the users requested and the users moved; for unmerge: the users whose person changed back.';
COMMENT ON COLUMN beacon.identity_audit.at IS 'Transaction time of the change.';
COMMENT ON COLUMN beacon.identity_audit.db_role IS 'Database role acting (SET ROLE, else login role).';
COMMENT ON COLUMN beacon.identity_audit.login_role IS 'Login role of the session.';
COMMENT ON COLUMN beacon.identity_audit.app_user IS 'Application user set by the dashboard with SET LOCAL beacon.app_user, if any.';

CREATE TRIGGER identity_audit_append_only BEFORE UPDATE OR DELETE ON beacon.identity_audit
    FOR EACH ROW EXECUTE FUNCTION beacon.forbid_change();
CREATE TRIGGER identity_audit_no_truncate BEFORE TRUNCATE ON beacon.identity_audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.forbid_change();

-- identify ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.identify(p_project uuid, p_anon_id text, p_user_id text, p_traits jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    linked boolean;
BEGIN
    IF p_user_id IS NULL OR p_user_id = '' THEN
        RAISE EXCEPTION 'identify: user id must not be empty' USING ERRCODE = '22023';
    END IF;
    IF length(p_user_id) > 200 THEN
        RAISE EXCEPTION 'identify: user id must be at most 200 characters, got %', length(p_user_id) USING ERRCODE = '22023';
    END IF;
    IF p_traits IS NOT NULL AND jsonb_typeof(p_traits) <> 'object' THEN
        RAISE EXCEPTION 'identify: traits must be a JSON object, got %', jsonb_typeof(p_traits) USING ERRCODE = '22023';
    END IF;
    -- Lock order: the users row, then the alias row. The merge happens under the row lock, so two
    -- concurrent identifies of one user each see the other's traits.
    INSERT INTO beacon.users AS u (project_id, user_id, traits)
    VALUES (p_project, p_user_id, coalesce(p_traits, '{}'))
    ON CONFLICT (project_id, user_id) DO UPDATE
        SET traits = u.traits || excluded.traits, updated_at = now();
    IF coalesce(p_anon_id, '') <> '' THEN
        INSERT INTO beacon.aliases (project_id, anon_id, user_id)
        VALUES (p_project, p_anon_id, p_user_id)
        ON CONFLICT (project_id, anon_id) DO NOTHING
        RETURNING true INTO linked;
        IF linked THEN
            INSERT INTO beacon.identity_audit (project_id, action, anon_id, user_id)
            VALUES (p_project, 'alias', p_anon_id, p_user_id);
        END IF;
    END IF;
END $$;
COMMENT ON FUNCTION beacon.identify(uuid, text, text, jsonb) IS 'Upserts a user (traits merged, newer wins per top-level key) and aliases the anonymous id to it if that id has no user yet (first user wins: a shared device''s anonymous history stays with its first user). New aliases are audited. Called by the relay for every identify message. Errors (SQLSTATE 22023): empty user id, user id over 200 characters, traits not an object.';

CREATE FUNCTION beacon.unalias(p_project uuid, p_anon_id text) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_user text;
BEGIN
    DELETE FROM beacon.aliases a WHERE a.project_id = p_project AND a.anon_id = p_anon_id
    RETURNING a.user_id INTO old_user;
    IF old_user IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO beacon.identity_audit (project_id, action, anon_id, user_id)
    VALUES (p_project, 'unalias', p_anon_id, old_user);
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.unalias(uuid, text) IS 'Removes the link of an anonymous id to its user (its history becomes anonymous again; a later identify links it anew). Audited. Returns false when there was none.';

-- Merging people ---------------------------------------------------------------------------------

CREATE FUNCTION beacon.root_user(p_project uuid, p_user_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(u.merged_into, u.user_id) FROM beacon.users u
    WHERE u.project_id = p_project AND u.user_id = p_user_id
$$;
COMMENT ON FUNCTION beacon.root_user(uuid, text) IS 'The root user (person id) of a user: its merged_into, else itself; NULL for an unknown user.';

CREATE FUNCTION beacon.person_traits(p_project uuid, p_root text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(t.key, t.value ORDER BY u.updated_at, u.user_id), '{}')
    FROM beacon.users u, jsonb_each(u.traits) t
    WHERE u.project_id = p_project AND (u.user_id = p_root OR u.merged_into = p_root)
$$;
COMMENT ON FUNCTION beacon.person_traits(uuid, text) IS 'Traits of a person: the traits of its root user and every user merged into it, per key the value of the most recently updated user.';

CREATE FUNCTION beacon.merge_users(p_project uuid, p_from text, p_into text) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rf    text;
    ri    text;
    id    bigint;
    moved text[];
BEGIN
    IF p_from = p_into THEN
        RAISE EXCEPTION 'merge_users: cannot merge user % into itself', p_from USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('beacon.identity:' || p_project::text));
    rf := beacon.root_user(p_project, p_from);
    ri := beacon.root_user(p_project, p_into);
    IF rf IS NULL THEN
        RAISE EXCEPTION 'merge_users: no user % in project %', p_from, p_project USING ERRCODE = 'P0002';
    END IF;
    IF ri IS NULL THEN
        RAISE EXCEPTION 'merge_users: no user % in project %', p_into, p_project USING ERRCODE = 'P0002';
    END IF;
    IF rf = ri THEN
        RETURN NULL; -- already one person
    END IF;
    INSERT INTO beacon.user_merges (project_id, from_user, into_user) VALUES (p_project, rf, ri)
    RETURNING merge_id INTO id;
    WITH m AS (
        UPDATE beacon.users u SET merged_into = ri
        WHERE u.project_id = p_project AND (u.user_id = rf OR u.merged_into = rf)
        RETURNING u.user_id
    ) SELECT array_agg(m.user_id ORDER BY m.user_id) INTO moved FROM m;
    INSERT INTO beacon.identity_audit (project_id, action, user_id, other_user, merge_id, detail)
    VALUES (p_project, 'merge', rf, ri, id,
            jsonb_build_object('requested_from', p_from, 'requested_into', p_into, 'moved', to_jsonb(moved)));
    RETURN id;
END $$;
COMMENT ON FUNCTION beacon.merge_users(uuid, text, text) IS 'Merges the person of user p_from into the person of user p_into (both users must exist); returns the merge id for beacon.unmerge_users, or NULL when they already are one person. Audited. Errors: merging a user into itself (22023), unknown user (P0002).';

CREATE FUNCTION beacon.unmerge_users(p_project uuid, p_merge_id bigint) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m       beacon.user_merges;
    root    text;
    changed text[];
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('beacon.identity:' || p_project::text));
    DELETE FROM beacon.user_merges um WHERE um.project_id = p_project AND um.merge_id = p_merge_id
    RETURNING um.* INTO m;
    IF m.merge_id IS NULL THEN
        RAISE EXCEPTION 'unmerge_users: no merge % in force in project %', p_merge_id, p_project USING ERRCODE = 'P0002';
    END IF;
    -- Recompute the root of everyone in the person the merge joined, following the merges still
    -- in force.
    root := beacon.root_user(p_project, m.into_user);
    WITH RECURSIVE walk (user_id, cur, depth) AS (
        SELECT u.user_id, u.user_id, 0 FROM beacon.users u
        WHERE u.project_id = p_project AND (u.user_id = root OR u.merged_into = root)
        UNION ALL
        SELECT w.user_id, um.into_user, w.depth + 1
        FROM walk w JOIN beacon.user_merges um ON um.project_id = p_project AND um.from_user = w.cur
    ), roots AS (
        SELECT DISTINCT ON (w.user_id) w.user_id, w.cur AS root FROM walk w ORDER BY w.user_id, w.depth DESC
    ), upd AS (
        UPDATE beacon.users u SET merged_into = nullif(r.root, u.user_id)
        FROM roots r
        WHERE u.project_id = p_project AND u.user_id = r.user_id
          AND u.merged_into IS DISTINCT FROM nullif(r.root, u.user_id)
        RETURNING u.user_id
    ) SELECT array_agg(upd.user_id ORDER BY upd.user_id) INTO changed FROM upd;
    INSERT INTO beacon.identity_audit (project_id, action, user_id, other_user, merge_id, detail)
    VALUES (p_project, 'unmerge', m.from_user, m.into_user, m.merge_id,
            jsonb_build_object('moved', to_jsonb(changed)));
END $$;
COMMENT ON FUNCTION beacon.unmerge_users(uuid, bigint) IS 'Reverses merge p_merge_id: the users it brought together are split again as they were (later merges stay in force). Audited. Error P0002 when the merge is not in force.';
