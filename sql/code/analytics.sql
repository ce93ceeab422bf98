-- analytics: Beacon's stable, documented read interface for the dashboard and BI tools. Raw
-- beacon.* tables may change between versions; these views keep their names, columns and meaning
-- (columns may be added, at the end). They are replaced in place with CREATE OR REPLACE VIEW, never
-- dropped: BI users build their own views on them.
--
-- People: an event's user_id is the user it was sent with, else the user its anon id was later
-- aliased to (identify), so earlier anonymous events are attributed; person_id resolves merged
-- users to one root user id. The views call no beacon function, so a role needs only SELECT on
-- them (they run with their owner's rights on the beacon tables).

CREATE OR REPLACE VIEW analytics.projects AS
SELECT p.project_id, p.name, p.created_at, coalesce(p.retention_days, s.retention_days) AS retention_days,
       p.timezone
FROM beacon.projects p CROSS JOIN beacon.settings s;
COMMENT ON VIEW analytics.projects IS 'Projects (tracked products).';

CREATE OR REPLACE VIEW analytics.events AS
SELECT e.project_id, e.event_id, e.name, e.ts, e.received_at, e.session_id, e.anon_id,
       e.user_id AS sent_user_id,
       coalesce(e.user_id, a.user_id) AS user_id,
       coalesce(u.merged_into, e.user_id, a.user_id) AS person_id,
       e.props,
       -- beacon.page_of, written out: a reader may not execute beacon's functions.
       CASE WHEN e.name = '$pageview' THEN (
           SELECT left(CASE WHEN strpos(q, '://') > 0
                            THEN coalesce(nullif(substr(split_part(q, '://', 2), strpos(split_part(q, '://', 2) || '/', '/')), ''), '/')
                            ELSE q END, 500)
           FROM (SELECT split_part(split_part(coalesce(nullif(e.props->>'path', ''), nullif(e.props->>'url', '')), '#', 1), '?', 1) AS q) raw
       ) END AS page,
       e.sent_ts
FROM beacon.events e
LEFT JOIN beacon.aliases a ON e.user_id IS NULL AND a.project_id = e.project_id AND a.anon_id = e.anon_id
LEFT JOIN beacon.users u ON u.project_id = e.project_id AND u.user_id = coalesce(e.user_id, a.user_id);
COMMENT ON VIEW analytics.events IS 'Every event with its user resolved: user_id is the user it was sent with or, for anonymous events, the user its anon id later identified as; person_id merges users that are one person. Filter on ts: events are partitioned by day on it.';
COMMENT ON COLUMN analytics.events.sent_ts IS 'The ts the client sent when the relay replaced it as implausible (older than MAX_EVENT_AGE or more than 1 day ahead); NULL when ts is as sent.';

CREATE OR REPLACE VIEW analytics.sessions AS
SELECT s.project_id, s.session_id, s.anon_id,
       coalesce(s.user_id, a.user_id) AS user_id,
       coalesce(u.merged_into, s.user_id, a.user_id) AS person_id,
       s.first_seen, s.last_seen, s.duration, s.event_count,
       s.entry_event, s.exit_event, s.entry_page, s.exit_page,
       s.pageviews,
       CASE WHEN s.pageviews > 0 THEN s.pageviews = 1 AND s.event_count = 1 END AS bounce,
       s.source, s.utm_source, s.utm_medium, s.utm_campaign, s.utm_term, s.utm_content,
       (s.first_seen AT TIME ZONE p.timezone)::date AS day,
       extract(epoch FROM s.duration) AS duration_seconds
FROM beacon.sessions s
JOIN beacon.projects p ON p.project_id = s.project_id
LEFT JOIN beacon.aliases a ON s.user_id IS NULL AND a.project_id = s.project_id AND a.anon_id = s.anon_id
LEFT JOIN beacon.users u ON u.project_id = s.project_id AND u.user_id = coalesce(s.user_id, a.user_id);
COMMENT ON VIEW analytics.sessions IS 'One row per session (the SDK''s session id), with its user resolved like analytics.events, its landing page''s source and UTM parameters, pageviews and bounce. A session belongs to the day it started (day): count sessions of a period by day or first_seen, so one that crosses midnight counts once.';

-- Sessions per start day. Sums over days are period figures (each session counted once, on the day
-- it started); the ratios are per day: over a period, divide the summed columns.
CREATE OR REPLACE VIEW analytics.daily_sessions AS
SELECT s.project_id, (s.first_seen AT TIME ZONE p.timezone)::date AS day,
       count(*) AS sessions,
       count(*) FILTER (WHERE s.pageviews > 0) AS sessions_with_pageviews,
       count(*) FILTER (WHERE s.pageviews = 1 AND s.event_count = 1) AS bounces,
       sum(s.pageviews) AS pageviews,
       sum(extract(epoch FROM s.duration)) AS duration_seconds,
       round(count(*) FILTER (WHERE s.pageviews = 1 AND s.event_count = 1)::numeric
             / nullif(count(*) FILTER (WHERE s.pageviews > 0), 0), 4) AS bounce_rate,
       round(avg(extract(epoch FROM s.duration)), 1) AS avg_duration_seconds
FROM beacon.sessions s
JOIN beacon.projects p ON p.project_id = s.project_id
GROUP BY 1, 2;
COMMENT ON VIEW analytics.daily_sessions IS 'Sessions per project and day they started (a calendar day in the project''s time zone): count, bounces, pageviews, duration. A session that crosses midnight counts once, on its first day, so summing days gives a period''s figures (analytics.daily.sessions counts a session on every day it had an event). Computed from beacon.sessions when read (filter on project_id); up to date with every insert.';

-- First seen per visitor, for cohorts: beacon.first_seen_ids holds the first session of each
-- anonymous id and user id (kept by the sessions trigger); ids are resolved to people here, when
-- read, so identifies, merges and unmerges are reflected at once.
CREATE OR REPLACE VIEW analytics.first_seen AS
SELECT f.project_id, coalesce(f.person_id, s.anon_id) AS visitor_id, f.person_id, s.anon_id,
       f.first_seen, f.session_id,
       s.entry_page AS first_page, s.source AS first_source,
       s.utm_source AS first_utm_source, s.utm_medium AS first_utm_medium, s.utm_campaign AS first_utm_campaign
FROM (
    SELECT DISTINCT ON (r.project_id, r.person_id, r.anon_key)
           r.project_id, r.person_id, r.first_seen, r.session_id
    FROM (
        SELECT i.project_id, i.first_seen, i.session_id,
               CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                           ELSE coalesce(u.merged_into, a.user_id) END AS person_id,
               CASE WHEN i.kind = 'a' AND a.user_id IS NULL THEN i.id END AS anon_key
        FROM beacon.first_seen_ids i
        LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = i.project_id AND a.anon_id = i.id
        LEFT JOIN beacon.users u ON u.project_id = i.project_id
                                AND u.user_id = CASE i.kind WHEN 'u' THEN i.id ELSE a.user_id END
    ) r
    ORDER BY r.project_id, r.person_id, r.anon_key, r.first_seen, r.session_id
) f
JOIN beacon.sessions s ON s.project_id = f.project_id AND s.session_id = f.session_id;
COMMENT ON VIEW analytics.first_seen IS 'When each visitor was first seen, for cohorts without scanning analytics.events: one row per person (identified: merged users and the anonymous ids aliased to them count as one) and per still-anonymous id, with the first session''s start, landing page, source and UTM parameters. Identifies and merges apply at once (resolved when read). Cost grows with the project''s distinct ids, not its events. When retention or a privacy delete removes a visitor''s first session, its first-seen row goes with it; the visitor is first seen again at its next new session.';

CREATE OR REPLACE VIEW analytics.users AS
SELECT u.project_id, u.user_id, coalesce(u.merged_into, u.user_id) AS person_id, u.traits, u.created_at, u.updated_at
FROM beacon.users u;
COMMENT ON VIEW analytics.users IS 'Identified users with their own traits and the person they belong to.';

CREATE OR REPLACE VIEW analytics.people AS
SELECT g.project_id, g.person_id, g.user_ids, coalesce(m.traits, '{}') AS traits, g.first_identified, g.last_updated
FROM (
    SELECT u.project_id, coalesce(u.merged_into, u.user_id) AS person_id,
           array_agg(u.user_id ORDER BY u.user_id) AS user_ids,
           min(u.created_at) AS first_identified, max(u.updated_at) AS last_updated
    FROM beacon.users u
    GROUP BY 1, 2
) g
LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(t.key, t.value ORDER BY u.updated_at, u.user_id) AS traits
    FROM beacon.users u, jsonb_each(u.traits) t
    WHERE u.project_id = g.project_id AND coalesce(u.merged_into, u.user_id) = g.person_id
) m ON true;
COMMENT ON VIEW analytics.people IS 'People: users merged into one, with their traits merged (per key, the most recently updated user''s value).';

