-- 015_daily_incremental: the daily figures behind analytics.daily are kept in a table and recounted
-- only for the (project, day) pairs that changed, so a refresh after a new hour of events costs
-- that hour's days, whatever the history.
--
-- Before: REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_daily recomputed the exact daily
-- uniques of the whole view_days window (90) from beacon.rollup_daily_ids on every refresh —
-- 646k rows read with 10 days of history, 1.93M with 30 (docs/benchmarks.md, section 4).
--
-- Now:
--  * beacon.daily_stats holds the same rows mv_daily did (per project and UTC day of the window:
--    events, pageviews, visitors, users, sessions); analytics.daily reads it; mv_daily is dropped.
--  * beacon.daily_dirty lists the (project, day) pairs to recount. It is filled by
--      - fold_rollups(): the days of the pending rows it folds. Every event with a finite ts leaves
--        an 'event' row in rollup_pending (its hour) in the same trigger run, and so in the same
--        transaction, that adds its ids to rollup_daily_ids; so the days of the folded 'event' rows
--        cover every day whose events or ids changed. The insert trigger is not touched.
--      - purge_rollup_ids(): the days whose id sets retention emptied (when retention is shorter
--        than the window; mv_daily then showed 0 uniques for them, and so does the table).
--      - refresh_daily() itself: the days of identity changes (below), and the days that enter the
--        window when settings.view_days grows.
--  * Identity changes alter past days' uniques: an alias made or removed makes an anon id's
--    history count as a user's (or not); a merge or unmerge changes which users are one person.
--    Triggers on beacon.aliases and beacon.users append the anon id or user id concerned to
--    beacon.daily_identity_changes (insert-only: concurrent identifies never wait on each other).
--    refresh_daily() turns them into days precisely: for an anon id, the days of the window on
--    which it was seen; for a user, the days on which it or an anon id aliased to it was seen
--    (one index probe per id and day of the window that has figures; aliases are found by user
--    through a new index). Chosen over "recount the project's window" because aliases are not
--    rare: every identify of a new device makes one.
--  * refresh_daily() (called by refresh_views(), so on the same schedule as before) drops the days
--    that left the window, expands the identity changes, and recounts the dirty days only, from
--    the rollups (beacon.daily_counts, the same query mv_daily ran, restricted to those days). It
--    returns the pairs recounted and records its work (pairs, rows read) in beacon.daily_state.
--    A recount of one day reads that day's id rows and hourly rows: the cost of a refresh after a
--    new hour is one or two days' ids, independent of how many days of history there are.
--
-- Consistency: fold and recount happen in one maintain() transaction, the recount's snapshot is
-- the later one, and a change committed after a queue was read leaves its queue row for the next
-- run, so every change is counted by some refresh. refresh_daily() takes an advisory lock so two
-- refreshes never write stale figures over newer ones.
--
-- Also: analytics.visitors(project, from, to), distinct visitors, users and sessions over a period
-- (summing daily uniques over-counts people who came on several days).

-- Tables -------------------------------------------------------------------------------------

CREATE TABLE beacon.daily_stats (
    project_id uuid   NOT NULL,
    day        date   NOT NULL,
    events     bigint NOT NULL,
    pageviews  bigint NOT NULL,
    visitors   bigint NOT NULL,
    users      bigint NOT NULL,
    sessions   bigint NOT NULL,
    PRIMARY KEY (project_id, day)
);
CREATE INDEX daily_stats_day ON beacon.daily_stats (day);
COMMENT ON TABLE beacon.daily_stats IS 'Per project and UTC day of the last beacon.settings.view_days days: events, pageviews and exact unique visitors, users and sessions (aliases and merges resolved). Kept by beacon.refresh_daily(), which recounts only the days that changed; read it through analytics.daily.';
COMMENT ON COLUMN beacon.daily_stats.day IS 'UTC day (of the client time ts).';
COMMENT ON COLUMN beacon.daily_stats.events IS 'Events that day.';
COMMENT ON COLUMN beacon.daily_stats.pageviews IS '$pageview events that day.';
COMMENT ON COLUMN beacon.daily_stats.visitors IS 'Distinct people that day: users (merged users as one) and anonymous ids never identified.';
COMMENT ON COLUMN beacon.daily_stats.users IS 'Distinct identified people that day (an anon id''s events count for its user).';
COMMENT ON COLUMN beacon.daily_stats.sessions IS 'Distinct session ids that day.';

