-- 012_project_settings: the audit learns the dashboard's project changes (issue 12, Project
-- settings): project_created (POST /api/projects) and project_changed (a settings change, before →
-- after of what changed). Membership changes were audited already (membership_*).
--
-- The action list is widened, not rewritten: the new CHECK keeps every action the current one
-- allows (read from the catalog) and adds these two, so migrations of other features that add
-- their own actions may run before or after this one.

DO $$
DECLARE
    actions text[];
BEGIN
    SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO actions
    FROM pg_catalog.pg_constraint c, regexp_matches(pg_catalog.pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') m
    WHERE c.conrelid = 'beacon.audit'::regclass AND c.conname = 'audit_action_check';
    actions := ARRAY(SELECT DISTINCT a FROM unnest(actions || ARRAY['project_created', 'project_changed']) a ORDER BY a);
    ALTER TABLE beacon.audit DROP CONSTRAINT IF EXISTS audit_action_check;
    EXECUTE format('ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_check CHECK (action = ANY (%L::text[]))', actions);
END $$;

COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed, flag_created/changed/deleted (before and after: the whole flag), person_deleted (a privacy delete: target project:ID/person:USER, after the counts deleted), project_created, project_changed (before → after of the changed settings).';