CREATE OR REPLACE VIEW analytics.aliases AS
SELECT a.project_id, a.anon_id, a.user_id, coalesce(u.merged_into, a.user_id) AS person_id, a.created_at
FROM beacon.aliases a
LEFT JOIN beacon.users u ON u.project_id = a.project_id AND u.user_id = a.user_id;
COMMENT ON VIEW analytics.aliases IS 'Which user each anonymous id identified as (the first one).';

CREATE OR REPLACE VIEW analytics.daily AS
SELECT d.project_id, d.day, d.events, d.pageviews, d.visitors, d.users, d.sessions
FROM beacon.daily_stats d;
COMMENT ON VIEW analytics.daily IS 'Per project and day (calendar day in the project''s time zone, analytics.projects.timezone) of the last view_days days (beacon.settings, default 90): events, pageviews and exact unique visitors, users and sessions. Stored; brought up to date within seconds of commit by beacon.keep_fresh() (every relay calls it each second; paced by beacon.settings.refresh_interval, at least hourly), which recounts only the days that changed, including past days whose people an identify, merge or unmerge changed. analytics.freshness says as of when.';

CREATE OR REPLACE VIEW analytics.hourly_events AS
SELECT h.project_id, h.hour, h.name, h.events FROM beacon.rollup_hourly h;
COMMENT ON VIEW analytics.hourly_events IS 'Events per project, hour and event name, all history; hours start where they start in the project''s time zone (the UTC hour, unless the zone''s offset has a fraction of an hour). Folded from the rollups within seconds of commit (beacon.keep_fresh); analytics.freshness says as of when.';