CREATE TABLE beacon.daily_dirty (
    project_id uuid NOT NULL,
    day        date NOT NULL,
    PRIMARY KEY (project_id, day)
);
COMMENT ON TABLE beacon.daily_dirty IS 'Days whose figures in beacon.daily_stats must be recounted: written by fold_rollups() (days of the folded rows), purge_rollup_ids() and refresh_daily() (identity changes, days entering the window); emptied by refresh_daily().';

CREATE TABLE beacon.daily_identity_changes (
    project_id uuid   NOT NULL,
    kind       "char" NOT NULL CHECK (kind IN ('a', 'u')),
    id         text   NOT NULL
);
COMMENT ON TABLE beacon.daily_identity_changes IS 'Identities whose person changed since the last beacon.refresh_daily(): a (anon id aliased or unaliased) or u (user merged, unmerged or deleted while merged). Insert-only queue written by triggers on beacon.aliases and beacon.users; refresh_daily() turns each into the days it was seen and empties it.';
COMMENT ON COLUMN beacon.daily_identity_changes.kind IS 'a: id is an anon id; u: id is a user id.';
COMMENT ON COLUMN beacon.daily_identity_changes.id IS 'The anon id or user id.';

CREATE TABLE beacon.daily_state (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    since            date        NOT NULL,
    refreshed_at     timestamptz NOT NULL DEFAULT '-infinity',
    days_recounted   bigint      NOT NULL DEFAULT 0,
    identity_changes bigint      NOT NULL DEFAULT 0,
    id_rows_read     bigint      NOT NULL DEFAULT 0,
    hour_rows_read   bigint      NOT NULL DEFAULT 0,
    took             interval    NOT NULL DEFAULT '0'
);
COMMENT ON TABLE beacon.daily_state IS 'The window beacon.daily_stats covers, and what the last beacon.refresh_daily() did (the work of a refresh, for benchmarks and operators).';
COMMENT ON COLUMN beacon.daily_state.singleton IS 'Always true: one row.';
COMMENT ON COLUMN beacon.daily_state.since IS 'First day daily_stats covers (beacon.view_since() as of the last refresh).';
COMMENT ON COLUMN beacon.daily_state.refreshed_at IS 'Last refresh_daily().';
COMMENT ON COLUMN beacon.daily_state.days_recounted IS '(project, day) pairs the last refresh recounted.';
COMMENT ON COLUMN beacon.daily_state.identity_changes IS 'Queued identity changes the last refresh turned into days.';
COMMENT ON COLUMN beacon.daily_state.id_rows_read IS 'rollup_daily_ids rows the last recount read.';
COMMENT ON COLUMN beacon.daily_state.hour_rows_read IS 'rollup_hourly rows the last recount read.';
COMMENT ON COLUMN beacon.daily_state.took IS 'Duration of the last refresh_daily().';

-- Aliases by user: a merge's days are found through the anon ids aliased to the users it moved.
CREATE INDEX aliases_user ON beacon.aliases (project_id, user_id);

-- Counting -----------------------------------------------------------------------------------

