-- 022_audit_denials_exports: two more kinds of audit row (issue 14, AU-2): a request the SQL
-- guards refused for lack of a role (access_denied) and a download of data (data_exported). State
-- only: the functions that write them are in code/lifecycle.sql.

-- The action list is widened, not rewritten (as 014 and 017 do): the CHECK keeps every action the
-- current one allows, read from the catalog, and the column's comment is extended.
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
            || ARRAY['access_denied', 'data_exported'];
    actions := ARRAY(SELECT DISTINCT a FROM unnest(actions) a ORDER BY a);
    ALTER TABLE beacon.audit DROP CONSTRAINT IF EXISTS audit_action_check;
    EXECUTE format('ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_check CHECK (action = ANY (%L::text[]))', actions);
    EXECUTE format('COMMENT ON COLUMN beacon.audit.action IS %L',
        rtrim(coalesce(pg_catalog.col_description('beacon.audit'::regclass,
            (SELECT a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'beacon.audit'::regclass AND a.attname = 'action')), ''), '.')
        || ', access_denied (a dashboard API request the SQL guards refused for lack of a role: target request:METHOD PATH, after.reason), data_exported (a download of data, such as an overview table as CSV: target project:ID/export:WHAT).');
END $$;
