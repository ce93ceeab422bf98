-- Re-authentication of accounts that sign in with single sign-on (issue 14, IA-11): the dashboard
-- asks whether the signed-in account has a password before it offers the password prompt, the
-- identity provider (GET /api/oidc/start?reauth=1), or both; a re-authentication at the provider is
-- audited as one. Kept apart from sso.sql.

CREATE OR REPLACE FUNCTION beacon.api_session_has_password() RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.password_hash IS NOT NULL FROM beacon.accounts a WHERE a.account_id = beacon.current_account()
$$;
COMMENT ON FUNCTION beacon.api_session_has_password() IS 'GET /api/session: whether the signed-in account (beacon.current_account()) has a password, so the dashboard''s re-authentication (POST /api/session/reauth) can ask for it; an account provisioned by SSO has none and re-authenticates at its identity provider (GET /api/oidc/start?reauth=1). NULL when nobody is signed in.';

CREATE OR REPLACE FUNCTION beacon.oidc_reauth_audit(p_token_hash bytea, p_auth_time timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid;
BEGIN
    -- Only the session this very transaction made (created_at is the transaction's now()).
    SELECT s.account_id INTO acct FROM beacon.account_sessions s
    WHERE s.token_hash = p_token_hash AND s.created_at = now();
    IF acct IS NULL THEN
        RAISE EXCEPTION 'no session made in this transaction' USING ERRCODE = 'P0002';
    END IF;
    PERFORM beacon.write_audit('reauth', 'account:' || acct, NULL,
        jsonb_build_object('method', 'oidc', 'auth_time', p_auth_time), acct);
END $$;
COMMENT ON FUNCTION beacon.oidc_reauth_audit(bytea, timestamptz) IS 'GET /api/oidc/callback of a re-authentication (GET /api/oidc/start?reauth=1), after beacon.oidc_sign_in made the session p_token_hash in the same transaction: audits reauth with after {"method":"oidc","auth_time"} (when the provider authenticated the person again), beside the sign-in''s own sign_in row. P0002 for a session not made in this transaction.';

REVOKE ALL ON FUNCTION beacon.api_session_has_password(), beacon.oidc_reauth_audit(bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.api_session_has_password(), beacon.oidc_reauth_audit(bytea, timestamptz) TO beacon_api;
