-- 007_time_zones: one meaning of "the last N days", in the project's own time zone (issue 11,
-- items 3 and 4).
--
--  * beacon.projects.timezone: an IANA zone name (default 'UTC'), validated against
--    pg_timezone_names by a trigger in the code package (a CHECK may not read a catalog that
--    changes with the tz database). Daily figures, the day boundaries of the rollups and the top
--    lists follow it.
--  * "The last 7 days" (and 30) is, everywhere: the 7 calendar days ending today, in the
--    project's time zone, today included. Before, mv_event_names counted the hours since the
--    refresh time minus 7×24 h, mv_top_values 7 UTC days: two figures for one name. Both
--    materialized views get a new definition, so (docs/sql.md, "Materialized views are state")
--    they are created here under new names; the code package points the analytics views and the
--    refresh at them. The old ones are no longer refreshed and are dropped by a later migration
--    (a migration cannot drop them now: the analytics views depend on them until the code
--    package, which runs after every migration, repoints them).

ALTER TABLE beacon.projects ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
COMMENT ON COLUMN beacon.projects.timezone IS 'The project''s time zone, an IANA name from pg_timezone_names (e.g. Europe/Paris); default UTC. Its calendar days are the days of analytics.daily, of the rollups'' day columns and of the top lists'' 7- and 30-day windows. Change it with beacon.set_project_timezone (`beacon project set-tz`) or a plain UPDATE: either queues a recount of the project''s rollups (beacon.timezone_recounts).';

-- A change of time zone moves the day boundaries of everything counted per day: the project's
-- rollups are recounted from its events (beacon.recount_timezones, run by fold_rollups). The
-- queue is state; the functions are in code/timezones.sql.
CREATE TABLE beacon.timezone_recounts (
    project_id   uuid        PRIMARY KEY REFERENCES beacon.projects ON DELETE CASCADE,
    old_timezone text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE beacon.timezone_recounts IS 'Projects whose time zone changed and whose rollups must be recounted in the new zone: written by the projects_timezone_changed trigger, emptied by beacon.recount_timezones() (a part of fold_rollups, so of maintain()).';
COMMENT ON COLUMN beacon.timezone_recounts.project_id IS 'Project whose time zone changed.';
COMMENT ON COLUMN beacon.timezone_recounts.old_timezone IS 'The zone its rollups are counted in (the first one, when the zone changed again before the recount).';
COMMENT ON COLUMN beacon.timezone_recounts.requested_at IS 'When the time zone was (last) changed.';

-- One row per project and event name of its last 30 days: the window is per project (its today).
CREATE MATERIALIZED VIEW beacon.mv_event_names_local AS
SELECT h.project_id, h.name,
       coalesce(sum(h.events) FILTER (WHERE h.hour >= now() - interval '24 hours'), 0)::bigint AS events_24h,
       coalesce(sum(h.events) FILTER (WHERE h.hour >= w.from_7d), 0)::bigint AS events_7d,
       sum(h.events)::bigint AS events_30d,
       max(h.hour) AS last_hour
FROM (
    SELECT p.project_id,
           ((now() AT TIME ZONE p.timezone)::date - 29)::timestamp AT TIME ZONE p.timezone AS from_30d,
           ((now() AT TIME ZONE p.timezone)::date - 6)::timestamp AT TIME ZONE p.timezone AS from_7d,
           ((now() AT TIME ZONE p.timezone)::date + 1)::timestamp AT TIME ZONE p.timezone AS until
    FROM beacon.projects p
) w
JOIN beacon.rollup_hourly h ON h.project_id = w.project_id AND h.hour >= w.from_30d AND h.hour < w.until
-- Every zone's window lies within these bounds (today is at most a day from UTC's): a range the
-- hour index can scan, whatever the history.
WHERE h.hour >= now() - interval '32 days' AND h.hour < now() + interval '2 days'
GROUP BY h.project_id, h.name;
CREATE UNIQUE INDEX mv_event_names_local_key ON beacon.mv_event_names_local (project_id, name);
COMMENT ON INDEX beacon.mv_event_names_local_key IS 'One row per project and name; lets REFRESH MATERIALIZED VIEW CONCURRENTLY run.';
COMMENT ON MATERIALIZED VIEW beacon.mv_event_names_local IS 'Event names of each project''s last 30 days (the 30 calendar days ending today in the project''s time zone, today included) with their 24-hour, 7- and 30-day counts. Read it through analytics.top_events.';
COMMENT ON COLUMN beacon.mv_event_names_local.project_id IS 'Project.';
COMMENT ON COLUMN beacon.mv_event_names_local.name IS 'Event name.';
COMMENT ON COLUMN beacon.mv_event_names_local.events_24h IS 'Events in the hour of the last refresh and the 23 hours before it (whole hour buckets starting after refresh time - 24 h).';
COMMENT ON COLUMN beacon.mv_event_names_local.events_7d IS 'Events in the 7 calendar days ending today in the project''s time zone, today included (as of the last refresh).';
COMMENT ON COLUMN beacon.mv_event_names_local.events_30d IS 'Events in the 30 calendar days ending today in the project''s time zone, today included (as of the last refresh).';
COMMENT ON COLUMN beacon.mv_event_names_local.last_hour IS 'Start of the latest hour of those 30 days with such an event.';

