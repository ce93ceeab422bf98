-- 016_sso_invites: single sign-on with OpenID Connect and invitations (issue 14, IA-2, IA-8,
-- AC-2). State only; the rules are in code/sso.sql and code/invites.sql.
--
--  * beacon.oidc_identities: an account's link to an identity provider's (issuer, subject). After
--    the first link an account is found by this pair only, never by its email.
--  * beacon.oidc_flows: the server half of a sign-in in progress (state, nonce, PKCE verifier,
--    return path), tied to a random cookie, single use, expiring after 10 minutes.
--  * beacon.invites: single-use, expiring invitations to a project with a role; the link's token is
--    stored as its SHA-256.
--  * beacon.accounts.password_hash becomes nullable: an account provisioned by single sign-on has
--    no password.
--  * beacon.settings gains sso_only (password sign-in refused by beacon.sign_in_begin itself).
--  * beacon.audit learns the new actions.
--
-- Nothing is rewritten. Reversible by dropping what is added, once no account lacks a password and
-- no audit row uses the new actions.

CREATE TABLE beacon.oidc_identities (
    issuer          text        NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2000),
    subject         text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    account_id      uuid        NOT NULL REFERENCES beacon.accounts ON DELETE CASCADE,
    email_at_link   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    PRIMARY KEY (issuer, subject),
    UNIQUE (account_id, issuer)
);
COMMENT ON TABLE beacon.oidc_identities IS 'Links of accounts to OpenID Connect identities: the ID token''s (iss, sub), which the provider promises never to reassign. An SSO sign-in finds its account here; the email only matters for the first link (beacon.oidc_sign_in). No application role reads it.';
COMMENT ON INDEX beacon.oidc_identities_account_id_issuer_key IS 'At most one identity per account and issuer: a second subject with the same email is refused, not linked.';
COMMENT ON COLUMN beacon.oidc_identities.issuer IS 'The identity provider (the ID token''s iss, OIDC_ISSUER).';
COMMENT ON COLUMN beacon.oidc_identities.subject IS 'The person at the provider (the ID token''s sub).';
COMMENT ON COLUMN beacon.oidc_identities.account_id IS 'The Beacon account this identity signs in as.';
COMMENT ON COLUMN beacon.oidc_identities.email_at_link IS 'The verified email the provider gave when the link was made (for the record; never used to find the account).';
COMMENT ON COLUMN beacon.oidc_identities.created_at IS 'When the link was made (first SSO sign-in, provisioning or an accepted invite).';
COMMENT ON COLUMN beacon.oidc_identities.last_sign_in_at IS 'Last SSO sign-in through this identity.';

