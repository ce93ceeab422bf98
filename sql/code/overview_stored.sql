-- overview_stored: the overview's unfiltered figures over whole days, read from stored aggregates
-- (never beacon.events). Definitions: code/api_overview.sql.

CREATE OR REPLACE FUNCTION beacon.overview_stored(p_project uuid, p_tz text, p_first date, p_last date,
    p_step text, p_what text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_t0    timestamptz := p_first::timestamp AT TIME ZONE p_tz;
    v_t1    timestamptz := (p_last + 1)::timestamp AT TIME ZONE p_tz;
    v_since date := beacon.view_since(p_tz);
    v_out   jsonb;
BEGIN
    WITH ev AS MATERIALIZED (
        -- Events and pageviews per bucket from the hourly rollup.
        SELECT beacon.overview_bucket(h.hour, p_step, v_t0, p_tz) AS b, sum(h.events) AS events,
               coalesce(sum(h.events) FILTER (WHERE h.name = '$pageview'), 0) AS pageviews
        FROM beacon.rollup_hourly h
        WHERE p_what IN ('all', 'totals') AND h.project_id = p_project AND h.hour >= v_t0 AND h.hour < v_t1
        GROUP BY 1
    ), sd AS MATERIALIZED (
        SELECT beacon.overview_bucket(d.day::timestamp AT TIME ZONE p_tz, p_step, v_t0, p_tz) AS b,
               sum(d.sessions) AS sessions, sum(d.sessions_with_pageviews) AS swp, sum(d.pageviews) AS spv,
               sum(d.bounces) AS bounces, sum(d.duration_seconds) AS duration
        FROM beacon.session_daily d
        WHERE p_what IN ('all', 'totals') AND d.project_id = p_project AND d.dimension = 'all' AND d.day BETWEEN p_first AND p_last
        GROUP BY 1
    ), vis AS (
        -- Visitors per bucket: a day's from daily_stats (its window) or counted from the day's id
        -- sets (older days); a month's counted over its days.
        SELECT g.b, CASE
                   WHEN p_step = 'day' AND (g.b AT TIME ZONE p_tz)::date >= v_since THEN
                       coalesce((SELECT s.visitors FROM beacon.daily_stats s
                                 WHERE s.project_id = p_project AND s.day = (g.b AT TIME ZONE p_tz)::date), 0)
                   WHEN p_step = 'day' THEN beacon.overview_visitors(p_project, (g.b AT TIME ZONE p_tz)::date, (g.b AT TIME ZONE p_tz)::date)
                   ELSE beacon.overview_visitors(p_project, greatest(p_first, (g.b AT TIME ZONE p_tz)::date),
                            least(p_last, ((g.b AT TIME ZONE p_tz) + interval '1 month')::date - 1)) END AS visitors
        FROM beacon.overview_buckets(v_t0, v_t1, p_step, p_tz) g
        WHERE p_what = 'all'
    ), tops AS (
        SELECT x.tbl, jsonb_agg(jsonb_build_object('value', x.value, 'count', x.n) ORDER BY x.n DESC, x.value) AS rows
        FROM (
            SELECT t.tbl, t.value, t.n, row_number() OVER (PARTITION BY t.tbl ORDER BY t.n DESC, t.value) AS r
            FROM (
                SELECT CASE d.dimension WHEN 'page' THEN 'pages' WHEN 'browser' THEN 'browsers'
                                        WHEN 'device' THEN 'devices' ELSE d.dimension END AS tbl,
                       d.value, sum(d.pageviews) AS n
                FROM beacon.rollup_daily_dims d
                WHERE d.project_id = p_project AND d.day BETWEEN p_first AND p_last
                  AND d.dimension IN ('page', 'browser', 'os', 'device')
                  AND p_what IN ('all', CASE d.dimension WHEN 'page' THEN 'pages' WHEN 'browser' THEN 'browsers'
                                                         WHEN 'device' THEN 'devices' ELSE d.dimension END)
                GROUP BY 1, 2
                UNION ALL
                SELECT CASE d.dimension WHEN 'entry_page' THEN 'entry_pages' ELSE 'sources' END, d.value, sum(d.sessions)
                FROM beacon.session_daily d
                WHERE d.project_id = p_project AND d.day BETWEEN p_first AND p_last
                  AND d.dimension IN ('entry_page', 'source')
                  AND p_what IN ('all', CASE d.dimension WHEN 'entry_page' THEN 'entry_pages' ELSE 'sources' END)
                GROUP BY 1, 2
                UNION ALL
                SELECT 'events', h.name, sum(h.events)
                FROM beacon.rollup_hourly h
                WHERE p_what IN ('all', 'events') AND h.project_id = p_project AND h.hour >= v_t0 AND h.hour < v_t1
                GROUP BY 2
            ) t
        ) x
        WHERE x.r <= p_limit
        GROUP BY x.tbl
    )
    SELECT jsonb_build_object(
        'totals', CASE WHEN p_what IN ('all', 'totals') THEN (
            SELECT jsonb_build_object('visitors', NULL, 'pageviews', coalesce(sum(ev.pageviews), 0), 'events', coalesce(sum(ev.events), 0))
            FROM ev)
            || (SELECT beacon.overview_ratios(sum(sd.sessions)::bigint, sum(sd.swp)::bigint, sum(sd.spv), sum(sd.bounces)::bigint, sum(sd.duration)) FROM sd)
            END,
        'series', CASE WHEN p_what = 'all' THEN (
            SELECT jsonb_agg(jsonb_build_object('t', beacon.overview_label(v.b, p_step, p_tz),
                       'visitors', v.visitors, 'pageviews', coalesce(ev.pageviews, 0),
                       'sessions', coalesce(sd.sessions, 0)) ORDER BY v.b)
            FROM vis v LEFT JOIN ev ON ev.b = v.b LEFT JOIN sd ON sd.b = v.b) END,
        'tables', CASE WHEN p_what <> 'totals' THEN (
            SELECT jsonb_object_agg(k.tbl, coalesce(t.rows, '[]'))
            FROM unnest(ARRAY['pages', 'entry_pages', 'sources', 'events', 'browsers', 'os', 'devices']) k (tbl)
            LEFT JOIN tops t ON t.tbl = k.tbl
            WHERE p_what IN ('all', k.tbl)) END)
    INTO v_out;
    -- Distinct visitors over the whole period: a stored count when period_stats has these days,
    -- else counted from the id sets.
    IF p_what IN ('all', 'totals') THEN
        v_out := jsonb_set(v_out, '{totals,visitors}', to_jsonb(coalesce(
            (SELECT ps.visitors FROM beacon.period_stats ps
             WHERE ps.project_id = p_project AND ps.first_day = p_first AND ps.last_day = p_last),
            beacon.overview_visitors(p_project, p_first, p_last))));
    END IF;
    RETURN v_out;
END $$;
COMMENT ON FUNCTION beacon.overview_stored(uuid, text, date, date, text, text, int) IS 'The overview''s unfiltered figures for the days p_first..p_last of zone p_tz by day or month buckets, from stored aggregates only: events and pageviews from rollup_hourly, visitors per day from daily_stats (older days and months: the daily id sets), over the period from period_stats when it holds those days (else the id sets), session figures and the entry page and source tables from session_daily, the other tables from rollup_daily_dims and rollup_hourly. p_what and p_limit as beacon.overview_live.';
