-- 010_robust_triggers: no event value may make the insert triggers fail a COPY.
--
-- beacon.events has no CHECK constraint so that a COPY never fails for one row; the triggers must
-- hold to that too. Found by testing: ts = 'infinity' (which lands in events_default) made the
-- sessions upsert fail ("cannot subtract infinite timestamps" in the duration column), and an id
-- or name longer than a B-tree entry (~2,700 bytes) would have failed an index insert. Now:
--  * events with a non-finite ts are left out of sessions and rollups (they stay in events);
--  * session, anon and user ids longer than 1,000 characters are left out of sessions and the
--    daily unique-id sets;
--  * event names are cut to 200 characters in rollup_hourly and in sessions' entry/exit events.
-- The relay bounds these values long before (docs/sql.md, "Events and ingest").

CREATE OR REPLACE FUNCTION beacon.sessions_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- One upsert per statement. Rows are taken in key order so concurrent writers lock sessions in
    -- the same order and cannot deadlock.
    INSERT INTO beacon.sessions AS s (project_id, session_id, anon_id, user_id, first_seen, last_seen,
        event_count, entry_event, exit_event, entry_page, exit_page, entry_page_at, exit_page_at)
    SELECT e.project_id, e.session_id,
           coalesce((array_agg(e.anon_id ORDER BY e.ts, e.event_id) FILTER (WHERE e.anon_id <> '' AND length(e.anon_id) <= 1000))[1], ''),
           (array_agg(e.user_id ORDER BY e.ts DESC, e.event_id DESC) FILTER (WHERE e.user_id IS NOT NULL AND length(e.user_id) <= 1000))[1],
           min(e.ts), max(e.ts), count(*),
           left((array_agg(e.name ORDER BY e.ts, e.event_id))[1], 200),
           left((array_agg(e.name ORDER BY e.ts DESC, e.event_id DESC))[1], 200),
           (array_agg(e.page ORDER BY e.ts, e.event_id) FILTER (WHERE e.page IS NOT NULL))[1],
           (array_agg(e.page ORDER BY e.ts DESC, e.event_id DESC) FILTER (WHERE e.page IS NOT NULL))[1],
           min(e.ts) FILTER (WHERE e.page IS NOT NULL),
           max(e.ts) FILTER (WHERE e.page IS NOT NULL)
    FROM (SELECT n.*, beacon.event_page(n.name, n.props) AS page FROM new_events n
          WHERE n.session_id <> '' AND length(n.session_id) <= 1000 AND isfinite(n.ts)) e
    GROUP BY e.project_id, e.session_id
    ORDER BY e.project_id, e.session_id
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


CREATE OR REPLACE FUNCTION beacon.rollup_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO beacon.rollup_pending (project_id, kind, bucket, key, n)
    SELECT e.project_id, 'event', date_trunc('hour', e.ts, 'UTC'), left(e.name, 200), count(*)
    FROM new_events e WHERE isfinite(e.ts) GROUP BY 1, 3, 4
    UNION ALL
    SELECT e.project_id, d.kind, date_trunc('day', e.ts, 'UTC'), d.value, count(*)
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