CREATE OR REPLACE VIEW analytics.daily_pageviews AS
SELECT d.project_id, d.day, d.dimension, d.value, d.pageviews FROM beacon.rollup_daily_dims d;
COMMENT ON VIEW analytics.daily_pageviews IS '$pageview events per project, day (in the project''s time zone) and value of a dimension (page, referrer, browser, device, os), all history. Folded from the rollups within seconds of commit (beacon.keep_fresh); analytics.freshness says as of when.';

CREATE OR REPLACE VIEW analytics.top_events AS
SELECT n.project_id, n.name, n.events_24h, n.events_7d, n.events_30d, n.last_hour
FROM beacon.mv_event_names_local n;
COMMENT ON VIEW analytics.top_events IS 'Event names of the project''s last 30 days with 24-hour, 7- and 30-day counts. "The last N days" is, in every analytics view: the N calendar days ending today in the project''s time zone (analytics.projects.timezone), today included. Materialized: as of the last refresh.';

CREATE OR REPLACE VIEW analytics.top_pages AS
SELECT v.project_id, v.value AS page, v.pageviews_7d, v.pageviews_30d, v.rank
FROM beacon.mv_top_values_local v WHERE v.dimension = 'page';
COMMENT ON VIEW analytics.top_pages IS 'The 1,000 most viewed pages per project over the last 30 days (calendar days ending today in the project''s time zone, today included). Materialized: as of the last refresh.';

CREATE OR REPLACE VIEW analytics.top_referrers AS
SELECT v.project_id, v.value AS referrer, v.pageviews_7d, v.pageviews_30d, v.rank
FROM beacon.mv_top_values_local v WHERE v.dimension = 'referrer';
COMMENT ON VIEW analytics.top_referrers IS 'Where pageviews came from: the 1,000 top external referrer hosts per project over the last 30 days (calendar days ending today in the project''s time zone, today included), ''(direct)'' for pageviews without a referrer. Pageviews referred by the site itself (navigation inside it) are not counted, so a project''s referrers add up to fewer than its pageviews. Materialized: as of the last refresh.';

CREATE OR REPLACE VIEW analytics.top_browsers AS
SELECT v.project_id, v.value AS browser, v.pageviews_7d, v.pageviews_30d, v.rank
FROM beacon.mv_top_values_local v WHERE v.dimension = 'browser';
COMMENT ON VIEW analytics.top_browsers IS 'Pageviews by browser (the $browser or browser prop) over the last 30 days (calendar days ending today in the project''s time zone, today included). Materialized: as of the last refresh.';

