-- 004_client_trust: what a client holding only a project id may do (issue 10, items 14 and 4).
--
--  * Identity verification: a per-project secret, kept in a table no application role can read
--    (beacon.project_secrets), and a per-project switch (projects.verify_identity). When it is on,
--    an identify must carry HMAC-SHA-256(secret, userId); the relay checks it (Go's FIPS 140-3
--    module) and beacon.identify refuses an unverified identify. Existing projects keep working:
--    the switch is off for them (and for a row inserted by hand); beacon.create_project, which
--    `beacon project create` calls, makes new projects with it on and a secret.
--  * Per-flag client visibility: flags.client_visible. Existing flags stay visible (they were);
--    a new flag's value, when the INSERT does not say, is its project's new_flags_client_visible
--    (filled by a trigger in code/flags.sql): true for existing projects, false for projects made
--    by beacon.create_project, so a new flag is server-only until marked.
--  * Bounded traits per user: beacon.settings.max_trait_keys and max_traits_bytes.
--
-- beacon.identify gains an argument (p_verified); CREATE OR REPLACE cannot change arguments, so
-- the old signature is dropped here and the code package creates the new one (docs/sql.md).

ALTER TABLE beacon.projects
    ADD COLUMN verify_identity boolean NOT NULL DEFAULT false,
    ADD COLUMN new_flags_client_visible boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN beacon.projects.verify_identity IS 'Identity verification: when true, an identify from a client must carry userHash = hex HMAC-SHA-256(the project''s secret, userId), made by the customer''s server; an identify without a valid one is refused (identity_unverified) and writes nothing. Default false (projects before 004 and rows inserted by hand); beacon.create_project sets it. Change with beacon.set_identity_verification.';
COMMENT ON COLUMN beacon.projects.new_flags_client_visible IS 'client_visible of a new flag of this project when its INSERT does not set it. True for projects before 004 and rows inserted by hand; false for projects made by beacon.create_project (new flags are server-only until marked).';

CREATE TABLE beacon.project_secrets (
    project_id uuid        PRIMARY KEY REFERENCES beacon.projects ON DELETE CASCADE,
    secret     text        NOT NULL CHECK (secret ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE beacon.project_secrets IS 'Identity-verification secrets, one per project. No application role has any right on this table: the owner reads a secret with beacon.identity_secret (or `beacon project secret`), the relay gets one project''s secret through beacon.identity_key only to check an identify''s userHash. Never in analytics, never sent to a client.';
COMMENT ON COLUMN beacon.project_secrets.project_id IS 'Project the secret signs user ids for.';
COMMENT ON COLUMN beacon.project_secrets.secret IS 'The secret as shown to the owner: 64 hex characters from the database''s strong random source (gen_random_uuid, pg_strong_random). The HMAC key is this text''s ASCII bytes, so a server uses the string as given.';
COMMENT ON COLUMN beacon.project_secrets.created_at IS 'When the secret was made or last rotated (beacon.rotate_identity_secret); the previous secret stopped working then.';

ALTER TABLE beacon.flags ADD COLUMN client_visible boolean NOT NULL DEFAULT true;
ALTER TABLE beacon.flags ALTER COLUMN client_visible DROP DEFAULT;
COMMENT ON COLUMN beacon.flags.client_visible IS 'Whether clients (the WebSocket: connect, pushes) receive this flag. False: the flag is for server code only, absent from every client''s set, its key included. When an INSERT leaves it out it takes the project''s new_flags_client_visible (trigger flags_client_visible).';

ALTER TABLE beacon.settings
    ADD COLUMN max_trait_keys int NOT NULL DEFAULT 200 CHECK (max_trait_keys >= 1),
    ADD COLUMN max_traits_bytes int NOT NULL DEFAULT 65536 CHECK (max_traits_bytes >= 1024);
COMMENT ON COLUMN beacon.settings.max_trait_keys IS 'Most top-level trait keys stored per user: an identify whose merge would exceed it is refused (traits_too_large) and writes nothing. Read by beacon.identify on every call.';
COMMENT ON COLUMN beacon.settings.max_traits_bytes IS 'Most bytes of a user''s stored traits (as JSON text): an identify whose merge would exceed it is refused (traits_too_large). An identify that does not grow a user already over a limit (set before the limit was lowered) is still accepted.';

DROP FUNCTION IF EXISTS beacon.identify(uuid, text, text, jsonb);

-- Who changed a project's trust settings, and who was shown its secret: append-only, like the
-- other audit tables (triggers in code/identity.sql refuse UPDATE, DELETE and TRUNCATE). Written
-- by triggers on beacon.projects and beacon.project_secrets, so a DBA's plain UPDATE is recorded
-- too. db_role and login_role are given by the writer (the functions that fill them are the code
-- package's, installed after this migration on a new database).
CREATE TABLE beacon.trust_audit (
    audit_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('verify_on', 'verify_off', 'secret_made', 'secret_rotated', 'secret_shown')),
    at         timestamptz NOT NULL DEFAULT now(),
    db_role    text        NOT NULL,
    login_role text        NOT NULL DEFAULT session_user,
    app_user   text
);
CREATE INDEX trust_audit_project_at ON beacon.trust_audit (project_id, at);
COMMENT ON INDEX beacon.trust_audit_project_at IS 'A project''s trust history by time.';
COMMENT ON TABLE beacon.trust_audit IS 'Append-only history of identity-verification changes: verification turned on or off, secret made, rotated or shown to someone. Never holds a secret. No role may update or delete it (a trigger refuses even the owner); no application role may read it. No foreign key: it outlives deleted projects.';
COMMENT ON COLUMN beacon.trust_audit.audit_id IS 'Order of the audit rows.';
COMMENT ON COLUMN beacon.trust_audit.project_id IS 'Project.';
COMMENT ON COLUMN beacon.trust_audit.action IS 'verify_on / verify_off (projects.verify_identity set, including a project created with it on), secret_made, secret_rotated (beacon.project_secrets), secret_shown (beacon.identity_secret returned it).';
COMMENT ON COLUMN beacon.trust_audit.at IS 'Transaction time of the change.';
COMMENT ON COLUMN beacon.trust_audit.db_role IS 'Database role acting (SET ROLE, else login role): beacon.actor_role().';
COMMENT ON COLUMN beacon.trust_audit.login_role IS 'Login role of the session.';
COMMENT ON COLUMN beacon.trust_audit.app_user IS 'Application user declared with SET LOCAL beacon.app_user, if any.';
