-- flags: evaluation (rollout bucket, targeting rules on the person's traits), what a connecting
-- client gets, and the triggers that validate, audit and announce every change to beacon.flags.
--
-- A flag is on for a client when: enabled, every rule in `rules` matches the person's traits (no
-- rules: everyone), and beacon.flag_bucket(key, id) < rollout_percent * 100 — in that order. The id
-- is the person's root user id when the client is identified (its user id, or the user its anon id
-- is aliased to, resolved through merges), else its anon id. beacon.flag_bucket is fixed forever.
--
-- Only flags marked client_visible are evaluated for clients (evaluate_flags, _many, connect): a
-- server-only flag's key never reaches a browser. A new flag whose INSERT leaves client_visible
-- out takes its project's new_flags_client_visible (flags_client_visible trigger).
--
-- Every change to beacon.flags — dashboard, migration or a DBA's plain UPDATE — fires flags_notify
-- (NOTIFY beacon_flags, so every relay pushes the project's flags) and flags_audit.

CREATE OR REPLACE FUNCTION beacon.flag_bucket(p_key text, p_id text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (('x' || substr(encode(sha256(convert_to(p_key || ':' || p_id, 'UTF8')), 'hex'), 1, 8))::bit(32)::bigint % 10000)::int
$$;
COMMENT ON FUNCTION beacon.flag_bucket(text, text) IS 'Rollout bucket 0..9999 of an id for a flag, fixed forever: the first 4 bytes of SHA-256(UTF-8 of key || '':'' || id), read as a big-endian unsigned integer, modulo 10000. A flag is on for the id when bucket < rollout_percent * 100, so raising the percentage only adds ids.';

CREATE OR REPLACE FUNCTION beacon.check_flag_rules(p_rules jsonb) RETURNS void
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

CREATE OR REPLACE FUNCTION beacon.flags_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM beacon.check_flag_rules(NEW.rules);
    RETURN NEW;
END $$;
COMMENT ON FUNCTION beacon.flags_validate() IS 'BEFORE INSERT/UPDATE trigger of beacon.flags: validates rules with a message that names the bad rule.';

CREATE OR REPLACE TRIGGER flags_validate BEFORE INSERT OR UPDATE OF rules ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_validate();
COMMENT ON TRIGGER flags_validate ON beacon.flags IS 'Validates rules on insert and on update of rules (beacon.check_flag_rules), with a message naming the bad rule.';

CREATE OR REPLACE FUNCTION beacon.flags_client_visible() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.client_visible IS NULL THEN
        SELECT p.new_flags_client_visible INTO NEW.client_visible
        FROM beacon.projects p WHERE p.project_id = NEW.project_id;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION beacon.flags_client_visible() IS 'BEFORE INSERT trigger of beacon.flags: a flag inserted without client_visible takes its project''s new_flags_client_visible (the column has no default, so an omitted value arrives here as NULL; NOT NULL is checked after this trigger).';

CREATE OR REPLACE TRIGGER flags_client_visible BEFORE INSERT ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_client_visible();
COMMENT ON TRIGGER flags_client_visible ON beacon.flags IS 'Fills client_visible of a new flag from its project''s new_flags_client_visible when the INSERT leaves it out (beacon.flags_client_visible).';

CREATE OR REPLACE FUNCTION beacon.flag_rules_match(p_rules jsonb, p_traits jsonb) RETURNS boolean
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

CREATE OR REPLACE FUNCTION beacon.flag_on(p_enabled boolean, p_rollout numeric, p_rules jsonb, p_key text, p_id text, p_traits jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT p_enabled OR p_rollout <= 0 THEN false
        WHEN p_rules <> '[]' AND NOT beacon.flag_rules_match(p_rules, p_traits) THEN false
        WHEN p_rollout >= 100 THEN true
        ELSE beacon.flag_bucket(p_key, coalesce(p_id, '')) < p_rollout * 100
    END
$$;
COMMENT ON FUNCTION beacon.flag_on(boolean, numeric, jsonb, text, text, jsonb) IS 'One flag for one id: enabled, rules match the traits, and flag_bucket(key, id) < rollout_percent * 100 (no hash computed when the flag is off or at 0% or 100%).';

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
                     AND EXISTS (SELECT FROM beacon.flags f WHERE f.project_id = p_project AND f.client_visible AND f.rules <> '[]')
                    THEN beacon.person_traits(p_project, coalesce(u.merged_into, u.user_id))
                    ELSE '{}' END AS traits
        FROM clients c
        LEFT JOIN beacon.users u ON u.project_id = p_project AND u.user_id = c.uid
    )
    SELECT r.idx,
           coalesce(jsonb_object_agg(f.key, beacon.flag_on(f.enabled, f.rollout_percent, f.rules, f.key, r.id, r.traits))
                    FILTER (WHERE f.key IS NOT NULL), '{}')
    FROM resolved r
    LEFT JOIN beacon.flags f ON f.project_id = p_project AND f.client_visible
    GROUP BY r.idx
    ORDER BY r.idx
$$;
COMMENT ON FUNCTION beacon.evaluate_flags_many(uuid, text[], text[]) IS 'The flag sets of many clients in one set-based query (the relay re-evaluates every connected client of a project after a change); idx is the 1-based position in the input arrays, one row per position. Same rules as beacon.evaluate_flags: only client_visible flags.';

CREATE OR REPLACE FUNCTION beacon.evaluate_flags(p_project uuid, p_anon_id text, p_user_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.flags FROM beacon.evaluate_flags_many(p_project, ARRAY[p_anon_id], ARRAY[p_user_id]) m
$$;
COMMENT ON FUNCTION beacon.evaluate_flags(uuid, text, text) IS 'The flag set one client sees, as a JSON object of booleans ({} without flags): its project''s client_visible flags only (a server-only flag is absent, key included), evaluated for its person — its user id, or the user its anon id is aliased to, resolved to the root user of merges — with the person''s traits; for its anon id without traits when it is not identified.';

CREATE OR REPLACE FUNCTION beacon.connect(p_project uuid, p_anon_id text)
RETURNS TABLE (user_id text, flags jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.user_id, beacon.evaluate_flags(p_project, p_anon_id, u.user_id)
    FROM (SELECT (SELECT a.user_id FROM beacon.aliases a
                  WHERE a.project_id = p_project AND a.anon_id = p_anon_id) AS user_id) u
$$;
COMMENT ON FUNCTION beacon.connect(uuid, text) IS 'Called by the relay when a client connects: the user id the anon id is aliased to (NULL when never identified), which the relay stamps on the connection''s events, and the client''s flag set (beacon.evaluate_flags: client_visible flags only).';

CREATE OR REPLACE FUNCTION beacon.flags_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- NOTIFY folds identical payloads within a transaction, so a statement touching many flags of
    -- one project sends one notification per project at commit.
    PERFORM pg_notify('beacon_flags', coalesce(NEW.project_id, OLD.project_id)::text);
    IF TG_OP = 'UPDATE' AND NEW.project_id IS DISTINCT FROM OLD.project_id THEN
        PERFORM pg_notify('beacon_flags', OLD.project_id::text);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.flags_notify() IS 'NOTIFY beacon_flags with the project id of a changed flag, so every relay re-evaluates and pushes that project''s flags.';

CREATE OR REPLACE TRIGGER flags_notify AFTER INSERT OR UPDATE OR DELETE ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_notify();
COMMENT ON TRIGGER flags_notify ON beacon.flags IS 'NOTIFY beacon_flags with the project id of every changed flag (beacon.flags_notify): the relays push that project''s flags.';

CREATE OR REPLACE TRIGGER flags_touch BEFORE UPDATE ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.touch_updated_at();
COMMENT ON TRIGGER flags_touch ON beacon.flags IS 'Keeps beacon.flags.updated_at.';

CREATE OR REPLACE FUNCTION beacon.flags_audit() RETURNS trigger
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

CREATE OR REPLACE TRIGGER flags_audit AFTER INSERT OR UPDATE OR DELETE ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_audit();
COMMENT ON TRIGGER flags_audit ON beacon.flags IS 'Writes every inserted, updated or deleted flag to beacon.flag_audit (beacon.flags_audit).';
CREATE OR REPLACE TRIGGER flags_audit_truncate BEFORE TRUNCATE ON beacon.flags
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.flags_audit();
COMMENT ON TRIGGER flags_audit_truncate ON beacon.flags IS 'Writes every flag a TRUNCATE removes to beacon.flag_audit and NOTIFYs their projects.';
