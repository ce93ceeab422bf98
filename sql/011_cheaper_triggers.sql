-- 011_cheaper_triggers: the insert triggers, profiled again: URL hosts without regular expressions,
-- buckets without time-zone conversions, sessions aggregated from one sort.
--
-- Profiling the rollup trigger showed beacon.url_host's regular expression at ~10 µs a call, twice
-- per $pageview (url and referrer): the largest part of the trigger's cost per pageview. The same
-- result from split_part, and the same-site test compares the URLs' authority parts directly.
-- Behaviour change, knowingly: an IPv6 literal host ([::1]) is cut at its first ':'.
--
-- The rollup trigger's UTC hour and day buckets come from date_bin with a UTC-midnight origin (plain
-- arithmetic, same result) instead of date_trunc(…, 'UTC') (a time-zone conversion per row,
-- ~1 µs).

CREATE OR REPLACE FUNCTION beacon.url_host(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- scheme://[userinfo@]host[:port][/?#…]: the third '/'-separated part is the authority.
    SELECT CASE WHEN strpos(p_url, '://') > 0 THEN
        nullif(lower(split_part(split_part(split_part(split_part(split_part(p_url, '/', 3), '?', 1), '#', 1), '@', -1), ':', 1)), '')
    END
$$;
COMMENT ON FUNCTION beacon.url_host(text) IS 'Lower-cased host of an absolute URL (scheme://[user@]host[:port]…), without port; NULL when there is none.';

CREATE OR REPLACE FUNCTION beacon.event_referrer(p_name text, p_props jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_name <> '$pageview' THEN NULL
        WHEN coalesce(p_props->>'referrer', '') = '' THEN '(direct)'
        WHEN lower(split_part(p_props->>'referrer', '/', 3)) = lower(split_part(p_props->>'url', '/', 3)) THEN NULL
        ELSE left(coalesce(beacon.url_host(p_props->>'referrer'), p_props->>'referrer'), 200)
    END
$$;
COMMENT ON FUNCTION beacon.event_referrer(text, jsonb) IS 'Referrer of a $pageview for the referrers rollup: the referring host, ''(direct)'' when props.referrer is empty, NULL for a same-site referrer (same scheme-less authority as props.url: an in-app navigation) and for other events.';

CREATE OR REPLACE FUNCTION beacon.rollup_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO beacon.rollup_pending (project_id, kind, bucket, key, n)
    SELECT e.project_id, 'event', date_bin('1 hour', e.ts, timestamptz '2000-01-01 00:00:00+00'), left(e.name, 200), count(*)
    FROM new_events e WHERE isfinite(e.ts) GROUP BY 1, 3, 4
    UNION ALL
    SELECT e.project_id, d.kind, date_bin('1 day', e.ts, timestamptz '2000-01-01 00:00:00+00'), d.value, count(*)
    FROM new_events e
    CROSS JOIN LATERAL (VALUES
        ('page',     beacon.event_page(e.name, e.props)),
        ('referrer', beacon.event_referrer(e.name, e.props)),
        ('browser',  left(coalesce(e.props->>'$browser', e.props->>'browser'), 200)),
        ('device',   left(coalesce(e.props->>'$device', e.props->>'device'), 200)),
        ('os',       left(coalesce(e.props->>'$os', e.props->>'os'), 200))) d (kind, value)
    WHERE e.name = '$pageview' AND d.value IS NOT NULL AND isfinite(e.ts)
    GROUP BY 1, 2, 3, 4;

    -- Key order, like the sessions upsert: concurrent writers inserting the same new ids wait for
    -- each other in one order and cannot deadlock.
    INSERT INTO beacon.rollup_daily_ids (project_id, day, kind, id)
    SELECT DISTINCT x.project_id, x.day, x.kind, x.id
    FROM (
        SELECT e.project_id, (e.ts AT TIME ZONE 'UTC')::date AS day,
               (CASE WHEN e.user_id IS NOT NULL THEN 'u' ELSE 'a' END)::"char" AS kind,
               coalesce(e.user_id, e.anon_id) AS id
        FROM new_events e WHERE (e.user_id IS NOT NULL OR e.anon_id <> '') AND isfinite(e.ts)
        UNION ALL
        SELECT e.project_id, (e.ts AT TIME ZONE 'UTC')::date, 's', e.session_id
        FROM new_events e WHERE e.session_id <> '' AND isfinite(e.ts)
    ) x
    WHERE length(x.id) <= 1000
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (project_id, day, kind, id) DO NOTHING;
    RETURN NULL;
END $$;


-- Sessions: the per-session first/last values came from eight array_agg(… ORDER BY …), each sorting
-- its group again. Now the batch is sorted once (session id in "C" collation, then ts, event id) in
-- a subquery that PostgreSQL does not flatten (it has ORDER BY), and the aggregates read each group
-- in that order: first value = [1], last value = [count]. Measured 1.5–3x faster on 5,000 rows.
CREATE OR REPLACE FUNCTION beacon.sessions_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- One upsert per statement. Rows are taken in key order so concurrent writers lock sessions in
    -- the same order and cannot deadlock.
    INSERT INTO beacon.sessions AS s (project_id, session_id, anon_id, user_id, first_seen, last_seen,
        event_count, entry_event, exit_event, entry_page, exit_page, entry_page_at, exit_page_at)
    SELECT e.project_id, e.sid,
           coalesce((array_agg(e.anon_id) FILTER (WHERE e.anon_ok))[1], ''),
           (array_agg(e.user_id) FILTER (WHERE e.user_ok))[count(*) FILTER (WHERE e.user_ok)],
           min(e.ts), max(e.ts), count(*),
           left((array_agg(e.name))[1], 200),
           left((array_agg(e.name))[count(*)], 200),
           (array_agg(e.page) FILTER (WHERE e.page IS NOT NULL))[1],
           (array_agg(e.page) FILTER (WHERE e.page IS NOT NULL))[count(e.page)],
           min(e.ts) FILTER (WHERE e.page IS NOT NULL),
           max(e.ts) FILTER (WHERE e.page IS NOT NULL)
    FROM (
        SELECT n.project_id, n.session_id COLLATE "C" AS sid, n.anon_id, n.user_id, n.name, n.ts,
               n.anon_id <> '' AND length(n.anon_id) <= 1000 AS anon_ok,
               n.user_id IS NOT NULL AND length(n.user_id) <= 1000 AS user_ok,
               beacon.event_page(n.name, n.props) AS page
        FROM new_events n
        WHERE n.session_id <> '' AND length(n.session_id) <= 1000 AND isfinite(n.ts)
        ORDER BY n.project_id, n.session_id COLLATE "C", n.ts, n.event_id
    ) e
    GROUP BY e.project_id, e.sid
    ORDER BY e.project_id, e.sid
    ON CONFLICT (project_id, session_id) DO UPDATE SET
        anon_id       = CASE WHEN s.anon_id = '' THEN excluded.anon_id ELSE s.anon_id END,
        user_id       = coalesce(excluded.user_id, s.user_id),
        first_seen    = least(s.first_seen, excluded.first_seen),
        last_seen     = greatest(s.last_seen, excluded.last_seen),
        event_count   = s.event_count + excluded.event_count,
        entry_event   = CASE WHEN excluded.first_seen < s.first_seen THEN excluded.entry_event ELSE s.entry_event END,
        exit_event    = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.exit_event ELSE s.exit_event END,
        entry_page    = CASE WHEN s.entry_page_at IS NULL OR excluded.entry_page_at < s.entry_page_at
                             THEN coalesce(excluded.entry_page, s.entry_page) ELSE s.entry_page END,
        exit_page     = CASE WHEN s.exit_page_at IS NULL OR excluded.exit_page_at >= s.exit_page_at
                             THEN coalesce(excluded.exit_page, s.exit_page) ELSE s.exit_page END,
        entry_page_at = least(s.entry_page_at, excluded.entry_page_at),
        exit_page_at  = greatest(s.exit_page_at, excluded.exit_page_at),
        updated_at    = now();
    RETURN NULL;
END $$;
