-- maintenance: the scheduled work — partitions ahead, retention, purges, rollups, refreshes — run
-- by the procedure beacon.maintain(), one step per transaction.
--
-- beacon.maintain() is a PROCEDURE, called `CALL beacon.maintain()` outside an explicit
-- transaction. It COMMITs after each step, so the partition step's ACCESS EXCLUSIVE lock on
-- beacon.events (CREATE/ATTACH PARTITION) is held only while partitions are made, not through the
-- rollups and refreshes: COPYs from the relays wait for that step alone. Each step runs in
-- beacon.maintenance_step(), security definer (it creates and drops partitions, which only the
-- owner of beacon.events may do; a procedure that COMMITs may not be security definer itself).
--
-- Many relays call it on a ticker: every step takes the transaction-scoped advisory lock
-- (1113940323, 1) — the Beacon lock class, key 1 (docs/sql.md) — and a caller that finds it taken
-- stops there: another caller is at work. A caller that starts while another is between two steps
-- may redo the early steps (each is idempotent and cheap when there is nothing to do) and the
-- other then stops at its next step. No lock outlives a transaction, so a call cut short leaves
-- nothing held.
--
-- Irreversible: the retention step drops expired partitions (unless retention_mode = 'detach').

CREATE OR REPLACE FUNCTION beacon.partition_name(p_day date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'events_' || to_char(p_day, 'YYYYMMDD') $$;
COMMENT ON FUNCTION beacon.partition_name(date) IS 'Name of the daily partition of beacon.events holding p_day (UTC).';

CREATE OR REPLACE FUNCTION beacon.ensure_partitions(p_days_back int DEFAULT 1, p_days_ahead int DEFAULT 7)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    d       date;
    created int := 0;
    lo      timestamptz;
    hi      timestamptz;
    part    text;
BEGIN
    FOR d IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - p_days_back,
                                    (now() AT TIME ZONE 'UTC')::date + p_days_ahead, '1 day')::date
    LOOP
        part := beacon.partition_name(d);
        CONTINUE WHEN to_regclass(format('beacon.%I', part)) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        IF EXISTS (SELECT FROM beacon.events_default WHERE ts >= lo AND ts < hi) THEN
            -- Rows the default partition already caught for this day would make the new partition's
            -- bounds overlap it: move them into the new table, then attach it.
            EXECUTE format('CREATE TABLE beacon.%I (LIKE beacon.events INCLUDING DEFAULTS)', part);
            EXECUTE format('INSERT INTO beacon.%I SELECT * FROM beacon.events_default WHERE ts >= $1 AND ts < $2', part)
                USING lo, hi;
            DELETE FROM beacon.events_default WHERE ts >= lo AND ts < hi;
            EXECUTE format('ALTER TABLE beacon.events ATTACH PARTITION beacon.%I FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        ELSE
            EXECUTE format('CREATE TABLE beacon.%I PARTITION OF beacon.events FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;
COMMENT ON FUNCTION beacon.ensure_partitions(int, int) IS 'Creates the daily partitions of beacon.events from p_days_back days ago to p_days_ahead days ahead (UTC) that do not exist yet, moving any rows the default partition caught for those days. Returns how many it made. Called by beacon.maintain().';

CREATE OR REPLACE FUNCTION beacon.make_partitions() RETURNS bigint
LANGUAGE sql AS $$
    SELECT beacon.ensure_partitions(1, (SELECT s.partitions_ahead FROM beacon.settings s))
$$;
COMMENT ON FUNCTION beacon.make_partitions() IS 'beacon.ensure_partitions from yesterday to beacon.settings.partitions_ahead days ahead.';

CREATE OR REPLACE FUNCTION beacon.log_step(p_step text, p_rows bigint, p_started timestamptz, p_error text DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO beacon.maintenance_log (step, rows, duration, error)
    SELECT p_step, p_rows, clock_timestamp() - p_started, p_error
    WHERE p_error IS NOT NULL OR coalesce(p_rows, 0) > 0
$$;
COMMENT ON FUNCTION beacon.log_step(text, bigint, timestamptz, text) IS 'Records one step of beacon.maintain() in beacon.maintenance_log when it handled rows or failed.';

CREATE OR REPLACE FUNCTION beacon.day_start(p_days_ago int) RETURNS timestamptz
LANGUAGE sql STABLE STRICT AS $$
    SELECT (((now() AT TIME ZONE 'UTC')::date - p_days_ago)::timestamp AT TIME ZONE 'UTC')
$$;
COMMENT ON FUNCTION beacon.day_start(int) IS 'Midnight UTC p_days_ago days before today: the retention cutoff for p_days_ago days.';

CREATE OR REPLACE FUNCTION beacon.project_retention()
RETURNS TABLE (project_id uuid, retention_days int)
LANGUAGE sql STABLE AS $$
    SELECT p.project_id, coalesce(p.retention_days, s.retention_days)
    FROM beacon.projects p CROSS JOIN beacon.settings s
$$;
COMMENT ON FUNCTION beacon.project_retention() IS 'Effective retention of every project in days (its own, else the global setting); NULL keeps forever.';

CREATE OR REPLACE FUNCTION beacon.partition_retention_days() RETURNS int
LANGUAGE sql STABLE AS $$
    -- The longest retention anyone needs; NULL (forever) wins. The global value always counts: it
    -- covers projects without an override and events of unknown projects.
    SELECT CASE WHEN bool_or(d IS NULL) THEN NULL ELSE max(d) END
    FROM (SELECT s.retention_days AS d FROM beacon.settings s
          UNION ALL
          SELECT p.retention_days FROM beacon.projects p WHERE p.retention_days IS NOT NULL) x
$$;
COMMENT ON FUNCTION beacon.partition_retention_days() IS 'Days whole partitions are kept: the longest effective retention of any project or the global setting; NULL keeps forever.';

CREATE OR REPLACE FUNCTION beacon.drop_expired_partitions() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    keep_days int := beacon.partition_retention_days();
    mode      text := (SELECT s.retention_mode FROM beacon.settings s);
    part      record;
    dropped   int := 0;
BEGIN
    IF keep_days IS NULL THEN
        RETURN 0;
    END IF;
    FOR part IN
        SELECT c.relname
        FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'beacon.events'::regclass
          AND c.relname ~ '^events_[0-9]{8}$'
          AND to_date(substr(c.relname, 8), 'YYYYMMDD') < (now() AT TIME ZONE 'UTC')::date - keep_days
        ORDER BY c.relname
    LOOP
        IF mode = 'detach' THEN
            EXECUTE format('ALTER TABLE beacon.events DETACH PARTITION beacon.%I', part.relname);
        ELSE
            EXECUTE format('DROP TABLE beacon.%I', part.relname);
        END IF;
        dropped := dropped + 1;
    END LOOP;
    -- The default partition holds stray days (very late clocks); it is small, so its expired rows
    -- are deleted row by row.
    DELETE FROM beacon.events_default WHERE ts < beacon.day_start(keep_days);
    RETURN dropped;
END $$;
COMMENT ON FUNCTION beacon.drop_expired_partitions() IS 'Drops (or detaches, per beacon.settings.retention_mode) the daily partitions of beacon.events older than beacon.partition_retention_days(), and deletes expired rows from beacon.events_default. Returns the partitions removed. Irreversible in drop mode.';

CREATE OR REPLACE FUNCTION beacon.purge_project_events() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    keep_days int := beacon.partition_retention_days();
    r         record;
    cutoff    timestamptz;
    n         bigint;
    total     bigint := 0;
BEGIN
    FOR r IN
        SELECT pr.project_id, pr.retention_days, st.purged_before
        FROM beacon.project_retention() pr
        LEFT JOIN beacon.retention_state st ON st.project_id = pr.project_id
        WHERE pr.retention_days IS NOT NULL
          AND (keep_days IS NULL OR pr.retention_days < keep_days)
        ORDER BY pr.project_id
    LOOP
        cutoff := beacon.day_start(r.retention_days);
        CONTINUE WHEN r.purged_before >= cutoff;
        -- Bounded below by the watermark, so partition pruning limits the scan to the newly expired
        -- (cold) days; the first run reads every older partition once.
        DELETE FROM beacon.events e
        WHERE e.project_id = r.project_id
          AND e.ts < cutoff
          AND e.ts >= coalesce(r.purged_before, '-infinity');
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        INSERT INTO beacon.retention_state (project_id, purged_before) VALUES (r.project_id, cutoff)
        ON CONFLICT (project_id) DO UPDATE SET purged_before = excluded.purged_before;
    END LOOP;
    RETURN total;
END $$;
COMMENT ON FUNCTION beacon.purge_project_events() IS 'Deletes the events of projects whose effective retention is shorter than the partitions'' (see beacon.partition_retention_days), one expired day at a time thanks to beacon.retention_state. Returns the rows deleted.';

CREATE OR REPLACE FUNCTION beacon.purge_maintenance_log() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM beacon.maintenance_log l WHERE l.run_at < now() - interval '30 days';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_maintenance_log() IS 'Deletes beacon.maintenance_log rows older than 30 days. Returns the rows deleted. A maintain() step.';

CREATE OR REPLACE FUNCTION beacon.purge_event_ids() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    -- 25 h: the documented 24 h window (docs/protocol.md "Duplicates") plus an hour for the
    -- clocks of relays and PostgreSQL to disagree; a re-send within 24 h always finds its id.
    DELETE FROM beacon.event_ids d WHERE d.received_at < now() - interval '25 hours';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_event_ids() IS 'Deletes beacon.event_ids rows older than the 24 h dedup window (with an hour of margin for clock skew): a re-send of such an event after that is stored again. Returns the rows deleted. A maintain() step.';

-- The steps, in order. Upserted on every install so a new step or a moved one reaches every
-- database; an operator's enabled = false is kept.
INSERT INTO beacon.maintenance_steps AS m (step, position, fn) VALUES
    ('partitions',   10, 'beacon.make_partitions()'),
    ('retention',    20, 'beacon.drop_expired_partitions()'),
    ('purge',        30, 'beacon.purge_project_events()'),
    ('dedup',        35, 'beacon.purge_event_ids()'),
    ('sessions',     40, 'beacon.purge_sessions()'),
    ('rollup',       50, 'beacon.fold_rollups()'),
    ('rollup_purge', 55, 'beacon.purge_rollup_ids()'),
    ('refresh',      60, 'beacon.refresh_analytics()'),
    ('log',          90, 'beacon.purge_maintenance_log()')
ON CONFLICT (step) DO UPDATE SET position = excluded.position, fn = excluded.fn
WHERE (m.position, m.fn) IS DISTINCT FROM (excluded.position, excluded.fn);

CREATE OR REPLACE FUNCTION beacon.maintenance_plan() RETURNS text[]
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(m.step ORDER BY m.position), '{}') FROM beacon.maintenance_steps m WHERE m.enabled
$$;
COMMENT ON FUNCTION beacon.maintenance_plan() IS 'The enabled steps of beacon.maintenance_steps in position order: what beacon.maintain() runs. Security definer: the relay may call maintain() without reading the table.';

CREATE OR REPLACE FUNCTION beacon.maintenance_step(p_step text) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_schema text;
    v_name   text;
    v_t0     timestamptz := clock_timestamp();
    v_n      bigint;
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock(1113940323, 1) THEN
        RETURN false;
    END IF;
    SELECT n.nspname, p.proname INTO v_schema, v_name
    FROM beacon.maintenance_steps m
    JOIN pg_catalog.pg_proc p ON p.oid = m.fn
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE m.step = p_step AND m.enabled;
    IF v_name IS NULL THEN
        RETURN true; -- disabled or removed since the plan was read
    END IF;
    -- A subtransaction: a step that fails (say, a lock it waited 5 s for) is logged and the other
    -- steps still run; the next call retries it.
    BEGIN
        EXECUTE format('SELECT %I.%I()', v_schema, v_name) INTO v_n;
        PERFORM beacon.log_step(p_step, v_n, v_t0);
    EXCEPTION WHEN OTHERS THEN
        PERFORM beacon.log_step(p_step, NULL, v_t0, SQLERRM);
        RAISE WARNING 'beacon.maintain: %: %', p_step, SQLERRM;
    END;
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.maintenance_step(text) IS 'Runs one step of beacon.maintenance_steps under the maintenance advisory lock (1113940323, 1), taken for the transaction; logs it in beacon.maintenance_log when it handled rows or failed (a failure is also raised as a WARNING, never as an error). Returns false, doing nothing, when another session holds the lock. Called by beacon.maintain(), one transaction per step.';

CREATE OR REPLACE PROCEDURE beacon.maintain()
LANGUAGE plpgsql AS $$
DECLARE
    v_step text;
BEGIN
    -- No SET clause and no SECURITY DEFINER: either would forbid the COMMITs. Every name is
    -- schema-qualified; the work runs in the security-definer beacon.maintenance_step().
    FOREACH v_step IN ARRAY beacon.maintenance_plan() LOOP
        IF NOT beacon.maintenance_step(v_step) THEN
            RETURN; -- another caller is at work
        END IF;
        COMMIT;
    END LOOP;
END $$;
COMMENT ON PROCEDURE beacon.maintain() IS 'All scheduled work: the enabled steps of beacon.maintenance_steps in order (partitions ahead, retention, purges, rollups, refreshes, log purge), each in its own transaction — the partition step first and alone, so COPYs into beacon.events wait for it only. Call it as CALL beacon.maintain() outside an explicit transaction. Safe to call from many relays at once: a caller that finds another at work returns. A failing step is logged in beacon.maintenance_log and raised as a WARNING; the other steps still run.';
