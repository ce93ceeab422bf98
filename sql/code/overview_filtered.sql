-- overview_filtered: the overview filtered by one session dimension (entry_page, source, browser, os
-- or device) over whole days, read from stored figures (migration 018) instead of beacon.events:
-- beacon.session_filter_daily (events, pageviews, tables), beacon.session_daily (the sessions'
-- figures) and beacon.session_filter_ids (distinct visitors, exact). Same definitions and answer as
-- beacon.overview_live with that one filter (code/overview_live.sql); api_overview chooses.

CREATE OR REPLACE FUNCTION beacon.overview_filter_people(p_project uuid, p_dim text, p_value text, p_from date, p_to date)
RETURNS TABLE (visitor text, day date)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p.person IS NULL THEN 'a' || p.id ELSE 'p' || p.person END, p.day
    FROM (
        SELECT i.id, i.day, CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                                        WHEN 'a' THEN coalesce(u.merged_into, a.user_id) END AS person
        FROM (SELECT DISTINCT f.day, f.kind, f.id FROM beacon.session_filter_ids f
              WHERE f.project_id = p_project AND f.dimension = p_dim AND f.value = p_value
                AND f.day BETWEEN p_from AND p_to) i
        LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = p_project AND a.anon_id = i.id
        LEFT JOIN beacon.users u ON u.project_id = p_project
                                AND u.user_id = CASE i.kind WHEN 'u' THEN i.id WHEN 'a' THEN a.user_id END
    ) p
$$;
COMMENT ON FUNCTION beacon.overview_filter_people(uuid, text, text, date, date) IS 'The visitors (as beacon.overview_people: ''p'' || person, merged users as one, else ''a'' || anon id) seen each day of p_from..p_to in the sessions whose dimension p_dim has value p_value, from beacon.session_filter_ids with aliases and merges resolved now: one row per id and day.';

CREATE OR REPLACE FUNCTION beacon.overview_filtered(p_project uuid, p_tz text, p_first date, p_last date,
    p_step text, p_dim text, p_value text, p_what text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET work_mem = '64MB' -- the period's visitors, hashed
AS $$
DECLARE
    v_t0  timestamptz := p_first::timestamp AT TIME ZONE p_tz;
    v_t1  timestamptz := (p_last + 1)::timestamp AT TIME ZONE p_tz;
    v_out jsonb;
BEGIN
    WITH f AS MATERIALIZED (
        SELECT d.day, d.target, d.item, sum(d.n) AS n
        FROM beacon.session_filter_daily d
        WHERE d.project_id = p_project AND d.dimension = p_dim AND d.value = p_value AND d.day BETWEEN p_first AND p_last
          AND (p_what <> 'totals' OR (d.target = 'name'))
        GROUP BY 1, 2, 3
    ), ev AS MATERIALIZED (
        SELECT beacon.overview_bucket(f.day::timestamp AT TIME ZONE p_tz, p_step, v_t0, p_tz) AS b, sum(f.n) AS events,
               coalesce(sum(f.n) FILTER (WHERE f.item = '$pageview'), 0) AS pageviews
        FROM f WHERE f.target = 'name'
        GROUP BY 1
    ), sd AS MATERIALIZED (
        SELECT beacon.overview_bucket(d.day::timestamp AT TIME ZONE p_tz, p_step, v_t0, p_tz) AS b,
               sum(d.sessions) AS sessions, sum(d.sessions_with_pageviews) AS swp, sum(d.pageviews) AS spv,
               sum(d.bounces) AS bounces, sum(d.duration_seconds) AS duration
        FROM beacon.session_daily d
        WHERE d.project_id = p_project AND d.dimension = p_dim AND d.value = p_value AND d.day BETWEEN p_first AND p_last
        GROUP BY 1
    ), vp AS MATERIALIZED (
        SELECT v.visitor, beacon.overview_bucket(v.day::timestamp AT TIME ZONE p_tz, p_step, v_t0, p_tz) AS b
        FROM beacon.overview_filter_people(p_project, p_dim, p_value, p_first, p_last) v
    ), tops AS (
        SELECT x.tbl, jsonb_agg(jsonb_build_object('value', x.value, 'count', x.n) ORDER BY x.n DESC, x.value) AS rows
        FROM (
            SELECT t.tbl, t.value, t.n, row_number() OVER (PARTITION BY t.tbl ORDER BY t.n DESC, t.value) AS r
            FROM (
                SELECT CASE f.target WHEN 'name' THEN 'events' WHEN 'page' THEN 'pages' WHEN 'browser' THEN 'browsers'
                                     WHEN 'device' THEN 'devices' WHEN 'entry_page' THEN 'entry_pages'
                                     WHEN 'source' THEN 'sources' ELSE f.target END AS tbl,
                       f.item AS value, sum(f.n) AS n
                FROM f
                GROUP BY 1, 2
            ) t
            WHERE p_what IN ('all', t.tbl)
        ) x
        WHERE x.r <= p_limit
        GROUP BY x.tbl
    )
    SELECT jsonb_build_object(
        'totals', CASE WHEN p_what IN ('all', 'totals') THEN (
            SELECT jsonb_build_object('visitors', (SELECT count(*) FROM (SELECT DISTINCT vp.visitor FROM vp) x),
                       'pageviews', coalesce(sum(ev.pageviews), 0), 'events', coalesce(sum(ev.events), 0))
            FROM ev)
            || (SELECT beacon.overview_ratios(sum(sd.sessions)::bigint, sum(sd.swp)::bigint, sum(sd.spv), sum(sd.bounces)::bigint, sum(sd.duration)) FROM sd)
            END,
        'series', CASE WHEN p_what = 'all' THEN (
            SELECT jsonb_agg(jsonb_build_object('t', beacon.overview_label(g.b, p_step, p_tz),
                       'visitors', coalesce(vis.visitors, 0), 'pageviews', coalesce(ev.pageviews, 0),
                       'sessions', coalesce(sd.sessions, 0)) ORDER BY g.b)
            FROM beacon.overview_buckets(v_t0, v_t1, p_step, p_tz) g
            LEFT JOIN ev ON ev.b = g.b
            LEFT JOIN sd ON sd.b = g.b
            LEFT JOIN (SELECT x.b, count(*) AS visitors FROM (SELECT DISTINCT vp.b, vp.visitor FROM vp) x GROUP BY x.b) vis
                ON vis.b = g.b) END,
        'tables', CASE WHEN p_what <> 'totals' THEN (
            SELECT jsonb_object_agg(k.tbl, coalesce(t.rows, '[]'))
            FROM unnest(ARRAY['pages', 'entry_pages', 'sources', 'events', 'browsers', 'os', 'devices']) k (tbl)
            LEFT JOIN tops t ON t.tbl = k.tbl
            WHERE p_what IN ('all', k.tbl)) END)
    INTO v_out;
    RETURN v_out;
END $$;
COMMENT ON FUNCTION beacon.overview_filtered(uuid, text, date, date, text, text, text, text, int) IS 'The overview''s figures for the days p_first..p_last of zone p_tz (day or month buckets) filtered by one session dimension p_dim = p_value (entry_page, source, browser, os, device), from stored figures only: events, pageviews and the tables from beacon.session_filter_daily, the session figures from beacon.session_daily, distinct visitors (per bucket and over the period, exact) from beacon.session_filter_ids. The same answer as beacon.overview_live with that filter; p_what and p_limit as there.';
