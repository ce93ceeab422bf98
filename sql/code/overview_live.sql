-- overview_live: the overview's figures counted from beacon.events and beacon.sessions of the range
-- (filtered requests, hourly ranges). Definitions: code/api_overview.sql.
--
-- Filters (docs/dashboard.md "Overview filters"): page is per event (an event counts when its page,
-- props.path else props.url as a path, is the value; a session counts when it started in the range
-- and had such an event in it); entry_page, source, browser, os and device are per session (the
-- columns of beacon.sessions: an event counts when its session matches, a session when it matches).

CREATE OR REPLACE FUNCTION beacon.overview_session_match(s beacon.sessions, p_f jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_f->>'entry_page' IS NULL OR s.entry_page = p_f->>'entry_page')
       AND (p_f->>'source' IS NULL OR s.source = p_f->>'source')
       AND (p_f->>'browser' IS NULL OR s.browser = p_f->>'browser')
       AND (p_f->>'os' IS NULL OR s.os = p_f->>'os')
       AND (p_f->>'device' IS NULL OR s.device = p_f->>'device')
$$;
COMMENT ON FUNCTION beacon.overview_session_match(beacon.sessions, jsonb) IS 'Whether a session matches the overview''s session filters in p_f (entry_page, source, browser, os, device: exact matches, ANDed; absent keys match all).';