CREATE FUNCTION beacon.daily_counts(p_project uuid[], p_day date[])
RETURNS TABLE (project_id uuid, day date, events bigint, pageviews bigint, visitors bigint, users bigint,
               sessions bigint, id_rows bigint, hour_rows bigint)
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT DISTINCT x.project_id, x.day FROM unnest(p_project, p_day) x (project_id, day)
    ), ev AS (
        SELECT d.project_id, d.day, sum(h.events) AS events,
               coalesce(sum(h.events) FILTER (WHERE h.name = '$pageview'), 0) AS pageviews,
               count(*) AS hour_rows
        FROM d
        JOIN beacon.rollup_hourly h ON h.project_id = d.project_id
                                   AND h.hour >= d.day::timestamp AT TIME ZONE 'UTC'
                                   AND h.hour < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
        GROUP BY 1, 2
    ), people AS (
        SELECT i.project_id, i.day, i.kind, i.id,
               CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                           WHEN 'a' THEN coalesce(u.merged_into, a.user_id) END AS person
        FROM d
        JOIN beacon.rollup_daily_ids i ON i.project_id = d.project_id AND i.day = d.day
        LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = i.project_id AND a.anon_id = i.id
        LEFT JOIN beacon.users u ON u.project_id = i.project_id
                                AND u.user_id = CASE i.kind WHEN 'u' THEN i.id WHEN 'a' THEN a.user_id END
    ), ids AS (
        SELECT p.project_id, p.day,
               count(DISTINCT (p.person IS NULL, coalesce(p.person, p.id))) FILTER (WHERE p.kind <> 's') AS visitors,
               count(DISTINCT p.person) AS users,
               count(*) FILTER (WHERE p.kind = 's') AS sessions,
               count(*) AS id_rows
        FROM people p
        GROUP BY 1, 2
    )
    SELECT coalesce(ev.project_id, ids.project_id),
           coalesce(ev.day, ids.day),
           coalesce(ev.events, 0)::bigint,
           coalesce(ev.pageviews, 0)::bigint,
           coalesce(ids.visitors, 0),
           coalesce(ids.users, 0),
           coalesce(ids.sessions, 0),
           coalesce(ids.id_rows, 0),
           coalesce(ev.hour_rows, 0)
    FROM ev FULL JOIN ids ON ids.project_id = ev.project_id AND ids.day = ev.day
$$;
COMMENT ON FUNCTION beacon.daily_counts(uuid[], date[]) IS 'Daily figures counted from the rollups (rollup_hourly, rollup_daily_ids, with aliases and merges resolved now) for the given (project, day) pairs (parallel arrays): the query mv_daily ran, restricted to those days. One row per pair with data; id_rows and hour_rows are the rollup rows it read. Reads only those days'' rows.';

