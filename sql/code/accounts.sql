-- accounts: the dashboard's accounts, sign-in, sessions and audit (issue 12). The relay hashes
-- and checks passwords (Go's FIPS 140-3 module); everything else is decided here. The API calls
-- these functions as beacon_api, which has no right on any table: each is SECURITY DEFINER with a
-- pinned search_path, and those that act for a signed-in account read it from the transaction's
-- beacon.account_id (SET LOCAL by the relay after it checked the session).

CREATE OR REPLACE FUNCTION beacon.current_account() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('beacon.account_id', true), '')::uuid $$;
COMMENT ON FUNCTION beacon.current_account() IS 'The signed-in account of this transaction: beacon.account_id, set by the relay with set_config(''beacon.account_id'', id, true) after it checked the session. NULL when none.';

CREATE OR REPLACE FUNCTION beacon.client_addr() RETURNS inet
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('beacon.client_addr', true), '')::inet $$;
COMMENT ON FUNCTION beacon.client_addr() IS 'Client address of this transaction''s request (beacon.client_addr, set by the relay), for the audit. NULL from the CLI.';

CREATE OR REPLACE FUNCTION beacon.write_audit(p_action text, p_target text, p_before jsonb, p_after jsonb,
                                              p_account uuid DEFAULT beacon.current_account())
RETURNS void
LANGUAGE sql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO beacon.audit (account_id, db_role, ip, action, target, before, after, token_id)
    VALUES (p_account, beacon.actor_role(), beacon.client_addr(), p_action, p_target, p_before, p_after, beacon.current_token())
$$;
COMMENT ON FUNCTION beacon.write_audit(text, text, jsonb, jsonb, uuid) IS 'Appends one row to beacon.audit: who (p_account, default the signed-in account; the database role; the client address; the acting API token, if any), action, target, before and after. Called by the account functions in the transaction of their action; no application role may call it.';

