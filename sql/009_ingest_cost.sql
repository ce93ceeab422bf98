-- 009_ingest_cost: make the insert triggers cheaper, after measuring them (docs/sql.md).
--
-- Measured before this migration (5,000-row COPY batches, ~1,000 sessions per batch): an empty
-- transition-table trigger costs COPY little, but the session and rollup triggers each took ~45%
-- of the COPY rate, together ~60%. Two changes:
--
--  * beacon.sessions: every batch updates ~1 row per active session. The index on last_seen made
--    each of those updates a non-HOT update (new index entries in every index). It is dropped
--    (the retention purge uses first_seen, which a later event almost never changes) and the table
--    gets fillfactor 70 so updated rows stay on their page (HOT: no index writes).
--  * Daily unique ids: instead of queueing one pending row per distinct user/anon/session id and
--    batch, the trigger inserts the (day, id) into beacon.rollup_daily_ids directly with
--    ON CONFLICT DO NOTHING, in key order. An id already seen that day — nearly all of them — costs
--    one index probe and writes nothing. The per-id event count (rollup_daily_ids.events) is
--    dropped: it was the one thing that needed an update. Counts stay exact.
--
-- Irreversible: rollup_daily_ids.events is dropped (no view used it).

DROP INDEX beacon.sessions_project_last_seen;
ALTER TABLE beacon.sessions SET (fillfactor = 70);

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

ALTER TABLE beacon.rollup_daily_ids DROP COLUMN events;
COMMENT ON TABLE beacon.rollup_daily_ids IS 'Each distinct id seen per project and UTC day — u: user id of events that carried one, a: anon id of events without a user id, s: session id — so daily unique counts are exact. Written directly by the events_rollup trigger (ON CONFLICT DO NOTHING). Holds personal ids: subject to retention.';

CREATE OR REPLACE FUNCTION beacon.rollup_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO beacon.rollup_pending (project_id, kind, bucket, key, n)
    SELECT e.project_id, 'event', date_trunc('hour', e.ts, 'UTC'), e.name, count(*)
    FROM new_events e GROUP BY 1, 3, 4
    UNION ALL
    SELECT e.project_id, d.kind, date_trunc('day', e.ts, 'UTC'), d.value, count(*)
    FROM new_events e
    CROSS JOIN LATERAL (VALUES
        ('page',     beacon.event_page(e.name, e.props)),
        ('referrer', beacon.event_referrer(e.name, e.props)),
        ('browser',  left(coalesce(e.props->>'$browser', e.props->>'browser'), 200)),
        ('device',   left(coalesce(e.props->>'$device', e.props->>'device'), 200)),
        ('os',       left(coalesce(e.props->>'$os', e.props->>'os'), 200))) d (kind, value)
    WHERE e.name = '$pageview' AND d.value IS NOT NULL
    GROUP BY 1, 2, 3, 4;

    -- Key order, like the sessions upsert: concurrent writers inserting the same new ids wait for
    -- each other in one order and cannot deadlock.
    INSERT INTO beacon.rollup_daily_ids (project_id, day, kind, id)
    SELECT DISTINCT x.project_id, x.day, x.kind, x.id
    FROM (
        SELECT e.project_id, (e.ts AT TIME ZONE 'UTC')::date AS day,
               (CASE WHEN e.user_id IS NOT NULL THEN 'u' ELSE 'a' END)::"char" AS kind,
               coalesce(e.user_id, e.anon_id) AS id
        FROM new_events e WHERE e.user_id IS NOT NULL OR e.anon_id <> ''
        UNION ALL
        SELECT e.project_id, (e.ts AT TIME ZONE 'UTC')::date, 's', e.session_id
        FROM new_events e WHERE e.session_id <> ''
    ) x
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (project_id, day, kind, id) DO NOTHING;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.rollup_from_events() IS 'Statement-level AFTER INSERT trigger on beacon.events: appends the batch''s counts (events per hour and name; $pageview pages, referrers, browsers, devices, OSes per day) to beacon.rollup_pending, and adds its distinct user, anon and session ids per day to beacon.rollup_daily_ids. Security definer so the ingest role needs no rights on them.';

CREATE OR REPLACE FUNCTION beacon.fold_rollups() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
BEGIN
    -- Rows are consumed and added in one transaction: rows a concurrent COPY commits meanwhile are
    -- not in this snapshot and wait for the next run. (u/a/s rows only exist if queued before
    -- migration 009.)
    WITH pending AS (
        DELETE FROM beacon.rollup_pending RETURNING *
    ), hourly AS (
        INSERT INTO beacon.rollup_hourly AS r (project_id, hour, name, events)
        SELECT p.project_id, p.bucket, p.key, sum(p.n) FROM pending p WHERE p.kind = 'event'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (project_id, hour, name) DO UPDATE SET events = r.events + excluded.events
    ), dims AS (
        INSERT INTO beacon.rollup_daily_dims AS r (project_id, day, dimension, value, pageviews)
        SELECT p.project_id, (p.bucket AT TIME ZONE 'UTC')::date, p.kind, p.key, sum(p.n) FROM pending p
        WHERE p.kind IN ('page', 'referrer', 'browser', 'device', 'os')
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 2, 4
        ON CONFLICT (project_id, dimension, day, value) DO UPDATE SET pageviews = r.pageviews + excluded.pageviews
    ), ids AS (
        INSERT INTO beacon.rollup_daily_ids (project_id, day, kind, id)
        SELECT DISTINCT p.project_id, (p.bucket AT TIME ZONE 'UTC')::date, p.kind::"char", p.key FROM pending p
        WHERE p.kind IN ('u', 'a', 's')
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (project_id, day, kind, id) DO NOTHING
    )
    SELECT coalesce(sum(p.n), 0) INTO folded FROM pending p WHERE p.kind = 'event';
    IF folded > 0 THEN
        UPDATE beacon.rollup_state SET dirty = true;
    END IF;
    RETURN folded;
END $$;
COMMENT ON FUNCTION beacon.fold_rollups() IS 'Adds the pending batch counts into beacon.rollup_hourly and rollup_daily_dims and empties beacon.rollup_pending. Returns the events folded: the work is proportional to events inserted since the last run. A maintain() step.';
