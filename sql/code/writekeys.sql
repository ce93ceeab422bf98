-- writekeys: write keys of the Segment-compatible tracking API (docs/protocol.md, "Segment-
-- compatible API"), and the one identity rule that API adds: alias.
--
-- Rules:
--  * A write key belongs to one project. Only its SHA-256 is stored (the relay or the CLI makes
--    the key and shows it once). Creating and revoking are audited (writekey_created/revoked).
--  * The relay resolves a key on every request (beacon.write_key_project): a revoked key is
--    refused from its next request on, with no cache to wait out.
--  * A request with a valid write key comes from the customer's server (the key is a secret, not
--    a page's public project id), so its identifies and aliases count as verified
--    (beacon.identify's p_verified), as an identify with a right userHash does.
--  * alias(previousId → userId): when previousId is a known user of the project, that user's
--    person is merged into userId's (beacon.merge_users: audited, reversible with unmerge_users);
--    otherwise previousId is taken for an anonymous id and linked to userId like an identify does
--    (first user wins). Either way userId is a user afterwards.

CREATE OR REPLACE FUNCTION beacon.create_write_key(p_project uuid, p_name text, p_key_hash bytea)
RETURNS uuid
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    IF length(btrim(coalesce(p_name, ''))) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'a write key name has 1 to 100 characters' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = p_project) THEN
        RAISE EXCEPTION 'project not found' USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO beacon.write_keys (key_hash, project_id, name)
    VALUES (p_key_hash, p_project, btrim(p_name))
    RETURNING key_id INTO id;
    PERFORM beacon.write_audit('writekey_created', 'project:' || p_project || '/writekey:' || id, NULL,
        jsonb_build_object('name', btrim(p_name))); -- by the signed-in account, if any (NULL: the CLI)
    RETURN id;
END $$;
COMMENT ON FUNCTION beacon.create_write_key(uuid, text, bytea) IS 'Stores a new write key of the Segment-compatible API (its SHA-256; the key is made and shown once by `beacon writekey create`) for p_project, named; audited (writekey_created). 22023 for a bad name, P0002 for no such project. The owner''s (`beacon writekey create`); the API goes through beacon.api_write_key_create.';

CREATE OR REPLACE FUNCTION beacon.revoke_write_key(p_key uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k beacon.write_keys;
BEGIN
    UPDATE beacon.write_keys x SET revoked_at = now() WHERE x.key_id = p_key AND x.revoked_at IS NULL
    RETURNING x.* INTO k;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM beacon.write_audit('writekey_revoked', 'project:' || k.project_id || '/writekey:' || k.key_id,
        jsonb_build_object('name', k.name), NULL); -- by the signed-in account, if any (NULL: the CLI)
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.revoke_write_key(uuid) IS 'Revokes a write key at once (the relay answers its next request 401), audited (writekey_revoked). False when there is no such key or it was revoked already. The owner''s (`beacon writekey revoke`); the API goes through beacon.api_write_key_revoke.';

CREATE OR REPLACE FUNCTION beacon.write_key_project(p_key_hash bytea) RETURNS uuid
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k beacon.write_keys;
BEGIN
    SELECT x.* INTO k FROM beacon.write_keys x WHERE x.key_hash = p_key_hash AND x.revoked_at IS NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
        UPDATE beacon.write_keys x SET last_used_at = now() WHERE x.key_id = k.key_id;
    END IF;
    RETURN k.project_id;
END $$;
COMMENT ON FUNCTION beacon.write_key_project(bytea) IS 'The project of an active write key, given its SHA-256; NULL for an unknown or revoked key (the relay answers 401). Records the key''s last use, to within a minute. Called by the relay on every request of the Segment-compatible API.';

CREATE OR REPLACE FUNCTION beacon.segment_alias(p_project uuid, p_previous text, p_user text) RETURNS text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce(p_previous, '') = '' OR length(p_previous) > 200 THEN
        RAISE EXCEPTION 'alias: previousId must be 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF p_previous = p_user THEN
        PERFORM beacon.identify(p_project, NULL, p_user, '{}', true);
        RETURN 'same';
    END IF;
    IF EXISTS (SELECT FROM beacon.users u WHERE u.project_id = p_project AND u.user_id = p_previous) THEN
        PERFORM beacon.identify(p_project, NULL, p_user, '{}', true);
        PERFORM beacon.merge_users(p_project, p_previous, p_user);
        RETURN 'merged';
    END IF;
    PERFORM beacon.identify(p_project, p_previous, p_user, '{}', true);
    RETURN 'aliased';
END $$;
COMMENT ON FUNCTION beacon.segment_alias(uuid, text, text) IS 'A Segment alias (previousId → userId), verified by its write key: userId becomes a user if it was not; a previousId that is a user of the project has its person merged into userId''s (beacon.merge_users, audited, undone with beacon.unmerge_users); any other previousId is an anonymous id, linked to userId as beacon.identify links one (first user wins). Returns merged, aliased or same (previousId = userId). 22023 for an empty or over-long previousId (and beacon.identify''s errors for userId). Called by the relay.';

-- The dashboard's: a project's owners list, create (with a fresh password) and revoke its keys.

CREATE OR REPLACE FUNCTION beacon.write_key_json(k beacon.write_keys) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', k.key_id, 'name', k.name, 'created_at', k.created_at,
        'revoked_at', k.revoked_at, 'last_used_at', k.last_used_at, 'active', k.revoked_at IS NULL)
$$;
COMMENT ON FUNCTION beacon.write_key_json(beacon.write_keys) IS 'A write key as lists show it: id, name, created_at, revoked_at, last_used_at, active. Never the key or its hash.';

CREATE OR REPLACE FUNCTION beacon.api_write_keys(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_person();
    RETURN jsonb_build_object('write_keys', coalesce((
        SELECT jsonb_agg(beacon.write_key_json(k) ORDER BY k.created_at DESC, k.key_id)
        FROM beacon.write_keys k WHERE k.project_id = p_project), '[]'));
END $$;
COMMENT ON FUNCTION beacon.api_write_keys(uuid) IS 'GET /api/projects/{id}/write-keys: {"write_keys":[beacon.write_key_json…]}, the project''s write keys of the Segment-compatible API, newest first, revoked ones included. Needs the owner role and a signed-in person.';

CREATE OR REPLACE FUNCTION beacon.api_write_key_create(p_project uuid, p_name text, p_key_hash bytea) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_recent_auth();
    id := beacon.create_write_key(p_project, p_name, p_key_hash);
    RETURN (SELECT beacon.write_key_json(k) FROM beacon.write_keys k WHERE k.key_id = id);
END $$;
COMMENT ON FUNCTION beacon.api_write_key_create(uuid, text, bytea) IS 'POST /api/projects/{id}/write-keys: creates a write key (beacon.create_write_key, audited; the relay adds the key itself to the answer, once). Needs the owner role and a recent password (beacon.require_recent_auth); never callable with a token.';

CREATE OR REPLACE FUNCTION beacon.api_write_key_revoke(p_project uuid, p_key uuid) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_person(); -- no fresh password: stopping a leaked key must not wait for one
    IF NOT EXISTS (SELECT FROM beacon.write_keys k WHERE k.key_id = p_key AND k.project_id = p_project) THEN
        RAISE EXCEPTION 'write key not found' USING ERRCODE = 'P0002', HINT = 'write_key';
    END IF;
    PERFORM beacon.revoke_write_key(p_key);
END $$;
COMMENT ON FUNCTION beacon.api_write_key_revoke(uuid, uuid) IS 'DELETE /api/projects/{id}/write-keys/{key}: revokes one of the project''s write keys at once (beacon.revoke_write_key, audited; revoking a revoked key does nothing). Needs the owner role and a signed-in person (no fresh password, as for tokens); P0002 (HINT write_key) for a key of another project.';

-- The relay's and the API's grants are here, beside the functions (roles.sql revokes PUBLIC's only).
GRANT EXECUTE ON FUNCTION beacon.write_key_project(bytea), beacon.segment_alias(uuid, text, text) TO beacon_relay;
GRANT EXECUTE ON FUNCTION beacon.api_write_keys(uuid), beacon.api_write_key_create(uuid, text, bytea),
    beacon.api_write_key_revoke(uuid, uuid) TO beacon_api;
