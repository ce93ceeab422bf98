-- maintenance: the scheduled work — partitions ahead, retention, purges, rollups, refreshes — run
-- by the procedure beacon.maintain(), one step per transaction.
--
-- beacon.maintain() is a PROCEDURE, called `CALL beacon.maintain()` outside an explicit
-- transaction. It COMMITs after each step, so the partition step's short SHARE lock on
-- beacon.events (ATTACH PARTITION, see attach_day_partitions) is held only while partitions are
-- made, not through the rollups and refreshes: COPYs from the relays wait for that step alone. Each step runs in
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

CREATE OR REPLACE FUNCTION beacon.partition_bounds(p_day date, OUT lo timestamptz, OUT hi timestamptz)
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT p_day::timestamp AT TIME ZONE 'UTC', (p_day + 1)::timestamp AT TIME ZONE 'UTC'
$$;
COMMENT ON FUNCTION beacon.partition_bounds(date) IS 'Bounds [lo, hi) of the daily partition of beacon.events holding p_day: its UTC midnight and the next.';

CREATE OR REPLACE FUNCTION beacon.move_default_rows(p_days date[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    d date;
    b record;
BEGIN
    -- One pass over events_default whatever the number of days (it is scanned whole: its only
    -- index on ts is the BRIN, which a backfill's interleaved days defeat), then one index range
    -- per day over the rows taken out.
    IF to_regclass('pg_temp.beacon_partition_moves') IS NULL THEN
        CREATE TEMP TABLE beacon_partition_moves (LIKE beacon.events) ON COMMIT DROP;
        CREATE INDEX beacon_partition_moves_ts ON pg_temp.beacon_partition_moves (ts);
    END IF;
    TRUNCATE pg_temp.beacon_partition_moves;
    WITH m AS (
        DELETE FROM beacon.events_default e
        WHERE e.ts >= (beacon.partition_bounds(p_days[1])).lo
          AND e.ts < (beacon.partition_bounds(p_days[cardinality(p_days)])).hi
          AND (e.ts AT TIME ZONE 'UTC')::date = ANY (p_days)
        RETURNING *)
    INSERT INTO pg_temp.beacon_partition_moves SELECT * FROM m;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    ANALYZE pg_temp.beacon_partition_moves;
    FOR d IN SELECT DISTINCT (m.ts AT TIME ZONE 'UTC')::date FROM pg_temp.beacon_partition_moves m LOOP
        SELECT * INTO b FROM beacon.partition_bounds(d);
        EXECUTE format('INSERT INTO beacon.%I SELECT * FROM pg_temp.beacon_partition_moves WHERE ts >= $1 AND ts < $2',
                       beacon.partition_name(d)) USING b.lo, b.hi;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.move_default_rows(date[]) IS 'Moves the rows beacon.events_default holds for p_days (sorted, each with its standalone table beacon.events_YYYYMMDD made by beacon.attach_day_partitions) into those tables: one pass over events_default through a temp table. Returns the rows moved.';

-- How a day gets its partition without blocking ingest (beacon.attach_day_partitions):
--   1. unlocked: each day is a standalone table (LIKE beacon.events, its indexes, and a CHECK of its
--      range so ATTACH need not scan it); the rows beacon.events_default caught for those days are
--      moved in (beacon.move_default_rows, one pass). Only ROW EXCLUSIVE on events_default: COPYs
--      go on committing (rows for those days still land in the default partition meanwhile).
--   2. locked, short: SHARE on beacon.events (waits for the COPYs in flight, holds new ones back;
--      readers go on) and ACCESS EXCLUSIVE on events_default; the rows that arrived during step 1
--      are moved in one more pass, a CHECK on events_default saying it holds none of those days is
--      validated in another (so no ATTACH scans it again: one scan, not one per day), every table
--      is attached, and both CHECKs are dropped. The SHARE lock is what keeps a COPY that began
--      before the ATTACH from routing a row of the new day into events_default afterwards
--      (PostgreSQL would fail that COPY on the default's new partition constraint).
CREATE OR REPLACE FUNCTION beacon.attach_day_partitions(p_days date[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    days   date[];
    d      date;
    b      record;
    part   text;
    excl   text;
BEGIN
    -- Days with a name of 8 digits (years 1–9999) and no relation of that name yet. A standalone
    -- table of that name (a partition detached by retention_mode 'detach') is left alone: its day
    -- stays in events_default.
    SELECT coalesce(array_agg(x ORDER BY x), '{}') INTO days
    FROM (SELECT DISTINCT x FROM unnest(p_days) x) u
    WHERE x BETWEEN date '0001-01-01' AND date '9999-12-31'
      AND to_regclass(format('beacon.%I', beacon.partition_name(x))) IS NULL;
    IF cardinality(days) = 0 THEN
        RETURN 0;
    END IF;

    -- 1. Unlocked: the standalone tables, and the rows events_default holds for them.
    FOREACH d IN ARRAY days LOOP
        SELECT * INTO b FROM beacon.partition_bounds(d);
        EXECUTE format('CREATE TABLE beacon.%I (LIKE beacon.events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMPRESSION,'
                       ' CONSTRAINT beacon_attach_range CHECK (ts >= %L AND ts < %L))', beacon.partition_name(d), b.lo, b.hi);
    END LOOP;
    PERFORM beacon.move_default_rows(days);

    -- 2. Locked: the stragglers, the default's CHECK, the ATTACHes.
    LOCK TABLE beacon.events IN SHARE MODE;
    LOCK TABLE beacon.events_default IN ACCESS EXCLUSIVE MODE;
    PERFORM beacon.move_default_rows(days);
    SELECT string_agg(format('(ts < %L OR ts >= %L)', (beacon.partition_bounds(x)).lo, (beacon.partition_bounds(x)).hi), ' AND ')
    INTO excl FROM unnest(days) x;
    EXECUTE format('ALTER TABLE beacon.events_default ADD CONSTRAINT beacon_attach_excl CHECK (%s)', excl);
    FOREACH d IN ARRAY days LOOP
        part := beacon.partition_name(d);
        SELECT * INTO b FROM beacon.partition_bounds(d);
        EXECUTE format('ALTER TABLE beacon.events ATTACH PARTITION beacon.%I FOR VALUES FROM (%L) TO (%L)', part, b.lo, b.hi);
        EXECUTE format('ALTER TABLE beacon.%I DROP CONSTRAINT beacon_attach_range', part);
    END LOOP;
    ALTER TABLE beacon.events_default DROP CONSTRAINT beacon_attach_excl;
    RETURN cardinality(days);
END $$;
COMMENT ON FUNCTION beacon.attach_day_partitions(date[]) IS 'Makes the daily partitions of beacon.events for p_days that do not exist yet (years 1–9999), moving the rows beacon.events_default caught for them: first into standalone tables without blocking COPY, then, under a short SHARE lock on beacon.events, the rows that arrived meanwhile, and ATTACH. Returns how many it made.';

CREATE OR REPLACE FUNCTION beacon.ensure_partitions(p_days_back int DEFAULT 1, p_days_ahead int DEFAULT 7)
RETURNS int
LANGUAGE sql AS $$
    SELECT beacon.attach_day_partitions(array(
        SELECT generate_series((now() AT TIME ZONE 'UTC')::date - p_days_back,
                               (now() AT TIME ZONE 'UTC')::date + p_days_ahead, '1 day')::date))
$$;
COMMENT ON FUNCTION beacon.ensure_partitions(int, int) IS 'Creates the daily partitions of beacon.events from p_days_back days ago to p_days_ahead days ahead (UTC) that do not exist yet, moving any rows the default partition caught for those days (beacon.attach_day_partitions). Returns how many it made.';

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

CREATE OR REPLACE FUNCTION beacon.backfilled_days() RETURNS date[]
LANGUAGE sql STABLE AS $$
    -- Past days only: a day ahead of the partitions_ahead window gets its partition when it comes
    -- into it. A day older than retention gets none (it would be dropped at once): its rows are
    -- deleted by the retention step.
    SELECT coalesce(array_agg(DISTINCT (e.ts AT TIME ZONE 'UTC')::date), '{}')
    FROM beacon.events_default e
    WHERE e.ts < beacon.day_start(0)
      AND e.ts >= coalesce(beacon.day_start(beacon.partition_retention_days()), '-infinity')
$$;
COMMENT ON FUNCTION beacon.backfilled_days() IS 'Past UTC days (before today) within beacon.partition_retention_days() for which beacon.events_default holds events: the days of a backfill or an import that still lack a partition.';

CREATE OR REPLACE FUNCTION beacon.make_partitions() RETURNS bigint
LANGUAGE sql AS $$
    SELECT beacon.attach_day_partitions(array(
        SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 1,
                               (now() AT TIME ZONE 'UTC')::date + (SELECT s.partitions_ahead FROM beacon.settings s),
                               '1 day')::date
        UNION
        SELECT unnest(beacon.backfilled_days())))
$$;
COMMENT ON FUNCTION beacon.make_partitions() IS 'The partitions step of beacon.maintain(): daily partitions from yesterday to beacon.settings.partitions_ahead days ahead, and one for every past day within retention that received events (beacon.backfilled_days), their rows moved out of beacon.events_default (beacon.attach_day_partitions).';

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
    DELETE FROM beacon.maintenance_runs r WHERE r.started_at < now() - interval '30 days';
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_maintenance_log() IS 'Deletes beacon.maintenance_log and beacon.maintenance_runs rows older than 30 days. Returns the log rows deleted. A maintain() step.';

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

CREATE OR REPLACE FUNCTION beacon.claim_maintenance(p_every interval) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    -- Claimers queue on the table lock for the few microseconds of the check; readers are not
    -- blocked. 90 %: the relays' tickers drift, and a run that started a little less than one
    -- interval ago must not cost the next one a whole interval.
    LOCK TABLE beacon.maintenance_runs IN EXCLUSIVE MODE;
    IF EXISTS (SELECT FROM beacon.maintenance_runs r
               WHERE r.started_at > clock_timestamp() - p_every * 0.9) THEN
        RETURN NULL;
    END IF;
    INSERT INTO beacon.maintenance_runs (every) VALUES (p_every) RETURNING run_id INTO v_id;
    RETURN v_id;
END $$;
COMMENT ON FUNCTION beacon.claim_maintenance(interval) IS 'Claims the current maintenance interval: records a run in beacon.maintenance_runs and returns its id, or NULL when another run started within 90 % of p_every (another relay has this interval). Called by beacon.maintain_scheduled().';

CREATE OR REPLACE FUNCTION beacon.finish_maintenance(p_run bigint) RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE beacon.maintenance_runs SET finished_at = clock_timestamp() WHERE run_id = p_run
$$;
COMMENT ON FUNCTION beacon.finish_maintenance(bigint) IS 'Marks a scheduled run finished. Called by beacon.maintain_scheduled().';

CREATE OR REPLACE PROCEDURE beacon.maintain_scheduled(p_every interval)
LANGUAGE plpgsql AS $$
DECLARE
    v_run bigint;
BEGIN
    -- Like maintain(): no SET clause and no SECURITY DEFINER, which would forbid the COMMITs.
    v_run := beacon.claim_maintenance(p_every);
    IF v_run IS NULL THEN
        RETURN;
    END IF;
    COMMIT; -- the claim is visible to the other relays before the work starts
    CALL beacon.maintain();
    PERFORM beacon.finish_maintenance(v_run);
END $$;
COMMENT ON PROCEDURE beacon.maintain_scheduled(interval) IS 'What each relay calls every MAINTAIN_INTERVAL (p_every): runs beacon.maintain() when no scheduled run started within 90 % of p_every, so N relays run it once per interval, not N times. Each run is a row of beacon.maintenance_runs. Call it as CALL beacon.maintain_scheduled(...) outside an explicit transaction.';