CREATE OR REPLACE VIEW analytics.top_devices AS
SELECT v.project_id, v.value AS device, v.pageviews_7d, v.pageviews_30d, v.rank
FROM beacon.mv_top_values_local v WHERE v.dimension = 'device';
COMMENT ON VIEW analytics.top_devices IS 'Pageviews by device (the $device or device prop) over the last 30 days (calendar days ending today in the project''s time zone, today included). Materialized: as of the last refresh.';

CREATE OR REPLACE VIEW analytics.flags AS
SELECT f.project_id, f.key, f.enabled, f.rollout_percent, f.rules, f.description, f.created_at, f.updated_at
FROM beacon.flags f;
COMMENT ON VIEW analytics.flags IS 'Feature flags and their current state.';

CREATE OR REPLACE VIEW analytics.flag_audit AS
SELECT a.audit_id, a.project_id, a.flag_key, a.action, a.old_row, a.new_row, a.changed_at,
       a.db_role, a.login_role, a.app_user, a.txid
FROM beacon.flag_audit a;
COMMENT ON VIEW analytics.flag_audit IS 'Every change to a feature flag: who, when, before and after.';

CREATE OR REPLACE VIEW analytics.identity_audit AS
SELECT a.audit_id, a.project_id, a.action, a.anon_id, a.user_id, a.other_user, a.merge_id, a.detail,
       a.at, a.db_role, a.login_role, a.app_user
FROM beacon.identity_audit a;
COMMENT ON VIEW analytics.identity_audit IS 'Every identity link made or undone: aliases, unaliases, merges, unmerges.';

