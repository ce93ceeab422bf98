-- lifecycle: accounts disabled and re-enabled (by owners, or by maintain() when idle), the sessions
-- a person sees and ends, the concurrent session limit, re-authentication, the system use
-- notification's audited acceptance, and the audit's retention and reading (issue 14: AC-2,
-- AC-8, AC-10, AC-11, AC-12, AU-11). State in 014_identity.sql; docs/fedramp.md maps each control.

-- Disabling ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.set_account_disabled(p_account uuid, p_disabled boolean, p_reason text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a beacon.accounts;
BEGIN
    SELECT x.* INTO a FROM beacon.accounts x WHERE x.account_id = p_account FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found' USING ERRCODE = 'P0002', HINT = 'account';
    END IF;
    IF (a.disabled_at IS NOT NULL) = p_disabled THEN
        RETURN false;
    END IF;
    IF p_disabled THEN
        UPDATE beacon.accounts x SET disabled_at = now() WHERE x.account_id = p_account;
        DELETE FROM beacon.account_sessions s WHERE s.account_id = p_account; -- they stop at once
        PERFORM beacon.write_audit('account_disabled', 'account:' || p_account, jsonb_build_object('disabled', false),
            jsonb_build_object('disabled', true, 'reason', p_reason));
    ELSE
        -- last_active_at: re-enabled, it is not idle (maintain() would disable it again at once).
        UPDATE beacon.accounts x SET disabled_at = NULL, last_active_at = now() WHERE x.account_id = p_account;
        PERFORM beacon.write_audit('account_enabled', 'account:' || p_account, jsonb_build_object('disabled', true),
            jsonb_build_object('disabled', false, 'reason', p_reason));
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.set_account_disabled(uuid, boolean, text) IS 'Disables an account (it cannot sign in; its sessions are deleted and its API tokens refused at once) or enables it again, audited (account_disabled / account_enabled, after.reason). False when it already was. P0002 for no such account. The owner''s (a DBA, maintain()); the API goes through beacon.api_set_account_disabled.';

CREATE OR REPLACE FUNCTION beacon.api_set_account_disabled(p_account uuid, p_disabled boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me uuid := beacon.current_account();
    target beacon.accounts;
    i_am_admin boolean;
BEGIN
    PERFORM beacon.require_person();
    SELECT a.admin INTO i_am_admin FROM beacon.accounts a WHERE a.account_id = me AND a.disabled_at IS NULL;
    SELECT a.* INTO target FROM beacon.accounts a WHERE a.account_id = p_account;
    -- A project owner sees the accounts of its projects' members; others do not exist for it.
    IF NOT FOUND OR NOT (coalesce(i_am_admin, false) OR EXISTS (
        SELECT FROM beacon.memberships m WHERE m.account_id = p_account
          AND beacon.member_role(me, m.project_id) = 'owner')) THEN
        RAISE EXCEPTION 'account not found' USING ERRCODE = 'P0002', HINT = 'account';
    END IF;
    IF p_account = me THEN
        RAISE EXCEPTION 'an account cannot disable or enable itself' USING ERRCODE = '22023';
    END IF;
    IF NOT coalesce(i_am_admin, false) AND (target.admin OR EXISTS (
        SELECT FROM beacon.memberships m WHERE m.account_id = p_account
          AND beacon.member_role(me, m.project_id) IS DISTINCT FROM 'owner')) THEN
        RAISE EXCEPTION 'only an admin account may disable an admin account or a member of projects you do not own'
            USING ERRCODE = '42501';
    END IF;
    PERFORM beacon.set_account_disabled(p_account, p_disabled, 'by_owner');
    RETURN (SELECT jsonb_build_object('account_id', a.account_id, 'email', a.email, 'disabled', a.disabled_at IS NOT NULL,
                                      'disabled_at', a.disabled_at)
            FROM beacon.accounts a WHERE a.account_id = p_account);
END $$;
COMMENT ON FUNCTION beacon.api_set_account_disabled(uuid, boolean) IS 'PATCH /api/accounts/{account} {"disabled"}: disables or re-enables an account (beacon.set_account_disabled, audited). An admin account may for any other account; a project owner only for a non-admin account all of whose memberships are in projects it owns (42501 otherwise; P0002 HINT account when the account is none of its members). Never itself (22023), never with an API token.';

CREATE OR REPLACE FUNCTION beacon.disable_idle_accounts() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    days int := (SELECT s.account_idle_days FROM beacon.settings s);
    id uuid;
    n bigint := 0;
BEGIN
    IF days IS NULL THEN
        RETURN 0;
    END IF;
    FOR id IN
        SELECT a.account_id FROM beacon.accounts a
        WHERE a.disabled_at IS NULL
          AND greatest(a.created_at, a.last_active_at,
                       (SELECT max(s.last_seen_at) FROM beacon.account_sessions s WHERE s.account_id = a.account_id),
                       (SELECT max(t.last_used_at) FROM beacon.api_tokens t WHERE t.account_id = a.account_id))
              < now() - make_interval(days => days)
    LOOP
        PERFORM beacon.set_account_disabled(id, true, 'idle ' || days || ' days');
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.disable_idle_accounts() IS 'The idle_accounts step of beacon.maintain() (AC-2(3)): disables every account with no sign-in, session use or token use for beacon.settings.account_idle_days (NULL: none), through beacon.set_account_disabled (audited account_disabled, reason idle N days). Returns the accounts disabled.';

-- Sessions ----------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.after_sign_in(p_token_hash bytea, p_max_sessions int, p_banner_sha256 text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions;
    old beacon.account_sessions;
BEGIN
    -- Only the session this transaction made (sign_in_finish, just before): beacon_api cannot
    -- use this to touch any other.
    SELECT x.* INTO s FROM beacon.account_sessions x WHERE x.token_hash = p_token_hash AND x.created_at = now();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'after_sign_in: no session made by this transaction' USING ERRCODE = '22023';
    END IF;
    UPDATE beacon.account_sessions x SET authenticated_at = now() WHERE x.token_hash = p_token_hash;
    UPDATE beacon.accounts a SET last_active_at = now() WHERE a.account_id = s.account_id;
    IF p_banner_sha256 IS NOT NULL THEN
        PERFORM beacon.write_audit('banner_accepted', 'account:' || s.account_id, NULL,
            jsonb_build_object('banner_sha256', p_banner_sha256), s.account_id);
    END IF;
    IF p_max_sessions IS NOT NULL AND p_max_sessions > 0 THEN
        FOR old IN
            SELECT x.* FROM beacon.account_sessions x WHERE x.account_id = s.account_id AND x.token_hash <> p_token_hash
            ORDER BY x.created_at DESC, x.session_id DESC OFFSET p_max_sessions - 1
        LOOP
            DELETE FROM beacon.account_sessions x WHERE x.token_hash = old.token_hash;
            PERFORM beacon.write_audit('session_evicted', 'account:' || s.account_id || '/session:' || old.session_id,
                jsonb_build_object('created_at', old.created_at, 'last_seen_at', old.last_seen_at, 'ip', host(old.ip)),
                jsonb_build_object('max_sessions', p_max_sessions), s.account_id);
        END LOOP;
    END IF;
END $$;
COMMENT ON FUNCTION beacon.after_sign_in(bytea, int, text) IS 'Called by the relay right after a successful beacon.sign_in_finish, in its transaction: marks the new session as authenticated now, the account active, audits the acceptance of the system use notification (banner_accepted, its SHA-256; NULL: no banner configured) and ends the account''s oldest sessions beyond p_max_sessions (SESSION_MAX_PER_ACCOUNT; the new one counts; audited session_evicted). Only touches a session created in this transaction.';

CREATE OR REPLACE FUNCTION beacon.api_my_sessions(p_current bytea) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_person();
    RETURN jsonb_build_object('sessions', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', s.session_id, 'created_at', s.created_at, 'last_seen_at', s.last_seen_at,
                   'authenticated_at', coalesce(s.authenticated_at, s.created_at), 'ip', host(s.ip),
                   'user_agent', s.user_agent, 'current', s.token_hash = p_current)
               ORDER BY s.created_at DESC, s.session_id DESC)
        FROM beacon.account_sessions s WHERE s.account_id = beacon.current_account()), '[]'));
