-- 005_rollups: aggregates for the dashboard, maintained incrementally, and materialized views over
-- them refreshed by beacon.maintain().
--
-- How it stays incremental:
--  1. A statement-level trigger with a transition table on beacon.events turns each inserted batch
--     into a few pre-aggregated rows in beacon.rollup_pending (insert only: concurrent writers never
--     wait on each other's rollup rows, and the rows commit or roll back with their events, so a
--     batch is counted exactly once — the relay's 23505 retry included).
--  2. beacon.fold_rollups() (a maintain() step) deletes the pending rows and adds them into the
--     rollup tables. Its cost grows with the events inserted since the last run, not with history.
--  3. The materialized views read only the rollup tables (never beacon.events), over a window of
--     beacon.settings.view_days, so a refresh costs the window's aggregated rows, whatever the
--     history; REFRESH … CONCURRENTLY keeps them readable meanwhile.
--
-- Unique counts are exact: beacon.rollup_daily_ids keeps the set of distinct ids seen each day
-- (one row per id and day, not per event); visitors and users are counted from it with aliases
-- and merges resolved at refresh time.

ALTER TABLE beacon.settings
    ADD COLUMN view_days int NOT NULL DEFAULT 90 CHECK (view_days BETWEEN 1 AND 3660),
    ADD COLUMN refresh_interval interval NOT NULL DEFAULT '1 minute';
COMMENT ON COLUMN beacon.settings.view_days IS 'Days of history (UTC days before today, plus today) the materialized views behind analytics.daily cover.';
COMMENT ON COLUMN beacon.settings.refresh_interval IS 'Least time between two refreshes of the materialized views while events keep arriving; they are refreshed at least hourly regardless.';

-- Pending deltas ---------------------------------------------------------------------------------

CREATE TABLE beacon.rollup_pending (
    project_id uuid        NOT NULL,
    kind       text        NOT NULL,
    bucket     timestamptz NOT NULL,
    key        text        NOT NULL,
    n          bigint      NOT NULL
);
COMMENT ON TABLE beacon.rollup_pending IS 'Per-batch aggregates written by the events_rollup trigger, waiting for beacon.fold_rollups(). Insert-only queue; empty after each maintain().';
COMMENT ON COLUMN beacon.rollup_pending.kind IS 'event (bucket = hour, key = name), page/referrer/browser/device/os (bucket = day, key = value, $pageview events only), u/a/s (bucket = day, key = user id / anon id / session id).';
COMMENT ON COLUMN beacon.rollup_pending.bucket IS 'Start of the UTC hour or day.';
COMMENT ON COLUMN beacon.rollup_pending.key IS 'Event name, dimension value or id.';
COMMENT ON COLUMN beacon.rollup_pending.n IS 'Events in the batch for this kind, bucket and key.';

CREATE FUNCTION beacon.url_host(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(substring(p_url FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)'))
$$;
COMMENT ON FUNCTION beacon.url_host(text) IS 'Lower-cased host of an absolute URL; NULL when there is none.';

CREATE FUNCTION beacon.event_referrer(p_name text, p_props jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_name <> '$pageview' THEN NULL
        WHEN coalesce(p_props->>'referrer', '') = '' THEN '(direct)'
        WHEN beacon.url_host(p_props->>'referrer') = beacon.url_host(p_props->>'url') THEN NULL
        ELSE left(coalesce(beacon.url_host(p_props->>'referrer'), p_props->>'referrer'), 200)
    END
$$;
COMMENT ON FUNCTION beacon.event_referrer(text, jsonb) IS 'Referrer of a $pageview for the referrers rollup: the referring host, ''(direct)'' when props.referrer is empty, NULL for a same-site referrer (an in-app navigation) and for other events.';

CREATE FUNCTION beacon.rollup_from_events() RETURNS trigger
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
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT e.project_id, CASE WHEN e.user_id IS NOT NULL THEN 'u' ELSE 'a' END,
           date_trunc('day', e.ts, 'UTC'), coalesce(e.user_id, e.anon_id), count(*)
    FROM new_events e WHERE e.user_id IS NOT NULL OR e.anon_id <> ''
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT e.project_id, 's', date_trunc('day', e.ts, 'UTC'), e.session_id, count(*)
    FROM new_events e WHERE e.session_id <> ''
    GROUP BY 1, 3, 4;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.rollup_from_events() IS 'Statement-level AFTER INSERT trigger on beacon.events: appends the batch''s aggregates (events per hour and name; $pageview pages, referrers, browsers, devices, OSes per day; distinct user, anon and session ids per day) to beacon.rollup_pending. Security definer so the ingest role needs no rights on it.';

CREATE TRIGGER events_rollup AFTER INSERT ON beacon.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.rollup_from_events();

-- Rollup tables ----------------------------------------------------------------------------------

CREATE TABLE beacon.rollup_hourly (
    project_id uuid        NOT NULL,
    hour       timestamptz NOT NULL,
    name       text        NOT NULL,
    events     bigint      NOT NULL,
    PRIMARY KEY (project_id, hour, name)
);
CREATE INDEX rollup_hourly_hour ON beacon.rollup_hourly (hour);
COMMENT ON TABLE beacon.rollup_hourly IS 'Events per project, UTC hour (of the client time ts) and event name; all history (counts only, no personal data, so not subject to retention).';
COMMENT ON COLUMN beacon.rollup_hourly.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN beacon.rollup_hourly.name IS 'Event name.';
COMMENT ON COLUMN beacon.rollup_hourly.events IS 'Events inserted.';

CREATE TABLE beacon.rollup_daily_dims (
    project_id uuid   NOT NULL,
    day        date   NOT NULL,
    dimension  text   NOT NULL CHECK (dimension IN ('page', 'referrer', 'browser', 'device', 'os')),
    value      text   NOT NULL,
    pageviews  bigint NOT NULL,
    PRIMARY KEY (project_id, dimension, day, value)
);
CREATE INDEX rollup_daily_dims_day ON beacon.rollup_daily_dims (day);
COMMENT ON TABLE beacon.rollup_daily_dims IS '$pageview events per project, UTC day and value of a dimension: page (props.path or url), referrer (external host or ''(direct)''), browser, device, os (props $browser/browser, $device/device, $os/os). All history.';
COMMENT ON COLUMN beacon.rollup_daily_dims.day IS 'UTC day of ts.';
COMMENT ON COLUMN beacon.rollup_daily_dims.dimension IS 'page, referrer, browser, device or os.';
COMMENT ON COLUMN beacon.rollup_daily_dims.value IS 'Value of the dimension, at most 200 (page: 500) characters.';
COMMENT ON COLUMN beacon.rollup_daily_dims.pageviews IS '$pageview events with this value.';

CREATE TABLE beacon.rollup_daily_ids (
    project_id uuid   NOT NULL,
    day        date   NOT NULL,
    kind       "char" NOT NULL CHECK (kind IN ('u', 'a', 's')),
    id         text   NOT NULL,
    events     bigint NOT NULL,
    PRIMARY KEY (project_id, day, kind, id)
);
CREATE INDEX rollup_daily_ids_day ON beacon.rollup_daily_ids (day);
COMMENT ON TABLE beacon.rollup_daily_ids IS 'Each distinct id seen per project and UTC day — u: user id of events that carried one, a: anon id of events without a user id, s: session id — so daily unique counts are exact. Holds personal ids: subject to retention.';
COMMENT ON COLUMN beacon.rollup_daily_ids.kind IS 'u (user id), a (anon id of an event without user id), s (session id).';
COMMENT ON COLUMN beacon.rollup_daily_ids.id IS 'The id.';
COMMENT ON COLUMN beacon.rollup_daily_ids.events IS 'Events with this id that day.';

CREATE TABLE beacon.rollup_state (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    dirty        boolean     NOT NULL DEFAULT false,
    refreshed_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO beacon.rollup_state DEFAULT VALUES;
COMMENT ON TABLE beacon.rollup_state IS 'Whether the rollups changed since the materialized views were last refreshed, and when that was.';
COMMENT ON COLUMN beacon.rollup_state.singleton IS 'Always true: one row.';
COMMENT ON COLUMN beacon.rollup_state.dirty IS 'Rollups changed since the last refresh.';
COMMENT ON COLUMN beacon.rollup_state.refreshed_at IS 'Last refresh of the materialized views.';

CREATE FUNCTION beacon.fold_rollups() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
BEGIN
    -- Rows are consumed and added in one transaction: rows a concurrent COPY commits meanwhile are
    -- not in this snapshot and wait for the next run.
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
        INSERT INTO beacon.rollup_daily_ids AS r (project_id, day, kind, id, events)
        SELECT p.project_id, (p.bucket AT TIME ZONE 'UTC')::date, p.kind::"char", p.key, sum(p.n) FROM pending p
        WHERE p.kind IN ('u', 'a', 's')
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (project_id, day, kind, id) DO UPDATE SET events = r.events + excluded.events
    )
    SELECT coalesce(sum(p.n), 0) INTO folded FROM pending p WHERE p.kind = 'event';
    IF folded > 0 THEN
        UPDATE beacon.rollup_state SET dirty = true;
    END IF;
    RETURN folded;
END $$;
COMMENT ON FUNCTION beacon.fold_rollups() IS 'Adds the pending batch aggregates into beacon.rollup_hourly, rollup_daily_dims and rollup_daily_ids and empties beacon.rollup_pending. Returns the events folded: the work is proportional to events inserted since the last run. A maintain() step.';

CREATE FUNCTION beacon.purge_rollup_ids() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM beacon.rollup_daily_ids i
    USING beacon.project_retention() r
    WHERE i.project_id = r.project_id
      AND r.retention_days IS NOT NULL
      AND i.day < (now() AT TIME ZONE 'UTC')::date - r.retention_days;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_rollup_ids() IS 'Deletes the daily id sets older than their project''s effective retention (they hold personal ids; the counts in the other rollups are kept). Returns the rows deleted.';

-- Materialized views for the dashboard -----------------------------------------------------------

-- A plpgsql (not inlined) STABLE function, so the planner evaluates it when estimating and picks
-- the day indexes: a refresh reads the window's rows only.
CREATE FUNCTION beacon.view_since() RETURNS date
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (now() AT TIME ZONE 'UTC')::date - (SELECT s.view_days FROM beacon.settings s);
END $$;
COMMENT ON FUNCTION beacon.view_since() IS 'First UTC day covered by beacon.mv_daily: today minus beacon.settings.view_days.';

CREATE MATERIALIZED VIEW beacon.mv_daily AS
WITH ev AS (
    SELECT h.project_id, (h.hour AT TIME ZONE 'UTC')::date AS day,
           sum(h.events) AS events,
           coalesce(sum(h.events) FILTER (WHERE h.name = '$pageview'), 0) AS pageviews
    FROM beacon.rollup_hourly h
    WHERE h.hour >= beacon.view_since()::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2
), people AS (
    SELECT i.project_id, i.day, i.kind, i.id,
           CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                       WHEN 'a' THEN coalesce(u.merged_into, a.user_id) END AS person
    FROM beacon.rollup_daily_ids i
    LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = i.project_id AND a.anon_id = i.id
    LEFT JOIN beacon.users u ON u.project_id = i.project_id
                            AND u.user_id = CASE i.kind WHEN 'u' THEN i.id WHEN 'a' THEN a.user_id END
    WHERE i.day >= beacon.view_since()
), ids AS (
    SELECT p.project_id, p.day,
           count(DISTINCT (p.person IS NULL, coalesce(p.person, p.id))) FILTER (WHERE p.kind <> 's') AS visitors,
           count(DISTINCT p.person) AS users,
           count(*) FILTER (WHERE p.kind = 's') AS sessions
    FROM people p
    GROUP BY 1, 2
)
SELECT coalesce(ev.project_id, ids.project_id) AS project_id,
       coalesce(ev.day, ids.day) AS day,
       coalesce(ev.events, 0)::bigint AS events,
       coalesce(ev.pageviews, 0)::bigint AS pageviews,
       coalesce(ids.visitors, 0) AS visitors,
       coalesce(ids.users, 0) AS users,
       coalesce(ids.sessions, 0) AS sessions
FROM ev FULL JOIN ids ON ids.project_id = ev.project_id AND ids.day = ev.day;
CREATE UNIQUE INDEX mv_daily_key ON beacon.mv_daily (project_id, day);
COMMENT ON MATERIALIZED VIEW beacon.mv_daily IS 'Per project and UTC day of the last beacon.settings.view_days days: events, pageviews and exact unique visitors, users and sessions (aliases and merges resolved as of the refresh). Refreshed by maintain(); read it through analytics.daily.';

CREATE MATERIALIZED VIEW beacon.mv_event_names AS
SELECT h.project_id, h.name,
       coalesce(sum(h.events) FILTER (WHERE h.hour >= now() - interval '24 hours'), 0)::bigint AS events_24h,
       coalesce(sum(h.events) FILTER (WHERE h.hour >= now() - interval '7 days'), 0)::bigint AS events_7d,
       sum(h.events)::bigint AS events_30d,
       max(h.hour) AS last_hour
FROM beacon.rollup_hourly h
WHERE h.hour >= now() - interval '30 days'
GROUP BY h.project_id, h.name;
CREATE UNIQUE INDEX mv_event_names_key ON beacon.mv_event_names (project_id, name);
COMMENT ON MATERIALIZED VIEW beacon.mv_event_names IS 'Event names of the last 30 days per project with their counts over 24 hours, 7 and 30 days. Read it through analytics.top_events.';

CREATE MATERIALIZED VIEW beacon.mv_top_values AS
SELECT r.project_id, r.dimension, r.value, r.pageviews_7d, r.pageviews_30d, r.rank
FROM (
    SELECT d.project_id, d.dimension, d.value,
           coalesce(sum(d.pageviews) FILTER (WHERE d.day > (now() AT TIME ZONE 'UTC')::date - 7), 0)::bigint AS pageviews_7d,
           sum(d.pageviews)::bigint AS pageviews_30d,
           rank() OVER (PARTITION BY d.project_id, d.dimension ORDER BY sum(d.pageviews) DESC)::int AS rank
    FROM beacon.rollup_daily_dims d
    WHERE d.day > (now() AT TIME ZONE 'UTC')::date - 30
    GROUP BY d.project_id, d.dimension, d.value
) r
WHERE r.rank <= 1000;
CREATE UNIQUE INDEX mv_top_values_key ON beacon.mv_top_values (project_id, dimension, value);
COMMENT ON MATERIALIZED VIEW beacon.mv_top_values IS 'The 1,000 most viewed values per project and dimension (page, referrer, browser, device, os) over the last 30 UTC days (today included), with 7- and 30-day $pageview counts. Read it through analytics.top_pages and friends.';

CREATE FUNCTION beacon.refresh_views() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    st beacon.rollup_state;
BEGIN
    SELECT * INTO st FROM beacon.rollup_state;
    IF NOT ((st.dirty AND st.refreshed_at <= now() - (SELECT s.refresh_interval FROM beacon.settings s))
            OR st.refreshed_at < now() - interval '1 hour') THEN
        RETURN 0;
    END IF;
    REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_daily;
    REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_event_names;
    REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_top_values;
    UPDATE beacon.rollup_state SET dirty = false, refreshed_at = now();
    RETURN 3;
END $$;
COMMENT ON FUNCTION beacon.refresh_views() IS 'Refreshes the dashboard''s materialized views CONCURRENTLY when the rollups changed and beacon.settings.refresh_interval has passed, and at least hourly (their windows move). Returns the views refreshed. A maintain() step.';

INSERT INTO beacon.maintenance_steps (step, position, fn) VALUES
    ('rollup',       50, 'beacon.fold_rollups()'),
    ('rollup_purge', 55, 'beacon.purge_rollup_ids()'),
    ('refresh',      60, 'beacon.refresh_views()');
