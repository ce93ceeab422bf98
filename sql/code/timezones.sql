-- timezones: each project's time zone (beacon.projects.timezone, migration 007), the day boundary
-- of its daily figures, rollups and top lists.
--
-- Setting it: beacon.set_project_timezone (`beacon project set-tz`), `beacon project create --tz`,
-- or a plain UPDATE of beacon.projects. A trigger checks the name against pg_timezone_names (a
-- CHECK constraint may not read a catalog that changes with the tz database) and stores its
-- canonical spelling.
--
-- Changing it: everything counted per day (rollup_daily_dims, rollup_daily_ids, daily_stats) and,
-- for zones whose offset has a fraction of an hour, the hour buckets (rollup_hourly) were counted
-- with the old day boundaries. A trigger queues the project in beacon.timezone_recounts;
-- beacon.recount_timezones(), run at the start of every fold_rollups() (a maintain() step),
-- recounts it from its events:
--   1. no insert that read the old zone may commit after the change: the trigger that queues the
--      recount locks beacon.rollup_pending in SHARE mode, so the change waits for the inserts in
--      flight (each holds ROW EXCLUSIVE on it, taken by its trigger's statement before its
--      snapshot, until it commits) and holds new ones back until it commits — a few
--      milliseconds of ingest, or a refusal after 5 s (lock_timeout) when a transaction that
--      inserted events stays open;
--   2. in one statement it deletes the project's pending rollup rows and reads the time range of
--      its events; it deletes its rollup rows from the old zone's hour and day of its oldest event
--      on (older counts, whose events retention has deleted, stay on the old zone's days);
--   3. it replays the project's events one day of the new zone at a time through the very
--      trigger function that counts inserts (beacon.rollup_from_events, on a temp table), each day
--      in one statement that also deletes the pending rows of that day, so an event committed
--      meanwhile is counted once: by the replay or by its own pending rows;
--   4. fold_rollups then folds the replayed rows, marks their days dirty, and every day of the
--      project's daily_stats is recounted by the next refresh_daily().
-- Cost: one read of every event the project still keeps (a day per statement), rows written as a
-- day's batch of inserts would write. The rollup counts of events already deleted (retention,
-- beacon.delete_person) are not recounted: days before the oldest event kept keep the old zone's
-- boundaries, and the day that holds it keeps only the events still kept.

CREATE OR REPLACE FUNCTION beacon.check_project_timezone() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    canonical text;
BEGIN
    IF NEW.timezone = 'UTC' OR (TG_OP = 'UPDATE' AND NEW.timezone = OLD.timezone) THEN
        RETURN NEW;
    END IF;
    SELECT z.name INTO canonical FROM pg_catalog.pg_timezone_names z
    WHERE lower(z.name) = lower(NEW.timezone)
    ORDER BY z.name = NEW.timezone DESC, z.name
    LIMIT 1;
    IF canonical IS NULL THEN
        RAISE EXCEPTION 'unknown time zone %: use an IANA name from pg_timezone_names, e.g. America/Los_Angeles, Europe/Paris or UTC',
            quote_literal(NEW.timezone) USING ERRCODE = '22023';
    END IF;
    NEW.timezone := canonical;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION beacon.check_project_timezone() IS 'BEFORE INSERT/UPDATE trigger of beacon.projects: refuses (22023) a time zone that is not in pg_timezone_names and stores the canonical spelling of one given in another case.';

CREATE OR REPLACE TRIGGER projects_check_timezone BEFORE INSERT OR UPDATE OF timezone ON beacon.projects
    FOR EACH ROW EXECUTE FUNCTION beacon.check_project_timezone();
COMMENT ON TRIGGER projects_check_timezone ON beacon.projects IS 'Checks the project''s time zone against pg_timezone_names (beacon.check_project_timezone).';

CREATE OR REPLACE FUNCTION beacon.project_timezone_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET lock_timeout = '5s'
AS $$
BEGIN
    BEGIN
        LOCK TABLE beacon.rollup_pending IN SHARE MODE;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'time zone of project % not changed: inserts into beacon.events kept beacon.rollup_pending locked for 5 s (a transaction that inserted events left open?); try again', NEW.project_id
            USING ERRCODE = '55P03';
    END;
    INSERT INTO beacon.timezone_recounts AS q (project_id, old_timezone)
    VALUES (NEW.project_id, OLD.timezone)
    ON CONFLICT (project_id) DO UPDATE SET requested_at = now();
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.project_timezone_changed() IS 'AFTER UPDATE trigger of beacon.projects when its time zone changed: waits for the inserts in flight and holds new ones back until the change commits (SHARE lock on beacon.rollup_pending, 5 s at most), so none counts in the old zone after it, then queues the project in beacon.timezone_recounts (keeping the zone its rollups are counted in). Security definer: the dashboard role may update projects but not the queue.';

CREATE OR REPLACE TRIGGER projects_timezone_changed AFTER UPDATE OF timezone ON beacon.projects
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION beacon.project_timezone_changed();
COMMENT ON TRIGGER projects_timezone_changed ON beacon.projects IS 'Queues a recount of the project''s rollups in its new time zone (beacon.project_timezone_changed), whoever changed it.';