CREATE FUNCTION beacon.refresh_daily() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_since  date := beacon.view_since();
    v_state  beacon.daily_state;
    v_ps     uuid[];
    v_ds     date[];
    v_n      bigint := 0;
    v_ident  bigint := 0;
    v_idrows bigint := 0;
    v_hrows  bigint := 0;
    v_t0     timestamptz := clock_timestamp();
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('beacon.refresh_daily'));
    SELECT * INTO v_state FROM beacon.daily_state FOR UPDATE;

    -- 1. The window: days that left it go (as they did from the matview); days that enter it
    -- because view_days grew are counted.
    DELETE FROM beacon.daily_stats s WHERE s.day < v_since;
    IF v_since < v_state.since THEN
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT h.project_id, (h.hour AT TIME ZONE 'UTC')::date FROM beacon.rollup_hourly h
        WHERE h.hour >= v_since::timestamp AT TIME ZONE 'UTC' AND h.hour < v_state.since::timestamp AT TIME ZONE 'UTC'
        UNION
        SELECT i.project_id, i.day FROM beacon.rollup_daily_ids i
        WHERE i.day >= v_since AND i.day < v_state.since
        ON CONFLICT DO NOTHING;
    END IF;

    -- 2. Identity changes: the days of the window on which the ids whose person changed were seen.
    -- Days that have no figures yet are in daily_dirty already (fold_rollups put them there).
    WITH q AS (
        DELETE FROM beacon.daily_identity_changes RETURNING project_id, kind, id
    ), live AS (
        SELECT DISTINCT q.project_id, q.kind, q.id FROM q
        WHERE EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = q.project_id)
    ), ids AS (
        SELECT l.project_id, l.kind, l.id FROM live l
        UNION
        SELECT a.project_id, 'a'::"char", a.anon_id FROM live l
        JOIN beacon.aliases a ON a.project_id = l.project_id AND a.user_id = l.id
        WHERE l.kind = 'u'
    ), dirty AS (
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT DISTINCT s.project_id, s.day
        FROM ids JOIN beacon.daily_stats s ON s.project_id = ids.project_id
        WHERE EXISTS (SELECT FROM beacon.rollup_daily_ids i
                      WHERE i.project_id = s.project_id AND i.day = s.day AND i.kind = ids.kind AND i.id = ids.id)
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    )
    SELECT count(*) INTO v_ident FROM q;

    -- 3. Recount the dirty days of the window; a day left without data loses its row.
    WITH q AS (
        DELETE FROM beacon.daily_dirty RETURNING project_id, day
    )
    SELECT array_agg(q.project_id ORDER BY q.project_id, q.day), array_agg(q.day ORDER BY q.project_id, q.day)
    INTO v_ps, v_ds
    FROM q WHERE q.day >= v_since;

    IF v_ps IS NOT NULL THEN
        WITH c AS (
            SELECT * FROM beacon.daily_counts(v_ps, v_ds)
        ), gone AS (
            DELETE FROM beacon.daily_stats s
            USING unnest(v_ps, v_ds) x (project_id, day)
            WHERE s.project_id = x.project_id AND s.day = x.day
              AND NOT EXISTS (SELECT FROM c WHERE c.project_id = x.project_id AND c.day = x.day)
        ), up AS (
            INSERT INTO beacon.daily_stats AS s (project_id, day, events, pageviews, visitors, users, sessions)
            SELECT c.project_id, c.day, c.events, c.pageviews, c.visitors, c.users, c.sessions FROM c
            ORDER BY 1, 2
            ON CONFLICT (project_id, day) DO UPDATE SET
                events = excluded.events, pageviews = excluded.pageviews, visitors = excluded.visitors,
                users = excluded.users, sessions = excluded.sessions
            WHERE (s.events, s.pageviews, s.visitors, s.users, s.sessions)
                  IS DISTINCT FROM (excluded.events, excluded.pageviews, excluded.visitors, excluded.users, excluded.sessions)
        )
        SELECT coalesce(sum(c.id_rows), 0), coalesce(sum(c.hour_rows), 0) INTO v_idrows, v_hrows FROM c;
        v_n := cardinality(v_ps);
    END IF;

    UPDATE beacon.daily_state SET since = v_since, refreshed_at = now(), days_recounted = v_n,
        identity_changes = v_ident, id_rows_read = v_idrows, hour_rows_read = v_hrows,
        took = clock_timestamp() - v_t0;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION beacon.refresh_daily() IS 'Brings beacon.daily_stats up to date: drops days that left the window, turns queued identity changes into the days they affect, and recounts only the days in beacon.daily_dirty (beacon.daily_counts). Returns the (project, day) pairs recounted; its work is recorded in beacon.daily_state. Called by refresh_views().';

-- Filling daily_dirty --------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.fold_rollups() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    folded  bigint;
    v_since timestamptz := beacon.view_since()::timestamp AT TIME ZONE 'UTC';
BEGIN
    -- Rows are consumed and added in one transaction: rows a concurrent COPY commits meanwhile are
    -- not in this snapshot and wait for the next run. (u/a/s rows only exist if queued before
    -- migration 009.) The days of the folded rows are the days whose daily figures changed: the
    -- insert trigger writes an 'event' row for every event whose ids it adds to rollup_daily_ids.
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
    ), dirty AS (
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT DISTINCT p.project_id, (p.bucket AT TIME ZONE 'UTC')::date FROM pending p
        WHERE p.kind IN ('event', 'u', 'a', 's') AND p.bucket >= v_since
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    )
    SELECT coalesce(sum(p.n), 0) INTO folded FROM pending p WHERE p.kind = 'event';
    IF folded > 0 THEN
        UPDATE beacon.rollup_state SET dirty = true;
    END IF;
    RETURN folded;
END $$;
COMMENT ON FUNCTION beacon.fold_rollups() IS 'Adds the pending batch counts into beacon.rollup_hourly and rollup_daily_dims, marks their days of the window in beacon.daily_dirty, and empties beacon.rollup_pending. Returns the events folded: the work is proportional to events inserted since the last run. A maintain() step.';

CREATE OR REPLACE FUNCTION beacon.purge_rollup_ids() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n       bigint;
    v_since date := beacon.view_since();