CREATE OR REPLACE FUNCTION beacon.overview_live(p_project uuid, p_tz text, p_t0 timestamptz, p_t1 timestamptz,
    p_step text, p_f jsonb, p_what text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET work_mem = '64MB' -- the range's distinct visitors and groups, hashed in memory
AS $$
DECLARE
    v_sf boolean := p_f ?| ARRAY['entry_page', 'source', 'browser', 'os', 'device'];
    v_page text := p_f->>'page';
    v_props boolean := p_what <> 'totals'; -- the tables' values; totals need none of the props
    v_out jsonb;
BEGIN
    WITH fs AS MATERIALIZED (
        -- Sessions matching the session filters that may have events in the range.
        SELECT s.session_id FROM beacon.sessions s
        WHERE v_sf AND s.project_id = p_project AND s.first_seen < p_t1 AND s.last_seen >= p_t0
          AND beacon.overview_session_match(s, p_f)
    ), e AS MATERIALIZED (
        SELECT beacon.overview_bucket(ev.ts, p_step, p_t0, p_tz) AS b, ev.session_id,
               left(ev.name, 200) AS name, ev.name = '$pageview' AS pv,
               CASE WHEN v_props AND ev.name = '$pageview' THEN beacon.page_of(ev.props->>'path', ev.props->>'url') END AS page,
               CASE WHEN v_props AND ev.name = '$pageview' THEN left(coalesce(ev.props->>'$browser', ev.props->>'browser'), 200) END AS browser,
               CASE WHEN v_props AND ev.name = '$pageview' THEN left(coalesce(ev.props->>'$os', ev.props->>'os'), 200) END AS os,
               CASE WHEN v_props AND ev.name = '$pageview' THEN left(coalesce(ev.props->>'$device', ev.props->>'device'), 200) END AS device,
               beacon.event_visitor(ev.user_id, ev.anon_id, a.user_id, u.merged_into) AS visitor
        FROM beacon.events ev
        LEFT JOIN beacon.aliases a ON ev.user_id IS NULL AND a.project_id = ev.project_id AND a.anon_id = ev.anon_id
        LEFT JOIN beacon.users u ON u.project_id = ev.project_id AND u.user_id = coalesce(ev.user_id, a.user_id)
        WHERE ev.project_id = p_project AND ev.ts >= p_t0 AND ev.ts < p_t1
          AND (v_page IS NULL OR beacon.page_of(ev.props->>'path', ev.props->>'url') = v_page)
          AND (NOT v_sf OR ev.session_id IN (SELECT fs.session_id FROM fs))
    ), s AS MATERIALIZED (
        SELECT beacon.overview_bucket(s.first_seen, p_step, p_t0, p_tz) AS b, s.entry_page, s.source,
               coalesce(s.pageviews, 0) AS pageviews, s.event_count, extract(epoch FROM s.duration) AS duration
        FROM beacon.sessions s
        WHERE s.project_id = p_project AND s.first_seen >= p_t0 AND s.first_seen < p_t1
          AND beacon.overview_session_match(s, p_f)
          AND (v_page IS NULL OR s.session_id IN (SELECT e.session_id FROM e))
    ), tops AS (
        SELECT x.tbl, jsonb_agg(jsonb_build_object('value', x.value, 'count', x.n) ORDER BY x.n DESC, x.value) AS rows
        FROM (
            SELECT t.tbl, t.value, t.n, row_number() OVER (PARTITION BY t.tbl ORDER BY t.n DESC, t.value) AS r
            FROM (
                SELECT 'pages' AS tbl, e.page AS value, count(*) AS n FROM e
                WHERE e.page IS NOT NULL AND p_what IN ('all', 'pages') GROUP BY 2
                UNION ALL
                SELECT 'browsers', e.browser, count(*) FROM e WHERE e.browser IS NOT NULL AND p_what IN ('all', 'browsers') GROUP BY 2
                UNION ALL
                SELECT 'os', e.os, count(*) FROM e WHERE e.os IS NOT NULL AND p_what IN ('all', 'os') GROUP BY 2
                UNION ALL
                SELECT 'devices', e.device, count(*) FROM e WHERE e.device IS NOT NULL AND p_what IN ('all', 'devices') GROUP BY 2
                UNION ALL
                SELECT 'events', e.name, count(*) FROM e WHERE p_what IN ('all', 'events') GROUP BY 2
                UNION ALL
                SELECT 'entry_pages', s.entry_page, count(*) FROM s WHERE s.entry_page IS NOT NULL AND p_what IN ('all', 'entry_pages') GROUP BY 2
                UNION ALL
                SELECT 'sources', s.source, count(*) FROM s WHERE s.source IS NOT NULL AND p_what IN ('all', 'sources') GROUP BY 2
            ) t
        ) x
        WHERE x.r <= p_limit
        GROUP BY x.tbl
    )
    SELECT jsonb_build_object(
        'totals', CASE WHEN p_what IN ('all', 'totals') THEN (
            SELECT jsonb_build_object('visitors', ev.visitors, 'pageviews', ev.pageviews, 'events', ev.events)
                || beacon.overview_ratios(ss.sessions, ss.swp, ss.spv, ss.bounces, ss.duration)
            FROM (SELECT (SELECT count(*) FROM (SELECT DISTINCT e.visitor FROM e WHERE e.visitor IS NOT NULL) x) AS visitors,
                         count(*) FILTER (WHERE e.pv) AS pageviews, count(*) AS events FROM e) ev,
                 (SELECT count(*) AS sessions, count(*) FILTER (WHERE s.pageviews > 0) AS swp,
                         sum(s.pageviews) FILTER (WHERE s.pageviews > 0) AS spv,
                         count(*) FILTER (WHERE s.pageviews > 0 AND s.event_count = 1) AS bounces,
                         sum(s.duration) AS duration FROM s) ss) END,
        'series', CASE WHEN p_what = 'all' THEN (
            SELECT jsonb_agg(jsonb_build_object('t', beacon.overview_label(g.b, p_step, p_tz),
                       'visitors', coalesce(vis.visitors, 0), 'pageviews', coalesce(ev.pageviews, 0),
                       'sessions', coalesce(ss.sessions, 0)) ORDER BY g.b)
            FROM beacon.overview_buckets(p_t0, p_t1, p_step, p_tz) g
            LEFT JOIN (SELECT e.b, count(*) FILTER (WHERE e.pv) AS pageviews FROM e GROUP BY e.b) ev ON ev.b = g.b
            LEFT JOIN (SELECT x.b, count(*) AS visitors
                       FROM (SELECT DISTINCT e.b, e.visitor FROM e WHERE e.visitor IS NOT NULL) x GROUP BY x.b) vis ON vis.b = g.b
            LEFT JOIN (SELECT s.b, count(*) AS sessions FROM s GROUP BY s.b) ss ON ss.b = g.b) END,
        'tables', CASE WHEN p_what <> 'totals' THEN (
            SELECT jsonb_object_agg(k.tbl, coalesce(t.rows, '[]'))
            FROM unnest(ARRAY['pages', 'entry_pages', 'sources', 'events', 'browsers', 'os', 'devices']) k (tbl)
            LEFT JOIN tops t ON t.tbl = k.tbl
            WHERE p_what IN ('all', k.tbl)) END)
    INTO v_out;
    RETURN v_out;
END $$;
COMMENT ON FUNCTION beacon.overview_live(uuid, text, timestamptz, timestamptz, text, jsonb, text, int) IS 'The overview''s figures for p_t0..p_t1 (excluded) counted from beacon.events and beacon.sessions, with the filters p_f (page per event; entry_page, source, browser, os, device per session): {"totals","series","tables"} — p_what ''all'', ''totals'' (totals only) or a table name (that table only), each table''s top p_limit rows. Reads the range''s events (partitions pruned, BRIN) and the sessions that started in it.';

CREATE OR REPLACE FUNCTION beacon.overview_hourly(p_project uuid, p_tz text, p_t0 timestamptz, p_t1 timestamptz) RETURNS jsonb
LANGUAGE sql STABLE
SET work_mem = '64MB'
AS $$
    -- Pageviews from the hourly rollup (its hours are the zone's), sessions from beacon.sessions,
    -- visitors from the events' ids only (no props).
    SELECT jsonb_agg(jsonb_build_object('t', beacon.overview_label(g.b, 'hour', p_tz),
               'visitors', coalesce(vis.visitors, 0), 'pageviews', coalesce(h.pageviews, 0),
               'sessions', coalesce(ss.sessions, 0)) ORDER BY g.b)
    FROM beacon.overview_buckets(p_t0, p_t1, 'hour', p_tz) g
    LEFT JOIN (SELECT date_bin('1 hour', r.hour, p_t0) AS b, sum(r.events) AS pageviews FROM beacon.rollup_hourly r
               WHERE r.project_id = p_project AND r.hour >= p_t0 AND r.hour < p_t1 AND r.name = '$pageview'
               GROUP BY 1) h ON h.b = g.b
    LEFT JOIN (SELECT date_bin('1 hour', s.first_seen, p_t0) AS b, count(*) AS sessions FROM beacon.sessions s
               WHERE s.project_id = p_project AND s.first_seen >= p_t0 AND s.first_seen < p_t1
               GROUP BY 1) ss ON ss.b = g.b
    LEFT JOIN (SELECT x.b, count(*) AS visitors
               FROM (SELECT DISTINCT date_bin('1 hour', ev.ts, p_t0) AS b,
                            beacon.event_visitor(ev.user_id, ev.anon_id, a.user_id, u.merged_into) AS visitor
                     FROM beacon.events ev
                     LEFT JOIN beacon.aliases a ON ev.user_id IS NULL AND a.project_id = ev.project_id AND a.anon_id = ev.anon_id
                     LEFT JOIN beacon.users u ON u.project_id = ev.project_id AND u.user_id = coalesce(ev.user_id, a.user_id)
                     WHERE ev.project_id = p_project AND ev.ts >= p_t0 AND ev.ts < p_t1) x
               WHERE x.visitor IS NOT NULL
               GROUP BY x.b) vis ON vis.b = g.b
$$;
COMMENT ON FUNCTION beacon.overview_hourly(uuid, text, timestamptz, timestamptz) IS 'The unfiltered hourly series of p_t0..p_t1 (a whole day of zone p_tz): pageviews from rollup_hourly, sessions started per hour from beacon.sessions, distinct visitors per hour from the events'' ids (the one figure no rollup holds per hour).';