END $$;
COMMENT ON FUNCTION beacon.api_my_sessions(bytea) IS 'GET /api/account/sessions: {"sessions":[{"id","created_at","last_seen_at","authenticated_at","ip","user_agent","current"}]}, the signed-in person''s own sessions, newest first; current marks the one whose token hash is p_current. Never a token or hash.';

CREATE OR REPLACE FUNCTION beacon.api_end_session(p_session bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions;
BEGIN
    PERFORM beacon.require_person();
    DELETE FROM beacon.account_sessions x WHERE x.session_id = p_session AND x.account_id = beacon.current_account()
    RETURNING x.* INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session not found' USING ERRCODE = 'P0002', HINT = 'session';
    END IF;
    PERFORM beacon.write_audit('session_ended', 'account:' || s.account_id || '/session:' || s.session_id,
        jsonb_build_object('created_at', s.created_at, 'last_seen_at', s.last_seen_at, 'ip', host(s.ip)), NULL);
END $$;
COMMENT ON FUNCTION beacon.api_end_session(bigint) IS 'DELETE /api/account/sessions/{id}: ends one of the signed-in person''s own sessions at once (the row is deleted), audited (session_ended). P0002 (HINT session) for a session that is not theirs.';

CREATE OR REPLACE FUNCTION beacon.reauth_begin(p_token_hash bytea, p_threshold int, p_window interval)
RETURNS TABLE (status text, password_hash text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a beacon.accounts;
BEGIN
    PERFORM beacon.require_person();
    SELECT x.* INTO a FROM beacon.accounts x
    JOIN beacon.account_sessions s ON s.account_id = x.account_id
    WHERE s.token_hash = p_token_hash AND x.account_id = beacon.current_account() FOR UPDATE OF x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session not found' USING ERRCODE = 'P0002', HINT = 'session';
    END IF;
    IF (SELECT count(*) FROM beacon.sign_in_failures f WHERE f.account_id = a.account_id AND f.at > now() - p_window) >= p_threshold THEN
        PERFORM beacon.write_audit('reauth_failed', 'account:' || a.account_id, NULL, '{"reason": "locked"}');
        RETURN QUERY SELECT 'locked'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'check'::text, a.password_hash;
END $$;
COMMENT ON FUNCTION beacon.reauth_begin(bytea, int, interval) IS 'POST /api/session/reauth, first step: the password hash of the signed-in person of the session p_token_hash, for the relay to check the password typed again; status locked (audited reauth_failed) when the account has p_threshold failed sign-ins or re-authentications within p_window.';

CREATE OR REPLACE FUNCTION beacon.reauth_finish(p_token_hash bytea, p_ok boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := beacon.current_account();
BEGIN
    PERFORM beacon.require_person();
    IF NOT EXISTS (SELECT FROM beacon.account_sessions s WHERE s.token_hash = p_token_hash AND s.account_id = acct) THEN
        RAISE EXCEPTION 'session not found' USING ERRCODE = 'P0002', HINT = 'session';
    END IF;
    IF p_ok THEN
        UPDATE beacon.account_sessions s SET authenticated_at = now() WHERE s.token_hash = p_token_hash;
        PERFORM beacon.write_audit('reauth', 'account:' || acct, NULL, NULL);
    ELSE
        -- Counts toward the sign-in lockout: a stolen session cannot guess the password freely.
        INSERT INTO beacon.sign_in_failures (account_id, ip) VALUES (acct, beacon.client_addr());
        PERFORM beacon.write_audit('reauth_failed', 'account:' || acct, NULL, '{"reason": "bad_password"}');
    END IF;
END $$;
COMMENT ON FUNCTION beacon.reauth_finish(bytea, boolean) IS 'POST /api/session/reauth, second step: p_ok (the relay checked the password) marks the session authenticated now (reauth); a wrong password is audited (reauth_failed) and counted in beacon.sign_in_failures like a failed sign-in.';

-- Audit retention and reading ---------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.purge_audit() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    days int := (SELECT s.audit_retention_days FROM beacon.settings s);
    n bigint;
BEGIN
    IF days IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM set_config('beacon.audit_purge', 'on', true);
    DELETE FROM beacon.audit u WHERE u.at < now() - make_interval(days => days);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('beacon.audit_purge', '', true);
    IF n > 0 THEN
        PERFORM beacon.write_audit('audit_purged', 'audit', NULL,
            jsonb_build_object('rows', n, 'before', now() - make_interval(days => days), 'retention_days', days), NULL);
    END IF;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_audit() IS 'The audit_retention step of beacon.maintain() (AU-11): deletes beacon.audit rows older than beacon.settings.audit_retention_days (at least 90; NULL keeps all) — the one deletion beacon.audit_guard lets through — and audits that it did (audit_purged, the rows and the cut-off). Returns the rows deleted.';

CREATE OR REPLACE FUNCTION beacon.api_audit(p_project uuid, p_action text, p_actor uuid, p_from timestamptz,
                                            p_to timestamptz, p_before bigint, p_limit int)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lim int := coalesce(p_limit, 100);
    v_rows jsonb;
    n int;
BEGIN
    PERFORM beacon.require_person();
    IF p_project IS NULL THEN
        IF NOT EXISTS (SELECT FROM beacon.accounts a WHERE a.account_id = beacon.current_account() AND a.admin AND a.disabled_at IS NULL) THEN
            RAISE EXCEPTION 'only an admin account reads the whole audit; a project owner reads its project''s' USING ERRCODE = '42501';
        END IF;
    ELSE
        PERFORM beacon.require_role(p_project, 'owner');
    END IF;
    IF lim NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION 'limit must be between 1 and 500' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(beacon.audit_entry(x.u) ORDER BY (x.u).audit_id DESC), '[]'), count(*)
    INTO v_rows, n
    FROM (SELECT u FROM beacon.audit u
          WHERE (p_before IS NULL OR u.audit_id < p_before)
            AND (p_action IS NULL OR u.action = p_action)
            AND (p_actor IS NULL OR u.account_id = p_actor)
            AND (p_from IS NULL OR u.at >= p_from)
            AND (p_to IS NULL OR u.at < p_to)
            AND (p_project IS NULL OR u.target = 'project:' || p_project OR u.target LIKE 'project:' || p_project || '/%')
          ORDER BY u.audit_id DESC LIMIT lim) x;
    RETURN jsonb_build_object('entries', v_rows,
        'next', CASE WHEN n = lim THEN (v_rows -> (n - 1) ->> 'id')::bigint END);
END $$;
COMMENT ON FUNCTION beacon.api_audit(uuid, text, uuid, timestamptz, timestamptz, bigint, int) IS 'GET /api/audit and GET /api/projects/{id}/audit: {"entries":[{"id","at","action","outcome","target","account_id","email","token_id","db_role","ip","before","after"}],"next"}, newest first, filtered by action, actor (account id) and time [p_from, p_to); keyset pagination: pass next as p_before (NULL: no more). The whole audit for an admin account (p_project NULL); a project''s entries (target project:ID…) for its owners. Never with an API token. At most p_limit (1–500, default 100) entries. Each entry is beacon.audit_entry, the audit stream''s shape too.';

CREATE OR REPLACE FUNCTION beacon.audit_access_denied(p_method text, p_path text, p_reason text) RETURNS void
LANGUAGE sql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT beacon.write_audit('access_denied', 'request:' || left(p_method, 10) || ' ' || left(p_path, 300), NULL,
                              jsonb_build_object('reason', left(p_reason, 300)))
$$;
COMMENT ON FUNCTION beacon.audit_access_denied(text, text, text) IS 'Audits a dashboard API request (p_method, p_path) that a guard of the SQL functions refused with 42501 for lack of a role (AU-2: authorization refusals), with the refusal''s message; the actor is the signed-in account or token. The relay calls it in the request''s transaction after rolling the refused work back.';

CREATE OR REPLACE FUNCTION beacon.audit_export(p_project uuid, p_what text) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    PERFORM beacon.write_audit('data_exported', 'project:' || p_project || '/export:' || left(p_what, 200), NULL, NULL);
END $$;
COMMENT ON FUNCTION beacon.audit_export(uuid, text) IS 'Audits a download of a project''s data (AU-2: exports), e.g. an overview table as CSV (p_what: the table and its range). Needs the viewer role. Called by the relay in the transaction that read the data.';

-- The steps of maintain() this file adds (maintenance.sql's upsert leaves other rows alone).
INSERT INTO beacon.maintenance_steps AS m (step, position, fn) VALUES
    ('idle_accounts',   80, 'beacon.disable_idle_accounts()'),
    ('audit_retention', 85, 'beacon.purge_audit()')
ON CONFLICT (step) DO UPDATE SET position = excluded.position, fn = excluded.fn
WHERE (m.position, m.fn) IS DISTINCT FROM (excluded.position, excluded.fn);

REVOKE ALL ON FUNCTION
    beacon.set_account_disabled(uuid, boolean, text), beacon.api_set_account_disabled(uuid, boolean),
    beacon.disable_idle_accounts(), beacon.after_sign_in(bytea, int, text), beacon.api_my_sessions(bytea),
    beacon.api_end_session(bigint), beacon.reauth_begin(bytea, int, interval), beacon.reauth_finish(bytea, boolean),
    beacon.purge_audit(), beacon.api_audit(uuid, text, uuid, timestamptz, timestamptz, bigint, int),
    beacon.audit_access_denied(text, text, text), beacon.audit_export(uuid, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_set_account_disabled(uuid, boolean),
    beacon.after_sign_in(bytea, int, text),
    beacon.api_my_sessions(bytea),
    beacon.api_end_session(bigint),
    beacon.reauth_begin(bytea, int, interval),
    beacon.reauth_finish(bytea, boolean),
    beacon.api_audit(uuid, text, uuid, timestamptz, timestamptz, bigint, int),
    beacon.audit_access_denied(text, text, text),
    beacon.audit_export(uuid, text)
TO beacon_api;