CREATE TABLE beacon.oidc_flows (
    flow_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state_hash    bytea       NOT NULL UNIQUE CHECK (length(state_hash) = 32),
    cookie_hash   bytea       NOT NULL CHECK (length(cookie_hash) = 32),
    nonce         text        NOT NULL,
    code_verifier text        NOT NULL,
    return_path   text        NOT NULL DEFAULT '/' CHECK (return_path LIKE '/%' AND return_path NOT LIKE '//%'),
    invite_hash   bytea       CHECK (length(invite_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX oidc_flows_expires_at ON beacon.oidc_flows (expires_at);
COMMENT ON TABLE beacon.oidc_flows IS 'SSO sign-ins in progress: what the relay needs when the provider sends the browser back (nonce, PKCE verifier, where to go), found by the SHA-256 of the state and checked against the SHA-256 of the browser''s flow cookie. A row is deleted when it is used (once, whatever the outcome) or expired (beacon.oidc_flow_begin sweeps). No application role reads it.';
COMMENT ON INDEX beacon.oidc_flows_expires_at IS 'The sweep of expired flows.';
COMMENT ON COLUMN beacon.oidc_flows.flow_id IS 'Row id.';
COMMENT ON COLUMN beacon.oidc_flows.state_hash IS 'SHA-256 of the state parameter sent to the provider (random, 32 bytes).';
COMMENT ON COLUMN beacon.oidc_flows.cookie_hash IS 'SHA-256 of the flow cookie set in the browser that started the sign-in: the callback must come from the same browser.';
COMMENT ON COLUMN beacon.oidc_flows.nonce IS 'The nonce sent to the provider; the ID token must carry it.';
COMMENT ON COLUMN beacon.oidc_flows.code_verifier IS 'PKCE code verifier (RFC 7636); its S256 challenge was sent to the provider. Secret, kept at most 10 minutes.';
COMMENT ON COLUMN beacon.oidc_flows.return_path IS 'Dashboard path to open after the sign-in (a local path only).';
COMMENT ON COLUMN beacon.oidc_flows.invite_hash IS 'SHA-256 of the invitation token when the sign-in accepts an invitation; NULL otherwise.';
COMMENT ON COLUMN beacon.oidc_flows.created_at IS 'When the sign-in started.';
COMMENT ON COLUMN beacon.oidc_flows.expires_at IS 'After this the flow is refused (10 minutes after it started).';

CREATE TABLE beacon.invites (
    invite_id  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    project_id uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    email      text        NOT NULL CHECK (email = btrim(email) AND length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    role       text        NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_by uuid        REFERENCES beacon.accounts ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    used_by    uuid        REFERENCES beacon.accounts ON DELETE SET NULL,
    revoked_at timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX invites_project ON beacon.invites (project_id, created_at);
COMMENT ON TABLE beacon.invites IS 'Invitations to a project (AC-2): an owner invites an email with a role; the link /invite/<token> is shown once and works once, until expires_at (INVITE_TTL), unless revoked. The token is stored as its SHA-256. Accepting creates the account and its membership (beacon.invite_accept, beacon.oidc_sign_in). No application role reads it.';
COMMENT ON INDEX beacon.invites_project IS 'A project''s invitations, for its owners'' list.';
COMMENT ON COLUMN beacon.invites.invite_id IS 'Invitation id (what the API shows and revokes by).';
COMMENT ON COLUMN beacon.invites.token_hash IS 'SHA-256 of the link''s token (32 random bytes); the token itself is never stored.';
COMMENT ON COLUMN beacon.invites.project_id IS 'The project the invitee joins.';
COMMENT ON COLUMN beacon.invites.email IS 'Email of the account the invitation creates (an SSO acceptance must come with this verified email).';
COMMENT ON COLUMN beacon.invites.role IS 'Role the invitee gets: owner, editor or viewer.';
COMMENT ON COLUMN beacon.invites.created_by IS 'The owner who invited.';
COMMENT ON COLUMN beacon.invites.created_at IS 'When the invitation was made.';
COMMENT ON COLUMN beacon.invites.expires_at IS 'After this the link is refused.';
COMMENT ON COLUMN beacon.invites.used_at IS 'When the link was used; a used link is refused.';
COMMENT ON COLUMN beacon.invites.used_by IS 'The account the invitation created.';
COMMENT ON COLUMN beacon.invites.revoked_at IS 'When an owner revoked the invitation; a revoked link is refused.';

ALTER TABLE beacon.accounts ALTER COLUMN password_hash DROP NOT NULL;
COMMENT ON COLUMN beacon.accounts.password_hash IS 'PBKDF2-HMAC-SHA-256 of the NFKC-normalised password, self-describing: $pbkdf2-sha256$i=ITERATIONS$SALT$KEY (base64, 16-byte salt, 32-byte key). The iteration count is per hash, so it can rise: a sign-in with a lower count than the relay''s rehashes. Made and checked by the relay (Go''s FIPS 140-3 module), never by SQL. NULL: no password (an account provisioned by single sign-on), password sign-in refused.';

ALTER TABLE beacon.settings ADD COLUMN sso_only boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN beacon.settings.sso_only IS 'True: password sign-in is refused for every account (beacon.sign_in_begin, audited sign_in_failed reason sso_only); people sign in through the identity provider only. Set by the relay at start-up from SSO_ONLY (beacon.set_sso_only, audited sso_only_changed); the break-glass is the database owner setting it false.';

DO $$
DECLARE
    def text;
    actions text[];
BEGIN
    SELECT pg_catalog.pg_get_constraintdef(c.oid) INTO def
    FROM pg_catalog.pg_constraint c
    WHERE c.conrelid = 'beacon.audit'::regclass AND c.conname = 'audit_action_check';
    actions := ARRAY(SELECT m[1] FROM regexp_matches(def, '''([a-z_]+)''', 'g') m)
            || coalesce(string_to_array(substring(def from '''\{([a-z_,]+)\}'''), ','), '{}')
            || ARRAY['sso_refused', 'sso_linked', 'account_provisioned', 'sso_only_changed',
                     'invite_created', 'invite_revoked', 'invite_accepted', 'invite_refused'];
    actions := ARRAY(SELECT DISTINCT a FROM unnest(actions) a ORDER BY a);
    ALTER TABLE beacon.audit DROP CONSTRAINT IF EXISTS audit_action_check;
    EXECUTE format('ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_check CHECK (action = ANY (%L::text[]))', actions);
END $$;
COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed, flag_created/changed/deleted (before and after: the whole flag), person_deleted (a privacy delete: target project:ID/person:USER, after the counts deleted), project_created, project_changed (before → after of the changed settings), token_created/revoked, token_used (every request of a flags or write token: after.method, after.path), token_refused (an expired, revoked or unknown-account token), account_disabled/enabled (by an owner, or by maintain() after account_idle_days: after.reason), session_ended (by its person from the sessions list), session_evicted (the oldest, past SESSION_MAX_PER_ACCOUNT), reauth, reauth_failed, banner_accepted (the sign-in''s acceptance of the system use notification: after.banner_sha256), audit_purged (rows older than audit_retention_days deleted: after.rows, after.before), sign_in with after.method oidc (an SSO sign-in: after.issuer, after.amr), sso_refused (an SSO sign-in refused: after.reason), sso_linked (an existing account linked to an identity provider''s subject), account_provisioned (an account created by an SSO sign-in: after.email, after.roles), sso_only_changed, invite_created/revoked/accepted, invite_refused (a used, expired, revoked or unknown link: after.reason).';
