-- 006_flag_targeting_audit: targeting rules on user traits, evaluation through merged people, and an
-- append-only audit of every change to beacon.flags.
--
-- A flag is on for a client when: enabled, every rule in `rules` matches the person's traits
-- (no rules: everyone), and beacon.flag_bucket(key, id) < rollout_percent * 100 — in that order;
-- a flag inserted with only (project_id, key, enabled) has no rules and a 100% rollout, so it
-- applies to everyone. The id is the person's root user id when the client is identified (its
-- user id, or the user its anon id is aliased to, resolved through merges), else its anon id.
-- beacon.flag_bucket is unchanged and fixed forever.
--
-- Audit: a row trigger (security definer, so no application role needs any right on the audit
-- table) records who (database role, login role, and the application user the dashboard declares
-- with SET LOCAL beacon.app_user), when, the old row and the new row. TRUNCATE is audited too.

ALTER TABLE beacon.flags ADD COLUMN rules jsonb NOT NULL DEFAULT '[]';
COMMENT ON COLUMN beacon.flags.rules IS 'Targeting: a JSON array of rules, all of which must match the person''s traits: {"trait":"plan","op":"eq","value":"pro"}, {"trait":"country","op":"in","values":["US","CA"]}, {"trait":"beta","op":"exists"}. Values compare as JSON ("1" is not 1). Anonymous clients have no traits, so a flag with rules is off for them. Default []: everyone.';
COMMENT ON COLUMN beacon.flags.project_id IS 'Project of the flag.';
COMMENT ON COLUMN beacon.flags.key IS 'Flag key as the SDK sees it: a letter or digit, then up to 99 of letters, digits, _ . : -';
COMMENT ON COLUMN beacon.flags.description IS 'Free text for the dashboard.';
COMMENT ON COLUMN beacon.flags.created_at IS 'When the flag was created.';
COMMENT ON COLUMN beacon.flags.updated_at IS 'Last change (set by trigger).';

