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

CREATE OR REPLACE FUNCTION beacon.refresh_session_daily() RETURNS bigint
LANGUAGE plpgsql AS $$
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
        FROM unnest(v_ps, v_ds) x (project_id, day)
        JOIN beacon.projects p ON p.project_id = x.project_id
        JOIN beacon.sessions s ON s.project_id = x.project_id
                              AND s.first_seen >= x.day::timestamp AT TIME ZONE p.timezone
                              AND s.first_seen < (x.day + 1)::timestamp AT TIME ZONE p.timezone
        CROSS JOIN LATERAL (VALUES ('all', ''), ('entry_page', s.entry_page), ('source', s.source),
                                   ('browser', s.browser), ('os', s.os), ('device', s.device)) d (dimension, value)
        WHERE d.value IS NOT NULL
    ) g
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 3, 2, 4;
    RETURN cardinality(v_ps);
END $$;
COMMENT ON FUNCTION beacon.refresh_session_daily() IS 'Brings beacon.session_daily up to date: every day of a project whose zone changed (or that was never counted, beacon.session_daily_zones), and the days in beacon.session_dirty, recounted from beacon.sessions. Returns the (project, day) pairs recounted. Called by refresh_analytics() (source sessions).';

CREATE OR REPLACE FUNCTION beacon.refresh_period_stats() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
BEGIN
    -- Periods of each project's today: last 7 and 30 days and the ones before.
    WITH periods AS (
        SELECT p.project_id, x.first_day, x.last_day
        FROM beacon.projects p
        CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE p.timezone)::date AS today) t
        CROSS JOIN LATERAL (VALUES (t.today - 6, t.today), (t.today - 13, t.today - 7),
                                   (t.today - 29, t.today), (t.today - 59, t.today - 30)) x (first_day, last_day)
    ), gone AS (
        DELETE FROM beacon.period_stats ps
        WHERE NOT EXISTS (SELECT FROM periods w WHERE w.project_id = ps.project_id
                          AND w.first_day = ps.first_day AND w.last_day = ps.last_day)
    )
    INSERT INTO beacon.period_stats AS ps (project_id, first_day, last_day, visitors, as_of)
    SELECT w.project_id, w.first_day, w.last_day, beacon.overview_visitors(w.project_id, w.first_day, w.last_day), now()
    FROM periods w
    ORDER BY 1, 2, 3
    ON CONFLICT (project_id, first_day, last_day) DO UPDATE SET visitors = excluded.visitors, as_of = excluded.as_of;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION beacon.refresh_period_stats() IS 'Recounts beacon.period_stats: for every project, distinct visitors of the last 7 and 30 days (today included) and of the 7 and 30 days before them, from the daily id sets (beacon.overview_visitors); rows of other periods go. Called by refresh_analytics() (source periods), paced by its cost. Returns the periods counted.';