CREATE OR REPLACE FUNCTION beacon.set_project_timezone(p_project uuid, p_timezone text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    tz text;
BEGIN
    UPDATE beacon.projects p SET timezone = p_timezone WHERE p.project_id = p_project RETURNING p.timezone INTO tz;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no project %', p_project USING ERRCODE = 'P0002';
    END IF;
    RETURN tz;
END $$;
COMMENT ON FUNCTION beacon.set_project_timezone(uuid, text) IS 'Sets a project''s time zone (`beacon project set-tz`) and returns its canonical name; refuses an unknown zone (22023). Its rollups are recounted in the new zone by the next maintain() (beacon.recount_timezones; the cost is one read of the project''s events).';

CREATE OR REPLACE FUNCTION beacon.recount_timezones() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    IF NOT EXISTS (SELECT FROM beacon.timezone_recounts) THEN
        RETURN 0;
    END IF;
    -- The maintain() lock (re-entrant: maintenance_step holds it already): no fold runs meanwhile.
    -- A request row is locked while its project is recounted: a change of zone meanwhile waits
    -- (in its trigger), then queues the project again.
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, 1);
    FOR r IN
        SELECT q.project_id, q.old_timezone, p.timezone
        FROM beacon.timezone_recounts q JOIN beacon.projects p ON p.project_id = q.project_id
        ORDER BY q.project_id
        FOR UPDATE OF q
    LOOP
        n := n + beacon.recount_project(r.project_id, r.old_timezone, r.timezone);
        DELETE FROM beacon.timezone_recounts q WHERE q.project_id = r.project_id;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.recount_timezones() IS 'Recounts the rollups of the projects queued in beacon.timezone_recounts in their new time zone. Returns the events replayed. Called by fold_rollups().';

CREATE OR REPLACE FUNCTION beacon.recount_project(p_project uuid, p_old_tz text, p_tz text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_min  timestamptz;
    v_max  timestamptz;
    v_hour timestamptz;
    v_cut  date;
    v_day  date;
    v_lo   timestamptz;
    v_hi   timestamptz;
    v_rows bigint;
    n      bigint := 0;
BEGIN
    -- One statement, one snapshot: the pending rows deleted are those of the events it sees (a
    -- data-modifying WITH runs whether or not it is read).
    WITH gone AS (
        DELETE FROM beacon.rollup_pending r WHERE r.project_id = p_project RETURNING 1
    )
    SELECT min(e.ts), max(e.ts) INTO v_min, v_max
    FROM beacon.events e
    WHERE e.project_id = p_project AND isfinite(e.ts);
    IF v_min IS NULL THEN
        RETURN 0;
    END IF;
    -- The old zone's hour and day holding the oldest event kept: counted again from there on.
    v_hour := v_min - ((v_min AT TIME ZONE p_old_tz) - date_trunc('hour', v_min AT TIME ZONE p_old_tz));
    v_cut := (v_min AT TIME ZONE p_old_tz)::date;
    DELETE FROM beacon.rollup_hourly h WHERE h.project_id = p_project AND h.hour >= v_hour;
    DELETE FROM beacon.rollup_daily_dims d WHERE d.project_id = p_project AND d.day >= v_cut;
    DELETE FROM beacon.rollup_daily_ids i WHERE i.project_id = p_project AND i.day >= v_cut;
    INSERT INTO beacon.daily_dirty (project_id, day)
    SELECT s.project_id, s.day FROM beacon.daily_stats s WHERE s.project_id = p_project
    ON CONFLICT DO NOTHING;

    CREATE TEMP TABLE IF NOT EXISTS beacon_timezone_replay (LIKE beacon.event_row) ON COMMIT DROP;
    CREATE OR REPLACE TRIGGER events_rollup AFTER INSERT ON pg_temp.beacon_timezone_replay
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION beacon.rollup_from_events();
    FOR v_day IN SELECT generate_series((v_min AT TIME ZONE p_tz)::date, (v_max AT TIME ZONE p_tz)::date, interval '1 day')::date
    LOOP
        v_lo := v_day::timestamp AT TIME ZONE p_tz;
        v_hi := (v_day + 1)::timestamp AT TIME ZONE p_tz;
        WITH gone AS (
            DELETE FROM beacon.rollup_pending r
            WHERE r.project_id = p_project
              AND CASE WHEN r.kind = 'event' THEN r.bucket >= v_lo AND r.bucket < v_hi
                       ELSE r.bucket = v_day::timestamp AT TIME ZONE 'UTC' END
        )
        INSERT INTO pg_temp.beacon_timezone_replay (project_id, event_id, session_id, anon_id, user_id, name, props, ts, received_at)
        SELECT e.project_id, e.event_id, e.session_id, e.anon_id, e.user_id, e.name, e.props, e.ts, e.received_at
        FROM beacon.events e
        WHERE e.project_id = p_project AND e.ts >= v_lo AND e.ts < v_hi;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        n := n + v_rows;
        TRUNCATE pg_temp.beacon_timezone_replay;
    END LOOP;
    RAISE LOG 'beacon: recounted project % from % to % time zone: % events replayed', p_project, p_old_tz, p_tz, n;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.recount_project(uuid, text, text) IS 'Recounts one project''s rollups (hourly, daily dimensions, daily ids; daily_stats follows) in time zone p_tz from its events, replacing those counted in p_old_tz from the old zone''s hour and day of its oldest event kept. Replays the events a day at a time through beacon.rollup_from_events. Returns the events replayed. Called by beacon.recount_timezones().';
