-- invites: an owner invites an email to a project with a role (issue 14, AC-2). The link
-- /invite/<token> works once, until it expires (INVITE_TTL), unless revoked; the token is stored as
-- its SHA-256 (beacon.invites, 016_sso_invites.sql). Beacon sends no email: the owner copies the link.
-- Accepting creates the account (a password, beacon.invite_accept; or single sign-on,
-- beacon.oidc_sign_in in code/sso.sql) and its membership, audited.

CREATE OR REPLACE FUNCTION beacon.invite_json(i beacon.invites) RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('id', i.invite_id, 'email', i.email, 'role', i.role, 'created_at', i.created_at,
        'expires_at', i.expires_at, 'created_by', (SELECT a.email FROM beacon.accounts a WHERE a.account_id = i.created_by))
$$;
COMMENT ON FUNCTION beacon.invite_json(beacon.invites) IS 'An invitation as the API shows it: {"id","email","role","created_at","expires_at","created_by"} (the inviting owner''s email); never the token or its hash.';

CREATE OR REPLACE FUNCTION beacon.invite_status(i beacon.invites) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN i.invite_id IS NULL THEN 'unknown'
                WHEN i.used_at IS NOT NULL THEN 'used'
                WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                WHEN i.expires_at <= now() THEN 'expired'
                ELSE 'ok' END
$$;
COMMENT ON FUNCTION beacon.invite_status(beacon.invites) IS 'Whether an invitation''s link works: ok, or why not: used, revoked, expired, unknown (no such invitation).';

CREATE OR REPLACE FUNCTION beacon.api_create_invite(p_project uuid, p_email text, p_role text, p_token_hash bytea, p_ttl interval)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e text := btrim(coalesce(p_email, ''));
    i beacon.invites;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_recent_auth(); -- a sensitive action, as adding a member (code/tokens.sql)
    IF p_role IS NULL OR p_role NOT IN ('owner', 'editor', 'viewer') THEN
        RAISE EXCEPTION 'role must be owner, editor or viewer' USING ERRCODE = '22023';
    END IF;
    IF length(e) NOT BETWEEN 3 AND 254 OR e NOT LIKE '%_@_%' OR e ~ '\s' THEN
        RAISE EXCEPTION 'type the email address of the person to invite (name@example.com)' USING ERRCODE = '22023';
    END IF;
    IF p_ttl IS NULL OR p_ttl < interval '1 minute' OR p_ttl > interval '30 days' THEN
        RAISE EXCEPTION 'an invitation lasts between 1 minute and 30 days (INVITE_TTL)' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM beacon.accounts a WHERE lower(a.email) = lower(e)) THEN
        RAISE EXCEPTION '% has an account already: add it as a member instead', e USING ERRCODE = '22023';
    END IF;
    PERFORM FROM beacon.projects p WHERE p.project_id = p_project FOR UPDATE;
    IF EXISTS (SELECT FROM beacon.invites x WHERE x.project_id = p_project AND lower(x.email) = lower(e)
               AND beacon.invite_status(x) = 'ok') THEN
        RAISE EXCEPTION '% has a pending invitation: revoke it first to make a new link', e USING ERRCODE = '22023';
    END IF;
    INSERT INTO beacon.invites (token_hash, project_id, email, role, created_by, expires_at)
    VALUES (p_token_hash, p_project, e, p_role, beacon.current_account(), now() + p_ttl)
    RETURNING * INTO i;
    PERFORM beacon.write_audit('invite_created', 'project:' || p_project || '/invite:' || i.invite_id, NULL,
        jsonb_build_object('email', i.email, 'role', i.role, 'expires_at', i.expires_at));
    RETURN beacon.invite_json(i);
END $$;
COMMENT ON FUNCTION beacon.api_create_invite(uuid, text, text, bytea, interval) IS 'POST /api/projects/{id}/invites {"email","role"}: an invitation of the email to the project with the role, valid for p_ttl (INVITE_TTL), stored with the SHA-256 of the link''s token (the relay made the token and shows it once); audited invite_created. Needs the owner role and a recent password (beacon.require_recent_auth, 42501 HINT reauth). 22023 for a bad email or role, an email that has an account (add it as a member instead) or a pending invitation.';

