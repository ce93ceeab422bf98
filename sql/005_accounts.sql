-- 005_accounts: the dashboard's accounts (issue 12, "Accounts") — accounts, per-project
-- memberships, server-side sessions, failed sign-ins for the lockout, an append-only audit table,
-- and the role the dashboard's API acts as.
--
-- Rules (who may see what, the lockout, session timeouts, the audit) are functions in
-- code/accounts.sql and code/api.sql; this file holds only state. No application role gets any
-- right on these tables: beacon_api reaches them only through those SECURITY DEFINER functions.
--
-- beacon_api, not beacon_dashboard: beacon_dashboard (001) reads every project's analytics.* and
-- writes beacon.projects and beacon.flags directly, which is what a DBA's dashboard tool needs but
-- would let a bug in a Go handler read any project. The API acts as beacon_api (SET LOCAL ROLE in
-- each request's transaction), which may only EXECUTE the functions that check the signed-in
-- account (beacon.account_id); the relay's login is granted beacon_api (docs/dashboard.md).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'beacon_api') THEN
        BEGIN
            CREATE ROLE beacon_api NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration created it meanwhile (roles are cluster-wide)
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role beacon_api does not exist and % may not create it', current_user
                    USING ERRCODE = '42501', HINT = 'As a superuser: CREATE ROLE beacon_api NOLOGIN;';
        END;
    END IF;
END $$;
-- The migration's role may act as beacon_api, so a relay run with the owner's URL (development,
-- `just dev`) serves the API; a production relay's own login is granted beacon_api by the
-- operator (docs/dashboard.md). Membership gives the owner nothing it does not have.
DO $$
BEGIN
    EXECUTE format('GRANT beacon_api TO %I', current_user);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE '% may not grant itself beacon_api: a relay using this role''s URL cannot serve /api/', current_user
        USING HINT = format('As a superuser: GRANT beacon_api TO %I;', current_user);
END $$;
GRANT USAGE ON SCHEMA beacon TO beacon_api;
GRANT SELECT ON beacon.schema_migrations, beacon.schema_code TO beacon_api;

CREATE TABLE beacon.accounts (
    account_id    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL CHECK (email = btrim(email) AND length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    password_hash text        NOT NULL CHECK (password_hash LIKE '$pbkdf2-sha256$i=%'),
    admin         boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX accounts_email ON beacon.accounts (lower(email));
COMMENT ON TABLE beacon.accounts IS 'Dashboard accounts (people who sign in). No application role reads it: sign-in goes through beacon.sign_in_begin/finish, the CLI through beacon.create_account. Rows are never deleted by Beacon (disable with disabled_at), so the audit keeps its meaning.';
COMMENT ON INDEX beacon.accounts_email IS 'One account per email address, compared case-insensitively (lower(email)); also the sign-in lookup.';
COMMENT ON COLUMN beacon.accounts.account_id IS 'Account id (random UUID), the id the API shows and beacon.account_id carries.';
COMMENT ON COLUMN beacon.accounts.email IS 'Sign-in name, as typed at creation (compared case-insensitively).';
COMMENT ON COLUMN beacon.accounts.password_hash IS 'PBKDF2-HMAC-SHA-256 of the NFKC-normalised password, self-describing: $pbkdf2-sha256$i=ITERATIONS$SALT$KEY (base64, 16-byte salt, 32-byte key). The iteration count is per hash, so it can rise: a sign-in with a lower count than the relay''s rehashes. Made and checked by the relay (Go''s FIPS 140-3 module), never by SQL.';
COMMENT ON COLUMN beacon.accounts.admin IS 'True: owner of every project, those created later included, without membership rows (`beacon account create --role owner` without --project). False: only the projects of its memberships.';
COMMENT ON COLUMN beacon.accounts.created_at IS 'When the account was created.';
COMMENT ON COLUMN beacon.accounts.disabled_at IS 'When the account was disabled; a disabled account cannot sign in and its sessions end at their next use. NULL: active.';

CREATE TABLE beacon.memberships (
    account_id uuid        NOT NULL REFERENCES beacon.accounts ON DELETE CASCADE,
    project_id uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, project_id)
);
CREATE INDEX memberships_project ON beacon.memberships (project_id);
COMMENT ON TABLE beacon.memberships IS 'Which projects an account may use, and as what. An account sees only its projects (and an admin account all of them). Changed through beacon.set_membership, audited.';
COMMENT ON INDEX beacon.memberships_project IS 'Members of a project.';
COMMENT ON COLUMN beacon.memberships.account_id IS 'The member.';
COMMENT ON COLUMN beacon.memberships.project_id IS 'The project.';
COMMENT ON COLUMN beacon.memberships.role IS 'owner (members, settings, delete), editor (flags), viewer (read only). Each includes the rights of those after it.';
COMMENT ON COLUMN beacon.memberships.created_at IS 'When the membership was made or its role last changed.';

CREATE TABLE beacon.account_sessions (
    token_hash   bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id   uuid        NOT NULL REFERENCES beacon.accounts ON DELETE CASCADE,
    csrf_token   text        NOT NULL CHECK (length(csrf_token) >= 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ip           inet,
    user_agent   text        CHECK (length(user_agent) <= 500)
);
CREATE INDEX account_sessions_account ON beacon.account_sessions (account_id);
COMMENT ON TABLE beacon.account_sessions IS 'Signed-in dashboard sessions, server-side: the browser holds only a random token (cookie beacon_session), this table its SHA-256, so a copy of the table signs nobody in. A session ends at sign-out (row deleted), after the idle timeout or the absolute lifetime (SESSION_IDLE_TIMEOUT, SESSION_LIFETIME; checked and deleted by beacon.session_check). Not the analytics sessions (beacon.sessions).';
COMMENT ON INDEX beacon.account_sessions_account IS 'Sessions of an account (ended when it is disabled).';
COMMENT ON COLUMN beacon.account_sessions.token_hash IS 'SHA-256 of the session token the cookie carries (32 random bytes).';
COMMENT ON COLUMN beacon.account_sessions.account_id IS 'The signed-in account.';
COMMENT ON COLUMN beacon.account_sessions.csrf_token IS 'Anti-CSRF token: every state-changing API request must send it in X-CSRF-Token. Given to the page by POST/GET /api/session, never in a cookie.';
COMMENT ON COLUMN beacon.account_sessions.created_at IS 'Sign-in time; the session ends SESSION_LIFETIME after it whatever its use.';
COMMENT ON COLUMN beacon.account_sessions.last_seen_at IS 'Last request of the session (kept to within 10 s); it ends SESSION_IDLE_TIMEOUT after it.';
COMMENT ON COLUMN beacon.account_sessions.ip IS 'Client address at sign-in.';
COMMENT ON COLUMN beacon.account_sessions.user_agent IS 'User-Agent at sign-in, cut to 500 characters.';

CREATE TABLE beacon.sign_in_failures (
    failure_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES beacon.accounts ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    ip         inet
);
CREATE INDEX sign_in_failures_account_at ON beacon.sign_in_failures (account_id, at);
COMMENT ON TABLE beacon.sign_in_failures IS 'Failed sign-ins per account, for the lockout (SIGNIN_LOCKOUT_THRESHOLD failures within SIGNIN_LOCKOUT_WINDOW). A sign-in counts here from the moment it starts (beacon.sign_in_begin) until it succeeds, so parallel guesses cannot pass the threshold; a success deletes the account''s rows. Rows older than a day are deleted by sign_in_begin. The history itself is in beacon.audit.';
COMMENT ON INDEX beacon.sign_in_failures_account_at IS 'Failures of an account in the lockout window.';
COMMENT ON COLUMN beacon.sign_in_failures.failure_id IS 'Row id; the attempt id sign_in_begin hands to sign_in_finish.';
COMMENT ON COLUMN beacon.sign_in_failures.account_id IS 'Account whose password was tried.';
COMMENT ON COLUMN beacon.sign_in_failures.at IS 'When the attempt started.';
COMMENT ON COLUMN beacon.sign_in_failures.ip IS 'Client address of the attempt.';

CREATE TABLE beacon.audit (
    audit_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    account_id uuid,
    db_role    text        NOT NULL,
    login_role text        NOT NULL DEFAULT session_user,
    ip         inet,
    action     text        NOT NULL CHECK (action IN (
        'sign_in', 'sign_in_failed', 'sign_in_locked', 'lockout', 'sign_out', 'session_expired',
        'account_created', 'account_changed', 'membership_added', 'membership_changed', 'membership_removed',
        'password_rehashed')),
    target     text        NOT NULL,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_at ON beacon.audit (at);
CREATE INDEX audit_account_at ON beacon.audit (account_id, at);
COMMENT ON TABLE beacon.audit IS 'Append-only record of every security-relevant action of the dashboard: sign-ins (and failures, lockouts), sign-outs, expired sessions, account and membership changes. Written only by Beacon''s functions, in the transaction of the action; no application role has any right on it, and triggers refuse UPDATE, DELETE and TRUNCATE even to the owner. No foreign keys: it outlives what it names. Flag changes are in beacon.flag_audit.';
COMMENT ON INDEX beacon.audit_at IS 'The audit by time.';
COMMENT ON INDEX beacon.audit_account_at IS 'An account''s actions by time.';
COMMENT ON COLUMN beacon.audit.audit_id IS 'Order of writing.';
COMMENT ON COLUMN beacon.audit.at IS 'When (transaction time).';
COMMENT ON COLUMN beacon.audit.account_id IS 'Who: the account that acted (the signed-in one, or the one signing in); NULL for the CLI, a DBA, or a sign-in with an unknown email.';
COMMENT ON COLUMN beacon.audit.db_role IS 'Database role acting (SET ROLE, else login role): beacon_api for the dashboard, the owner for the CLI.';
COMMENT ON COLUMN beacon.audit.login_role IS 'Login role of the session.';
COMMENT ON COLUMN beacon.audit.ip IS 'From which address: the client address the relay saw (beacon.client_addr), NULL from the CLI.';
COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed.';
COMMENT ON COLUMN beacon.audit.target IS 'What it was done to: account:<id>, project:<id>/account:<id> for a membership, email:<lower-case address> for an unknown email.';
COMMENT ON COLUMN beacon.audit.before IS 'State before (NULL when there was none), as JSON; never a password or hash.';
COMMENT ON COLUMN beacon.audit.after IS 'State after (NULL when there is none), as JSON; never a password or hash.';
