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
        SELECT n.ts, n.event_id, n.project_id, n.session_id COLLATE "C" AS sid,
               n.anon_id <> '' AND octet_length(n.anon_id) <= 1000 AS anon_ok,
               n.user_id IS NOT NULL AND octet_length(n.user_id) <= 1000 AS user_ok,
               n.anon_id, n.user_id, n.name,
               CASE WHEN n.name = '$pageview' THEN beacon.page_of(n.props->>'path', n.props->>'url') END AS page
        FROM new_events n
        WHERE n.session_id <> '' AND octet_length(n.session_id) <= 1000 AND isfinite(n.ts)
        ORDER BY n.session_id COLLATE "C", n.project_id, n.ts, n.event_id
    ) e
    GROUP BY e.sid, e.project_id
    ORDER BY e.sid, e.project_id
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
COMMENT ON FUNCTION beacon.sessions_from_events() IS 'Statement-level AFTER INSERT trigger on beacon.events: folds the inserted rows (transition table new_events) into beacon.sessions with one upsert, in key order. Security definer so the ingest role needs no rights on beacon.sessions.';

CREATE OR REPLACE TRIGGER events_sessions AFTER INSERT ON beacon.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.sessions_from_events();
COMMENT ON TRIGGER events_sessions ON beacon.events IS 'Folds each inserted batch into beacon.sessions (beacon.sessions_from_events). Statement-level: one upsert per COPY, not per row.';

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
