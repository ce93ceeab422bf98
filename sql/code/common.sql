-- common: helpers shared by the other files — who acts, updated_at, append-only tables.

CREATE OR REPLACE FUNCTION beacon.actor_role() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN current_setting('role') IN ('none', '') THEN session_user::text
                ELSE current_setting('role') END
$$;
COMMENT ON FUNCTION beacon.actor_role() IS 'The database role acting: the role set with SET ROLE, else the login role. Correct inside security-definer functions too (current_user is the owner there).';

CREATE OR REPLACE FUNCTION beacon.app_user() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('beacon.app_user', true), '') $$;
COMMENT ON FUNCTION beacon.app_user() IS 'Application user the dashboard declared for this transaction with SET LOCAL beacon.app_user = ''…'' (NULL when none).';

-- The audit tables record who acted through these two functions (the tables are state, in the
-- baseline, which runs before the functions exist).
ALTER TABLE beacon.identity_audit
    ALTER COLUMN db_role SET DEFAULT beacon.actor_role(),
    ALTER COLUMN app_user SET DEFAULT beacon.app_user();
ALTER TABLE beacon.flag_audit
    ALTER COLUMN db_role SET DEFAULT beacon.actor_role(),
    ALTER COLUMN app_user SET DEFAULT beacon.app_user();

CREATE OR REPLACE FUNCTION beacon.forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = '42501';
END $$;
COMMENT ON FUNCTION beacon.forbid_change() IS 'BEFORE UPDATE/DELETE/TRUNCATE trigger of append-only audit tables: refuses the change, even for the owner.';

CREATE OR REPLACE TRIGGER identity_audit_append_only BEFORE UPDATE OR DELETE ON beacon.identity_audit
    FOR EACH ROW EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER identity_audit_append_only ON beacon.identity_audit IS 'Refuses UPDATE and DELETE: the identity audit is append-only, for the owner too.';
CREATE OR REPLACE TRIGGER identity_audit_no_truncate BEFORE TRUNCATE ON beacon.identity_audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER identity_audit_no_truncate ON beacon.identity_audit IS 'Refuses TRUNCATE of the identity audit.';

CREATE OR REPLACE TRIGGER flag_audit_append_only BEFORE UPDATE OR DELETE ON beacon.flag_audit
    FOR EACH ROW EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER flag_audit_append_only ON beacon.flag_audit IS 'Refuses UPDATE and DELETE: the flag audit is append-only, for the owner too.';
CREATE OR REPLACE TRIGGER flag_audit_no_truncate BEFORE TRUNCATE ON beacon.flag_audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.forbid_change();
COMMENT ON TRIGGER flag_audit_no_truncate ON beacon.flag_audit IS 'Refuses TRUNCATE of the flag audit.';

CREATE OR REPLACE FUNCTION beacon.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
COMMENT ON FUNCTION beacon.touch_updated_at() IS 'Sets updated_at on every UPDATE.';

CREATE OR REPLACE TRIGGER settings_touch BEFORE UPDATE ON beacon.settings
    FOR EACH ROW EXECUTE FUNCTION beacon.touch_updated_at();
COMMENT ON TRIGGER settings_touch ON beacon.settings IS 'Keeps beacon.settings.updated_at.';
