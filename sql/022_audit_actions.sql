-- 022_audit_actions: the audit's actions become rows of beacon.audit_actions, each saying
-- what it records, referenced by beacon.audit.action; and two more actions (issue 14, AU-2):
-- access_denied (a request the SQL guards refused for lack of a role) and data_exported (a
-- download of data). State only: the functions that write them are in code/lifecycle.sql.
--
-- Until now each migration that added an action (012, 014, 015, 016, 017) rewrote the CHECK
-- audit_action_check by reading its list back from the catalog. From here on a new action is one
-- INSERT into beacon.audit_actions.

CREATE TABLE beacon.audit_actions (
    action  text PRIMARY KEY CHECK (action ~ '^[a-z][a-z_]*$'),
    records text NOT NULL
);
COMMENT ON TABLE beacon.audit_actions IS 'The actions of beacon.audit (its foreign key): what each records, its target and its details. A migration that adds an action inserts a row here.';
COMMENT ON COLUMN beacon.audit_actions.action IS 'The action, as in beacon.audit.action.';
COMMENT ON COLUMN beacon.audit_actions.records IS 'What an audit row with this action records: the event, its target and what before/after hold.';

INSERT INTO beacon.audit_actions (action, records) VALUES
    ('sign_in', 'A successful sign-in (target account:ID; after.method password, passkey or oidc, with after.issuer and after.amr for single sign-on).'),
    ('sign_in_failed', 'A refused sign-in: wrong password, unknown email, disabled account (after.reason).'),
    ('sign_in_locked', 'A sign-in refused during a lockout.'),
    ('lockout', 'The failed sign-in that reached the lockout threshold.'),
    ('sign_out', 'A sign-out; the session is deleted.'),
    ('session_expired', 'A session found past its idle timeout or lifetime, deleted.'),
    ('session_ended', 'A session ended by its person from the sessions list.'),
    ('session_evicted', 'The oldest session of an account ended by a sign-in past SESSION_MAX_PER_ACCOUNT.'),
    ('reauth', 'The password typed again for a sensitive action (SESSION_REAUTH_WINDOW).'),
    ('reauth_failed', 'A wrong password typed for re-authentication (counts toward the lockout).'),
    ('banner_accepted', 'The sign-in''s acceptance of the system use notification (after.banner_sha256).'),
    ('mfa_sign_in', 'A second factor accepted: a security key or passkey (target account:ID/key:ID) or a recovery code (after.method).'),
    ('mfa_failed', 'A second factor refused: unknown key, bad assertion, a signature counter gone backwards (a cloned key), a wrong recovery code (after.reason).'),
    ('mfa_enrolment_required', 'A keyless account sent to enrol a key after its password (MFA_REQUIRED).'),
    ('mfa_key_added', 'A security key or passkey enrolled (target account:ID/key:ID, after its name and kind).'),
    ('mfa_key_renamed', 'A key renamed (before → after name).'),
    ('mfa_key_removed', 'A key removed (before: the key).'),
    ('recovery_codes_generated', 'A new set of recovery codes made (the old set void).'),
    ('recovery_code_used', 'A recovery code used instead of a key (after.left: codes left).'),
    ('recovery_codes_exhausted', 'The last recovery code used.'),
    ('sso_refused', 'A single sign-on refused: domain not allowed, email not verified, disabled account, replayed or unknown flow state, a subject linked to another account (after.reason).'),
    ('sso_linked', 'An existing account linked to an identity provider''s subject at its first SSO sign-in.'),
    ('sso_only_changed', 'SSO_ONLY turned on or off (before → after).'),
    ('account_created', 'An account created (by the CLI, an invitation or an admin).'),
    ('account_provisioned', 'An account created by an SSO sign-in (after.email, after.roles from OIDC_ROLE_MAP).'),
    ('account_changed', 'An account''s email, password or admin flag changed (before → after, never the hash).'),
    ('account_disabled', 'An account disabled by an owner, an admin or maintain() after account_idle_days (after.reason); its sessions end, its tokens stop.'),
    ('account_enabled', 'A disabled account enabled again.'),
    ('password_rehashed', 'A password hash upgraded to the current PBKDF2 iteration count at sign-in.'),
    ('invite_created', 'An invitation by email with a role (target project:ID/invite:ID).'),
    ('invite_revoked', 'An invitation revoked before use.'),
    ('invite_accepted', 'An invitation accepted with a password or single sign-on.'),
    ('invite_refused', 'An invitation link refused: used, expired, revoked, unknown, or its email already an account (after.reason).'),
    ('membership_added', 'An account made a member of a project with a role (target project:ID/account:ID).'),
    ('membership_changed', 'A member''s role changed (before → after).'),
    ('membership_removed', 'A member removed from a project.'),
    ('project_created', 'A project created.'),
    ('project_changed', 'A project''s settings changed (before → after of the changed settings).'),
    ('flag_created', 'A feature flag created (after: the whole flag).'),
    ('flag_changed', 'A feature flag changed (before and after: the whole flag).'),
    ('flag_deleted', 'A feature flag deleted (before: the whole flag).'),
    ('person_deleted', 'A privacy delete of a person and their events (target project:ID/person:USER, after: the counts deleted).'),
    ('token_created', 'An API token created (target project:ID/token:ID, after its scope and expiry; never the token).'),
    ('token_revoked', 'An API token revoked.'),
    ('token_used', 'A request of a flags or write token (after.method, after.path), refused ones too.'),
    ('token_refused', 'A request with an expired, revoked or unknown-account token.'),
    ('writekey_created', 'A write key of the Segment-compatible API created (target project:ID/writekey:KEY_ID, after.name).'),
    ('writekey_revoked', 'A write key revoked.'),
    ('audit_purged', 'Audit rows older than audit_retention_days deleted by maintain() (after.rows, after.before).'),
    ('access_denied', 'A dashboard API request the SQL guards refused for lack of a role (target request:METHOD PATH, after.reason), its work rolled back.'),
    ('data_exported', 'A download of a project''s data, such as an overview table as CSV (target project:ID/export:WHAT).');

-- An action the old CHECK allowed that is not listed above would make the foreign key fail on
-- existing rows: keep it, described as such (none is expected).
INSERT INTO beacon.audit_actions (action, records)
SELECT a, 'An action of an earlier version of Beacon.'
FROM (SELECT pg_catalog.pg_get_constraintdef(c.oid) AS def
      FROM pg_catalog.pg_constraint c
      WHERE c.conrelid = 'beacon.audit'::regclass AND c.conname = 'audit_action_check') d,
     unnest(coalesce(string_to_array(substring(d.def from '''\{([a-z_,]+)\}'''), ','), '{}')) a
ON CONFLICT (action) DO NOTHING;

ALTER TABLE beacon.audit DROP CONSTRAINT audit_action_check;
ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_fkey FOREIGN KEY (action) REFERENCES beacon.audit_actions (action);
COMMENT ON CONSTRAINT audit_action_fkey ON beacon.audit IS 'Every audit row''s action is one of beacon.audit_actions.';
COMMENT ON COLUMN beacon.audit.action IS 'What happened: one of beacon.audit_actions, whose records column says what the row records, its target and its details.';