BEGIN
    WITH gone AS (
        DELETE FROM beacon.rollup_daily_ids i
        USING beacon.project_retention() r
        WHERE i.project_id = r.project_id
          AND r.retention_days IS NOT NULL
          AND i.day < (now() AT TIME ZONE 'UTC')::date - r.retention_days
        RETURNING i.project_id, i.day
    ), days AS (
        SELECT g.project_id, g.day, count(*) AS n FROM gone g GROUP BY 1, 2
    ), dirty AS (
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT d.project_id, d.day FROM days d WHERE d.day >= v_since
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    )
    SELECT coalesce(sum(d.n), 0) INTO n FROM days d;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_rollup_ids() IS 'Deletes the daily id sets older than their project''s effective retention (they hold personal ids; the counts in the other rollups are kept), and marks those days of the window for recount in beacon.daily_dirty. Returns the rows deleted.';

-- Identity changes -----------------------------------------------------------------------------

CREATE FUNCTION beacon.daily_aliases_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Rows of a project being deleted are left out: nothing will be recounted for it.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO beacon.daily_identity_changes (project_id, kind, id)
        SELECT n.project_id, 'a', n.anon_id FROM new_aliases n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO beacon.daily_identity_changes (project_id, kind, id)
        SELECT o.project_id, 'a', o.anon_id FROM old_aliases o
        WHERE EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = o.project_id);
    ELSE
        INSERT INTO beacon.daily_identity_changes (project_id, kind, id)
        SELECT o.project_id, 'a', o.anon_id FROM old_aliases o
        WHERE NOT EXISTS (SELECT FROM new_aliases n WHERE n.project_id = o.project_id
                          AND n.anon_id = o.anon_id AND n.user_id = o.user_id)
        UNION
        SELECT n.project_id, 'a', n.anon_id FROM new_aliases n
        WHERE NOT EXISTS (SELECT FROM old_aliases o WHERE n.project_id = o.project_id
                          AND n.anon_id = o.anon_id AND n.user_id = o.user_id);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.daily_aliases_changed() IS 'Statement-level AFTER INSERT/UPDATE/DELETE trigger on beacon.aliases: queues the anon ids whose user changed in beacon.daily_identity_changes, so refresh_daily() recounts the days they were seen. Security definer: a dashboard deleting a project cascades here.';

CREATE TRIGGER aliases_daily_insert AFTER INSERT ON beacon.aliases
    REFERENCING NEW TABLE AS new_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.daily_aliases_changed();
CREATE TRIGGER aliases_daily_update AFTER UPDATE ON beacon.aliases
    REFERENCING OLD TABLE AS old_aliases NEW TABLE AS new_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.daily_aliases_changed();
CREATE TRIGGER aliases_daily_delete AFTER DELETE ON beacon.aliases
    REFERENCING OLD TABLE AS old_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.daily_aliases_changed();

CREATE FUNCTION beacon.daily_user_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO beacon.daily_identity_changes (project_id, kind, id) VALUES (OLD.project_id, 'u', OLD.user_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (OLD.project_id, OLD.user_id) <> (NEW.project_id, NEW.user_id)) THEN
        INSERT INTO beacon.daily_identity_changes (project_id, kind, id) VALUES (NEW.project_id, 'u', NEW.user_id);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.daily_user_changed() IS 'Row-level AFTER trigger on beacon.users, fired only when a user''s person changes (merged_into set, changed or cleared; a merged user inserted or deleted): queues the user id in beacon.daily_identity_changes, so refresh_daily() recounts the days it and its anon ids were seen. Security definer: merges and cascades run it.';

