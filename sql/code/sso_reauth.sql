-- Re-authentication of accounts that sign in with single sign-on (issue 14, IA-11): the dashboard
-- asks whether the signed-in account has a password before it offers the password prompt, the
-- identity provider (GET /api/oidc/start?reauth=1), or both. Kept apart from sso.sql.

CREATE OR REPLACE FUNCTION beacon.api_session_has_password() RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.password_hash IS NOT NULL FROM beacon.accounts a WHERE a.account_id = beacon.current_account()
$$;
COMMENT ON FUNCTION beacon.api_session_has_password() IS 'GET /api/session: whether the signed-in account (beacon.current_account()) has a password, so the dashboard''s re-authentication (POST /api/session/reauth) can ask for it; an account provisioned by SSO has none and re-authenticates at its identity provider (GET /api/oidc/start?reauth=1). NULL when nobody is signed in.';

REVOKE ALL ON FUNCTION beacon.api_session_has_password() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.api_session_has_password() TO beacon_api;
