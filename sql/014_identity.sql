-- 014_identity: API tokens, account lifecycle, session control and audit retention (issue 14, the
-- parts that need no identity provider). State only; the rules are in code/tokens.sql and code/lifecycle.sql.
--
--  * beacon.api_tokens: bearer tokens for automation, stored as the SHA-256 of the token, scoped to
--    one project and one scope, with an expiry, revocable, last use recorded.
--  * beacon.account_sessions gains session_id (a public handle: a person lists and ends their own
--    sessions without ever seeing a token hash) and authenticated_at (the last time the password
--    was typed in this session: sign-in or re-authentication, for sensitive actions).
--  * beacon.accounts gains last_active_at (sign-ins, for the idle-account step of maintain()).
--  * beacon.settings gains account_idle_days (90) and audit_retention_days (365, at least 90).
--  * beacon.audit gains token_id (which token acted, when a token did) and the new actions.
--
-- Adding nullable columns without a default, or with a constant default, rewrites nothing except
-- session_id (an identity column fills existing rows: account_sessions is small). Reversible by
-- dropping what is added, once no audit row uses the new actions.

CREATE TABLE beacon.api_tokens (
    token_id     uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    project_id   uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    scope        text        NOT NULL CHECK (scope IN ('read', 'flags', 'write')),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    account_id   uuid        REFERENCES beacon.accounts ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    last_used_ip inet,
    CHECK (expires_at > created_at)
);
CREATE INDEX api_tokens_project ON beacon.api_tokens (project_id);
CREATE INDEX api_tokens_account ON beacon.api_tokens (account_id);
COMMENT ON TABLE beacon.api_tokens IS 'API tokens for automation (`beacon token create`, the dashboard''s account page): a client sends Authorization: Bearer <token> to /api/; the token acts in one project with the rights of its scope (read: viewer; flags: editor; write: owner''s project changes, never members, tokens or re-authenticated actions), capped by its creator''s current role. Only the SHA-256 of the token is stored; the token is shown once. No application role reads it: beacon.token_check and the api_token functions do.';
COMMENT ON INDEX beacon.api_tokens_project IS 'Tokens of a project.';
COMMENT ON INDEX beacon.api_tokens_account IS 'Tokens an account created (they stop when it is disabled).';
COMMENT ON COLUMN beacon.api_tokens.token_id IS 'Public id of the token (random UUID): what lists show and revoke takes. Not the token.';
COMMENT ON COLUMN beacon.api_tokens.token_hash IS 'SHA-256 of the token (bct_ followed by 32 random bytes, base64url).';
COMMENT ON COLUMN beacon.api_tokens.project_id IS 'The one project the token acts in; every other project answers 404 to it.';
COMMENT ON COLUMN beacon.api_tokens.scope IS 'read (viewer: every read of the project), flags (editor: flag changes), write (owner''s project changes: flags and settings; never members, tokens, person deletion or project creation, which need a signed-in person).';
COMMENT ON COLUMN beacon.api_tokens.name IS 'What the token is for, as its creator named it.';
COMMENT ON COLUMN beacon.api_tokens.account_id IS 'Account that created it in the dashboard: the token''s rights never exceed its current role, and it stops when the account is disabled. NULL: made with `beacon token create` by the database owner (the scope alone decides).';
COMMENT ON COLUMN beacon.api_tokens.created_at IS 'When it was created.';
COMMENT ON COLUMN beacon.api_tokens.expires_at IS 'When it stops working (required: no token lives forever).';
COMMENT ON COLUMN beacon.api_tokens.revoked_at IS 'When it was revoked; NULL: not revoked.';
COMMENT ON COLUMN beacon.api_tokens.last_used_at IS 'Last request made with it (kept to within a minute); NULL: never used.';
COMMENT ON COLUMN beacon.api_tokens.last_used_ip IS 'Client address of that request.';

ALTER TABLE beacon.account_sessions
    ADD COLUMN session_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    ADD COLUMN authenticated_at timestamptz;