CREATE MATERIALIZED VIEW beacon.mv_top_values_local AS
SELECT r.project_id, r.dimension, r.value, r.pageviews_7d, r.pageviews_30d, r.rank
FROM (
    SELECT d.project_id, d.dimension, d.value,
           coalesce(sum(d.pageviews) FILTER (WHERE d.day >= w.today - 6), 0)::bigint AS pageviews_7d,
           sum(d.pageviews)::bigint AS pageviews_30d,
           rank() OVER (PARTITION BY d.project_id, d.dimension ORDER BY sum(d.pageviews) DESC)::int AS rank
    FROM (SELECT p.project_id, (now() AT TIME ZONE p.timezone)::date AS today FROM beacon.projects p) w
    JOIN beacon.rollup_daily_dims d ON d.project_id = w.project_id AND d.day BETWEEN w.today - 29 AND w.today
    -- Every zone's window lies within these days: a range the day index can scan.
    WHERE d.day BETWEEN (now() AT TIME ZONE 'UTC')::date - 30 AND (now() AT TIME ZONE 'UTC')::date + 1
    GROUP BY d.project_id, d.dimension, d.value
) r
WHERE r.rank <= 1000;
CREATE UNIQUE INDEX mv_top_values_local_key ON beacon.mv_top_values_local (project_id, dimension, value);
COMMENT ON INDEX beacon.mv_top_values_local_key IS 'One row per project, dimension and value; lets REFRESH MATERIALIZED VIEW CONCURRENTLY run.';
COMMENT ON MATERIALIZED VIEW beacon.mv_top_values_local IS 'The 1,000 most viewed values per project and dimension (page, referrer, browser, device, os) over the 30 calendar days ending today in the project''s time zone (today included), with 7- and 30-day $pageview counts. Read it through analytics.top_pages and friends.';
COMMENT ON COLUMN beacon.mv_top_values_local.project_id IS 'Project.';
COMMENT ON COLUMN beacon.mv_top_values_local.dimension IS 'page, referrer, browser, device or os.';
COMMENT ON COLUMN beacon.mv_top_values_local.value IS 'Value of the dimension (referrer: the external host or (direct); pageviews from the same site are not in this dimension).';
COMMENT ON COLUMN beacon.mv_top_values_local.pageviews_7d IS '$pageview events with this value in the 7 calendar days ending today in the project''s time zone, today included (as of the last refresh).';
COMMENT ON COLUMN beacon.mv_top_values_local.pageviews_30d IS '$pageview events with this value in the 30 calendar days ending today in the project''s time zone, today included (as of the last refresh).';
COMMENT ON COLUMN beacon.mv_top_values_local.rank IS 'Rank by 30-day pageviews within project and dimension (1 = most); at most 1,000.';

COMMENT ON MATERIALIZED VIEW beacon.mv_event_names IS 'Superseded by beacon.mv_event_names_local (migration 007: windows in calendar days of the project''s time zone). No longer refreshed; dropped by a later migration.';
COMMENT ON MATERIALIZED VIEW beacon.mv_top_values IS 'Superseded by beacon.mv_top_values_local (migration 007: windows in calendar days of the project''s time zone). No longer refreshed; dropped by a later migration.';

COMMENT ON COLUMN beacon.rollup_pending.bucket IS 'event: start of the hour in the project''s time zone (the UTC hour unless the zone''s offset has a fraction of an hour). page/referrer/browser/device/os and u/a/s: the day in the project''s time zone, as midnight UTC of that date.';
COMMENT ON TABLE beacon.rollup_hourly IS 'Events per project, hour (of the client time ts; hours start where they start in the project''s time zone, which is the UTC hour for every zone with a whole-hour offset) and event name; all history (counts only, no personal data, so not subject to retention).';
COMMENT ON COLUMN beacon.rollup_hourly.hour IS 'Start of the hour in the project''s time zone (the UTC hour unless the zone''s offset has a fraction of an hour).';
COMMENT ON TABLE beacon.rollup_daily_dims IS '$pageview events per project, day in the project''s time zone and value of a dimension: page (props.path or url), referrer (external host or ''(direct)''), browser, device, os (props $browser/browser, $device/device, $os/os). All history.';
COMMENT ON COLUMN beacon.rollup_daily_dims.day IS 'Day of ts in the project''s time zone.';
COMMENT ON TABLE beacon.rollup_daily_ids IS 'Each distinct id seen per project and day in the project''s time zone — u: user id of events that carried one, a: anon id of events without a user id, s: session id — so daily unique counts are exact. Written directly by the events_rollup trigger (ON CONFLICT DO NOTHING). Holds personal ids: subject to retention.';
COMMENT ON COLUMN beacon.rollup_daily_ids.day IS 'Day of ts in the project''s time zone.';
COMMENT ON TABLE beacon.daily_stats IS 'Per project and day (in the project''s time zone) of the last beacon.settings.view_days days: events, pageviews and exact unique visitors, users and sessions (aliases and merges resolved). Kept by beacon.refresh_daily(), which recounts only the days that changed; read it through analytics.daily.';
COMMENT ON COLUMN beacon.daily_stats.day IS 'Day in the project''s time zone (of the client time ts).';
COMMENT ON COLUMN beacon.daily_dirty.day IS 'Day (in the project''s time zone) to recount.';
COMMENT ON COLUMN beacon.settings.view_days IS 'Days of history (days before today in each project''s time zone, plus today) that beacon.daily_stats (analytics.daily) covers.';
