-- identity: identify, aliases, merging users into people, and what deleting a user does.
--
-- Rules:
--  * identify(project, anon, user, traits) upserts the user (traits merged, newer wins per key) and
--    aliases the anon id to the user. An anon id keeps its first user: when a second user logs in
--    on the same device, the anonymous history stays with the first (a shared device is not one
--    person).
--  * Two users found to be one person are merged explicitly with beacon.merge_users; every user
--    row keeps its own traits, users.merged_into points at the person's root user, and
--    beacon.unmerge_users reverses one merge exactly. beacon.user_merges holds the merges in
--    force: a forest whose roots are the people.
--  * Every alias, unalias, merge and unmerge is written to beacon.identity_audit (append-only).
--  * Identity verification (projects.verify_identity): the relay checks an identify's userHash
--    (HMAC-SHA-256 of the user id with the project's secret, in Go's FIPS module) and says so with
--    identify's p_verified; an unverified identify of such a project writes nothing. Secrets live
--    in beacon.project_secrets, which no application role can read: the owner reads one with
--    beacon.identity_secret, the relay with beacon.identity_key (docs/fedramp.md, "Trust model").
--  * A user's stored traits are bounded (beacon.settings.max_trait_keys, max_traits_bytes).
--
-- Concurrency: identify locks one users row, then inserts one alias row, always in that order, so
-- concurrent identifies cannot deadlock. Merges, unmerges and deletes of merged users of a project
-- are serialized by pg_advisory_xact_lock(1113940323, hashtext(project id)) — the Beacon lock
-- class (docs/sql.md).

CREATE OR REPLACE FUNCTION beacon.merge_traits(p_old jsonb, p_new jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    merged    jsonb := coalesce(p_old, '{}') || coalesce(p_new, '{}');
    max_keys  int;
    max_bytes int;
    n_keys    int;
    n_bytes   int;
BEGIN
    SELECT s.max_trait_keys, s.max_traits_bytes INTO max_keys, max_bytes FROM beacon.settings s;
    SELECT count(*) INTO n_keys FROM jsonb_object_keys(merged);
    n_bytes := octet_length(merged::text);
    -- A user already over a limit (lowered later) may still identify, as long as it does not grow.
    IF (n_keys > max_keys AND n_keys > (SELECT count(*) FROM jsonb_object_keys(coalesce(p_old, '{}'))))
       OR (n_bytes > max_bytes AND n_bytes > octet_length(coalesce(p_old, '{}')::text)) THEN
        RAISE EXCEPTION 'identify: a user''s traits may hold at most % keys and % bytes; this identify would store % keys, % bytes',
            max_keys, max_bytes, n_keys, n_bytes
            USING ERRCODE = 'UB002', HINT = 'Limits: beacon.settings.max_trait_keys, max_traits_bytes.';
    END IF;
    RETURN merged;
END $$;
COMMENT ON FUNCTION beacon.merge_traits(jsonb, jsonb) IS 'A user''s stored traits merged with an identify''s (newer wins per top-level key), bounded by beacon.settings.max_trait_keys and max_traits_bytes: raises SQLSTATE UB002 (traits_too_large) when the merge would exceed either and grow the user; a user already over a lowered limit may identify without growing.';

CREATE OR REPLACE FUNCTION beacon.identify(p_project uuid, p_anon_id text, p_user_id text, p_traits jsonb DEFAULT '{}',
                                           p_verified boolean DEFAULT false)
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
    -- Identity verification: an unverified identify of a verified project writes nothing — no
    -- traits (which would unlock trait-targeted flags), no alias (which would claim the user).
    IF NOT coalesce(p_verified, false)
       AND EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = p_project AND p.verify_identity) THEN
        RAISE EXCEPTION 'identify: this project verifies identities: userHash must be the HMAC-SHA-256 of the user id with the project''s secret'
            USING ERRCODE = 'UB001';
    END IF;
    -- Lock order: the users row, then the alias row. The merge happens under the row lock, so two
    -- concurrent identifies of one user each see the other's traits.
    INSERT INTO beacon.users AS u (project_id, user_id, traits)
    VALUES (p_project, p_user_id, beacon.merge_traits('{}', p_traits))
    ON CONFLICT (project_id, user_id) DO UPDATE
        SET traits = beacon.merge_traits(u.traits, excluded.traits), updated_at = now();
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
COMMENT ON FUNCTION beacon.identify(uuid, text, text, jsonb, boolean) IS 'Upserts a user (traits merged, newer wins per top-level key, bounded by beacon.merge_traits) and aliases the anonymous id to it if that id has no user yet (first user wins: a shared device''s anonymous history stays with its first user). New aliases are audited. Called by the relay for every identify message, with p_verified true when the relay checked the message''s userHash against beacon.identity_key. Errors: SQLSTATE 22023 (empty user id, user id over 200 characters, traits not an object); UB001 identity_unverified (the project has verify_identity on and p_verified is false: nothing is written); UB002 traits_too_large (beacon.merge_traits).';