-- Column comments from one table; '*' applies to that column in every analytics view (a specific
-- entry, applied after, wins).
DO $$
DECLARE
    c record;
    v text;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('*', 'project_id',       'Project id.'),
        ('*', 'rank',             'Rank by 30-day pageviews within the project (1 = most).'),
        ('*', 'pageviews_7d',     '$pageview events in the last 7 days: the 7 calendar days ending today in the project''s time zone, today included (as of the last refresh).'),
        ('*', 'pageviews_30d',    '$pageview events in the last 30 days: the 30 calendar days ending today in the project''s time zone, today included (as of the last refresh).'),
        ('*', 'created_at',       'When it was created.'),
        ('*', 'anon_id',          'Anonymous id the SDK made for the browser.'),
        ('*', 'person_id',        'The person: the root user id when users were merged, else the user id; NULL when anonymous.'),
        ('*', 'db_role',          'Database role that acted (SET ROLE, else login role).'),
        ('*', 'login_role',       'Login role of the session that acted.'),
        ('*', 'app_user',         'Dashboard user who acted, when the dashboard declared one.'),
        ('*', 'audit_id',         'Order of the audit rows.'),
        ('projects', 'name',            'Display name.'),
        ('projects', 'retention_days',  'Days of events kept (the project''s own setting, else the global one); NULL: forever.'),
        ('projects', 'timezone',        'The project''s time zone (IANA name): the days of analytics.daily, daily_pageviews, the top lists'' windows and analytics.visitors are its calendar days.'),
        ('events', 'event_id',     'Event id (client-made UUIDv7 or the relay''s).'),
        ('events', 'name',         'Event name, e.g. $pageview.'),
        ('events', 'ts',           'Client time of the event (corrected by the relay when implausible).'),
        ('events', 'received_at',  'Server time the relay received it.'),
        ('events', 'session_id',   'Session id (empty when the sender had none).'),
        ('events', 'sent_user_id', 'User id the event was sent with (after identify on its connection); NULL when sent anonymously.'),
        ('events', 'user_id',      'sent_user_id, else the user the anon id identified as later; NULL when still anonymous.'),
        ('events', 'props',        'Event properties (JSON object).'),
        ('events', 'page',         'For $pageview events: the page as in every analytics view (beacon.page_of): props.path, else the path of props.url, without query string or fragment, 500 characters at most.'),
        ('sessions', 'session_id',  'Session id.'),
        ('sessions', 'user_id',     'User of the session: of its latest identified event, else the user its anon id identified as.'),
        ('sessions', 'first_seen',  'Client time of the first event.'),
        ('sessions', 'last_seen',   'Client time of the last event.'),
        ('sessions', 'duration',    'last_seen - first_seen.'),
        ('sessions', 'event_count', 'Events in the session.'),
        ('sessions', 'entry_event', 'Name of the first event.'),
        ('sessions', 'exit_event',  'Name of the last event.'),
        ('sessions', 'entry_page',  'Page of the first $pageview.'),
        ('sessions', 'exit_page',   'Page of the last $pageview.'),
        ('sessions', 'pageviews',   '$pageview events in the session; NULL for a session that began before migration 006.'),
        ('sessions', 'bounce',      'True when the session is one $pageview and nothing else; NULL without pageviews (or pageviews unknown).'),
        ('sessions', 'source',      'Referring host of the landing page (first $pageview), ''(direct)'' when none or the site itself; NULL without pageviews.'),
        ('sessions', 'utm_source',  'utm_source of the landing page''s URL.'),
        ('sessions', 'utm_medium',  'utm_medium of the landing page''s URL.'),
        ('sessions', 'utm_campaign','utm_campaign of the landing page''s URL.'),
        ('sessions', 'utm_term',    'utm_term of the landing page''s URL.'),
        ('sessions', 'utm_content', 'utm_content of the landing page''s URL.'),
        ('sessions', 'day',         'Day the session started, in the project''s time zone: the day it counts on in period figures (analytics.daily_sessions).'),
        ('sessions', 'duration_seconds', 'duration in seconds.'),
        ('daily_sessions', 'day',                     'Day the sessions started, in the project''s time zone.'),
        ('daily_sessions', 'sessions',                'Sessions started that day (each counted once, however long it ran).'),
        ('daily_sessions', 'sessions_with_pageviews', 'Of those, sessions with at least one $pageview (the denominator of bounce_rate).'),
        ('daily_sessions', 'bounces',                 'Sessions of one $pageview and nothing else.'),
        ('daily_sessions', 'pageviews',               '$pageview events of those sessions (sessions from before migration 006 add nothing).'),
        ('daily_sessions', 'duration_seconds',        'Total duration of those sessions, in seconds.'),
        ('daily_sessions', 'bounce_rate',             'bounces / sessions_with_pageviews that day; over a period, divide the sums.'),
        ('daily_sessions', 'avg_duration_seconds',    'Mean duration that day, in seconds; over a period, sum(duration_seconds) / sum(sessions).'),
        ('first_seen', 'visitor_id',         'person_id, else the anonymous id: the same key as coalesce(person_id, anon_id) in analytics.events and analytics.sessions.'),
        ('first_seen', 'anon_id',            'Anonymous id of the first session.'),
        ('first_seen', 'first_seen',         'Start of the visitor''s first session (client time).'),
        ('first_seen', 'session_id',         'The first session (join analytics.sessions).'),
        ('first_seen', 'first_page',         'Landing page of the first session.'),
        ('first_seen', 'first_source',       'Source of the first session (referring host or (direct)).'),
        ('first_seen', 'first_utm_source',   'utm_source of the first session.'),
        ('first_seen', 'first_utm_medium',   'utm_medium of the first session.'),
        ('first_seen', 'first_utm_campaign', 'utm_campaign of the first session.'),
        ('users', 'user_id',    'The product''s user id.'),
        ('users', 'traits',     'This user''s traits (JSON object), merged over every identify, newer wins per key.'),
        ('users', 'updated_at', 'Last identify.'),
        ('people', 'user_ids',         'User ids merged into this person.'),
        ('people', 'traits',           'Traits of all its users; per key the value of the most recently updated user.'),
        ('people', 'first_identified', 'First identify of any of its users.'),
        ('people', 'last_updated',     'Latest identify of any of its users.'),
        ('aliases', 'user_id',    'User the anonymous id identified as (the first one; later logins on a shared device do not take its history).'),
        ('aliases', 'created_at', 'When the anonymous id first identified.'),
        ('daily', 'day',       'Calendar day in the project''s time zone.'),
        ('daily', 'events',    'Events.'),
        ('daily', 'pageviews', '$pageview events.'),
        ('daily', 'visitors',  'Exact distinct people that day, identified or anonymous (anonymous ids later identified count as their person).'),
        ('daily', 'users',     'Exact distinct identified people that day.'),
        ('daily', 'sessions',  'Exact distinct sessions with an event that day.'),
        ('hourly_events', 'hour',   'Start of the hour (client time), as it starts in the project''s time zone: the UTC hour unless the zone''s offset has a fraction of an hour.'),
        ('hourly_events', 'name',   'Event name.'),
        ('hourly_events', 'events', 'Events.'),
        ('daily_pageviews', 'day',       'Calendar day in the project''s time zone.'),
        ('daily_pageviews', 'dimension', 'page, referrer, browser, device or os.'),
        ('daily_pageviews', 'value',     'Value of the dimension.'),
        ('daily_pageviews', 'pageviews', '$pageview events with that value.'),
        ('top_events', 'name',       'Event name.'),
        ('top_events', 'events_24h', 'Events in the hour of the last refresh and the 23 hours before it (whole hour buckets starting after refresh time - 24 h).'),
        ('top_events', 'events_7d',  'Events in the last 7 days: the 7 calendar days ending today in the project''s time zone, today included (as of the last refresh).'),
        ('top_events', 'events_30d', 'Events in the last 30 days: the 30 calendar days ending today in the project''s time zone, today included (as of the last refresh).'),
        ('top_events', 'last_hour',  'Start of the latest hour of those 30 days with such an event.'),
        ('top_pages', 'page',         'Page path (else URL).'),
        ('top_referrers', 'referrer', 'Host of an external referrer, or (direct) for pageviews without one. Pageviews referred by the site itself are not counted in any row.'),
        ('top_referrers', 'pageviews_7d',  '$pageview events from this referrer in the last 7 days: the 7 calendar days ending today in the project''s time zone, today included (as of the last refresh). Only pageviews with an external or empty referrer count.'),
        ('top_referrers', 'pageviews_30d', '$pageview events from this referrer in the last 30 days: the 30 calendar days ending today in the project''s time zone, today included (as of the last refresh). Only pageviews with an external or empty referrer count.'),
        ('top_browsers', 'browser',   'Browser as the SDK reported it.'),
        ('top_devices', 'device',     'Device as the SDK reported it.'),
        ('flags', 'key',             'Flag key.'),
        ('flags', 'enabled',         'Master switch: false is off for everyone.'),
        ('flags', 'rollout_percent', 'Share of people for whom an enabled flag is on: on when beacon.flag_bucket(key, id) < rollout_percent * 100 (see docs/sql.md).'),
        ('flags', 'rules',           'Targeting rules on traits, all must match; [] for everyone.'),
        ('flags', 'description',     'Free text.'),
        ('flags', 'updated_at',      'Last change.'),
        ('flag_audit', 'flag_key',   'Key of the flag changed.'),
        ('flag_audit', 'action',     'INSERT, UPDATE, DELETE or TRUNCATE.'),
        ('flag_audit', 'old_row',    'The flag before (NULL for INSERT).'),
        ('flag_audit', 'new_row',    'The flag after (NULL for DELETE, TRUNCATE).'),
        ('flag_audit', 'changed_at', 'Transaction time of the change.'),
        ('flag_audit', 'txid',       'Transaction id: rows with the same txid were one change.'),
        ('identity_audit', 'action',     'alias, unalias, merge or unmerge.'),
        ('identity_audit', 'anon_id',    'Anonymous id (alias, unalias).'),
        ('identity_audit', 'user_id',    'User aliased, or root user of the person merged away.'),
        ('identity_audit', 'other_user', 'Root user of the person merged into (merge, unmerge).'),
        ('identity_audit', 'merge_id',   'Merge id, to pass to beacon.unmerge_users.'),
        ('identity_audit', 'detail',     'Users requested and users moved.'),
        ('identity_audit', 'at',         'Transaction time.')
    ) x (view, col, text)
    ORDER BY x.view <> '*'
    LOOP
        FOR v IN
            SELECT cl.relname FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_attribute a ON a.attrelid = cl.oid
            WHERE cl.relnamespace = 'analytics'::regnamespace AND a.attname = c.col AND NOT a.attisdropped
              AND (c.view = '*' OR cl.relname = c.view)
        LOOP
            EXECUTE format('COMMENT ON COLUMN analytics.%I.%I IS %L', v, c.col, c.text);
        END LOOP;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION analytics.visitors(p_project uuid, p_from date, p_to date)
