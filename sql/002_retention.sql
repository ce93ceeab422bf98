-- 002_retention: how long events are kept, and beacon.maintain() enforcing it.
--
-- Retention drops (or, if the operator prefers to archive, detaches) whole daily partitions of
-- beacon.events: never row-by-row deletes on the hot table. A project may override the global
-- setting. Partitions are dropped at the longest retention any project needs; a project that keeps
-- its events for less has its rows in those older, cold partitions deleted once per day (a
-- per-project watermark in beacon.retention_state makes each day's delete happen exactly once).
--
-- Irreversible: a dropped partition's events are gone. Set beacon.settings.retention_mode to
-- 'detach' to keep expired partitions as standalone tables for an archive instead.

-- Settings ---------------------------------------------------------------------------------------

CREATE TABLE beacon.settings (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    retention_days   int         DEFAULT 395 CHECK (retention_days >= 2),
    retention_mode   text        NOT NULL DEFAULT 'drop' CHECK (retention_mode IN ('drop', 'detach')),
    partitions_ahead int         NOT NULL DEFAULT 7 CHECK (partitions_ahead BETWEEN 1 AND 90),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO beacon.settings DEFAULT VALUES;
COMMENT ON TABLE beacon.settings IS 'Operator settings, one row. Change with a plain UPDATE beacon.settings SET …; beacon.maintain() reads them on its next run.';
COMMENT ON COLUMN beacon.settings.singleton IS 'Always true: the table holds exactly one row.';
COMMENT ON COLUMN beacon.settings.retention_days IS 'Days of events kept (whole UTC days before today); NULL keeps them forever. A project''s own retention_days overrides it.';
COMMENT ON COLUMN beacon.settings.retention_mode IS '''drop'' drops expired daily partitions; ''detach'' detaches them and leaves beacon.events_YYYYMMDD as a standalone table to archive (pg_dump -t) and drop by hand.';
COMMENT ON COLUMN beacon.settings.partitions_ahead IS 'Daily partitions of beacon.events created ahead of today.';
COMMENT ON COLUMN beacon.settings.updated_at IS 'Last change of this row.';

CREATE TRIGGER settings_touch BEFORE UPDATE ON beacon.settings
    FOR EACH ROW EXECUTE FUNCTION beacon.touch_updated_at();

ALTER TABLE beacon.projects ADD COLUMN retention_days int CHECK (retention_days >= 2);
COMMENT ON COLUMN beacon.projects.retention_days IS 'Days of this project''s events kept; NULL follows beacon.settings.retention_days. Shorter than the global value: rows are deleted from cold partitions once per day; longer: partitions are kept longer for everyone and the other projects'' rows deleted from them.';
COMMENT ON COLUMN beacon.projects.name IS 'Display name, 1–200 characters.';
COMMENT ON COLUMN beacon.projects.project_id IS 'Project id, the project= parameter of every client.';
COMMENT ON COLUMN beacon.projects.created_at IS 'When the project was created.';

CREATE TABLE beacon.retention_state (
    project_id    uuid        PRIMARY KEY REFERENCES beacon.projects ON DELETE CASCADE,
    purged_before timestamptz NOT NULL
);
COMMENT ON TABLE beacon.retention_state IS 'Per project, the time before which its events have already been deleted by a per-project retention, so each expired day is deleted once.';
COMMENT ON COLUMN beacon.retention_state.purged_before IS 'Events of the project with ts before this time have been deleted.';

-- What maintenance did ---------------------------------------------------------------------------

CREATE TABLE beacon.maintenance_log (
    log_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_at   timestamptz NOT NULL DEFAULT now(),
    step     text        NOT NULL,
    rows     bigint,
    duration interval    NOT NULL,
    error    text
);
CREATE INDEX maintenance_log_run_at ON beacon.maintenance_log (run_at);
COMMENT ON TABLE beacon.maintenance_log IS 'Steps of beacon.maintain() that did something or failed, kept 30 days. A failing step is logged here (and raised as a WARNING) without stopping the other steps.';
COMMENT ON COLUMN beacon.maintenance_log.run_at IS 'Start of the maintain() transaction.';
COMMENT ON COLUMN beacon.maintenance_log.step IS 'partitions, retention, purge, rollup, refresh, …';
COMMENT ON COLUMN beacon.maintenance_log.rows IS 'Rows or objects the step handled (partitions made, partitions dropped, rows deleted, events rolled up, …).';
COMMENT ON COLUMN beacon.maintenance_log.duration IS 'Wall time of the step.';
COMMENT ON COLUMN beacon.maintenance_log.error IS 'Error message when the step failed; NULL on success.';

CREATE FUNCTION beacon.log_step(p_step text, p_rows bigint, p_started timestamptz, p_error text DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO beacon.maintenance_log (step, rows, duration, error)
    SELECT p_step, p_rows, clock_timestamp() - p_started, p_error
    WHERE p_error IS NOT NULL OR coalesce(p_rows, 0) > 0
$$;
COMMENT ON FUNCTION beacon.log_step(text, bigint, timestamptz, text) IS 'Records one step of beacon.maintain() in beacon.maintenance_log when it handled rows or failed.';

-- Retention --------------------------------------------------------------------------------------

CREATE FUNCTION beacon.day_start(p_days_ago int) RETURNS timestamptz
LANGUAGE sql STABLE STRICT AS $$
    SELECT (((now() AT TIME ZONE 'UTC')::date - p_days_ago)::timestamp AT TIME ZONE 'UTC')
$$;
COMMENT ON FUNCTION beacon.day_start(int) IS 'Midnight UTC p_days_ago days before today: the retention cutoff for p_days_ago days.';

CREATE FUNCTION beacon.project_retention()
RETURNS TABLE (project_id uuid, retention_days int)
LANGUAGE sql STABLE AS $$
    SELECT p.project_id, coalesce(p.retention_days, s.retention_days)
    FROM beacon.projects p CROSS JOIN beacon.settings s
$$;
COMMENT ON FUNCTION beacon.project_retention() IS 'Effective retention of every project in days (its own, else the global setting); NULL keeps forever.';

CREATE FUNCTION beacon.partition_retention_days() RETURNS int
LANGUAGE sql STABLE AS $$
    -- The longest retention anyone needs; NULL (forever) wins. The global value always counts: it
    -- covers projects without an override and events of unknown projects.
    SELECT CASE WHEN bool_or(d IS NULL) THEN NULL ELSE max(d) END
    FROM (SELECT s.retention_days AS d FROM beacon.settings s
          UNION ALL
          SELECT p.retention_days FROM beacon.projects p WHERE p.retention_days IS NOT NULL) x
$$;
COMMENT ON FUNCTION beacon.partition_retention_days() IS 'Days whole partitions are kept: the longest effective retention of any project or the global setting; NULL keeps forever.';

CREATE FUNCTION beacon.drop_expired_partitions() RETURNS int
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

CREATE FUNCTION beacon.purge_project_events() RETURNS bigint
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

-- Scheduled work ---------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.maintain() RETURNS void
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
    t0 timestamptz;
    n  bigint;
BEGIN
    -- Several relays call this on a ticker; the transaction-scoped advisory lock makes one of them
    -- do the work and the others return at once.
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('beacon.maintain')) THEN
        RETURN;
    END IF;

    -- Each step runs in its own subtransaction: one that fails (say, a lock it waited 5 s for) is
    -- logged and the others still run; the next call retries it.
    t0 := clock_timestamp();
    BEGIN
        n := beacon.ensure_partitions(1, (SELECT s.partitions_ahead FROM beacon.settings s));
        PERFORM beacon.log_step('partitions', n, t0);
    EXCEPTION WHEN OTHERS THEN
        PERFORM beacon.log_step('partitions', NULL, t0, SQLERRM);
        RAISE WARNING 'beacon.maintain: partitions: %', SQLERRM;
    END;

    t0 := clock_timestamp();
    BEGIN
        n := beacon.drop_expired_partitions();
        PERFORM beacon.log_step('retention', n, t0);
    EXCEPTION WHEN OTHERS THEN
        PERFORM beacon.log_step('retention', NULL, t0, SQLERRM);
        RAISE WARNING 'beacon.maintain: retention: %', SQLERRM;
    END;

    t0 := clock_timestamp();
    BEGIN
        n := beacon.purge_project_events();
        PERFORM beacon.log_step('purge', n, t0);
    EXCEPTION WHEN OTHERS THEN
        PERFORM beacon.log_step('purge', NULL, t0, SQLERRM);
        RAISE WARNING 'beacon.maintain: purge: %', SQLERRM;
    END;

    DELETE FROM beacon.maintenance_log WHERE run_at < now() - interval '30 days';
END $$;
COMMENT ON FUNCTION beacon.maintain() IS 'All scheduled work: partitions ahead, retention (drop expired partitions, per-project purges). Safe to call from many relays at once: only the caller that takes the advisory lock works, the others return at once. Failing steps are logged in beacon.maintenance_log and raised as WARNINGs.';
