-- 018_overview_filters: what the overview (issue 12) needs to answer a view filtered by one session
-- dimension (entry_page, source, browser, os or device) over whole days from stored figures instead
-- of beacon.events. State only; the functions are in code/overview_rollups.sql (recount) and
-- code/overview_filtered.sql (read).
--
--  * beacon.session_filter_daily: per project, session dimension and value, the events of the
--    sessions with that value by the day of the event and event name, their $pageviews by page,
--    browser, OS and device, and the sessions by entry page and source; keyed also by the day the
--    sessions started, so that a start day is recounted as a whole (beacon.session_dirty, like
--    beacon.session_daily).
--  * beacon.session_filter_ids: the ids (user, else anonymous id) seen each day in the sessions
--    of each dimension value, for the exact distinct visitors of any range (aliases and merges
--    resolved when read, as beacon.rollup_daily_ids).
--
-- Both start empty. Emptying beacon.session_daily_zones makes the next refresh_session_daily()
-- (refresh_analytics(), source sessions) recount every project's start days — session_daily and
-- these two tables — outside this migration's transaction.

CREATE TABLE beacon.session_filter_daily (
    project_id uuid   NOT NULL,
    dimension  text   NOT NULL CHECK (dimension IN ('entry_page', 'source', 'browser', 'os', 'device')),
    value      text   NOT NULL,
    day        date   NOT NULL,
    target     text   NOT NULL CHECK (target IN ('name', 'page', 'browser', 'os', 'device', 'entry_page', 'source')),
    item       text   NOT NULL,
    start_day  date   NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (project_id, dimension, value, day, target, item, start_day)
);
CREATE INDEX session_filter_daily_start ON beacon.session_filter_daily (project_id, start_day);
COMMENT ON INDEX beacon.session_filter_daily_start IS 'The rows of a start day, deleted when beacon.recount_session_filters recounts it.';
COMMENT ON TABLE beacon.session_filter_daily IS 'The overview filtered by one session dimension, per day (project''s time zone): for the sessions whose dimension (entry_page, source, browser, os, device: columns of beacon.sessions) has value, their events by name (target name: events), their $pageviews by page, browser, os and device of the event (targets page, browser, os, device: pageviews), and the sessions that started that day by entry page and source (targets entry_page, source: sessions). Counts only, all history; recounted per start day of the sessions by beacon.refresh_session_daily() (days in beacon.session_dirty). Read by beacon.overview_filtered.';
COMMENT ON COLUMN beacon.session_filter_daily.project_id IS 'Project.';
COMMENT ON COLUMN beacon.session_filter_daily.dimension IS 'The session dimension filtered on: entry_page, source, browser, os or device.';
COMMENT ON COLUMN beacon.session_filter_daily.value IS 'Its value (sessions whose value is NULL are in no row).';
COMMENT ON COLUMN beacon.session_filter_daily.day IS 'Day of the events (of the sessions'' start for targets entry_page and source).';
COMMENT ON COLUMN beacon.session_filter_daily.target IS 'What item is: name (event name, n events), page / browser / os / device (of the $pageview, n pageviews), entry_page / source (of the session, n sessions started).';
COMMENT ON COLUMN beacon.session_filter_daily.item IS 'The event name (first 200 characters), page, browser, os, device, entry page or source.';
COMMENT ON COLUMN beacon.session_filter_daily.start_day IS 'Day the sessions started: the unit of recounting.';
COMMENT ON COLUMN beacon.session_filter_daily.n IS 'Events, pageviews or sessions (see target).';

CREATE TABLE beacon.session_filter_ids (
    project_id uuid   NOT NULL,
    dimension  text   NOT NULL CHECK (dimension IN ('entry_page', 'source', 'browser', 'os', 'device')),
    value      text   NOT NULL,
    day        date   NOT NULL,
    kind       "char" NOT NULL CHECK (kind IN ('u', 'a')),
    id         text   NOT NULL,
    start_day  date   NOT NULL,
    PRIMARY KEY (project_id, dimension, value, day, kind, id, start_day)
);
CREATE INDEX session_filter_ids_start ON beacon.session_filter_ids (project_id, start_day);
COMMENT ON INDEX beacon.session_filter_ids_start IS 'The rows of a start day, deleted when beacon.recount_session_filters recounts it.';
COMMENT ON TABLE beacon.session_filter_ids IS 'Who was seen each day (project''s time zone) in the sessions whose dimension has value: kind u (the event''s user) or a (its anonymous id, when it had no user); ids over 1,000 bytes and empty anonymous ids are skipped, as in beacon.rollup_daily_ids. The filtered overview counts distinct visitors of a range from it exactly, resolving aliases and merges when it reads. All history; recounted per start day like beacon.session_filter_daily.';
COMMENT ON COLUMN beacon.session_filter_ids.project_id IS 'Project.';
COMMENT ON COLUMN beacon.session_filter_ids.dimension IS 'The session dimension: entry_page, source, browser, os or device.';
COMMENT ON COLUMN beacon.session_filter_ids.value IS 'Its value.';
COMMENT ON COLUMN beacon.session_filter_ids.day IS 'Day of the events.';
COMMENT ON COLUMN beacon.session_filter_ids.kind IS 'u: user id; a: anonymous id of an event without a user.';
COMMENT ON COLUMN beacon.session_filter_ids.id IS 'The id.';
COMMENT ON COLUMN beacon.session_filter_ids.start_day IS 'Day the sessions started: the unit of recounting.';

UPDATE beacon.freshness SET relations = '{session_daily,session_filter_daily,session_filter_ids}'
WHERE source = 'sessions';

-- Recount every project's sessions (session_daily too) at the next refresh_session_daily().
DELETE FROM beacon.session_daily_zones;