CREATE FUNCTION beacon.check_flag_rules(p_rules jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r  jsonb;
    i  int := 0;
    op text;
BEGIN
    IF jsonb_typeof(p_rules) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'flag rules must be a JSON array, got %', coalesce(jsonb_typeof(p_rules), 'NULL')
            USING ERRCODE = '23514';
    END IF;
    FOR r IN SELECT x FROM jsonb_array_elements(p_rules) x LOOP
        i := i + 1;
        IF jsonb_typeof(r) <> 'object' THEN
            RAISE EXCEPTION 'flag rule %: must be a JSON object, got %', i, jsonb_typeof(r) USING ERRCODE = '23514';
        END IF;
        IF jsonb_typeof(r->'trait') IS DISTINCT FROM 'string' OR r->>'trait' = '' THEN
            RAISE EXCEPTION 'flag rule %: "trait" must be a non-empty string', i USING ERRCODE = '23514';
        END IF;
        op := r->>'op';
        IF op IS NULL OR op NOT IN ('eq', 'in', 'exists') THEN
            RAISE EXCEPTION 'flag rule %: "op" must be one of eq, in, exists, got %', i, coalesce(r->'op', 'null')
                USING ERRCODE = '23514';
        END IF;
        IF op = 'eq' AND NOT r ? 'value' THEN
            RAISE EXCEPTION 'flag rule %: op eq needs a "value"', i USING ERRCODE = '23514';
        END IF;
        IF op = 'in' AND jsonb_typeof(r->'values') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION 'flag rule %: op in needs "values", a JSON array', i USING ERRCODE = '23514';
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION beacon.check_flag_rules(jsonb) IS 'Raises a check_violation (23514) naming the first bad rule of a flag''s rules array; see beacon.flags.rules for the format.';

CREATE FUNCTION beacon.flags_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM beacon.check_flag_rules(NEW.rules);
    RETURN NEW;
END $$;
COMMENT ON FUNCTION beacon.flags_validate() IS 'BEFORE INSERT/UPDATE trigger of beacon.flags: validates rules with a message that names the bad rule.';

CREATE TRIGGER flags_validate BEFORE INSERT OR UPDATE OF rules ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_validate();

-- Evaluation -------------------------------------------------------------------------------------

CREATE FUNCTION beacon.flag_rules_match(p_rules jsonb, p_traits jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(bool_and(coalesce(CASE r->>'op'
               WHEN 'eq'     THEN p_traits->(r->>'trait') = r->'value'
               WHEN 'in'     THEN EXISTS (SELECT FROM jsonb_array_elements(r->'values') v
                                          WHERE v = p_traits->(r->>'trait'))
               WHEN 'exists' THEN p_traits ? (r->>'trait')
           END, false)), true)
    FROM jsonb_array_elements(p_rules) r
$$;
COMMENT ON FUNCTION beacon.flag_rules_match(jsonb, jsonb) IS 'True when every rule matches the traits (an empty array matches everyone); a missing trait matches no rule.';

CREATE FUNCTION beacon.flag_on(p_enabled boolean, p_rollout numeric, p_rules jsonb, p_key text, p_id text, p_traits jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_enabled
       AND (p_rules = '[]' OR beacon.flag_rules_match(p_rules, p_traits))
       AND beacon.flag_bucket(p_key, coalesce(p_id, '')) < p_rollout * 100
$$;
COMMENT ON FUNCTION beacon.flag_on(boolean, numeric, jsonb, text, text, jsonb) IS 'One flag for one id: enabled, rules match the traits, and flag_bucket(key, id) < rollout_percent * 100.';

CREATE FUNCTION beacon.flags_for(p_project uuid, p_id text, p_traits jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(f.key,
               beacon.flag_on(f.enabled, f.rollout_percent, f.rules, f.key, p_id, coalesce(p_traits, '{}'))), '{}')
    FROM beacon.flags f
    WHERE f.project_id = p_project
$$;
COMMENT ON FUNCTION beacon.flags_for(uuid, text, jsonb) IS 'Every flag of a project evaluated for one id and its traits, as a JSON object of booleans; {} when the project has none.';

CREATE OR REPLACE FUNCTION beacon.flags_for(p_project uuid, p_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT beacon.flags_for(p_project, p_id, '{}') $$;
COMMENT ON FUNCTION beacon.flags_for(uuid, text) IS 'beacon.flags_for for an id without traits (flags with rules are off).';

CREATE OR REPLACE FUNCTION beacon.evaluate_flags_many(p_project uuid, p_anon_ids text[], p_user_ids text[])
RETURNS TABLE (idx int, flags jsonb)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH clients AS (
        SELECT c.idx::int AS idx, c.anon_id, coalesce(nullif(c.user_id, ''), a.user_id) AS uid
        FROM unnest(p_anon_ids, p_user_ids) WITH ORDINALITY AS c (anon_id, user_id, idx)
        LEFT JOIN beacon.aliases a ON a.project_id = p_project AND a.anon_id = c.anon_id
    ), resolved AS (
        SELECT c.idx, coalesce(u.merged_into, c.uid, c.anon_id) AS id,
               CASE WHEN u.user_id IS NOT NULL
                     AND EXISTS (SELECT FROM beacon.flags f WHERE f.project_id = p_project AND f.rules <> '[]')
                    THEN beacon.person_traits(p_project, coalesce(u.merged_into, u.user_id))
                    ELSE '{}' END AS traits
        FROM clients c
        LEFT JOIN beacon.users u ON u.project_id = p_project AND u.user_id = c.uid
    )
    SELECT r.idx,
           coalesce(jsonb_object_agg(f.key, beacon.flag_on(f.enabled, f.rollout_percent, f.rules, f.key, r.id, r.traits))
                    FILTER (WHERE f.key IS NOT NULL), '{}')
    FROM resolved r
    LEFT JOIN beacon.flags f ON f.project_id = p_project
    GROUP BY r.idx
    ORDER BY r.idx
$$;
COMMENT ON FUNCTION beacon.evaluate_flags_many(uuid, text[], text[]) IS 'The flag sets of many clients in one set-based query (the relay re-evaluates every connected client of a project after a change); idx is the 1-based position in the input arrays, one row per position. Same rules as beacon.evaluate_flags.';

CREATE OR REPLACE FUNCTION beacon.evaluate_flags(p_project uuid, p_anon_id text, p_user_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.flags FROM beacon.evaluate_flags_many(p_project, ARRAY[p_anon_id], ARRAY[p_user_id]) m
$$;
COMMENT ON FUNCTION beacon.evaluate_flags(uuid, text, text) IS 'The flag set one client sees, as a JSON object of booleans ({} without flags): evaluated for its person — its user id, or the user its anon id is aliased to, resolved to the root user of merges — with the person''s traits; for its anon id without traits when it is not identified.';

-- Audit ------------------------------------------------------------------------------------------

CREATE TABLE beacon.flag_audit (
    audit_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    flag_key   text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    old_row    jsonb,
    new_row    jsonb,
    changed_at timestamptz NOT NULL DEFAULT now(),
    db_role    text        NOT NULL DEFAULT beacon.actor_role(),
    login_role text        NOT NULL DEFAULT session_user,
    app_user   text                 DEFAULT beacon.app_user(),
    txid       bigint      NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX flag_audit_project_key ON beacon.flag_audit (project_id, flag_key, changed_at);
COMMENT ON TABLE beacon.flag_audit IS 'Append-only history of every change to beacon.flags, from any source (dashboard, migration, a DBA''s UPDATE), written by the flags_audit trigger. No role may update, delete or truncate it; application roles may not insert into it either. No foreign key: it outlives deleted flags and projects.';
COMMENT ON COLUMN beacon.flag_audit.flag_key IS 'Key of the flag changed.';
COMMENT ON COLUMN beacon.flag_audit.action IS 'INSERT, UPDATE, DELETE, or TRUNCATE (one row per flag that existed).';
COMMENT ON COLUMN beacon.flag_audit.old_row IS 'The flag before the change (NULL for INSERT), as JSON.';
COMMENT ON COLUMN beacon.flag_audit.new_row IS 'The flag after the change (NULL for DELETE and TRUNCATE), as JSON.';
COMMENT ON COLUMN beacon.flag_audit.changed_at IS 'Transaction time of the change.';
COMMENT ON COLUMN beacon.flag_audit.db_role IS 'Database role acting (SET ROLE, else login role).';
COMMENT ON COLUMN beacon.flag_audit.login_role IS 'Login role of the session.';
COMMENT ON COLUMN beacon.flag_audit.app_user IS 'Application user declared by the dashboard with SET LOCAL beacon.app_user; NULL for changes made outside it.';
COMMENT ON COLUMN beacon.flag_audit.txid IS 'Transaction id: rows with the same txid were one change.';

CREATE TRIGGER flag_audit_append_only BEFORE UPDATE OR DELETE ON beacon.flag_audit
    FOR EACH ROW EXECUTE FUNCTION beacon.forbid_change();
CREATE TRIGGER flag_audit_no_truncate BEFORE TRUNCATE ON beacon.flag_audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.forbid_change();

CREATE FUNCTION beacon.flags_audit() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO beacon.flag_audit (project_id, flag_key, action, old_row)
        SELECT f.project_id, f.key, 'TRUNCATE', to_jsonb(f) FROM beacon.flags f;
        PERFORM pg_notify('beacon_flags', p.project_id::text)
        FROM (SELECT DISTINCT f.project_id FROM beacon.flags f) p;
        RETURN NULL;
    END IF;
    INSERT INTO beacon.flag_audit (project_id, flag_key, action, old_row, new_row)
    VALUES (coalesce(NEW.project_id, OLD.project_id), coalesce(NEW.key, OLD.key), TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.flags_audit() IS 'Trigger of beacon.flags: writes each change to beacon.flag_audit (and, for TRUNCATE, NOTIFYs each project). Security definer so no application role needs rights on the audit table; the acting role is read from the session (beacon.actor_role), not current_user.';

CREATE TRIGGER flags_audit AFTER INSERT OR UPDATE OR DELETE ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_audit();
CREATE TRIGGER flags_audit_truncate BEFORE TRUNCATE ON beacon.flags
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.flags_audit();