COMMENT ON COLUMN beacon.account_sessions.session_id IS 'Public handle of the session (GET /api/account/sessions, DELETE …/{id}); never the token or its hash.';
COMMENT ON COLUMN beacon.account_sessions.authenticated_at IS 'Last time the password was checked in this session (sign-in, POST /api/session/reauth); sensitive actions need it within SESSION_REAUTH_WINDOW. NULL: the sign-in time (created_at), for sessions made before migration 014.';

ALTER TABLE beacon.accounts ADD COLUMN last_active_at timestamptz;
UPDATE beacon.accounts a SET last_active_at = x.at
FROM (SELECT u.account_id, max(u.at) AS at FROM beacon.audit u WHERE u.action = 'sign_in' GROUP BY u.account_id) x
WHERE x.account_id = a.account_id;
COMMENT ON COLUMN beacon.accounts.last_active_at IS 'Last sign-in (or re-enabling); with its sessions'' and tokens'' last use, what the idle step of maintain() reads (beacon.settings.account_idle_days). NULL: never signed in (created_at counts).';

ALTER TABLE beacon.settings
    ADD COLUMN account_idle_days int DEFAULT 90 CHECK (account_idle_days BETWEEN 1 AND 3660),
    ADD COLUMN audit_retention_days int DEFAULT 365 CHECK (audit_retention_days >= 90);
COMMENT ON COLUMN beacon.settings.account_idle_days IS 'Accounts with no sign-in, session use or token use for this many days are disabled by beacon.maintain() (step idle_accounts, audited account_disabled; AC-2(3)). NULL: never. Admin accounts too: keep one in use, or re-enable with beacon.set_account_disabled as the owner.';
COMMENT ON COLUMN beacon.settings.audit_retention_days IS 'Days of beacon.audit kept online; older rows are deleted by beacon.maintain() (step audit_retention, itself audited as audit_purged). At least 90 (AU-11; the CHECK refuses less). NULL: kept forever.';

ALTER TABLE beacon.audit ADD COLUMN token_id uuid;
COMMENT ON COLUMN beacon.audit.token_id IS 'Which API token acted (beacon.api_tokens.token_id), when the request carried one; NULL for a signed-in person, the CLI or a DBA.';
CREATE INDEX audit_action_at ON beacon.audit (action, at);
COMMENT ON INDEX beacon.audit_action_at IS 'The audit of one action by time (GET /api/audit?action=).';

-- The action list is widened, not rewritten, as 012 does: the new CHECK keeps every action the
-- current one allows, read from the catalog in either of its spellings (IN ('a', …) as 005 and
-- 010 wrote it, = ANY ('{a,…}'::text[]) as 012 did), and adds these.
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
            || ARRAY['token_created', 'token_revoked', 'token_used', 'token_refused',
                     'account_disabled', 'account_enabled', 'session_ended', 'session_evicted',
                     'reauth', 'reauth_failed', 'banner_accepted', 'audit_purged'];
    actions := ARRAY(SELECT DISTINCT a FROM unnest(actions) a ORDER BY a);
    ALTER TABLE beacon.audit DROP CONSTRAINT IF EXISTS audit_action_check;
    EXECUTE format('ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_check CHECK (action = ANY (%L::text[]))', actions);
END $$;

COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed, flag_created/changed/deleted (before and after: the whole flag), person_deleted (a privacy delete: target project:ID/person:USER, after the counts deleted), project_created, project_changed (before → after of the changed settings), token_created/revoked, token_used (every request of a flags or write token: after.method, after.path), token_refused (an expired, revoked or unknown-account token), account_disabled/enabled (by an owner, or by maintain() after account_idle_days: after.reason), session_ended (by its person from the sessions list), session_evicted (the oldest, past SESSION_MAX_PER_ACCOUNT), reauth, reauth_failed, banner_accepted (the sign-in''s acceptance of the system use notification: after.banner_sha256), audit_purged (rows older than audit_retention_days deleted: after.rows, after.before).';
