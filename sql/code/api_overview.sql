-- api_overview: the dashboard's overview (issue 12; docs/dashboard.md "Overview"): a range resolved
-- in the project's time zone, its figures and those of the period before, a gap-free series, seven
-- top tables, and the visitors of the last 5 minutes.
--
-- Two ways of counting, with the same definitions (docs/dashboard.md "Overview figures"):
--  * stored (beacon.overview_stored): unfiltered day and month ranges, from the rollups
--    (rollup_hourly, rollup_daily_dims, daily_stats, rollup_daily_ids), beacon.session_daily and
--    beacon.period_stats; as_of is the oldest of the sources read (analytics freshness);
--  * live (beacon.overview_live): filtered requests and hourly ranges (today, 24h), from
--    beacon.events and beacon.sessions of the range; as_of is now().
-- Definitions: events and pageviews are events with ts in the range; visitors are the distinct
-- people among them (users, merged users as one, anonymous ids resolved through aliases: as
-- analytics.visitors); sessions are the sessions that started in the range (beacon.sessions
-- first_seen), and their ratios are over those sessions (their whole figures).

CREATE OR REPLACE FUNCTION beacon.iso_local(p_ts timestamptz, p_tz text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(p_ts AT TIME ZONE p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN o.s < 0 THEN '-' ELSE '+' END
        || lpad((abs(o.s) / 3600)::text, 2, '0') || ':' || lpad((abs(o.s) % 3600 / 60)::text, 2, '0')
    FROM (SELECT extract(epoch FROM (p_ts AT TIME ZONE p_tz) - (p_ts AT TIME ZONE 'UTC'))::int AS s) o
$$;
COMMENT ON FUNCTION beacon.iso_local(timestamptz, text) IS 'p_ts as ISO 8601 local time of zone p_tz with its offset, e.g. 2026-12-04T19:00:00+01:00 (seconds, no fraction): the overview''s timestamps.';

CREATE OR REPLACE FUNCTION beacon.overview_range(p_tz text, p_range text, p_from date, p_to date,
    OUT key text, OUT first_day date, OUT last_day date, OUT step text, OUT t0 timestamptz, OUT t1 timestamptz,
    OUT prev_first date, OUT prev_last date, OUT p0 timestamptz, OUT p1 timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    today date := (now() AT TIME ZONE p_tz)::date;
    n     int;
BEGIN
    key := coalesce(p_range, '7d');
    CASE key
    WHEN 'today' THEN
        first_day := today; last_day := today; step := 'hour';
        prev_first := today - 1; prev_last := today - 1;
    WHEN '24h' THEN
        -- The 24 hours ending with the current hour (its end excluded), absolute hours.
        t1 := now() - ((now() AT TIME ZONE p_tz) - date_trunc('hour', now() AT TIME ZONE p_tz)) + interval '1 hour';
        t0 := t1 - interval '24 hours';
        p1 := t0; p0 := t0 - interval '24 hours';
        first_day := (t0 AT TIME ZONE p_tz)::date; last_day := ((t1 - interval '1 microsecond') AT TIME ZONE p_tz)::date;
        prev_first := (p0 AT TIME ZONE p_tz)::date; prev_last := ((p1 - interval '1 microsecond') AT TIME ZONE p_tz)::date;
        step := 'hour';
        RETURN;
    WHEN '7d', '30d' THEN
        n := CASE key WHEN '7d' THEN 7 ELSE 30 END;
        first_day := today - n + 1; last_day := today; step := 'day';
        prev_first := first_day - n; prev_last := first_day - 1;
    WHEN '12mo' THEN
        first_day := (date_trunc('month', today) - interval '11 months')::date; last_day := today; step := 'month';
        prev_first := (first_day - interval '12 months')::date; prev_last := (today - interval '12 months')::date;
    WHEN 'custom' THEN
        IF p_from IS NULL OR p_to IS NULL OR p_from > p_to OR p_to - p_from > 730 THEN
            RAISE EXCEPTION 'a custom range needs from and to, days with from <= to, at most 731 days' USING ERRCODE = '22023';
        END IF;
        n := p_to - p_from + 1;
        first_day := p_from; last_day := p_to;
        step := CASE WHEN n = 1 THEN 'hour' WHEN n <= 92 THEN 'day' ELSE 'month' END;
        prev_first := p_from - n; prev_last := p_from - 1;
    ELSE
        RAISE EXCEPTION 'range must be today, 24h, 7d, 30d, 12mo or custom' USING ERRCODE = '22023';
    END CASE;
    t0 := first_day::timestamp AT TIME ZONE p_tz; t1 := (last_day + 1)::timestamp AT TIME ZONE p_tz;
    p0 := prev_first::timestamp AT TIME ZONE p_tz; p1 := (prev_last + 1)::timestamp AT TIME ZONE p_tz;
END $$;
COMMENT ON FUNCTION beacon.overview_range(text, text, date, date) IS 'Resolves an overview range (today, 24h, 7d, 30d, 12mo, custom with p_from..p_to) in time zone p_tz: its days, bucket step (hour, day, month), start and end (end excluded), and the previous period (today: yesterday; 24h: the 24 hours before; 7d/30d: the N days before; 12mo: the same days 12 months earlier; custom: as many days before). Raises 22023 for an unknown range or a bad custom one.';

CREATE OR REPLACE FUNCTION beacon.overview_bucket(p_ts timestamptz, p_step text, p_t0 timestamptz, p_tz text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_step
        WHEN 'hour' THEN date_bin('1 hour', p_ts, p_t0)
        WHEN 'day' THEN date_trunc('day', p_ts AT TIME ZONE p_tz) AT TIME ZONE p_tz
        ELSE date_trunc('month', p_ts AT TIME ZONE p_tz) AT TIME ZONE p_tz END
$$;
COMMENT ON FUNCTION beacon.overview_bucket(timestamptz, text, timestamptz, text) IS 'Start of the overview series bucket (hour from p_t0, local day or local month of zone p_tz) that holds p_ts.';

CREATE OR REPLACE FUNCTION beacon.event_visitor(p_user text, p_anon text, p_alias_user text, p_merged_into text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(coalesce(p_user, p_anon)) > 1000 THEN NULL
                WHEN p_user IS NOT NULL THEN 'p' || coalesce(p_merged_into, p_user)
                WHEN p_anon = '' THEN NULL
                WHEN p_alias_user IS NOT NULL THEN 'p' || coalesce(p_merged_into, p_alias_user)
                ELSE 'a' || p_anon END
$$;
COMMENT ON FUNCTION beacon.event_visitor(text, text, text, text) IS 'Who an event counts as in the overview''s figures read from events (filtered views, hours, current visitors): ''p'' || the person (its user, or the user its anon id identified as — p_alias_user from beacon.aliases —, merged users as the one they were merged into, p_merged_into from beacon.users), else ''a'' || the anon id; NULL for an event without either or with an id over 1,000 bytes (as the rollups skip them). A plain SQL expression: the planner inlines it into the scan.';

CREATE OR REPLACE FUNCTION beacon.overview_label(p_b timestamptz, p_step text, p_tz text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_step
        WHEN 'hour' THEN beacon.iso_local(p_b, p_tz)
        WHEN 'day' THEN to_char(p_b AT TIME ZONE p_tz, 'YYYY-MM-DD')
        ELSE to_char(p_b AT TIME ZONE p_tz, 'YYYY-MM') END
$$;
COMMENT ON FUNCTION beacon.overview_label(timestamptz, text, text) IS 'The series'' t of a bucket: ISO timestamp with offset (hour), YYYY-MM-DD (day), YYYY-MM (month).';

CREATE OR REPLACE FUNCTION beacon.overview_buckets(p_t0 timestamptz, p_t1 timestamptz, p_step text, p_tz text)
RETURNS TABLE (b timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT g FROM generate_series(p_t0, p_t1 - interval '1 microsecond', interval '1 hour') g WHERE p_step = 'hour'
    UNION ALL
    SELECT g::timestamp AT TIME ZONE p_tz
    FROM generate_series((p_t0 AT TIME ZONE p_tz)::date, ((p_t1 - interval '1 microsecond') AT TIME ZONE p_tz)::date, interval '1 day') g
    WHERE p_step = 'day'
    UNION ALL
    SELECT g AT TIME ZONE p_tz
    FROM generate_series(date_trunc('month', p_t0 AT TIME ZONE p_tz), (p_t1 - interval '1 microsecond') AT TIME ZONE p_tz, interval '1 month') g
    WHERE p_step = 'month'
$$;
COMMENT ON FUNCTION beacon.overview_buckets(timestamptz, timestamptz, text, text) IS 'Every series bucket start from p_t0 to p_t1 (excluded) by p_step in zone p_tz: the gap-free series.';

CREATE OR REPLACE FUNCTION beacon.overview_ratios(p_sessions bigint, p_swp bigint, p_spv numeric, p_bounces bigint, p_duration numeric)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'sessions', coalesce(p_sessions, 0),
        'views_per_session', round(p_spv / nullif(p_swp, 0), 2),
        'bounce_rate', round(p_bounces::numeric / nullif(p_swp, 0), 4),
        'avg_duration_seconds', round(p_duration / nullif(p_sessions, 0), 1))
$$;
COMMENT ON FUNCTION beacon.overview_ratios(bigint, bigint, numeric, bigint, numeric) IS 'The overview''s session figures from sums over sessions: sessions, views per session (pageviews of sessions with pageviews / those sessions, 2 decimals), bounce rate (bounces / sessions with pageviews, 0..1, 4 decimals), average duration (seconds, 1 decimal); a ratio is null when its denominator is 0.';

-- Distinct visitors over days, as analytics.visitors counts them (without its BI scoping: the API
-- function that calls it has checked the account's role), keyed by text and counted with a hash
-- aggregate (a count(DISTINCT) of a row type sorts, on disk at scale).
CREATE OR REPLACE FUNCTION beacon.overview_people(p_project uuid, p_from date, p_to date)
RETURNS TABLE (visitor text, day date)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p.person IS NULL THEN 'a' || p.id ELSE 'p' || p.person END, p.day
    FROM (
        SELECT i.id, i.day, CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                                        WHEN 'a' THEN coalesce(u.merged_into, a.user_id) END AS person
        FROM beacon.rollup_daily_ids i
        LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = i.project_id AND a.anon_id = i.id
        LEFT JOIN beacon.users u ON u.project_id = i.project_id
                                AND u.user_id = CASE i.kind WHEN 'u' THEN i.id WHEN 'a' THEN a.user_id END
        WHERE i.project_id = p_project AND i.day BETWEEN p_from AND p_to AND i.kind <> 's'
    ) p
$$;
COMMENT ON FUNCTION beacon.overview_people(uuid, date, date) IS 'The visitors (''p'' || person for an identified one, merged users as one; ''a'' || anon id for one never identified) seen each day of p_from..p_to, from the daily id sets with aliases and merges resolved now: one row per id and day.';

CREATE OR REPLACE FUNCTION beacon.overview_visitors(p_project uuid, p_from date, p_to date) RETURNS bigint
LANGUAGE sql STABLE
SET work_mem = '64MB'
AS $$
    SELECT count(*) FROM (SELECT DISTINCT v.visitor FROM beacon.overview_people(p_project, p_from, p_to) v) x
$$;
COMMENT ON FUNCTION beacon.overview_visitors(uuid, date, date) IS 'Distinct visitors of a project over its days p_from..p_to from the daily id sets, aliases and merges resolved now: analytics.visitors''s count without its BI scoping, for the overview. Cost grows with the distinct ids per day of the period.';

CREATE OR REPLACE FUNCTION beacon.api_overview(p_project uuid, p_range text, p_from date, p_to date, p_filters jsonb,
    p_table text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off -- compiling costs more than it saves on these queries (hundreds of ms measured)
AS $$
DECLARE
    v_tz    text;
    r       record;
    v_f     jsonb := coalesce(p_filters, '{}');
    v_live  boolean;
    v_what  text := coalesce(p_table, 'all');
    v_limit int := CASE WHEN p_table IS NULL THEN 10 ELSE 1000 END;
    cur     jsonb;
    prev    jsonb;
    v_as_of timestamptz;
    v_dim   text;
    v_val   text;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    IF jsonb_typeof(v_f) <> 'object' OR EXISTS (
        SELECT FROM jsonb_each(v_f) f
        WHERE f.key NOT IN ('page', 'entry_page', 'source', 'browser', 'os', 'device')
           OR jsonb_typeof(f.value) <> 'string' OR length(f.value #>> '{}') > 500) THEN
        RAISE EXCEPTION 'filters are page, entry_page, source, browser, os and device, each a value of at most 500 characters'
            USING ERRCODE = '22023';
    END IF;
    IF p_table IS NOT NULL AND p_table NOT IN ('pages', 'entry_pages', 'sources', 'events', 'browsers', 'os', 'devices') THEN
        RAISE EXCEPTION 'no such table' USING ERRCODE = 'P0002';
    END IF;
    SELECT p.timezone INTO v_tz FROM beacon.projects p WHERE p.project_id = p_project;
    r := beacon.overview_range(v_tz, p_range, p_from, p_to);
    -- Live: filtered, or hourly over other than whole days (24h). An unfiltered hourly day (today,
    -- a custom day) takes its totals and tables from the stored day and only its series live.
    v_live := v_f <> '{}' OR (r.step = 'hour' AND r.key = '24h');
    -- One session filter over day or month buckets: stored too (beacon.overview_filtered).
    SELECT f.key, f.value #>> '{}' INTO v_dim, v_val FROM jsonb_each(v_f) f
    WHERE r.step <> 'hour' AND f.key IN ('entry_page', 'source', 'browser', 'os', 'device')
      AND (SELECT count(*) FROM jsonb_object_keys(v_f)) = 1;
    IF v_dim IS NOT NULL THEN
        cur := beacon.overview_filtered(p_project, v_tz, r.first_day, r.last_day, r.step, v_dim, v_val, v_what, v_limit);
        SELECT min(f.as_of) INTO v_as_of FROM beacon.freshness f WHERE f.source = 'sessions';
    ELSIF NOT v_live AND r.step = 'hour' THEN
        cur := beacon.overview_stored(p_project, v_tz, r.first_day, r.last_day, 'day', v_what, v_limit);
        IF p_table IS NULL THEN
            cur := jsonb_set(cur, '{series}', beacon.overview_hourly(p_project, v_tz, r.t0, r.t1));
        END IF;
        SELECT min(f.as_of) INTO v_as_of FROM beacon.freshness f WHERE f.source IN ('rollups', 'daily', 'sessions', 'periods');
    ELSIF v_live THEN
        cur := beacon.overview_live(p_project, v_tz, r.t0, r.t1, r.step, v_f, v_what, v_limit);
        v_as_of := now();
    ELSE
        cur := beacon.overview_stored(p_project, v_tz, r.first_day, r.last_day, r.step, v_what, v_limit);
        SELECT min(f.as_of) INTO v_as_of FROM beacon.freshness f WHERE f.source IN ('rollups', 'daily', 'sessions', 'periods');
    END IF;
    IF p_table IS NOT NULL THEN
        RETURN jsonb_build_object('table', p_table, 'from', r.first_day, 'to', r.last_day,
            'metric', CASE WHEN p_table IN ('entry_pages', 'sources') THEN 'sessions'
                           WHEN p_table = 'events' THEN 'events' ELSE 'pageviews' END,
            'rows', cur->'tables'->p_table);
    END IF;
    prev := CASE WHEN v_dim IS NOT NULL THEN
                     beacon.overview_filtered(p_project, v_tz, r.prev_first, r.prev_last, r.step, v_dim, v_val, 'totals', 0)
                 WHEN v_live THEN beacon.overview_live(p_project, v_tz, r.p0, r.p1, r.step, v_f, 'totals', 0)
                 ELSE beacon.overview_stored(p_project, v_tz, r.prev_first, r.prev_last,
                          CASE r.step WHEN 'hour' THEN 'day' ELSE r.step END, 'totals', 0) END;
    RETURN jsonb_build_object(
        'range', jsonb_build_object('key', r.key, 'from', r.first_day, 'to', r.last_day, 'interval', r.step,
                     'start', beacon.iso_local(r.t0, v_tz), 'end', beacon.iso_local(r.t1, v_tz), 'timezone', v_tz),
        'previous', jsonb_build_object('from', r.prev_first, 'to', r.prev_last,
                     'start', beacon.iso_local(r.p0, v_tz), 'end', beacon.iso_local(r.p1, v_tz)),
        'filters', v_f,
        'totals', cur->'totals',
        'previous_totals', prev->'totals',
        'series', cur->'series',
        'tables', (SELECT jsonb_object_agg(t.key, jsonb_build_object('metric',
                       CASE WHEN t.key IN ('entry_pages', 'sources') THEN 'sessions' WHEN t.key = 'events' THEN 'events'
                            ELSE 'pageviews' END, 'rows', t.value))
                   FROM jsonb_each(cur->'tables') t),
        'as_of', beacon.iso_local(v_as_of, v_tz));
END $$;
COMMENT ON FUNCTION beacon.api_overview(uuid, text, date, date, jsonb, text) IS 'GET /api/projects/{id}/overview (p_table NULL) and …/overview/{table}.csv (p_table a table''s name): the overview of a range (today, 24h, 7d, 30d, 12mo, custom with p_from..p_to; beacon.overview_range) in the project''s time zone with the filters p_filters ({"page","entry_page","source","browser","os","device"}: exact values, ANDed), as docs/dashboard.md describes: range, previous, filters, totals, previous_totals, series, the seven top-10 tables, as_of; with p_table, that table''s top 1,000 rows and its metric. Unfiltered ranges of whole days read stored aggregates (beacon.overview_stored; as_of: the oldest of them), but for the hourly series of a day (beacon.overview_hourly: visitors per hour from the day''s events); those filtered by one session dimension (entry_page, source, browser, os or device) over day or month buckets read stored aggregates too (beacon.overview_filtered; as_of: of source sessions); other filtered ones and 24h count the events and sessions of the range (beacon.overview_live; as_of: now). Needs the viewer role: P0002 ''project not found'' for a non-member, P0002 ''no such table'', 22023 for a bad range or filter.';

CREATE OR REPLACE FUNCTION beacon.api_current(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_tz text;
    v_n  bigint;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    SELECT p.timezone INTO v_tz FROM beacon.projects p WHERE p.project_id = p_project;
    SELECT count(DISTINCT beacon.event_visitor(ev.user_id, ev.anon_id, a.user_id, u.merged_into))
    INTO v_n
    FROM beacon.events ev
    LEFT JOIN beacon.aliases a ON ev.user_id IS NULL AND a.project_id = ev.project_id AND a.anon_id = ev.anon_id
    LEFT JOIN beacon.users u ON u.project_id = ev.project_id AND u.user_id = coalesce(ev.user_id, a.user_id)
    WHERE ev.project_id = p_project AND ev.ts >= now() - interval '5 minutes' AND ev.ts <= now() + interval '1 minute';
    RETURN jsonb_build_object('visitors', v_n, 'window_seconds', 300, 'as_of', beacon.iso_local(now(), v_tz));
END $$;
COMMENT ON FUNCTION beacon.api_current(uuid) IS 'GET /api/projects/{id}/current: {"visitors","window_seconds":300,"as_of"}, the distinct visitors (people, as the overview counts them) with an event whose ts is in the last 5 minutes (up to a minute ahead, for clocks a little fast), read from beacon.events (today''s partition, BRIN). Needs the viewer role (P0002 for a non-member).';

REVOKE ALL ON FUNCTION beacon.api_overview(uuid, text, date, date, jsonb, text), beacon.api_current(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_overview(uuid, text, date, date, jsonb, text),
    beacon.api_current(uuid)
TO beacon_api;