CREATE OR REPLACE FUNCTION beacon.api_invites(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    RETURN jsonb_build_object('invites', coalesce((
        SELECT jsonb_agg(beacon.invite_json(i) ORDER BY i.created_at DESC)
        FROM beacon.invites i WHERE i.project_id = p_project AND beacon.invite_status(i) = 'ok'), '[]'));
END $$;
COMMENT ON FUNCTION beacon.api_invites(uuid) IS 'GET /api/projects/{id}/invites: {"invites":[…]} the project''s pending invitations (not used, revoked or expired), newest first (beacon.invite_json). Needs the owner role.';

CREATE OR REPLACE FUNCTION beacon.api_revoke_invite(p_project uuid, p_invite uuid) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    i beacon.invites;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_person();
    SELECT x.* INTO i FROM beacon.invites x WHERE x.invite_id = p_invite AND x.project_id = p_project FOR UPDATE;
    IF NOT FOUND OR beacon.invite_status(i) <> 'ok' THEN
        RAISE EXCEPTION 'invitation not found (or no longer pending)' USING ERRCODE = 'P0002', HINT = 'invite';
    END IF;
    UPDATE beacon.invites x SET revoked_at = now() WHERE x.invite_id = p_invite;
    PERFORM beacon.write_audit('invite_revoked', 'project:' || p_project || '/invite:' || p_invite,
        jsonb_build_object('email', i.email, 'role', i.role, 'expires_at', i.expires_at), NULL);
END $$;
COMMENT ON FUNCTION beacon.api_revoke_invite(uuid, uuid) IS 'DELETE /api/projects/{id}/invites/{invite}: revokes a pending invitation (its link is refused from then on), audited invite_revoked. Needs the owner role; P0002 ''invitation not found'' (HINT invite) for an unknown, used, expired or revoked one.';

CREATE OR REPLACE FUNCTION beacon.invite_peek(p_token_hash bytea) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    i beacon.invites;
    st text;
BEGIN
    SELECT x.* INTO i FROM beacon.invites x WHERE x.token_hash = p_token_hash;
    st := beacon.invite_status(i);
    IF st <> 'ok' THEN
        RETURN jsonb_build_object('status', st);
    END IF;
    RETURN jsonb_build_object('status', st, 'email', i.email, 'role', i.role, 'expires_at', i.expires_at,
        'project', (SELECT p.name FROM beacon.projects p WHERE p.project_id = i.project_id), 'project_id', i.project_id,
        'sso_only', (SELECT s.sso_only FROM beacon.settings s));
END $$;
COMMENT ON FUNCTION beacon.invite_peek(bytea) IS 'GET /api/invites/{token} (no session): {"status"} ok, used, revoked, expired or unknown; when ok also the email, role, project (its name), project_id, expires_at and sso_only (no password can be set). Reads only: the refusal is audited when the link is used (invite_refused).';

CREATE OR REPLACE FUNCTION beacon.invite_claim(p_token_hash bytea, p_email text)
RETURNS TABLE (status text, invite_id uuid, project_id uuid, role text, email text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    i beacon.invites;
    st text;
BEGIN
    SELECT x.* INTO i FROM beacon.invites x WHERE x.token_hash = p_token_hash FOR UPDATE;
    st := beacon.invite_status(i);
    IF st = 'ok' AND p_email IS NOT NULL AND lower(btrim(p_email)) <> lower(i.email) THEN
        st := 'email_mismatch';
    ELSIF st = 'ok' AND EXISTS (SELECT FROM beacon.accounts a WHERE lower(a.email) = lower(i.email)) THEN
        st := 'account_exists';
    END IF;
    IF st <> 'ok' THEN
        PERFORM beacon.write_audit('invite_refused',
            CASE WHEN i.invite_id IS NULL THEN 'invite:unknown' ELSE 'project:' || i.project_id || '/invite:' || i.invite_id END,
            NULL, jsonb_build_object('reason', st) || CASE WHEN p_email IS NULL THEN '{}' ELSE jsonb_build_object('email', left(p_email, 254)) END, NULL);
    END IF;
    RETURN QUERY SELECT st, i.invite_id, i.project_id, i.role, i.email;
END $$;
COMMENT ON FUNCTION beacon.invite_claim(bytea, text) IS 'First half of accepting an invitation: locks it and says whether it may be used (status ok) or why not (used, revoked, expired, unknown; email_mismatch when p_email, the identity provider''s verified email, is not the invited one; account_exists), the refusal audited (invite_refused, after.reason). Called by beacon.invite_accept and beacon.oidc_sign_in; no application role may call it.';

CREATE OR REPLACE FUNCTION beacon.invite_complete(p_invite uuid, p_account uuid) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    i beacon.invites;
BEGIN
    UPDATE beacon.invites x SET used_at = now(), used_by = p_account WHERE x.invite_id = p_invite AND x.used_at IS NULL
    RETURNING x.* INTO i;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invitation % is not pending', p_invite USING ERRCODE = '22023';
    END IF;
    PERFORM beacon.set_membership(p_account, i.project_id, i.role);
    PERFORM beacon.write_audit('invite_accepted', 'project:' || i.project_id || '/invite:' || i.invite_id, NULL,
        jsonb_build_object('email', i.email, 'role', i.role, 'account_id', p_account), p_account);
END $$;
COMMENT ON FUNCTION beacon.invite_complete(uuid, uuid) IS 'Second half of accepting an invitation (after beacon.invite_claim said ok and the account was made): marks it used, makes the account a member with its role (beacon.set_membership, audited membership_added) and audits invite_accepted. No application role may call it.';

CREATE OR REPLACE FUNCTION beacon.invite_accept(p_token_hash bytea, p_password_hash text, p_session_hash bytea,
                                               p_csrf text, p_user_agent text)
RETURNS TABLE (status text, account_id uuid, email text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    acct uuid;
BEGIN
    SELECT * INTO c FROM beacon.invite_claim(p_token_hash, NULL);
    IF c.status <> 'ok' THEN
        RETURN QUERY SELECT c.status, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    IF p_password_hash IS NULL THEN
        RAISE EXCEPTION 'invite_accept: a usable invitation needs the password''s hash' USING ERRCODE = '22023';
    END IF;
    IF (SELECT s.sso_only FROM beacon.settings s) THEN
        PERFORM beacon.write_audit('invite_refused', 'project:' || c.project_id || '/invite:' || c.invite_id, NULL,
            '{"reason": "sso_only"}', NULL);
        RETURN QUERY SELECT 'sso_only'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    acct := beacon.create_account(c.email, p_password_hash, false);
    PERFORM beacon.invite_complete(c.invite_id, acct);
    PERFORM beacon.start_session(acct, p_session_hash, p_csrf, p_user_agent, '{"method": "invite"}');
    RETURN QUERY SELECT 'ok'::text, acct, c.email;
END $$;
COMMENT ON FUNCTION beacon.invite_accept(bytea, text, bytea, text, text) IS 'POST /api/invites/{token} {"password"}: accepts the invitation with a password (the relay checked the policy and hashed it): creates the account (beacon.create_account, audited account_created), its membership (invite_complete, audited invite_accepted and membership_added) and a session (beacon.start_session, audited sign_in after.method invite); the relay then calls beacon.after_sign_in. status ok, or the refusal (used, revoked, expired, unknown, account_exists; sso_only: set by beacon.settings.sso_only, accept through single sign-on), audited invite_refused.';

REVOKE ALL ON FUNCTION
    beacon.invite_json(beacon.invites), beacon.invite_status(beacon.invites),
    beacon.api_create_invite(uuid, text, text, bytea, interval), beacon.api_invites(uuid),
    beacon.api_revoke_invite(uuid, uuid), beacon.invite_peek(bytea), beacon.invite_claim(bytea, text),
    beacon.invite_complete(uuid, uuid), beacon.invite_accept(bytea, text, bytea, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_create_invite(uuid, text, text, bytea, interval), beacon.api_invites(uuid),
    beacon.api_revoke_invite(uuid, uuid), beacon.invite_peek(bytea),
    beacon.invite_accept(bytea, text, bytea, text, text)
TO beacon_api;
