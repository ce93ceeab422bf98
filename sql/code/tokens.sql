-- tokens: API tokens and the request's principal (issue 14). A request of the dashboard's API acts
-- for a signed-in person (beacon.account_id, set by the relay after beacon.session_check) or for an
-- API token (beacon.token_id and the token's creator as beacon.account_id, both set by
-- beacon.token_check itself). beacon.account_role (code/accounts.sql) asks beacon.token_role when
-- a token acts, so every require_role guard treats a token as a member of its one project with the
-- role of its scope, capped by its creator's current role. Installed before accounts.sql, whose
-- SQL-language functions name current_token and token_role.

CREATE OR REPLACE FUNCTION beacon.current_token() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('beacon.token_id', true), '')::uuid $$;
COMMENT ON FUNCTION beacon.current_token() IS 'The API token acting in this transaction (beacon.token_id, set by beacon.token_check), NULL when a signed-in person (or nobody) acts.';

CREATE OR REPLACE FUNCTION beacon.scope_role(p_scope text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_scope WHEN 'read' THEN 'viewer' WHEN 'flags' THEN 'editor' WHEN 'write' THEN 'owner' END
$$;
COMMENT ON FUNCTION beacon.scope_role(text) IS 'The role an API token scope gives in its project: read viewer, flags editor, write owner (members, tokens, person deletion and project creation still need a signed-in person: beacon.require_person, beacon.require_recent_auth).';

CREATE OR REPLACE FUNCTION beacon.token_role(p_project uuid) RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t beacon.api_tokens;
    creator text;
    rank constant jsonb := '{"viewer": 1, "editor": 2, "owner": 3}';
BEGIN
    SELECT x.* INTO t FROM beacon.api_tokens x
    WHERE x.token_id = beacon.current_token() AND x.project_id = p_project
      AND x.revoked_at IS NULL AND x.expires_at > now();
    IF NOT FOUND THEN
        RETURN NULL; -- another project (or a token that stopped): it does not exist for this token
    END IF;
    IF t.account_id IS NULL THEN
        RETURN beacon.scope_role(t.scope);
    END IF;
    creator := beacon.member_role(t.account_id, p_project);
    IF creator IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN CASE WHEN (rank ->> creator)::int < (rank ->> beacon.scope_role(t.scope))::int
                THEN creator ELSE beacon.scope_role(t.scope) END;
END $$;
COMMENT ON FUNCTION beacon.token_role(uuid) IS 'Role of the acting API token (beacon.current_token) in p_project: its scope''s role (beacon.scope_role), capped by its creator''s current role (a creator that lost the role, or was disabled, takes it from the token); NULL for any other project, or a revoked or expired token.';

CREATE OR REPLACE FUNCTION beacon.require_person() RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF beacon.current_token() IS NOT NULL OR beacon.current_account() IS NULL THEN
        RAISE EXCEPTION 'this needs a signed-in person, not an API token' USING ERRCODE = '42501';
    END IF;
END $$;
COMMENT ON FUNCTION beacon.require_person() IS 'Guard of what only a signed-in person may do (tokens, sessions, members, the audit, project creation): raises 42501 when an API token acts or nobody is signed in.';

CREATE OR REPLACE FUNCTION beacon.require_recent_auth() RETURNS void
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    at timestamptz;
    win interval := coalesce(nullif(current_setting('beacon.reauth_window', true), '')::interval, interval '5 minutes');
BEGIN
    PERFORM beacon.require_person();
    SELECT coalesce(s.authenticated_at, s.created_at) INTO at FROM beacon.account_sessions s
    WHERE s.token_hash = decode(nullif(current_setting('beacon.session', true), ''), 'hex')
      AND s.account_id = beacon.current_account();
    IF at IS NULL OR at < now() - win THEN
        RAISE EXCEPTION 'This needs a recent sign-in: you last signed in or confirmed more than % ago.',
            CASE WHEN win < interval '2 minutes' THEN round(extract(epoch FROM win)) || ' seconds'
                 ELSE round(extract(epoch FROM win) / 60) || ' minutes' END
            USING ERRCODE = '42501', HINT = 'reauth';
    END IF;
END $$;
COMMENT ON FUNCTION beacon.require_recent_auth() IS 'Guard of sensitive actions (adding a member, creating a token, deleting a person; AC-11/IA-11): the signed-in session (beacon.session, the hex SHA-256 of its token, set by the relay) must have checked its password within beacon.reauth_window (SESSION_REAUTH_WINDOW, default 5 minutes): sign-in or POST /api/session/reauth. Raises 42501 with HINT reauth otherwise, and for an API token.';

-- Tokens ------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.create_token(p_project uuid, p_scope text, p_name text, p_expires interval,
                                               p_token_hash bytea, p_account uuid)
RETURNS uuid
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    IF beacon.scope_role(p_scope) IS NULL THEN
        RAISE EXCEPTION 'scope must be read, flags or write' USING ERRCODE = '22023';
    END IF;
    IF p_expires IS NULL OR p_expires < interval '1 hour' OR p_expires > interval '366 days' THEN
        RAISE EXCEPTION 'a token expires between 1 hour and 366 days after its creation' USING ERRCODE = '22023';
    END IF;
    IF length(btrim(coalesce(p_name, ''))) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'a token name has 1 to 100 characters' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = p_project) THEN
        RAISE EXCEPTION 'project not found' USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO beacon.api_tokens (token_hash, project_id, scope, name, account_id, expires_at)
    VALUES (p_token_hash, p_project, p_scope, btrim(p_name), p_account, now() + p_expires)
    RETURNING token_id INTO id;
    PERFORM beacon.write_audit('token_created', 'project:' || p_project || '/token:' || id, NULL,
        jsonb_build_object('name', btrim(p_name), 'scope', p_scope, 'expires_at', now() + p_expires), p_account);
    RETURN id;