RETURNS TABLE (visitors bigint, users bigint, sessions bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH people AS (
        SELECT i.kind, i.id,
               CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                           WHEN 'a' THEN coalesce(u.merged_into, a.user_id) END AS person
        FROM beacon.rollup_daily_ids i
        LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = i.project_id AND a.anon_id = i.id
        LEFT JOIN beacon.users u ON u.project_id = i.project_id
                                AND u.user_id = CASE i.kind WHEN 'u' THEN i.id WHEN 'a' THEN a.user_id END
        WHERE i.project_id = p_project AND i.day BETWEEN p_from AND p_to
          AND p_project = ANY (coalesce((SELECT beacon.visible_projects(session_user)), ARRAY[p_project])) -- code/access.sql
    )
    SELECT count(DISTINCT (p.person IS NULL, coalesce(p.person, p.id))) FILTER (WHERE p.kind <> 's'),
           count(DISTINCT p.person),
           count(DISTINCT p.id) FILTER (WHERE p.kind = 's')
    FROM people p
$$;
COMMENT ON FUNCTION analytics.visitors(uuid, date, date) IS 'Distinct visitors, users and sessions of a project over its days (calendar days in the project''s time zone) p_from to p_to (inclusive), counted like analytics.daily (aliases and merges resolved now) but once over the whole period: a person who came on several days counts once, which summing daily figures does not do. Reads the daily id sets: days older than the project''s retention have none and count nothing. Cost grows with the period''s distinct ids per day.';

-- Period uniques for query builders (Metabase, Superset), which can pick a view but not call a
-- function: fixed periods, in each project's time zone. Uniques come from analytics.visitors (one
-- definition), events and pageviews are the sum of analytics.daily over the same days.
CREATE OR REPLACE VIEW analytics.period_visitors AS
SELECT w.project_id, w.period, w.first_day, w.last_day, v.visitors, v.users, v.sessions,
       coalesce(d.events, 0)::bigint AS events, coalesce(d.pageviews, 0)::bigint AS pageviews
