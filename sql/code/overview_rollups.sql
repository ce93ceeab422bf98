-- overview_rollups: the stored figures the overview reads besides the rollups (migration 013).
--
--  * beacon.session_daily: sessions per start day and entry page / source / browser / os / device.
--    The sessions trigger (code/sessions.sql) queues a 'session' row in rollup_pending for the
--    start of every session a batch touched (15-minute bins: any zone's midnight is on one);
--    fold_rollups() turns them into beacon.session_dirty days; refresh_session_daily() (a step of
--    refresh_analytics(), source sessions) recounts those days from beacon.sessions (index on
--    project_id, first_seen), and every day of a project whose zone changed.
--  * beacon.period_stats: distinct visitors of the last 7 and 30 days and of the periods before
--    them, per project, counted from the daily id sets by refresh_period_stats() (source periods),
--    paced by its own cost like the other aggregates (beacon.refresh_due).

CREATE OR REPLACE FUNCTION beacon.recount_session_filters(p_project uuid, p_day date) RETURNS void
LANGUAGE plpgsql
SET work_mem = '64MB' -- a day's sessions' events, grouped by the sessions' dimensions, hashed
AS $$
DECLARE
    v_tz   text;
    v_lo   timestamptz;
    v_hi   timestamptz;
    v_last timestamptz;
BEGIN
    DELETE FROM beacon.session_filter_daily d WHERE d.project_id = p_project AND d.start_day = p_day;
    DELETE FROM beacon.session_filter_ids d WHERE d.project_id = p_project AND d.start_day = p_day;
    SELECT p.timezone INTO v_tz FROM beacon.projects p WHERE p.project_id = p_project;
    IF v_tz IS NULL THEN
        RETURN;
    END IF;
    v_lo := p_day::timestamp AT TIME ZONE v_tz;
    v_hi := (p_day + 1)::timestamp AT TIME ZONE v_tz;
    SELECT max(s.last_seen) INTO v_last FROM beacon.sessions s
    WHERE s.project_id = p_project AND s.first_seen >= v_lo AND s.first_seen < v_hi;
    IF v_last IS NULL THEN
        RETURN;
    END IF;
    -- The day's sessions with a dimension set, and their events (ts between the day's start and
    -- the last session's end: partitions pruned), grouped once by every dimension and item before
    -- they are spread over the five dimensions.
    WITH ss AS MATERIALIZED (
        SELECT s.session_id, s.entry_page, s.source, s.browser, s.os, s.device
        FROM beacon.sessions s
        WHERE s.project_id = p_project AND s.first_seen >= v_lo AND s.first_seen < v_hi
          AND num_nonnulls(s.entry_page, s.source, s.browser, s.os, s.device) > 0
    ), ev AS MATERIALIZED (
        SELECT ss.entry_page, ss.source, ss.browser, ss.os, ss.device, (e.ts AT TIME ZONE v_tz)::date AS day,
               left(e.name, 200) AS name,
               CASE WHEN e.name = '$pageview' THEN beacon.page_of(e.props->>'path', e.props->>'url') END AS page,
               CASE WHEN e.name = '$pageview' THEN left(coalesce(e.props->>'$browser', e.props->>'browser'), 200) END AS e_browser,
               CASE WHEN e.name = '$pageview' THEN left(coalesce(e.props->>'$os', e.props->>'os'), 200) END AS e_os,
               CASE WHEN e.name = '$pageview' THEN left(coalesce(e.props->>'$device', e.props->>'device'), 200) END AS e_device,
               CASE WHEN octet_length(coalesce(e.user_id, e.anon_id)) > 1000 THEN NULL
                    WHEN e.user_id IS NOT NULL THEN 'u' WHEN e.anon_id <> '' THEN 'a' END::"char" AS kind,
               coalesce(e.user_id, e.anon_id) AS id
        FROM beacon.events e
        JOIN ss ON ss.session_id = e.session_id
        WHERE e.project_id = p_project AND e.ts >= v_lo AND e.ts <= v_last
    ), items AS (
        SELECT ev.entry_page, ev.source, ev.browser, ev.os, ev.device, ev.day, t.target, t.item, count(*) AS n
        FROM ev
        CROSS JOIN LATERAL (VALUES ('name', ev.name), ('page', ev.page), ('browser', ev.e_browser),
                                   ('os', ev.e_os), ('device', ev.e_device)) t (target, item)
        WHERE t.item IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        UNION ALL
        SELECT ss.entry_page, ss.source, ss.browser, ss.os, ss.device, p_day, t.target, t.item, count(*)
        FROM ss
        CROSS JOIN LATERAL (VALUES ('entry_page', ss.entry_page), ('source', ss.source)) t (target, item)
        WHERE t.item IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 7, 8
    ), ids AS (
        INSERT INTO beacon.session_filter_ids (project_id, dimension, value, day, kind, id, start_day)
        SELECT DISTINCT p_project, d.dimension, d.value, x.day, x.kind, x.id, p_day
        FROM (SELECT DISTINCT ev.entry_page, ev.source, ev.browser, ev.os, ev.device, ev.day, ev.kind, ev.id
              FROM ev WHERE ev.kind IS NOT NULL) x
        CROSS JOIN LATERAL (VALUES ('entry_page', x.entry_page), ('source', x.source), ('browser', x.browser),
                                   ('os', x.os), ('device', x.device)) d (dimension, value)
        WHERE d.value IS NOT NULL
    )
    INSERT INTO beacon.session_filter_daily (project_id, dimension, value, day, target, item, start_day, n)
    SELECT p_project, d.dimension, d.value, i.day, i.target, i.item, p_day, sum(i.n)
    FROM items i
    CROSS JOIN LATERAL (VALUES ('entry_page', i.entry_page), ('source', i.source), ('browser', i.browser),
                               ('os', i.os), ('device', i.device)) d (dimension, value)
    WHERE d.value IS NOT NULL
    GROUP BY 2, 3, 4, 5, 6;
END $$;
COMMENT ON FUNCTION beacon.recount_session_filters(uuid, date) IS 'Recounts the rows of beacon.session_filter_daily and session_filter_ids of the sessions of a project that started on p_day (its time zone): from those sessions (beacon.sessions) and their events (beacon.events from the day''s start to the last session''s end). Called by beacon.refresh_session_daily() for each day it recounts.';

CREATE OR REPLACE FUNCTION beacon.refresh_session_daily() RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '64MB' -- a day's sessions times six dimensions, hashed
AS $$
DECLARE
    v_ps uuid[];
    v_ds date[];
BEGIN
    -- Projects counted in another zone than theirs (or not yet): all their days again.
    WITH moved AS (
        SELECT p.project_id, p.timezone FROM beacon.projects p
        LEFT JOIN beacon.session_daily_zones z ON z.project_id = p.project_id
        WHERE z.timezone IS DISTINCT FROM p.timezone
    ), gone AS (
        DELETE FROM beacon.session_daily d USING moved m WHERE d.project_id = m.project_id
    ), gone_f AS (
        DELETE FROM beacon.session_filter_daily d USING moved m WHERE d.project_id = m.project_id
    ), gone_i AS (
        DELETE FROM beacon.session_filter_ids d USING moved m WHERE d.project_id = m.project_id
    ), zones AS (
        INSERT INTO beacon.session_daily_zones AS z (project_id, timezone)
        SELECT m.project_id, m.timezone FROM moved m
        ON CONFLICT (project_id) DO UPDATE SET timezone = excluded.timezone
    )
    INSERT INTO beacon.session_dirty (project_id, day)
    SELECT DISTINCT s.project_id, (s.first_seen AT TIME ZONE m.timezone)::date
    FROM moved m JOIN beacon.sessions s ON s.project_id = m.project_id
    WHERE isfinite(s.first_seen)
    ON CONFLICT DO NOTHING;

    WITH q AS (
        DELETE FROM beacon.session_dirty RETURNING project_id, day
    )
    SELECT array_agg(q.project_id ORDER BY q.project_id, q.day), array_agg(q.day ORDER BY q.project_id, q.day)
    INTO v_ps, v_ds
    FROM q;
    IF v_ps IS NULL THEN
        RETURN 0;
    END IF;

    DELETE FROM beacon.session_daily d
    USING unnest(v_ps, v_ds) x (project_id, day)
    WHERE d.project_id = x.project_id AND d.day = x.day;

    INSERT INTO beacon.session_daily (project_id, day, dimension, value, sessions, sessions_with_pageviews,
        pageviews, bounces, duration_seconds)
    SELECT g.project_id, g.day, g.dimension, g.value, count(*), count(*) FILTER (WHERE g.pageviews > 0),
           coalesce(sum(g.pageviews) FILTER (WHERE g.pageviews > 0), 0),
           count(*) FILTER (WHERE g.pageviews > 0 AND g.event_count = 1),
           coalesce(sum(g.duration), 0)
    FROM (
        SELECT x.project_id, x.day, d.dimension, d.value, coalesce(s.pageviews, 0) AS pageviews, s.event_count,
               extract(epoch FROM s.duration) AS duration
        FROM (
            -- The day's bounds first, so each day is one range of the (project_id, first_seen) index.
            SELECT x.project_id, x.day, x.day::timestamp AT TIME ZONE p.timezone AS lo,
                   (x.day + 1)::timestamp AT TIME ZONE p.timezone AS hi
            FROM unnest(v_ps, v_ds) x (project_id, day)
            JOIN beacon.projects p ON p.project_id = x.project_id
        ) x
        CROSS JOIN LATERAL (
            SELECT s.* FROM beacon.sessions s
            WHERE s.project_id = x.project_id AND s.first_seen >= x.lo AND s.first_seen < x.hi
            OFFSET 0
        ) s
        CROSS JOIN LATERAL (VALUES ('all', ''), ('entry_page', s.entry_page), ('source', s.source),
                                   ('browser', s.browser), ('os', s.os), ('device', s.device)) d (dimension, value)
        WHERE d.value IS NOT NULL
    ) g
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 3, 2, 4;

    -- The filtered overview's figures of the same start days, one day at a time.
    FOR i IN 1 .. cardinality(v_ps) LOOP
        PERFORM beacon.recount_session_filters(v_ps[i], v_ds[i]);
    END LOOP;
    RETURN cardinality(v_ps);
END $$;
COMMENT ON FUNCTION beacon.refresh_session_daily() IS 'Brings beacon.session_daily (and, day by day through beacon.recount_session_filters, session_filter_daily and session_filter_ids) up to date: every day of a project whose zone changed (or that was never counted, beacon.session_daily_zones), and the days in beacon.session_dirty, recounted from beacon.sessions. Returns the (project, day) pairs recounted. Called by refresh_analytics() (source sessions).';

CREATE OR REPLACE FUNCTION beacon.refresh_period_stats() RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '64MB'
AS $$
DECLARE
    v_p     record;
    v_today date;
    c       record;
    v_prev  bigint;
BEGIN
    DELETE FROM beacon.period_stats ps
    WHERE NOT EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = ps.project_id);
    FOR v_p IN SELECT pr.project_id, pr.timezone FROM beacon.projects pr ORDER BY pr.project_id LOOP
        v_today := (now() AT TIME ZONE v_p.timezone)::date;
        -- One pass over the last 30 days: each visitor's last day and whether they came in the 7
        -- days before the last 7.
        SELECT count(*) AS v30, count(*) FILTER (WHERE x.last_day >= v_today - 6) AS v7,
               count(*) FILTER (WHERE x.in_prev7) AS vprev7
        INTO c
        FROM (SELECT v.visitor, max(v.day) AS last_day, bool_or(v.day BETWEEN v_today - 13 AND v_today - 7) AS in_prev7
              FROM beacon.overview_people(v_p.project_id, v_today - 29, v_today) v
              GROUP BY v.visitor) x;
        v_prev := beacon.overview_visitors(v_p.project_id, v_today - 59, v_today - 30);
        DELETE FROM beacon.period_stats ps WHERE ps.project_id = v_p.project_id;
        INSERT INTO beacon.period_stats (project_id, first_day, last_day, visitors, as_of) VALUES
            (v_p.project_id, v_today - 59, v_today - 30, v_prev, now()),
            (v_p.project_id, v_today - 29, v_today, c.v30, now()),
            (v_p.project_id, v_today - 13, v_today - 7, c.vprev7, now()),
            (v_p.project_id, v_today - 6, v_today, c.v7, now());
    END LOOP;
    RETURN (SELECT count(*) FROM beacon.period_stats);
END $$;
COMMENT ON FUNCTION beacon.refresh_period_stats() IS 'Recounts beacon.period_stats: for every project, distinct visitors of the last 30 days, the last 7 and the 7 before them in one pass over the last 30 days'' id sets, and of the 30 days before (beacon.overview_people, aliases and merges resolved now). Called by refresh_analytics() (source periods), paced by its cost. Returns the rows written.';
