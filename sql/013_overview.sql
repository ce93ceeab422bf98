-- 013_overview: what the dashboard's overview (issue 12) needs to answer from stored figures and to
-- filter by browser, OS and device. State only; the functions are in code/api_overview.sql and
-- code/overview_rollups.sql.
--
--  * beacon.sessions gains the landing page's browser, os and device (props $browser/browser,
--    $os/os, $device/device of the session's earliest $pageview), filled by the sessions trigger
--    like source. Existing rows keep NULL (their values are in beacon.events only).
--  * beacon.session_daily: sessions per project, start day and entry page / source / browser / os
--    / device (and the totals), with their bounces, pageviews and duration: the overview's session
--    figures without reading beacon.sessions. Filled here from beacon.sessions (one pass), then
--    recounted for the days whose sessions changed (beacon.session_dirty) by refresh_daily(); the
--    first refresh after this migration counts the history.
--  * beacon.session_daily_zones: the time zone each project's session_daily rows were counted in
--    (a change of zone, or none yet,
--    recounts them).
--  * beacon.period_stats: exact distinct visitors of the overview's standard periods (7 and 30
--    days and the periods before them), recounted at their own pace by refresh_analytics().
--  * beacon.api_overview(uuid, date, date) is replaced by api_overview(uuid, text, date, date, jsonb).

ALTER TABLE beacon.sessions
    ADD COLUMN browser text,
    ADD COLUMN os      text,
    ADD COLUMN device  text;
COMMENT ON COLUMN beacon.sessions.browser IS 'Browser of the landing page (props $browser, else browser, of the earliest $pageview; at most 200 characters); NULL without pageviews, without the prop, or for a session that began before migration 013.';
COMMENT ON COLUMN beacon.sessions.os IS 'Operating system of the landing page (props $os, else os); NULL like browser.';
COMMENT ON COLUMN beacon.sessions.device IS 'Device of the landing page (props $device, else device); NULL like browser.';

CREATE TABLE beacon.session_daily (
    project_id              uuid    NOT NULL,
    day                     date    NOT NULL,
    dimension               text    NOT NULL CHECK (dimension IN ('all', 'entry_page', 'source', 'browser', 'os', 'device')),
    value                   text    NOT NULL,
    sessions                bigint  NOT NULL,
    sessions_with_pageviews bigint  NOT NULL,
    pageviews               bigint  NOT NULL,
    bounces                 bigint  NOT NULL,
    duration_seconds        numeric NOT NULL,
    PRIMARY KEY (project_id, dimension, day, value)
);
COMMENT ON TABLE beacon.session_daily IS 'Sessions per project, day they started (calendar day of the project''s time zone) and value of a dimension: all (value ''''), entry_page, source, browser, os, device (sessions whose value is NULL are in all only). Counts only, all history (like rollup_hourly). Recounted from beacon.sessions for the days in beacon.session_dirty by beacon.refresh_session_daily(), a step of refresh_daily(). Read by the overview (beacon.api_overview).';
COMMENT ON COLUMN beacon.session_daily.project_id IS 'Project.';
COMMENT ON COLUMN beacon.session_daily.day IS 'Day the sessions started (first_seen), in the project''s time zone.';
COMMENT ON COLUMN beacon.session_daily.dimension IS 'all, entry_page, source, browser, os or device (columns of beacon.sessions).';
COMMENT ON COLUMN beacon.session_daily.value IS 'The dimension''s value; '''' for all.';
COMMENT ON COLUMN beacon.session_daily.sessions IS 'Sessions that started that day with this value.';
COMMENT ON COLUMN beacon.session_daily.sessions_with_pageviews IS 'Of them, sessions with at least one $pageview (the denominator of views per session and bounce rate).';
COMMENT ON COLUMN beacon.session_daily.pageviews IS '$pageviews of those sessions (all of each session''s, also after the day).';
COMMENT ON COLUMN beacon.session_daily.bounces IS 'Sessions with pageviews that had exactly one event.';
COMMENT ON COLUMN beacon.session_daily.duration_seconds IS 'Sum of the sessions'' durations (last_seen - first_seen), seconds.';

CREATE TABLE beacon.session_dirty (
    project_id uuid NOT NULL,
    day        date NOT NULL,
    PRIMARY KEY (project_id, day)
);
COMMENT ON TABLE beacon.session_dirty IS 'Start days whose sessions changed since beacon.session_daily was counted: written by fold_rollups() from the sessions trigger''s ''session'' pending rows; emptied by beacon.refresh_session_daily().';
COMMENT ON COLUMN beacon.session_dirty.project_id IS 'Project.';
COMMENT ON COLUMN beacon.session_dirty.day IS 'Start day (project''s time zone) to recount.';

CREATE TABLE beacon.session_daily_zones (
    project_id uuid PRIMARY KEY,
    timezone   text NOT NULL
);
COMMENT ON TABLE beacon.session_daily_zones IS 'The time zone each project''s beacon.session_daily days were counted in; when it differs from beacon.projects.timezone, beacon.refresh_session_daily() recounts all of the project''s days.';
COMMENT ON COLUMN beacon.session_daily_zones.project_id IS 'Project.';
COMMENT ON COLUMN beacon.session_daily_zones.timezone IS 'Time zone of its session_daily days.';

CREATE TABLE beacon.period_stats (
    project_id uuid        NOT NULL,
    first_day  date        NOT NULL,
    last_day   date        NOT NULL,
    visitors   bigint      NOT NULL,
    as_of      timestamptz NOT NULL,
    PRIMARY KEY (project_id, first_day, last_day)
);
COMMENT ON TABLE beacon.period_stats IS 'Exact distinct visitors of each project over the overview''s standard periods (the last 7 and 30 days, today included, and the 7 and 30 days before them; days of the project''s time zone), counted like analytics.visitors by beacon.refresh_period_stats() at its own pace (refresh_analytics(), source periods). The overview reads a row whose days match its range instead of counting the id sets; as_of says how current it is.';
COMMENT ON COLUMN beacon.period_stats.project_id IS 'Project.';
COMMENT ON COLUMN beacon.period_stats.first_day IS 'First day of the period.';
COMMENT ON COLUMN beacon.period_stats.last_day IS 'Last day of the period (included).';
COMMENT ON COLUMN beacon.period_stats.visitors IS 'Distinct people over the period (analytics.visitors), as of as_of.';
COMMENT ON COLUMN beacon.period_stats.as_of IS 'Every event folded into the rollups before this time is counted.';

-- session_daily starts empty and session_daily_zones too: the first refresh_session_daily()
-- counts every project's days from beacon.sessions (as after a change of zone), outside this
-- migration's transaction.

INSERT INTO beacon.freshness (source, relations) VALUES
    ('sessions', '{beacon.session_daily}'),
    ('periods',  '{beacon.period_stats}')
ON CONFLICT (source) DO NOTHING;

DROP FUNCTION IF EXISTS beacon.api_overview(uuid, date, date);