FROM (
    SELECT p.project_id, x.period, x.first_day, x.last_day
    FROM beacon.projects p
    CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE p.timezone)::date) t (today)
    CROSS JOIN LATERAL (VALUES
        ('today',         t.today,                               t.today),
        ('yesterday',     t.today - 1,                           t.today - 1),
        ('last_7_days',   t.today - 6,                           t.today),
        ('last_30_days',  t.today - 29,                          t.today),
        ('month_to_date', date_trunc('month', t.today)::date,    t.today)
    ) x (period, first_day, last_day)
) w
CROSS JOIN LATERAL analytics.visitors(w.project_id, w.first_day, w.last_day) v
LEFT JOIN LATERAL (
    SELECT sum(s.events) AS events, sum(s.pageviews) AS pageviews
    FROM beacon.daily_stats s
    WHERE s.project_id = w.project_id AND s.day BETWEEN w.first_day AND w.last_day
) d ON true;
COMMENT ON VIEW analytics.period_visitors IS 'Unique visitors, users and sessions (each person once over the period, as analytics.visitors counts them) and events and pageviews per project over fixed periods of calendar days in the project''s time zone: today, yesterday, last_7_days, last_30_days (today included), month_to_date. For query builders that cannot call analytics.visitors. Filter on project_id and period: each row reads that period''s daily id sets when queried.';
COMMENT ON COLUMN analytics.period_visitors.project_id IS 'Project id.';
COMMENT ON COLUMN analytics.period_visitors.period IS 'today, yesterday, last_7_days, last_30_days (the N calendar days ending today, today included) or month_to_date; days of the project''s time zone.';
COMMENT ON COLUMN analytics.period_visitors.first_day IS 'First day of the period (in the project''s time zone).';
COMMENT ON COLUMN analytics.period_visitors.last_day IS 'Last day of the period, included.';
COMMENT ON COLUMN analytics.period_visitors.visitors IS 'Exact distinct people over the whole period, identified or anonymous (a person who came on several days counts once); counted when queried, with aliases and merges as they are now.';
COMMENT ON COLUMN analytics.period_visitors.users IS 'Exact distinct identified people over the period.';
COMMENT ON COLUMN analytics.period_visitors.sessions IS 'Exact distinct sessions with an event in the period.';
COMMENT ON COLUMN analytics.period_visitors.events IS 'Events in the period: the sum of analytics.daily over its days (as of the last refresh).';
COMMENT ON COLUMN analytics.period_visitors.pageviews IS '$pageview events in the period: the sum of analytics.daily over its days (as of the last refresh).';