CREATE OR REPLACE FUNCTION beacon.audit_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    days int := (SELECT s.audit_retention_days FROM beacon.settings s);
BEGIN
    -- The one exception: beacon.purge_audit (maintain()'s audit_retention step) deleting rows
    -- older than the retention, which is at least 90 days (AU-11).
    IF TG_OP = 'DELETE' AND current_setting('beacon.audit_purge', true) = 'on'
       AND days >= 90 AND OLD.at < now() - make_interval(days => days) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = '42501';
END $$;
COMMENT ON FUNCTION beacon.audit_guard() IS 'BEFORE UPDATE/DELETE trigger of beacon.audit: refuses the change, even for the owner, except the deletion of rows older than beacon.settings.audit_retention_days (at least 90) by beacon.purge_audit.';

CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON beacon.audit
    FOR EACH ROW EXECUTE FUNCTION beacon.audit_guard();
COMMENT ON TRIGGER audit_append_only ON beacon.audit IS 'Refuses UPDATE and DELETE: the audit is append-only, for the owner too; only the retention step deletes rows past audit_retention_days (beacon.audit_guard).';
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON beacon.audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER audit_no_truncate ON beacon.audit IS 'Refuses TRUNCATE of the audit.';

CREATE OR REPLACE FUNCTION beacon.member_role(p_account uuid, p_project uuid) RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN a.admin THEN 'owner' ELSE m.role END
    FROM beacon.accounts a
    JOIN beacon.projects p ON p.project_id = p_project
    LEFT JOIN beacon.memberships m ON m.account_id = a.account_id AND m.project_id = p.project_id
    WHERE a.account_id = p_account AND a.disabled_at IS NULL
$$;
COMMENT ON FUNCTION beacon.member_role(uuid, uuid) IS 'Role of an account in a project by itself: owner for an admin account, else its membership''s role; NULL when it has none, the project does not exist or the account is disabled.';

CREATE OR REPLACE FUNCTION beacon.account_role(p_account uuid, p_project uuid) RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN beacon.current_token() IS NOT NULL AND p_account IS NOT DISTINCT FROM beacon.current_account()
                THEN beacon.token_role(p_project)
                ELSE beacon.member_role(p_account, p_project) END
$$;
COMMENT ON FUNCTION beacon.account_role(uuid, uuid) IS 'Role of an account in a project: owner for an admin account, else its membership''s role (beacon.member_role); NULL when it has none, the project does not exist or the account is disabled. When an API token acts for the account (beacon.current_token), the token''s role instead (beacon.token_role: its one project only, its scope capped by the account''s role).';

CREATE OR REPLACE FUNCTION beacon.require_role(p_project uuid, p_min text) RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r text := beacon.account_role(beacon.current_account(), p_project);
    rank constant jsonb := '{"viewer": 1, "editor": 2, "owner": 3}';
BEGIN
    IF p_min IS NULL OR NOT rank ? p_min THEN
        RAISE EXCEPTION 'require_role: unknown role %', p_min USING ERRCODE = '22023';
    END IF;
    IF r IS NULL THEN -- no account, not a member, or no such project: all look the same
        RAISE EXCEPTION 'project not found' USING ERRCODE = 'P0002';
    END IF;
    IF (rank ->> r)::int < (rank ->> p_min)::int THEN
        RAISE EXCEPTION 'this needs the % role in the project (the account is %)', p_min, r USING ERRCODE = '42501';
    END IF;
    RETURN r;
END $$;
COMMENT ON FUNCTION beacon.require_role(uuid, text) IS 'Guard of every API function on project data: returns the signed-in account''s role in the project when it is at least p_min (viewer < editor < owner); raises P0002 ''project not found'' when the account has no role there (or there is no account or project: a non-member cannot tell a project exists), 42501 when the role is too low.';

CREATE OR REPLACE FUNCTION beacon.create_account(p_email text, p_password_hash text, p_admin boolean)
RETURNS uuid
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    INSERT INTO beacon.accounts (email, password_hash, admin)
    VALUES (btrim(p_email), p_password_hash, p_admin)
    RETURNING account_id INTO id;
    PERFORM beacon.write_audit('account_created', 'account:' || id, NULL,
                               jsonb_build_object('email', btrim(p_email), 'admin', p_admin));
    RETURN id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'an account with email % exists', btrim(p_email) USING ERRCODE = '23505';
END $$;
COMMENT ON FUNCTION beacon.create_account(text, text, boolean) IS 'Creates an account (the relay hashed the password; see accounts.password_hash) and audits it. p_admin: owner of every project, present and future. Raises 23505 when the email (case-insensitively) has an account. The owner''s alone (`beacon account create`).';

CREATE OR REPLACE FUNCTION beacon.set_membership(p_account uuid, p_project uuid, p_role text, p_by text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old beacon.memberships;
    target text := 'project:' || p_project || '/account:' || p_account;
    -- The audit says when the identity provider's role map acted, or a membership changed hands.
    was jsonb;
    now_is jsonb := nullif(jsonb_strip_nulls(jsonb_build_object('role', p_role, 'managed_by', p_by)), '{}');
BEGIN
    IF p_by IS NOT NULL AND p_by <> 'sso' THEN
        RAISE EXCEPTION 'set_membership: p_by is NULL (by hand) or sso' USING ERRCODE = '22023';
    END IF;
    SELECT m.* INTO old FROM beacon.memberships m WHERE m.account_id = p_account AND m.project_id = p_project FOR UPDATE;
    -- Single sign-on never touches a membership granted by hand (AC-2: the owner's grant stands).
    IF p_by = 'sso' AND old.account_id IS NOT NULL AND old.managed_by IS NULL THEN
        RETURN;
    END IF;
    was := CASE WHEN old.account_id IS NOT NULL
                THEN jsonb_strip_nulls(jsonb_build_object('role', old.role, 'managed_by', old.managed_by)) END;
    IF p_role IS NULL THEN
        DELETE FROM beacon.memberships m WHERE m.account_id = p_account AND m.project_id = p_project
            AND (p_by IS NULL OR m.managed_by IS NOT NULL);
        IF old.account_id IS NOT NULL THEN
            PERFORM beacon.write_audit('membership_removed', target, was, now_is);
        END IF;
        RETURN;
    END IF;
    IF was IS NOT DISTINCT FROM now_is THEN
        RETURN; -- nothing changes: no audit row, and created_at stays
    END IF;
    -- The guards (DELETE above, ON CONFLICT here) cover a hand grant committed after the SELECT found none.
    INSERT INTO beacon.memberships AS m (account_id, project_id, role, managed_by) VALUES (p_account, p_project, p_role, p_by)
    ON CONFLICT (account_id, project_id) DO UPDATE SET role = EXCLUDED.role, managed_by = EXCLUDED.managed_by, created_at = now()
        WHERE p_by IS NULL OR m.managed_by IS NOT NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF old.account_id IS NULL THEN
        PERFORM beacon.write_audit('membership_added', target, NULL, now_is);
    ELSE
        PERFORM beacon.write_audit('membership_changed', target, was, now_is);
    END IF;
END $$;
COMMENT ON FUNCTION beacon.set_membership(uuid, uuid, text, text) IS 'Makes the account a member of the project with the role (owner, editor, viewer), changes its role, or with NULL removes it; audited (membership_added/changed/removed, before → after). p_by says who acts. NULL, by hand (an owner through beacon.change_member, the CLI''s `beacon account create --project`, an invitation): the membership becomes hand-managed (memberships.managed_by NULL), an SSO-managed one included, even at the same role (audited membership_changed, before.managed_by sso). sso, OIDC_ROLE_MAP at a sign-in (beacon.oidc_sign_in): the membership becomes SSO-managed (managed_by sso, in the audit''s after too); a hand-managed one is left as it is, whatever the role asked. No application role may call it.';

-- Sign-in -----------------------------------------------------------------------------------------
--
-- In two steps around the relay's password check (PBKDF2, ~0.3 s, outside any transaction):
-- sign_in_begin counts the attempt as a failure at once, under the account's row lock, so N
-- parallel guesses cannot all pass a threshold none of them has reached yet; sign_in_finish
-- turns it into a session or leaves it counted.

CREATE OR REPLACE FUNCTION beacon.sign_in_begin(p_email text, p_threshold int, p_window interval, p_lockout interval)
RETURNS TABLE (status text, account_id uuid, password_hash text, attempt_id bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a beacon.accounts;
    n int;
    last_at timestamptz;
BEGIN
    SELECT * INTO a FROM beacon.accounts x WHERE lower(x.email) = lower(btrim(p_email)) FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM beacon.write_audit('sign_in_failed', 'email:' || left(lower(btrim(p_email)), 320), NULL,
                                   '{"reason": "unknown_email"}', NULL);
        RETURN QUERY SELECT 'unknown', NULL::uuid, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    IF a.disabled_at IS NOT NULL THEN
        PERFORM beacon.write_audit('sign_in_failed', 'account:' || a.account_id, NULL, '{"reason": "disabled"}', a.account_id);
        RETURN QUERY SELECT 'disabled', a.account_id, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    -- No password sign-in under SSO_ONLY, nor for an account provisioned by SSO (no password):
    -- refused here whatever the relay's Go does (code/sso.sql).
    IF (SELECT s.sso_only FROM beacon.settings s) OR a.password_hash IS NULL THEN
        PERFORM beacon.write_audit('sign_in_failed', 'account:' || a.account_id, NULL,
            jsonb_build_object('reason', CASE WHEN a.password_hash IS NULL THEN 'no_password' ELSE 'sso_only' END), a.account_id);
        RETURN QUERY SELECT 'sso_only', a.account_id, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    DELETE FROM beacon.sign_in_failures f WHERE f.account_id = a.account_id AND f.at < now() - greatest(p_window, p_lockout, interval '1 day');
    SELECT count(*), max(f.at) INTO n, last_at FROM beacon.sign_in_failures f
    WHERE f.account_id = a.account_id AND f.at > now() - p_window;
    IF n >= p_threshold AND last_at > now() - p_lockout THEN
        PERFORM beacon.write_audit('sign_in_locked', 'account:' || a.account_id, NULL,
                                   jsonb_build_object('failures', n, 'until', last_at + p_lockout), a.account_id);
        RETURN QUERY SELECT 'locked', a.account_id, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY
    INSERT INTO beacon.sign_in_failures (account_id, ip) VALUES (a.account_id, beacon.client_addr())
    RETURNING 'check'::text, a.account_id, a.password_hash, failure_id;
END $$;
COMMENT ON FUNCTION beacon.sign_in_begin(text, int, interval, interval) IS 'First step of a sign-in: looks the email up (case-insensitively). status ''check'': the relay must check the password against password_hash and call sign_in_finish(attempt_id, …); the attempt already counts as a failure. ''unknown'', ''disabled'', ''sso_only'' (beacon.settings.sso_only, or an account without a password: audited sign_in_failed reason sso_only / no_password), ''locked'' (p_threshold failures within p_window, the last less than p_lockout ago): refused and audited here; the relay answers exactly as for a wrong password. Callable by beacon_api, which therefore sees password hashes: the relay is trusted to check them.';

CREATE OR REPLACE FUNCTION beacon.sign_in_finish(p_attempt bigint, p_ok boolean, p_token_hash bytea, p_csrf text,
                                                 p_user_agent text, p_new_hash text, p_threshold int, p_window interval)
RETURNS TABLE (account_id uuid, email text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid;
    n int;
BEGIN
    IF p_attempt IS NULL THEN
        RETURN; -- sign_in_begin refused (unknown, disabled, locked): the same round trip, nothing to do
    END IF;
    SELECT f.account_id INTO acct FROM beacon.sign_in_failures f WHERE f.failure_id = p_attempt;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sign-in attempt % is unknown or finished', p_attempt USING ERRCODE = '22023';
    END IF;
    IF NOT p_ok THEN
        PERFORM beacon.write_audit('sign_in_failed', 'account:' || acct, NULL, '{"reason": "bad_password"}', acct);
        SELECT count(*) INTO n FROM beacon.sign_in_failures f WHERE f.account_id = acct AND f.at > now() - p_window;
        IF n = p_threshold THEN
            PERFORM beacon.write_audit('lockout', 'account:' || acct, NULL,
                                       jsonb_build_object('failures', n, 'window', p_window::text), acct);
        END IF;
        RETURN;
    END IF;
    DELETE FROM beacon.sign_in_failures f WHERE f.account_id = acct;
    IF p_new_hash IS NOT NULL THEN
        UPDATE beacon.accounts a SET password_hash = p_new_hash WHERE a.account_id = acct;
        PERFORM beacon.write_audit('password_rehashed', 'account:' || acct, NULL, NULL, acct);
    END IF;
    PERFORM beacon.start_session(acct, p_token_hash, p_csrf, p_user_agent, NULL);
    RETURN QUERY SELECT a.account_id, a.email FROM beacon.accounts a WHERE a.account_id = acct;
END $$;
COMMENT ON FUNCTION beacon.sign_in_finish(bigint, boolean, bytea, text, text, text, int, interval) IS 'Second step of a sign-in, after the relay checked the password of sign_in_begin''s attempt. p_ok false: the attempt stays counted as a failure, audited (sign_in_failed; lockout when it is the p_threshold-th in p_window). True: the account''s failures are cleared, the session (SHA-256 of its token, CSRF token, client address, user agent) created and audited (sign_in); p_new_hash, when given, replaces the password hash (a higher iteration count, password_rehashed). Returns the account on success, nothing on failure. p_attempt NULL (a sign-in sign_in_begin refused) does nothing: the relay calls it anyway, so every refusal costs the same two round trips as a wrong password.';

CREATE OR REPLACE FUNCTION beacon.start_session(p_account uuid, p_token_hash bytea, p_csrf text,
                                                p_user_agent text, p_detail jsonb)
RETURNS void
LANGUAGE sql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO beacon.account_sessions (token_hash, account_id, csrf_token, ip, user_agent)
    VALUES (p_token_hash, p_account, p_csrf, beacon.client_addr(), left(p_user_agent, 500));
    SELECT beacon.write_audit('sign_in', 'account:' || p_account, NULL, p_detail, p_account);
$$;
COMMENT ON FUNCTION beacon.start_session(uuid, bytea, text, text, jsonb) IS 'The one way a sign-in makes a session: the row (SHA-256 of its token, CSRF token, client address, user agent) and its audit (sign_in, after p_detail: NULL for a password, {"method":"oidc",…} for single sign-on). Called by beacon.sign_in_finish, beacon.mfa_passkey_sign_in, beacon.oidc_sign_in and beacon.invite_accept; the relay then calls beacon.after_sign_in. No application role may call it.';

-- Sessions ----------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.session_check(p_token_hash bytea, p_idle interval, p_lifetime interval)
RETURNS TABLE (account_id uuid, email text, csrf_token text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions;
    disabled boolean;
BEGIN
    SELECT x.* INTO s FROM beacon.account_sessions x WHERE x.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.disabled_at IS NOT NULL INTO disabled FROM beacon.accounts a WHERE a.account_id = s.account_id;
    IF disabled OR s.last_seen_at <= now() - p_idle OR s.created_at <= now() - p_lifetime THEN
        DELETE FROM beacon.account_sessions x WHERE x.token_hash = p_token_hash;
        PERFORM beacon.write_audit('session_expired', 'account:' || s.account_id,
            jsonb_build_object('created_at', s.created_at, 'last_seen_at', s.last_seen_at), NULL, s.account_id);
        RETURN;
    END IF;
    IF s.mfa_pending IS NOT NULL THEN
        RETURN; -- its second factor (or, under MFA_REQUIRED, a key's enrolment) is still due: code/mfa.sql
    END IF;
    IF s.last_seen_at < now() - interval '10 seconds' THEN
        UPDATE beacon.account_sessions x SET last_seen_at = now() WHERE x.token_hash = p_token_hash;
    END IF;
    RETURN QUERY SELECT a.account_id, a.email, s.csrf_token FROM beacon.accounts a WHERE a.account_id = s.account_id;
END $$;
COMMENT ON FUNCTION beacon.session_check(bytea, interval, interval) IS 'The session whose token hashes to p_token_hash: its account and CSRF token, and its last_seen_at moved to now (at most every 10 s). Nothing when there is none; a session idle for p_idle, older than p_lifetime or of a disabled account is deleted and audited (session_expired) and returns nothing. A session pending its second factor (mfa_pending) returns nothing either, and stays: only beacon.mfa_session_check answers it. Called by the relay at the start of every API request.';

CREATE OR REPLACE FUNCTION beacon.sign_out(p_token_hash bytea) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid;
BEGIN
    DELETE FROM beacon.account_sessions s WHERE s.token_hash = p_token_hash
        AND s.account_id = beacon.current_account()
    RETURNING s.account_id INTO acct;
    IF acct IS NOT NULL THEN
        PERFORM beacon.write_audit('sign_out', 'account:' || acct, NULL, NULL, acct);
    END IF;
END $$;
COMMENT ON FUNCTION beacon.sign_out(bytea) IS 'Ends the signed-in account''s session with this token hash (the row is deleted: the cookie is worthless from then on) and audits it (sign_out).';

-- Not callable by PUBLIC whatever the install order (roles.sql revokes from PUBLIC too, after).
REVOKE ALL ON FUNCTION
    beacon.current_account(), beacon.client_addr(), beacon.write_audit(text, text, jsonb, jsonb, uuid),
    beacon.account_role(uuid, uuid), beacon.member_role(uuid, uuid), beacon.require_role(uuid, text),
    beacon.create_account(text, text, boolean), beacon.set_membership(uuid, uuid, text, text),
    beacon.start_session(uuid, bytea, text, text, jsonb),
    beacon.sign_in_begin(text, int, interval, interval),
    beacon.sign_in_finish(bigint, boolean, bytea, text, text, text, int, interval),
    beacon.session_check(bytea, interval, interval), beacon.sign_out(bytea)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.sign_in_begin(text, int, interval, interval),
    beacon.sign_in_finish(bigint, boolean, bytea, text, text, text, int, interval),
    beacon.session_check(bytea, interval, interval),
    beacon.sign_out(bytea)
TO beacon_api;