CREATE OR REPLACE FUNCTION beacon.unalias(p_project uuid, p_anon_id text) RETURNS boolean
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

CREATE OR REPLACE FUNCTION beacon.root_user(p_project uuid, p_user_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(u.merged_into, u.user_id) FROM beacon.users u
    WHERE u.project_id = p_project AND u.user_id = p_user_id
$$;
COMMENT ON FUNCTION beacon.root_user(uuid, text) IS 'The root user (person id) of a user: its merged_into, else itself; NULL for an unknown user.';

CREATE OR REPLACE FUNCTION beacon.person_traits(p_project uuid, p_root text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(t.key, t.value ORDER BY u.updated_at, u.user_id), '{}')
    FROM beacon.users u, jsonb_each(u.traits) t
    WHERE u.project_id = p_project AND (u.user_id = p_root OR u.merged_into = p_root)
$$;
COMMENT ON FUNCTION beacon.person_traits(uuid, text) IS 'Traits of a person: the traits of its root user and every user merged into it, per key the value of the most recently updated user.';

CREATE OR REPLACE FUNCTION beacon.merge_users(p_project uuid, p_from text, p_into text) RETURNS bigint
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
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, pg_catalog.hashtext(p_project::text));
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

CREATE OR REPLACE FUNCTION beacon.unmerge_users(p_project uuid, p_merge_id bigint) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m       beacon.user_merges;
    root    text;
    changed text[];
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, pg_catalog.hashtext(p_project::text));
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


-- Identity verification: secrets and the switch. ------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.new_identity_secret() RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
$$;
COMMENT ON FUNCTION beacon.new_identity_secret() IS 'A new identity secret: 64 hex characters, 244 random bits from two gen_random_uuid() (pg_strong_random: OpenSSL''s RAND_bytes on builds with OpenSSL, the FIPS provider''s DRBG on a FIPS-mode host). PostgreSQL 15 has no gen_random_bytes without pgcrypto.';

CREATE OR REPLACE FUNCTION beacon.ensure_identity_secret(p_project uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = p_project) THEN
        RAISE EXCEPTION 'identity secret: no project %', p_project USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO beacon.project_secrets (project_id, secret) VALUES (p_project, beacon.new_identity_secret())
    ON CONFLICT (project_id) DO NOTHING;
END $$;
COMMENT ON FUNCTION beacon.ensure_identity_secret(uuid) IS 'Makes the project''s identity secret if it has none. Error P0002: no such project. Used by the owner-only functions below.';

CREATE OR REPLACE FUNCTION beacon.identity_secret(p_project uuid) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text;
BEGIN
    PERFORM beacon.ensure_identity_secret(p_project);
    SELECT ps.secret INTO s FROM beacon.project_secrets ps WHERE ps.project_id = p_project;
    INSERT INTO beacon.trust_audit (project_id, action, db_role, app_user)
    VALUES (p_project, 'secret_shown', beacon.actor_role(), beacon.app_user());
    RETURN s;
END $$;
COMMENT ON FUNCTION beacon.identity_secret(uuid) IS 'The project''s identity-verification secret, made on first use, for its owner to put on the customer''s server (`beacon project secret ID`). Audited (trust_audit: secret_shown). Owner only: no application role may execute it. Error P0002: no such project.';

CREATE OR REPLACE FUNCTION beacon.rotate_identity_secret(p_project uuid) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text;
BEGIN
    PERFORM beacon.ensure_identity_secret(p_project);
    UPDATE beacon.project_secrets ps SET secret = beacon.new_identity_secret(), created_at = now()
    WHERE ps.project_id = p_project
    RETURNING ps.secret INTO s;
    RETURN s;
END $$;
COMMENT ON FUNCTION beacon.rotate_identity_secret(uuid) IS 'Replaces the project''s identity secret and returns the new one; user hashes made with the old one are refused from the commit on (no overlap: deploy the new secret to the servers first, or turn verification off while rotating). Owner only.';

