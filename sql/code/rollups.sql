-- rollups: aggregates for the dashboard, kept incrementally.
--  1. The events_rollup trigger turns each inserted batch into a few pre-aggregated rows in
--     beacon.rollup_pending (insert only: concurrent writers never wait on each other's rollup rows,
--     and the rows commit or roll back with their events, so a batch is counted exactly once — the
--     relay's 23505 retry included), and adds its distinct ids per day to rollup_daily_ids.
--  2. beacon.fold_rollups() (a maintain() step) adds the pending rows into the rollup tables. Its
--     cost grows with the events inserted since the last run, not with history.
--  3. beacon.refresh_analytics() (code/freshness.sql: keep_fresh() every second, and a maintain()
--     step) recounts the changed days of daily_stats (code/daily.sql) and refreshes the
--     materialized views CONCURRENTLY.
-- Measurements behind the trigger's shape: docs/sql.md and docs/benchmarks.md.
--
-- Days and hours are those of each project's time zone (beacon.projects.timezone): a day is the
-- project's calendar day of ts, an hour starts where it starts in that zone (the UTC hour for
-- every zone with a whole-hour offset). A change of zone is recounted (code/timezones.sql).

CREATE OR REPLACE FUNCTION beacon.rollup_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH grouped AS (
        -- One pass over the batch, two groupings (one hash aggregate):
        --  by_hour:     project, hour, event name and ids — about one row per session and name;
        --  not by_hour: project, day and raw dimension values of the $pageviews (e.pageview keeps
        --               the other events, whose values are all NULL, in a group of their own).
        SELECT e.project_id, e.tz, e.hour, e.day, e.name, e.session_id, e.anon_id, e.user_id,
               e.pageview, e.page, e.referrer, e.site, e.browser, e.device, e.os,
               count(*) AS n,
               grouping(e.hour) = 0 AS by_hour
        FROM (
            -- UTC projects (most) take the cheap date_bin; others the start of the local hour
            -- (ts minus the minutes past the local hour: unambiguous across a DST change) and
            -- the local date, kept as midnight UTC of that date like a UTC day.
            SELECT n.project_id, n.name, n.session_id, n.anon_id, n.user_id, coalesce(pr.timezone, 'UTC') AS tz,
                   CASE WHEN pr.timezone IS NULL OR pr.timezone = 'UTC'
                        THEN date_bin('1 hour', n.ts, timestamptz '2000-01-01 00:00:00+00')
                        ELSE n.ts - ((n.ts AT TIME ZONE pr.timezone) - date_trunc('hour', n.ts AT TIME ZONE pr.timezone)) END AS hour,
                   CASE WHEN pr.timezone IS NULL OR pr.timezone = 'UTC'
                        THEN date_bin('1 day', n.ts, timestamptz '2000-01-01 00:00:00+00')
                        ELSE (n.ts AT TIME ZONE pr.timezone)::date::timestamp AT TIME ZONE 'UTC' END AS day,
                   n.name = '$pageview' AS pageview,
                   -- props are read for $pageviews only.
                   CASE WHEN n.name = '$pageview' THEN beacon.raw_page(n.props->>'path', n.props->>'url') END AS page,
                   CASE WHEN n.name = '$pageview' THEN n.props->>'referrer' END AS referrer,
                   CASE WHEN n.name = '$pageview' THEN beacon.site_of(n.props->>'url') END AS site,
                   CASE WHEN n.name = '$pageview' THEN coalesce(n.props->>'$browser', n.props->>'browser') END AS browser,
                   CASE WHEN n.name = '$pageview' THEN coalesce(n.props->>'$device', n.props->>'device') END AS device,
                   CASE WHEN n.name = '$pageview' THEN coalesce(n.props->>'$os', n.props->>'os') END AS os
            FROM new_events n
            LEFT JOIN beacon.projects pr ON pr.project_id = n.project_id
            WHERE isfinite(n.ts)
        ) e
        GROUP BY GROUPING SETS (
            (e.project_id, e.tz, e.hour, e.name, e.session_id, e.anon_id, e.user_id),
            (e.project_id, e.day, e.pageview, e.page, e.referrer, e.site, e.browser, e.device, e.os))
    ), pageviews AS (
        SELECT g.* FROM grouped g WHERE NOT g.by_hour AND g.pageview
    ), pending AS (
        -- Events per hour and name from the by_hour rows; $pageviews per day and value of each
        -- dimension. (A UNION ALL, not a lateral VALUES list: PostgreSQL would set that up again
        -- for every row of pageviews.)
        INSERT INTO beacon.rollup_pending (project_id, kind, bucket, key, n)
        SELECT g.project_id, 'event', g.hour, left(g.name, 200), sum(g.n)
        FROM grouped g
        WHERE g.by_hour
        GROUP BY 1, 3, 4
        UNION ALL
        SELECT d.project_id, d.kind, d.day, d.value, sum(d.n)
        FROM (
            SELECT p.project_id, p.day, p.n, 'page' AS kind, beacon.page_of(p.page, NULL) AS value FROM pageviews p
            UNION ALL
            SELECT p.project_id, p.day, p.n, 'referrer', beacon.referrer_of(p.referrer, p.site, p.project_id) FROM pageviews p
            UNION ALL
            SELECT p.project_id, p.day, p.n, 'browser', left(p.browser, 200) FROM pageviews p
            UNION ALL
            SELECT p.project_id, p.day, p.n, 'device', left(p.device, 200) FROM pageviews p
            UNION ALL
            SELECT p.project_id, p.day, p.n, 'os', left(p.os, 200) FROM pageviews p
        ) d
        WHERE d.value IS NOT NULL
        GROUP BY 1, 2, 3, 4
    )
    -- Daily ids from the by_hour rows. Key order, like the sessions upsert: concurrent writers
    -- inserting the same new ids wait for each other in one order and cannot deadlock.
    INSERT INTO beacon.rollup_daily_ids (project_id, day, kind, id)
    SELECT DISTINCT x.project_id, (x.hour AT TIME ZONE x.tz)::date, x.kind, x.id
    FROM (
        SELECT g.project_id, g.tz, g.hour, (CASE WHEN g.user_id IS NOT NULL THEN 'u' ELSE 'a' END)::"char" AS kind,
               coalesce(g.user_id, g.anon_id) AS id
        FROM grouped g
        WHERE g.by_hour AND (g.user_id IS NOT NULL OR g.anon_id <> '')
        UNION ALL
        SELECT g.project_id, g.tz, g.hour, 's', g.session_id
        FROM grouped g
        WHERE g.by_hour AND g.session_id <> ''
    ) x
    WHERE octet_length(x.id) <= 1000
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (project_id, day, kind, id) DO NOTHING;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.rollup_from_events() IS 'Statement-level AFTER INSERT trigger on beacon.events: appends the batch''s counts (events per hour and name; $pageview pages, referrers, browsers, devices, OSes per day) to beacon.rollup_pending, and adds its distinct user, anon and session ids per day to beacon.rollup_daily_ids; hours and days are those of each project''s time zone. Reads the transition table once (one hash aggregate, two grouping sets). Security definer so the ingest role needs no rights on them. Also replays a project''s events after a change of time zone (beacon.recount_project).';