END $$;
COMMENT ON FUNCTION beacon.create_token(uuid, text, text, interval, bytea, uuid) IS 'Stores a new API token (its SHA-256; the token is made and shown once by the relay or the CLI) for p_project with p_scope (read, flags, write), named, expiring after p_expires (1 hour to 366 days), created by p_account (NULL: the CLI); audited (token_created). 22023 for a bad scope, expiry or name, P0002 for no such project. The owner''s (`beacon token create`); the API goes through beacon.api_token_create.';

CREATE OR REPLACE FUNCTION beacon.token_json(t beacon.api_tokens) RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('id', t.token_id, 'name', t.name, 'scope', t.scope,
        'created_by', (SELECT a.email FROM beacon.accounts a WHERE a.account_id = t.account_id),
        'created_at', t.created_at, 'expires_at', t.expires_at, 'revoked_at', t.revoked_at,
        'last_used_at', t.last_used_at, 'last_used_ip', host(t.last_used_ip),
        'active', t.revoked_at IS NULL AND t.expires_at > now())
$$;
COMMENT ON FUNCTION beacon.token_json(beacon.api_tokens) IS 'An API token as lists show it: id, name, scope, created_by (email; NULL for the CLI), created_at, expires_at, revoked_at, last_used_at, last_used_ip, active. Never the token or its hash.';

CREATE OR REPLACE FUNCTION beacon.api_token_create(p_project uuid, p_scope text, p_name text, p_expires interval,
                                                   p_token_hash bytea)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_recent_auth();
    id := beacon.create_token(p_project, p_scope, p_name, p_expires, p_token_hash, beacon.current_account());
    RETURN (SELECT beacon.token_json(t) FROM beacon.api_tokens t WHERE t.token_id = id);
END $$;
COMMENT ON FUNCTION beacon.api_token_create(uuid, text, text, interval, bytea) IS 'POST /api/projects/{id}/tokens: creates an API token of the signed-in owner (beacon.create_token; the relay adds the token itself to the answer, once). Needs the owner role and a recent password (beacon.require_recent_auth); never callable with a token.';

