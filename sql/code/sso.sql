-- sso: single sign-on with OpenID Connect (issue 14, IA-2, IA-8). The relay runs the
-- authorization code flow with PKCE and verifies the ID token (signature, issuer, audience,
-- expiry, nonce: go-oidc); the flow's state lives here (beacon.oidc_flows, single use, 10 minutes),
-- and so do the decisions: which account an identity is, whether it may be provisioned, and the
-- session, made by beacon.start_session as for a password. Every sign-in, refusal and provisioning
-- is audited. The identity provider is responsible for MFA under SSO; the ID token's amr is audited.
-- With OIDC_ROLE_MAP, the memberships it granted follow the provider's groups at every sign-in
-- (AC-2; beacon.memberships.managed_by sso); hand-granted ones are never touched.

CREATE OR REPLACE FUNCTION beacon.set_sso_only(p_on boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old boolean;
BEGIN
    SELECT s.sso_only INTO old FROM beacon.settings s FOR UPDATE;
    IF old IS DISTINCT FROM p_on THEN
        UPDATE beacon.settings s SET sso_only = p_on, updated_at = now();
        PERFORM beacon.write_audit('sso_only_changed', 'settings', jsonb_build_object('sso_only', old),
                                   jsonb_build_object('sso_only', p_on), NULL);
    END IF;
END $$;
COMMENT ON FUNCTION beacon.set_sso_only(boolean) IS 'Sets beacon.settings.sso_only (password sign-in refused by beacon.sign_in_begin), audited sso_only_changed when it changes. Called by the relay at start-up from SSO_ONLY, as beacon_relay: beacon_api (the dashboard API''s role) cannot.';

CREATE OR REPLACE FUNCTION beacon.oidc_refuse(p_reason text, p_detail jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_reason IS NULL OR p_reason !~ '^[a-z_]{1,40}$' THEN
        RAISE EXCEPTION 'oidc_refuse: reason must be a short word' USING ERRCODE = '22023';
    END IF;
    PERFORM beacon.write_audit('sso_refused', 'sso', NULL,
        jsonb_build_object('reason', p_reason) || coalesce(p_detail, '{}'), NULL);
END $$;
COMMENT ON FUNCTION beacon.oidc_refuse(text, jsonb) IS 'Audits an SSO sign-in the relay refused before it reached beacon.oidc_sign_in (sso_refused, after.reason: provider_error, token_invalid — a forged signature, another audience, an expired token —, nonce_mismatch, exchange_failed; after also p_detail, e.g. the verifier''s error). Called by the relay as beacon_api.';

CREATE OR REPLACE FUNCTION beacon.oidc_flow_begin(p_state_hash bytea, p_cookie_hash bytea, p_nonce text, p_verifier text,
                                                  p_return text, p_invite_hash bytea, p_ttl interval)
RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM beacon.oidc_flows f WHERE f.expires_at < now() - interval '1 hour';
    IF p_ttl IS NULL OR p_ttl <= interval '0' OR p_ttl > interval '10 minutes' THEN
        RAISE EXCEPTION 'an SSO flow lasts at most 10 minutes' USING ERRCODE = '22023';
    END IF;
    INSERT INTO beacon.oidc_flows (state_hash, cookie_hash, nonce, code_verifier, return_path, invite_hash, expires_at)
    VALUES (p_state_hash, p_cookie_hash, p_nonce, p_verifier,
            -- A local path only, printable ASCII (browsers drop tabs and newlines: '/\t/evil' is '//evil').
            CASE WHEN p_return ~ '^/[!-~]*$' AND p_return !~ '^/[/\\]' AND length(p_return) <= 500 THEN p_return ELSE '/' END,
            p_invite_hash, now() + p_ttl);
END $$;
COMMENT ON FUNCTION beacon.oidc_flow_begin(bytea, bytea, text, text, text, bytea, interval) IS 'GET /api/oidc/start: keeps an SSO sign-in''s state (its SHA-256), the SHA-256 of the browser''s flow cookie, the nonce, the PKCE verifier, the dashboard path to return to (a local path, else /) and the invitation being accepted (its token''s SHA-256, or NULL), for p_ttl (at most 10 minutes). Deletes flows expired for an hour.';

CREATE OR REPLACE FUNCTION beacon.oidc_flow_take(p_state_hash bytea, p_cookie_hash bytea)
RETURNS TABLE (status text, nonce text, code_verifier text, return_path text, invite_hash bytea)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f beacon.oidc_flows;
    reason text;
BEGIN
    DELETE FROM beacon.oidc_flows x WHERE x.state_hash = p_state_hash RETURNING x.* INTO f;
    reason := CASE WHEN f.flow_id IS NULL THEN 'unknown_state'
                   WHEN p_cookie_hash IS NULL OR f.cookie_hash <> p_cookie_hash THEN 'cookie_mismatch'
                   WHEN f.expires_at <= now() THEN 'flow_expired' END;
    IF reason IS NOT NULL THEN
        PERFORM beacon.write_audit('sso_refused', 'sso', NULL, jsonb_build_object('reason', reason), NULL);
        RETURN QUERY SELECT reason, NULL::text, NULL::text, NULL::text, NULL::bytea;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, f.nonce, f.code_verifier, f.return_path, f.invite_hash;
END $$;
COMMENT ON FUNCTION beacon.oidc_flow_take(bytea, bytea) IS 'GET /api/oidc/callback, first step: takes (deletes: single use, whatever follows) the flow of the state p_state_hash and returns its nonce, PKCE verifier, return path and invitation with status ok; or refuses, audited sso_refused: unknown_state (never issued, or used already: a replay), cookie_mismatch (another browser than the one that started it), flow_expired.';

CREATE OR REPLACE FUNCTION beacon.oidc_roles(p_groups text[], p_role_map jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce((
        SELECT jsonb_object_agg(r.project, r.role) FROM (
            SELECT DISTINCT ON (m ->> 'project') m ->> 'project' AS project, m ->> 'role' AS role
            FROM unnest(p_groups) g, jsonb_array_elements(p_role_map -> g) m
            WHERE m ->> 'role' IN ('owner', 'editor', 'viewer')
            ORDER BY m ->> 'project', array_position(ARRAY['owner', 'editor', 'viewer'], m ->> 'role')) r), '{}')
$$;
COMMENT ON FUNCTION beacon.oidc_roles(text[], jsonb) IS 'The project roles the groups get from the role map (OIDC_ROLE_MAP as {"group":[{"project","role"}]}): {"project id": role}, the highest when several groups name a project, {} when none.';

CREATE OR REPLACE FUNCTION beacon.oidc_allowed(p_email text, p_email_verified boolean, p_groups text[],
                                               p_allowed_domains text[], p_role_map jsonb)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT coalesce(p_email_verified, false) THEN NULL
                WHEN lower(split_part(p_email, '@', 2)) = ANY (SELECT lower(d) FROM unnest(p_allowed_domains) d)
                  OR EXISTS (SELECT FROM unnest(p_groups) g WHERE p_role_map ? g)
                THEN beacon.oidc_roles(p_groups, p_role_map)
           END
$$;
COMMENT ON FUNCTION beacon.oidc_allowed(text, boolean, text[], text[], jsonb) IS 'Whether an identity may be provisioned (or linked to an existing account by its email): its email verified and either in an allowed domain (OIDC_ALLOWED_DOMAINS, case-insensitive) or in a group of the role map (OIDC_ROLE_MAP as {"group":[{"project","role"}]}). Returns the roles it gets (beacon.oidc_roles: {"project id": role}, {} for a domain only), or NULL when not allowed.';

CREATE OR REPLACE FUNCTION beacon.oidc_sign_in(p_issuer text, p_subject text, p_email text, p_email_verified boolean,
    p_groups text[], p_allowed_domains text[], p_role_map jsonb, p_amr text[], p_invite_hash bytea,
    p_token_hash bytea, p_csrf text, p_user_agent text)
RETURNS TABLE (status text, account_id uuid, email text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid;
    a beacon.accounts;
    roles jsonb;
    inv record;
    inv_id uuid;
    detail jsonb := jsonb_build_object('method', 'oidc', 'issuer', p_issuer, 'amr', to_jsonb(p_amr));
    who jsonb := jsonb_build_object('issuer', p_issuer, 'subject', p_subject, 'email', left(p_email, 254));
BEGIN
    -- Two first sign-ins of one identity at once must not make two accounts.
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, pg_catalog.hashtext('oidc ' || p_issuer || ' ' || p_subject));
    SELECT i.account_id INTO acct FROM beacon.oidc_identities i WHERE i.issuer = p_issuer AND i.subject = p_subject;
    IF acct IS NULL THEN
        IF NOT coalesce(p_email_verified, false) OR coalesce(p_email, '') NOT LIKE '%_@_%' THEN
            PERFORM beacon.write_audit('sso_refused', 'sso', NULL, who || '{"reason": "email_not_verified"}', NULL);
            RETURN QUERY SELECT 'email_not_verified'::text, NULL::uuid, NULL::text;
            RETURN;
        END IF;
        SELECT x.* INTO a FROM beacon.accounts x WHERE lower(x.email) = lower(btrim(p_email)) FOR UPDATE;
        IF p_invite_hash IS NOT NULL THEN
            SELECT * INTO inv FROM beacon.invite_claim(p_invite_hash, p_email); -- account_exists when a is found
            IF inv.status <> 'ok' THEN
                RETURN QUERY SELECT 'invite_' || inv.status, NULL::uuid, NULL::text;
                RETURN;
            END IF;
            inv_id := inv.invite_id;
            roles := '{}';
        ELSE
            roles := beacon.oidc_allowed(p_email, p_email_verified, p_groups, p_allowed_domains, p_role_map);
            IF roles IS NULL THEN
                PERFORM beacon.write_audit('sso_refused', 'sso', NULL, who || '{"reason": "not_allowed"}', NULL);
                RETURN QUERY SELECT 'not_allowed'::text, NULL::uuid, NULL::text;
                RETURN;
            END IF;
        END IF;
        IF a.account_id IS NOT NULL THEN
            -- First link of an existing account, by its verified email; from now on only (iss, sub).
            IF EXISTS (SELECT FROM beacon.oidc_identities i WHERE i.account_id = a.account_id AND i.issuer = p_issuer) THEN
                PERFORM beacon.write_audit('sso_refused', 'account:' || a.account_id, NULL, who || '{"reason": "linked_to_another_subject"}', a.account_id);
                RETURN QUERY SELECT 'linked_to_another_subject'::text, NULL::uuid, NULL::text;
                RETURN;
            END IF;
            acct := a.account_id;
            INSERT INTO beacon.oidc_identities (issuer, subject, account_id, email_at_link) VALUES (p_issuer, p_subject, acct, p_email);
            PERFORM beacon.write_audit('sso_linked', 'account:' || acct, NULL, who, acct);
        ELSE
            INSERT INTO beacon.accounts (email, password_hash, admin) VALUES (btrim(p_email), NULL, false) RETURNING accounts.account_id INTO acct;
            INSERT INTO beacon.oidc_identities (issuer, subject, account_id, email_at_link) VALUES (p_issuer, p_subject, acct, p_email);
            PERFORM beacon.write_audit('account_provisioned', 'account:' || acct, NULL,
                who || jsonb_build_object('roles', roles, 'invite', inv_id), acct);
            IF inv_id IS NOT NULL THEN
                PERFORM beacon.invite_complete(inv_id, acct);
            END IF;
            -- The role map's memberships are made below, as at every sign-in.
        END IF;
    ELSIF p_invite_hash IS NOT NULL THEN
        PERFORM beacon.write_audit('invite_refused', 'account:' || acct, NULL, who || '{"reason": "account_exists"}', acct);
        RETURN QUERY SELECT 'invite_account_exists'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    SELECT x.* INTO a FROM beacon.accounts x WHERE x.account_id = acct;
    IF a.disabled_at IS NOT NULL THEN
        PERFORM beacon.write_audit('sso_refused', 'account:' || acct, NULL, who || '{"reason": "disabled"}', acct);
        RETURN QUERY SELECT 'disabled'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    -- AC-2: the identity provider stays authoritative for the memberships its groups granted.
    IF jsonb_typeof(p_role_map) = 'object' AND p_role_map <> '{}' THEN
        roles := beacon.oidc_roles(p_groups, p_role_map);
        -- set_membership(…, 'sso') leaves a hand-granted membership as it is.
        PERFORM beacon.set_membership(acct, p.project_id, r.value, 'sso')
        FROM jsonb_each_text(roles) r JOIN beacon.projects p ON p.project_id::text = r.key;
        PERFORM beacon.set_membership(acct, m.project_id, NULL, 'sso')
        FROM beacon.memberships m WHERE m.account_id = acct AND m.managed_by = 'sso' AND NOT roles ? m.project_id::text;
        -- No longer allowed by the provider (no mapped group, no allowed domain) and nothing else
        -- gives it access (a hand-granted membership, the admin flag): refused, its account kept.
        IF roles = '{}' AND beacon.oidc_allowed(p_email, p_email_verified, p_groups, p_allowed_domains, p_role_map) IS NULL
           AND NOT a.admin AND NOT EXISTS (SELECT FROM beacon.memberships m WHERE m.account_id = acct) THEN
            PERFORM beacon.write_audit('sso_refused', 'account:' || acct, NULL, who || '{"reason": "not_allowed"}', acct);
            RETURN QUERY SELECT 'not_allowed'::text, NULL::uuid, NULL::text;
            RETURN;
        END IF;
    END IF;
    UPDATE beacon.oidc_identities i SET last_sign_in_at = now() WHERE i.issuer = p_issuer AND i.subject = p_subject;
    PERFORM beacon.start_session(acct, p_token_hash, p_csrf, p_user_agent, detail);
    RETURN QUERY SELECT 'ok'::text, a.account_id, a.email;
END $$;
COMMENT ON FUNCTION beacon.oidc_sign_in(text, text, text, boolean, text[], text[], jsonb, text[], bytea, bytea, text, text) IS 'GET /api/oidc/callback, after the relay verified the ID token: signs the identity (p_issuer, p_subject) in. Its linked account (beacon.oidc_identities) when there is one; otherwise, with a verified email only: an invitation (p_invite_hash, for the invited email; beacon.invite_claim) or beacon.oidc_allowed (an allowed domain or a mapped group) links the account of that email (sso_linked) or provisions one without a password (account_provisioned, a membership from the invitation). A disabled account is refused. With a role map (p_role_map not empty), at every sign-in of the account, its first included: the memberships the groups give (beacon.oidc_roles) are set, managed by SSO (beacon.set_membership with sso: audited membership_added/changed), and its SSO-managed memberships of projects the groups no longer give are removed (membership_removed); a hand-granted membership (managed_by NULL: an owner, the CLI, an invitation) is never changed nor removed, even for a project the groups name. An account the provider no longer allows (no mapped group, no allowed domain) with no membership left and no admin flag is then refused (not_allowed; its account kept). The session is made by beacon.start_session (audited sign_in, after {"method":"oidc","issuer","amr"}); the relay then calls beacon.after_sign_in. status ok, or the refusal, audited sso_refused or invite_refused: email_not_verified, not_allowed, linked_to_another_subject, disabled, invite_used/revoked/expired/unknown/email_mismatch/account_exists.';

REVOKE ALL ON FUNCTION
    beacon.set_sso_only(boolean), beacon.oidc_refuse(text, jsonb),
    beacon.oidc_flow_begin(bytea, bytea, text, text, text, bytea, interval), beacon.oidc_flow_take(bytea, bytea),
    beacon.oidc_roles(text[], jsonb), beacon.oidc_allowed(text, boolean, text[], text[], jsonb),
    beacon.oidc_sign_in(text, text, text, boolean, text[], text[], jsonb, text[], bytea, bytea, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.set_sso_only(boolean) TO beacon_relay;
GRANT EXECUTE ON FUNCTION
    beacon.oidc_refuse(text, jsonb),
    beacon.oidc_flow_begin(bytea, bytea, text, text, text, bytea, interval), beacon.oidc_flow_take(bytea, bytea),
    beacon.oidc_sign_in(text, text, text, boolean, text[], text[], jsonb, text[], bytea, bytea, text, text)
TO beacon_api;