CREATE OR REPLACE TRIGGER events_rollup AFTER INSERT ON beacon.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.rollup_from_events();
COMMENT ON TRIGGER events_rollup ON beacon.events IS 'Appends each inserted batch''s counts to beacon.rollup_pending and its ids to beacon.rollup_daily_ids (beacon.rollup_from_events). Statement-level: one pass per COPY.';

CREATE OR REPLACE FUNCTION beacon.fold_rollups() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    folded  bigint;
    v_since date := beacon.view_since();
BEGIN
    -- Projects whose time zone changed are recounted first: their pending rows are replaced by
    -- rows counted in the new zone, folded below.
    PERFORM beacon.recount_timezones();
    -- Rows are consumed and added in one transaction: rows a concurrent COPY commits meanwhile are
    -- not in this snapshot and wait for the next run. (The trigger no longer queues u/a/s rows —
    -- it writes rollup_daily_ids itself — but a database from before that change may hold some.)
    -- The days of the folded rows are the days whose daily figures changed: the insert trigger
    -- writes an 'event' row for every event whose ids it adds to rollup_daily_ids.
    WITH pending AS (
        DELETE FROM beacon.rollup_pending RETURNING *
    ), hourly AS (
        INSERT INTO beacon.rollup_hourly AS r (project_id, hour, name, events)
        SELECT p.project_id, p.bucket, p.key, sum(p.n) FROM pending p WHERE p.kind = 'event'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (project_id, hour, name) DO UPDATE SET events = r.events + excluded.events
    ), dims AS (
        INSERT INTO beacon.rollup_daily_dims AS r (project_id, day, dimension, value, pageviews)
        SELECT p.project_id, (p.bucket AT TIME ZONE 'UTC')::date, p.kind, p.key, sum(p.n) FROM pending p
        WHERE p.kind IN ('page', 'referrer', 'browser', 'device', 'os')
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 2, 4
        ON CONFLICT (project_id, dimension, day, value) DO UPDATE SET pageviews = r.pageviews + excluded.pageviews
    ), ids AS (
        INSERT INTO beacon.rollup_daily_ids (project_id, day, kind, id)
        SELECT DISTINCT p.project_id, (p.bucket AT TIME ZONE 'UTC')::date, p.kind::"char", p.key FROM pending p
        WHERE p.kind IN ('u', 'a', 's')
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (project_id, day, kind, id) DO NOTHING
    ), sessions AS (
        -- Start days (project's zone) of the sessions the batches touched: session_daily's recount.
        INSERT INTO beacon.session_dirty (project_id, day)
        SELECT DISTINCT p.project_id, (p.bucket AT TIME ZONE coalesce(pr.timezone, 'UTC'))::date
        FROM pending p LEFT JOIN beacon.projects pr ON pr.project_id = p.project_id
        WHERE p.kind = 'session'
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    ), dirty AS (
        -- An 'event' row's bucket is an hour: its day is the project's date of that hour.
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT DISTINCT x.project_id, x.day
        FROM (
            SELECT p.project_id,
                   (p.bucket AT TIME ZONE CASE WHEN p.kind = 'event' THEN coalesce(pr.timezone, 'UTC') ELSE 'UTC' END)::date AS day
            FROM pending p LEFT JOIN beacon.projects pr ON pr.project_id = p.project_id
            WHERE p.kind IN ('event', 'u', 'a', 's')
        ) x
        WHERE x.day >= v_since
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    )
    SELECT coalesce(sum(p.n), 0) INTO folded FROM pending p WHERE p.kind = 'event';
    IF folded > 0 THEN
        UPDATE beacon.rollup_state SET dirty = true;
    END IF;
    RETURN folded;
END $$;
COMMENT ON FUNCTION beacon.fold_rollups() IS 'Recounts projects whose time zone changed (beacon.recount_timezones), then adds the pending batch counts into beacon.rollup_hourly and rollup_daily_dims, marks their days of the window in beacon.daily_dirty (and the start days of the sessions touched in beacon.session_dirty), and empties beacon.rollup_pending. Returns the events folded: the work is proportional to events inserted since the last run. A maintain() step.';

CREATE OR REPLACE FUNCTION beacon.purge_rollup_ids() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n       bigint;
    v_since date := beacon.view_since();
BEGIN
    WITH gone AS (
        DELETE FROM beacon.rollup_daily_ids i
        USING beacon.project_retention() r
        JOIN beacon.projects p ON p.project_id = r.project_id
        WHERE i.project_id = r.project_id
          AND r.retention_days IS NOT NULL
          AND i.day < (now() AT TIME ZONE p.timezone)::date - r.retention_days
        RETURNING i.project_id, i.day
    ), days AS (
        SELECT g.project_id, g.day, count(*) AS n FROM gone g GROUP BY 1, 2
    ), dirty AS (
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT d.project_id, d.day FROM days d WHERE d.day >= v_since
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    )
    SELECT coalesce(sum(d.n), 0) INTO n FROM days d;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_rollup_ids() IS 'Deletes the daily id sets older than their project''s effective retention (they hold personal ids; the counts in the other rollups are kept), and marks those days of the window for recount in beacon.daily_dirty. Returns the rows deleted.';