CREATE OR REPLACE FUNCTION beacon.set_identity_verification(p_project uuid, p_on boolean) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_on THEN
        PERFORM beacon.ensure_identity_secret(p_project); -- on needs a secret
    END IF;
    UPDATE beacon.projects p SET verify_identity = coalesce(p_on, false) WHERE p.project_id = p_project;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'set_identity_verification: no project %', p_project USING ERRCODE = 'P0002';
    END IF;
END $$;
COMMENT ON FUNCTION beacon.set_identity_verification(uuid, boolean) IS 'Turns identity verification of a project on (making its secret if it has none) or off (`beacon project verify ID on|off`). Owner only. Error P0002: no such project.';

CREATE OR REPLACE FUNCTION beacon.identity_key(p_project uuid) RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT ps.secret FROM beacon.projects p JOIN beacon.project_secrets ps USING (project_id)
    WHERE p.project_id = p_project AND p.verify_identity
$$;
COMMENT ON FUNCTION beacon.identity_key(uuid) IS 'For the relay only: the secret to check an identify''s userHash with, NULL when the project does not verify identities (or has no secret, in which case every identify is refused: fail closed). The relay computes the HMAC in Go''s FIPS 140-3 module and passes its verdict to beacon.identify.';

CREATE OR REPLACE FUNCTION beacon.create_project(p_name text, p_origins text[] DEFAULT '{}') RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    INSERT INTO beacon.projects (name, allowed_origins, verify_identity, new_flags_client_visible)
    VALUES (p_name, coalesce(p_origins, '{}'), true, false)
    RETURNING project_id INTO id;
    INSERT INTO beacon.project_secrets (project_id, secret) VALUES (id, beacon.new_identity_secret());
    RETURN id;
END $$;
COMMENT ON FUNCTION beacon.create_project(text, text[]) IS 'Creates a project with the secure defaults (`beacon project create`): identity verification on with a new secret, and new flags server-only until marked client_visible. A row inserted by hand gets the pre-004 defaults instead (verification off, new flags visible).';

CREATE OR REPLACE FUNCTION beacon.trust_audit_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    act text;
BEGIN
    IF TG_TABLE_NAME = 'projects' THEN
        IF TG_OP = 'INSERT' AND NOT NEW.verify_identity
           OR TG_OP = 'UPDATE' AND NEW.verify_identity IS NOT DISTINCT FROM OLD.verify_identity THEN
            RETURN NULL;
        END IF;
        act := CASE WHEN NEW.verify_identity THEN 'verify_on' ELSE 'verify_off' END;
    ELSIF TG_OP = 'INSERT' THEN
        act := 'secret_made';
    ELSIF NEW.secret IS DISTINCT FROM OLD.secret THEN
        act := 'secret_rotated';
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO beacon.trust_audit (project_id, action, db_role, app_user)
    VALUES (NEW.project_id, act, beacon.actor_role(), beacon.app_user());
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.trust_audit_write() IS 'AFTER trigger of beacon.projects (verify_identity set or changed) and beacon.project_secrets (secret made or rotated): writes beacon.trust_audit, never the secret. Security definer: no application role may write the audit.';

CREATE OR REPLACE TRIGGER projects_trust_audit AFTER INSERT OR UPDATE OF verify_identity ON beacon.projects
    FOR EACH ROW EXECUTE FUNCTION beacon.trust_audit_write();
COMMENT ON TRIGGER projects_trust_audit ON beacon.projects IS 'Audits identity verification turned on or off, from any source (CLI, dashboard, a DBA''s UPDATE), in beacon.trust_audit.';
CREATE OR REPLACE TRIGGER project_secrets_trust_audit AFTER INSERT OR UPDATE ON beacon.project_secrets
    FOR EACH ROW EXECUTE FUNCTION beacon.trust_audit_write();
COMMENT ON TRIGGER project_secrets_trust_audit ON beacon.project_secrets IS 'Audits a secret made or rotated in beacon.trust_audit (without the secret).';
CREATE OR REPLACE TRIGGER trust_audit_append_only BEFORE UPDATE OR DELETE ON beacon.trust_audit
    FOR EACH ROW EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER trust_audit_append_only ON beacon.trust_audit IS 'Refuses UPDATE and DELETE: the trust audit is append-only, for the owner too.';
CREATE OR REPLACE TRIGGER trust_audit_no_truncate BEFORE TRUNCATE ON beacon.trust_audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER trust_audit_no_truncate ON beacon.trust_audit IS 'Refuses TRUNCATE of the trust audit.';
