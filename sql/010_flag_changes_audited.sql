-- Flag changes made through the dashboard's API are audited in beacon.audit as well as in
-- beacon.flag_audit (issue 12: every flag change in the append-only audit, with who, from which
-- address, before → after): three new actions, flag_created, flag_changed and flag_deleted,
-- written by the api_flag_* functions (code/api_flags.sql). The check constraint is replaced
-- with the list of 005 plus those three; no existing row changes. Reversible (drop the three
-- again) only while no row uses them.
ALTER TABLE beacon.audit DROP CONSTRAINT audit_action_check,
    ADD CONSTRAINT audit_action_check CHECK (action IN (
        'sign_in', 'sign_in_failed', 'sign_in_locked', 'lockout', 'sign_out', 'session_expired',
        'account_created', 'account_changed', 'membership_added', 'membership_changed', 'membership_removed',
        'password_rehashed',
        'flag_created', 'flag_changed', 'flag_deleted'));

COMMENT ON TABLE beacon.audit IS 'Append-only record of every security-relevant action of the dashboard: sign-ins (and failures, lockouts), sign-outs, expired sessions, account and membership changes, flag changes made through the dashboard (every flag change, from any source, is also in beacon.flag_audit). Written only by Beacon''s functions, in the transaction of the action; no application role has any right on it, and triggers refuse UPDATE, DELETE and TRUNCATE even to the owner. No foreign keys: it outlives what it names.';
COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed, flag_created/changed/deleted (before and after: the whole flag).';
COMMENT ON COLUMN beacon.audit.target IS 'What it was done to: account:<id>, project:<id>/account:<id> for a membership, project:<id>/flag:<key> for a flag, email:<lower-case address> for an unknown email.';