CREATE OR REPLACE FUNCTION beacon.api_tokens(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_person();
    RETURN jsonb_build_object('tokens', coalesce((
        SELECT jsonb_agg(beacon.token_json(t) ORDER BY t.created_at DESC, t.token_id)
        FROM beacon.api_tokens t WHERE t.project_id = p_project), '[]'));
END $$;
COMMENT ON FUNCTION beacon.api_tokens(uuid) IS 'GET /api/projects/{id}/tokens: {"tokens":[beacon.token_json…]}, the project''s tokens, newest first, revoked and expired ones included. Needs the owner role and a signed-in person.';

CREATE OR REPLACE FUNCTION beacon.revoke_token(p_token uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t beacon.api_tokens;
BEGIN
    UPDATE beacon.api_tokens x SET revoked_at = now() WHERE x.token_id = p_token AND x.revoked_at IS NULL
    RETURNING x.* INTO t;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM beacon.write_audit('token_revoked', 'project:' || t.project_id || '/token:' || t.token_id,
        jsonb_build_object('name', t.name, 'scope', t.scope), NULL);
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.revoke_token(uuid) IS 'Revokes an API token at once (its next request is refused), audited (token_revoked). False when there is no such token or it was revoked already. The owner''s (`beacon token revoke`); the API goes through beacon.api_token_revoke.';

CREATE OR REPLACE FUNCTION beacon.api_token_revoke(p_project uuid, p_token uuid) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_person();
    IF NOT EXISTS (SELECT FROM beacon.api_tokens t WHERE t.token_id = p_token AND t.project_id = p_project) THEN
        RAISE EXCEPTION 'token not found' USING ERRCODE = 'P0002', HINT = 'token';
    END IF;
    PERFORM beacon.revoke_token(p_token);
END $$;
COMMENT ON FUNCTION beacon.api_token_revoke(uuid, uuid) IS 'DELETE /api/projects/{id}/tokens/{token}: revokes one of the project''s tokens (beacon.revoke_token; revoking a revoked token does nothing). Needs the owner role and a signed-in person; P0002 (HINT token) for a token of another project.';

CREATE OR REPLACE FUNCTION beacon.token_check(p_token_hash bytea, p_method text, p_path text)
RETURNS TABLE (token_id uuid, account_id uuid, project_id uuid, scope text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t beacon.api_tokens;
    reason text;
BEGIN
    SELECT x.* INTO t FROM beacon.api_tokens x WHERE x.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN; -- unknown: not audited (anyone may send garbage; the relay answers 401)
    END IF;
    reason := CASE
        WHEN t.revoked_at IS NOT NULL THEN 'revoked'
        WHEN t.expires_at <= now() THEN 'expired'
        WHEN t.account_id IS NOT NULL AND NOT EXISTS (
            SELECT FROM beacon.accounts a WHERE a.account_id = t.account_id AND a.disabled_at IS NULL) THEN 'account_disabled'
    END;
    IF reason IS NOT NULL THEN
        PERFORM beacon.write_audit('token_refused', 'project:' || t.project_id || '/token:' || t.token_id, NULL,
            jsonb_build_object('reason', reason, 'method', left(p_method, 10), 'path', left(p_path, 300)), t.account_id);
        RETURN;
    END IF;
    IF t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' OR t.last_used_ip IS DISTINCT FROM beacon.client_addr() THEN
        UPDATE beacon.api_tokens x SET last_used_at = now(), last_used_ip = beacon.client_addr() WHERE x.token_id = t.token_id;
    END IF;
    PERFORM set_config('beacon.account_id', coalesce(t.account_id::text, ''), true),
            set_config('beacon.token_id', t.token_id::text, true);
    IF t.scope <> 'read' THEN
        PERFORM beacon.write_audit('token_used', 'project:' || t.project_id || '/token:' || t.token_id, NULL,
            jsonb_build_object('scope', t.scope, 'method', left(p_method, 10), 'path', left(p_path, 300)), t.account_id);
    END IF;
    RETURN QUERY SELECT t.token_id, t.account_id, t.project_id, t.scope;
END $$;
COMMENT ON FUNCTION beacon.token_check(bytea, text, text) IS 'Start of an API request carrying Authorization: Bearer: the token whose SHA-256 is p_token_hash, when it is neither revoked nor expired and its creator is not disabled. It then acts for this transaction (beacon.token_id and beacon.account_id are set here, not by the relay), its last use is recorded, and a flags or write token''s request is audited (token_used, with method and path). A stopped token is audited (token_refused) and returns nothing, as does an unknown one.';

REVOKE ALL ON FUNCTION
    beacon.token_role(uuid), beacon.require_recent_auth(),
    beacon.create_token(uuid, text, text, interval, bytea, uuid), beacon.token_json(beacon.api_tokens),
    beacon.api_token_create(uuid, text, text, interval, bytea), beacon.api_tokens(uuid),
    beacon.revoke_token(uuid), beacon.api_token_revoke(uuid, uuid), beacon.token_check(bytea, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_token_create(uuid, text, text, interval, bytea),
    beacon.api_tokens(uuid),
    beacon.api_token_revoke(uuid, uuid),
    beacon.token_check(bytea, text, text)
TO beacon_api;