-- WHEN clauses: identify's traits update and the plain insert of a new user do not call it.
CREATE TRIGGER users_daily_update AFTER UPDATE ON beacon.users
    FOR EACH ROW
    WHEN (OLD.merged_into IS DISTINCT FROM NEW.merged_into
          OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION beacon.daily_user_changed();
CREATE TRIGGER users_daily_insert AFTER INSERT ON beacon.users
    FOR EACH ROW WHEN (NEW.merged_into IS NOT NULL)
    EXECUTE FUNCTION beacon.daily_user_changed();
CREATE TRIGGER users_daily_delete AFTER DELETE ON beacon.users
    FOR EACH ROW WHEN (OLD.merged_into IS NOT NULL)
    EXECUTE FUNCTION beacon.daily_user_changed();

-- The refresh ----------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.refresh_views() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    st beacon.rollup_state;
BEGIN
    SELECT * INTO st FROM beacon.rollup_state;
    IF NOT (((st.dirty OR EXISTS (SELECT FROM beacon.daily_dirty) OR EXISTS (SELECT FROM beacon.daily_identity_changes))
             AND st.refreshed_at <= now() - (SELECT s.refresh_interval FROM beacon.settings s))
            OR st.refreshed_at < now() - interval '1 hour') THEN
        RETURN 0;
    END IF;
    PERFORM beacon.refresh_daily();
    REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_event_names;
    REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_top_values;
    UPDATE beacon.rollup_state SET dirty = false, refreshed_at = now();
    RETURN 3;
END $$;
COMMENT ON FUNCTION beacon.refresh_views() IS 'Brings the dashboard''s aggregates up to date when the rollups or identities changed and beacon.settings.refresh_interval has passed, and at least hourly (their windows move): beacon.refresh_daily() (the changed days of daily_stats) and REFRESH … CONCURRENTLY of mv_event_names and mv_top_values. Returns the aggregates refreshed (3). A maintain() step.';

COMMENT ON TABLE beacon.rollup_state IS 'Whether the rollups changed since the dashboard''s aggregates were last refreshed (beacon.refresh_views), and when that was.';
COMMENT ON COLUMN beacon.rollup_state.refreshed_at IS 'Last refresh of the dashboard''s aggregates.';
COMMENT ON COLUMN beacon.settings.view_days IS 'Days of history (UTC days before today, plus today) that beacon.daily_stats (analytics.daily) covers.';
COMMENT ON COLUMN beacon.settings.refresh_interval IS 'Least time between two refreshes of the dashboard''s aggregates (daily_stats, the materialized views) while events keep arriving; they are refreshed at least hourly regardless.';
COMMENT ON FUNCTION beacon.view_since() IS 'First UTC day covered by beacon.daily_stats: today minus beacon.settings.view_days.';

-- Readers: analytics.daily reads the table; the matview goes ---------------------------------

CREATE OR REPLACE VIEW analytics.daily AS
SELECT d.project_id, d.day, d.events, d.pageviews, d.visitors, d.users, d.sessions
FROM beacon.daily_stats d;
COMMENT ON VIEW analytics.daily IS 'Per project and UTC day of the last view_days days (beacon.settings, default 90): events, pageviews and exact unique visitors, users and sessions. Stored; brought up to date by beacon.maintain() (about every minute while events arrive, at least hourly), which recounts only the days that changed, including past days whose people an identify, merge or unmerge changed.';

DROP MATERIALIZED VIEW beacon.mv_daily;

-- The first fill: every day of the window.
INSERT INTO beacon.daily_state (since) VALUES (beacon.view_since());
INSERT INTO beacon.daily_dirty (project_id, day)
SELECT h.project_id, (h.hour AT TIME ZONE 'UTC')::date FROM beacon.rollup_hourly h
WHERE h.hour >= beacon.view_since()::timestamp AT TIME ZONE 'UTC'
UNION
SELECT i.project_id, i.day FROM beacon.rollup_daily_ids i WHERE i.day >= beacon.view_since();
SELECT beacon.refresh_daily();

-- Unique people over a period --------------------------------------------------------------------

CREATE FUNCTION analytics.visitors(p_project uuid, p_from date, p_to date)
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
    )
    SELECT count(DISTINCT (p.person IS NULL, coalesce(p.person, p.id))) FILTER (WHERE p.kind <> 's'),
           count(DISTINCT p.person),
           count(DISTINCT p.id) FILTER (WHERE p.kind = 's')
    FROM people p
$$;
COMMENT ON FUNCTION analytics.visitors(uuid, date, date) IS 'Distinct visitors, users and sessions of a project over the UTC days p_from to p_to (inclusive), counted like analytics.daily (aliases and merges resolved now) but once over the whole period: a person who came on several days counts once, which summing daily figures does not do. Reads the daily id sets: days older than the project''s retention have none and count nothing. Cost grows with the period''s distinct ids per day.';

REVOKE EXECUTE ON FUNCTION analytics.visitors(uuid, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics.visitors(uuid, date, date) TO beacon_dashboard, beacon_reader;
