-- 017_write_keys: write keys for the Segment-compatible HTTP tracking API (issue 15,
-- docs/protocol.md "Segment-compatible API"). State only; the rules are in code/writekeys.sql.
--
--  * beacon.write_keys: per-project keys that Segment's server libraries send as the user name of
--    HTTP Basic auth. Only the SHA-256 of a key is stored; the key is shown once. Revoked keys
--    stay (for the audit trail and the list) with revoked_at set.
--  * beacon.audit gains the actions writekey_created and writekey_revoked.
--
-- New table and a widened CHECK: nothing is rewritten. Reversible by dropping the table once no
-- audit row uses the new actions.

CREATE TABLE beacon.write_keys (
    key_id       uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    key_hash     bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    project_id   uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX write_keys_project ON beacon.write_keys (project_id);
COMMENT ON TABLE beacon.write_keys IS 'Write keys of the Segment-compatible tracking API (POST /v1/batch, /v1/track, …): a server library sends one as the user name of HTTP Basic auth (or as writeKey in the body) and its messages are stored in the key''s project. Made with `beacon writekey create`, revoked with `beacon writekey revoke` (at once: the relay looks the key up on every request). Only the SHA-256 of a key is stored; the key is shown once. No application role reads it: beacon.write_key_project does.';
COMMENT ON INDEX beacon.write_keys_project IS 'Write keys of a project (`beacon writekey list`).';
COMMENT ON COLUMN beacon.write_keys.key_id IS 'Public id of the key (random UUID): what lists show and revoke takes. Not the key.';
COMMENT ON COLUMN beacon.write_keys.key_hash IS 'SHA-256 of the key (bwk_ followed by 32 random bytes, base64url).';
COMMENT ON COLUMN beacon.write_keys.project_id IS 'The project the key''s messages are stored in.';
COMMENT ON COLUMN beacon.write_keys.name IS 'What the key is for, as its creator named it.';
COMMENT ON COLUMN beacon.write_keys.created_at IS 'When it was created.';
COMMENT ON COLUMN beacon.write_keys.revoked_at IS 'When it was revoked (requests with it get 401 from then on); NULL: in use.';
COMMENT ON COLUMN beacon.write_keys.last_used_at IS 'Last request made with it (kept to within a minute); NULL: never used.';

-- The action list is widened, not rewritten (as 014 does): the CHECK keeps every action the
-- current one allows, read from the catalog, and the column's comment is extended, not replaced,
-- so migrations written beside this one compose in any order.
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
            || ARRAY['writekey_created', 'writekey_revoked'];
    actions := ARRAY(SELECT DISTINCT a FROM unnest(actions) a ORDER BY a);
    ALTER TABLE beacon.audit DROP CONSTRAINT IF EXISTS audit_action_check;
    EXECUTE format('ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_check CHECK (action = ANY (%L::text[]))', actions);
    EXECUTE format('COMMENT ON COLUMN beacon.audit.action IS %L',
        rtrim(coalesce(pg_catalog.col_description('beacon.audit'::regclass,
            (SELECT a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'beacon.audit'::regclass AND a.attname = 'action')), ''), '.')
        || ', writekey_created/revoked (a write key of the Segment-compatible API: target project:ID/writekey:KEY_ID, after.name).');
END $$;
