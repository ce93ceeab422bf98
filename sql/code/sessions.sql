-- sessions: beacon.sessions kept up to date from event inserts by one set-based, statement-level
-- trigger with a transition table (no per-row trigger on the COPY path). A session is what the SDK
-- calls one: the session= id of a connection. Beacon does not split sessions on inactivity.
--
-- No event value may make the trigger fail a COPY: events with a non-finite ts are left out; ids
-- over 1,000 bytes are left out; event names are cut to 200 characters (docs/sql.md).

CREATE OR REPLACE FUNCTION beacon.sessions_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- One upsert per statement. Rows are taken in key order (session id, then project: any one
    -- order will do) so concurrent writers lock sessions in the same order and cannot deadlock.
    --
    -- The batch is sorted once (session id in "C" collation, project, ts, event id) in a subquery
    -- that PostgreSQL does not flatten (it has ORDER BY); the aggregates read each group in that
    -- order: first value = [1], last value = [count]. The session id leads the sort because its
    -- abbreviated key tells most rows apart at once (the project id is the same for nearly all
    -- rows); the sorted row starts with its fixed-width columns, which the sort compares most.
    --
    -- Pages: each event carries its raw page (props.path, else props.url) and, for $pageviews, url
    -- and referrer; only the first and last of a session are parsed (page, source, UTM), per
    -- session and batch, not per event.
    WITH b AS (
        SELECT e.project_id, e.sid,
               coalesce((array_agg(e.anon_id) FILTER (WHERE e.anon_ok))[1], '') AS anon_id,
               (array_agg(e.user_id) FILTER (WHERE e.user_ok))[count(*) FILTER (WHERE e.user_ok)] AS user_id,
               min(e.ts) AS first_seen, max(e.ts) AS last_seen, count(*) AS event_count,
               left((array_agg(e.name))[1], 200) AS entry_event,
               left((array_agg(e.name))[count(*)], 200) AS exit_event,
               (array_agg(e.page) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_raw,
               (array_agg(e.page) FILTER (WHERE e.page IS NOT NULL))[count(e.page)] AS exit_raw,
               (array_agg(e.url) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_url,
               (array_agg(e.referrer) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_referrer,
               (array_agg(e.browser) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_browser,
               (array_agg(e.os) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_os,
               (array_agg(e.device) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_device,
               min(e.ts) FILTER (WHERE e.page IS NOT NULL) AS entry_page_at,
               max(e.ts) FILTER (WHERE e.page IS NOT NULL) AS exit_page_at,
               count(*) FILTER (WHERE e.name = '$pageview') AS pageviews
        FROM (
            SELECT n.ts, n.event_id, n.project_id, n.session_id COLLATE "C" AS sid,
                   n.anon_id <> '' AND octet_length(n.anon_id) <= 1000 AS anon_ok,
                   n.user_id IS NOT NULL AND octet_length(n.user_id) <= 1000 AS user_ok,
                   n.anon_id, n.user_id, n.name,
                   CASE WHEN n.name = '$pageview' THEN beacon.raw_page(n.props->>'path', n.props->>'url') END AS page,
                   CASE WHEN n.name = '$pageview' THEN n.props->>'url' END AS url,
                   CASE WHEN n.name = '$pageview' THEN n.props->>'referrer' END AS referrer,
                   CASE WHEN n.name = '$pageview' THEN left(coalesce(n.props->>'$browser', n.props->>'browser'), 200) END AS browser,
                   CASE WHEN n.name = '$pageview' THEN left(coalesce(n.props->>'$os', n.props->>'os'), 200) END AS os,
                   CASE WHEN n.name = '$pageview' THEN left(coalesce(n.props->>'$device', n.props->>'device'), 200) END AS device
            FROM new_events n
            WHERE n.session_id <> '' AND octet_length(n.session_id) <= 1000 AND isfinite(n.ts)
            ORDER BY n.session_id COLLATE "C", n.project_id, n.ts, n.event_id
        ) e
        GROUP BY e.sid, e.project_id
    ), up AS (
        INSERT INTO beacon.sessions AS s (project_id, session_id, anon_id, user_id, first_seen, last_seen,
            event_count, entry_event, exit_event, entry_page, exit_page, entry_page_at, exit_page_at,
            pageviews, source, utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, os, device)
        SELECT b.project_id, b.sid, b.anon_id, b.user_id, b.first_seen, b.last_seen, b.event_count,
               b.entry_event, b.exit_event,
               beacon.page_of(b.entry_raw, NULL), beacon.page_of(b.exit_raw, NULL),
               b.entry_page_at, b.exit_page_at, b.pageviews,
               CASE WHEN b.entry_page_at IS NOT NULL THEN
                   coalesce(beacon.referrer_of(b.entry_referrer, beacon.site_of(b.entry_url), b.project_id), '(direct)')
               END,
               beacon.url_param(l.href, 'utm_source'), beacon.url_param(l.href, 'utm_medium'),
               beacon.url_param(l.href, 'utm_campaign'), beacon.url_param(l.href, 'utm_term'),
               beacon.url_param(l.href, 'utm_content'),
               b.entry_browser, b.entry_os, b.entry_device
        FROM b
        -- The landing URL's query string: props.url's, else one sent in props.path.
        CROSS JOIN LATERAL (SELECT CASE WHEN strpos(b.entry_url, '?') > 0 THEN b.entry_url ELSE b.entry_raw END AS href) l
        ORDER BY b.sid, b.project_id
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
            -- NULL (a session from before migration 006) stays NULL: its earlier count is unknown.
            pageviews     = s.pageviews + excluded.pageviews,
            -- Source and UTM belong to the landing page: replaced, NULLs included, when the batch
            -- holds an earlier pageview than the session's (a late event).
            source        = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.source ELSE s.source END,
            utm_source    = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.utm_source ELSE s.utm_source END,
            utm_medium    = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.utm_medium ELSE s.utm_medium END,
            utm_campaign  = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.utm_campaign ELSE s.utm_campaign END,
            utm_term      = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.utm_term ELSE s.utm_term END,
            utm_content   = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.utm_content ELSE s.utm_content END,
            browser       = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.browser ELSE s.browser END,
            os            = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.os ELSE s.os END,
            device        = CASE WHEN excluded.entry_page_at < coalesce(s.entry_page_at, 'infinity') THEN excluded.device ELSE s.device END,
            updated_at    = now()
        RETURNING s.project_id, s.session_id, s.first_seen, s.anon_id, s.user_id
    ), touched AS (
        -- The start of each session touched, in 15-minute bins (any zone's midnight is on one), for
        -- the overview's per-day session figures (fold_rollups: beacon.session_dirty).
        INSERT INTO beacon.rollup_pending (project_id, kind, bucket, key, n)
        SELECT u.project_id, 'session', date_bin('15 minutes', u.first_seen, timestamptz '2000-01-01 00:00:00+00'), '', count(*)
        FROM up u WHERE isfinite(u.first_seen)
        GROUP BY 1, 3
    )
    -- First seen per id: only sessions whose start this batch set (new ones, or a late earlier
    -- event), so an ongoing session costs nothing here. DISTINCT ON: an id starting two sessions in
    -- one batch is upserted once (ON CONFLICT may touch a row once per statement).
    INSERT INTO beacon.first_seen_ids AS f (project_id, kind, id, first_seen, session_id)
    SELECT DISTINCT ON (x.project_id, x.kind, x.id) x.project_id, x.kind, x.id, x.first_seen, x.session_id
    FROM (
        SELECT u.project_id, k.kind, k.id, u.first_seen, u.session_id
        FROM up u
        JOIN b ON b.project_id = u.project_id AND b.sid = u.session_id COLLATE "C" AND b.first_seen = u.first_seen
        CROSS JOIN LATERAL (VALUES ('a'::"char", nullif(u.anon_id, '')), ('u'::"char", u.user_id)) AS k(kind, id)
        WHERE k.id IS NOT NULL AND octet_length(k.id) <= 1000
    ) x
    ORDER BY x.project_id, x.kind, x.id, x.first_seen, x.session_id
    ON CONFLICT (project_id, kind, id) DO UPDATE
        SET first_seen = excluded.first_seen, session_id = excluded.session_id
        WHERE excluded.first_seen < f.first_seen;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.sessions_from_events() IS 'Statement-level AFTER INSERT trigger on beacon.events: folds the inserted rows (transition table new_events) into beacon.sessions with one upsert, in key order (pages, source and UTM of the landing page parsed per session, not per event), and records the ids of the sessions it starts in beacon.first_seen_ids, and queues the start times of the sessions it touched (rollup_pending kind session, for beacon.session_daily). Security definer so the ingest role needs no rights on either table.';

CREATE OR REPLACE TRIGGER events_sessions AFTER INSERT ON beacon.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.sessions_from_events();
COMMENT ON TRIGGER events_sessions ON beacon.events IS 'Folds each inserted batch into beacon.sessions (beacon.sessions_from_events). Statement-level: one upsert per COPY, not per row.';

-- Sessions written before migration 006 have NULL in the columns it added: a DBA may fill them
-- from the events (not done by the migration: it reads every event of the period).
CREATE OR REPLACE FUNCTION beacon.backfill_sessions(p_project uuid, p_since timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    -- Sessions of the project that started at or after p_since (so all their events are at or
    -- after it: partitions before it are not read), whose pageviews are unknown (written before
    -- migration 006) and that ended over an hour ago: the insert trigger no longer touches them, so
    -- no batch committed meanwhile can be missed.
    WITH todo AS (
        SELECT s.session_id FROM beacon.sessions s
        WHERE s.project_id = p_project AND s.first_seen >= p_since AND s.pageviews IS NULL
          AND s.last_seen < now() - interval '1 hour'
    ), agg AS (
        SELECT e.session_id,
               count(*) FILTER (WHERE e.name = '$pageview') AS pageviews,
               (array_agg(e.page ORDER BY e.ts, e.event_id) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_raw,
               (array_agg(e.page ORDER BY e.ts DESC, e.event_id DESC) FILTER (WHERE e.page IS NOT NULL))[1] AS exit_raw,
               (array_agg(e.url ORDER BY e.ts, e.event_id) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_url,
               (array_agg(e.referrer ORDER BY e.ts, e.event_id) FILTER (WHERE e.page IS NOT NULL))[1] AS entry_referrer
        FROM (
            SELECT n.session_id, n.ts, n.event_id, n.name,
                   CASE WHEN n.name = '$pageview' THEN beacon.raw_page(n.props->>'path', n.props->>'url') END AS page,
                   CASE WHEN n.name = '$pageview' THEN n.props->>'url' END AS url,
                   CASE WHEN n.name = '$pageview' THEN n.props->>'referrer' END AS referrer
            FROM beacon.events n
            WHERE n.project_id = p_project AND n.ts >= p_since AND isfinite(n.ts)
              AND n.session_id IN (SELECT t.session_id FROM todo t)
        ) e
        GROUP BY e.session_id
    )
    UPDATE beacon.sessions s SET
        pageviews    = a.pageviews,
        entry_page   = beacon.page_of(a.entry_raw, NULL),
        exit_page    = beacon.page_of(a.exit_raw, NULL),
        source       = CASE WHEN a.entry_raw IS NOT NULL THEN
                           coalesce(beacon.referrer_of(a.entry_referrer, beacon.site_of(a.entry_url), p_project), '(direct)') END,
        utm_source   = beacon.url_param(l.href, 'utm_source'),
        utm_medium   = beacon.url_param(l.href, 'utm_medium'),
        utm_campaign = beacon.url_param(l.href, 'utm_campaign'),
        utm_term     = beacon.url_param(l.href, 'utm_term'),
        utm_content  = beacon.url_param(l.href, 'utm_content')
    FROM agg a
    CROSS JOIN LATERAL (SELECT CASE WHEN strpos(a.entry_url, '?') > 0 THEN a.entry_url ELSE a.entry_raw END AS href) l
    WHERE s.project_id = p_project AND s.session_id = a.session_id AND s.pageviews IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.backfill_sessions(uuid, timestamptz) IS 'Fills pageviews, source and the UTM columns (and re-reads entry and exit page as paths) of a project''s sessions written before migration 006, from their events: those that started at or after p_since, have NULL pageviews and ended over an hour ago. Reads the project''s events from p_since (partitions before it are pruned): run it by the DBA, for a period at a time, outside busy hours. Returns the sessions filled. Idempotent: a filled session is not read again.';

CREATE OR REPLACE FUNCTION beacon.purge_sessions() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    -- first_seen <= last_seen, so the first condition only narrows the scan to the index.
    DELETE FROM beacon.sessions s
    USING beacon.project_retention() r
    WHERE s.project_id = r.project_id
      AND r.retention_days IS NOT NULL
      AND s.first_seen < beacon.day_start(r.retention_days)
      AND s.last_seen < beacon.day_start(r.retention_days);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_sessions() IS 'Deletes sessions whose last event is older than their project''s effective retention. Returns the rows deleted.';
