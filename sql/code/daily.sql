-- daily: the figures behind analytics.daily, kept in beacon.daily_stats and recounted only for the
-- (project, day) pairs that changed, so a refresh after a new hour of events costs that hour's
-- days, whatever the history.
--
-- Days are calendar days of each project's time zone (beacon.projects.timezone), and so is the
-- window: a project's today and the view_days days before it.
--
-- beacon.daily_dirty lists the pairs to recount. It is filled by fold_rollups() (the days of the
-- pending rows it folds: every event with a finite ts leaves an 'event' row, in the same trigger
-- run that adds its ids), purge_rollup_ids() (days whose id sets retention emptied) and
-- refresh_daily() itself (days of identity changes, days entering the window when view_days grows).
--
-- Identity changes alter past days' uniques: an alias made or removed, a merge or unmerge. Triggers
-- on beacon.aliases and beacon.users append the anon id or user id concerned to
-- beacon.daily_identity_changes (insert-only: concurrent identifies never wait on each other);
-- refresh_daily() turns them into the days of the window on which those ids were seen.
--
-- Consistency: fold and recount run in maintain() steps in that order, the recount's snapshot is
-- the later one, and a change committed after a queue was read leaves its queue row for the next
-- run. refresh_daily() takes the advisory lock (1113940323, 2) so two refreshes never write stale
-- figures over newer ones.

-- plpgsql (not inlined) and STABLE, so the planner evaluates it when estimating and picks the day
-- indexes: a refresh reads the window's rows only.
CREATE OR REPLACE FUNCTION beacon.view_since() RETURNS date
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- The earliest today of any zone is UTC's yesterday (UTC-12).
    RETURN (now() AT TIME ZONE 'UTC')::date - 1 - (SELECT s.view_days FROM beacon.settings s);
END $$;
COMMENT ON FUNCTION beacon.view_since() IS 'The earliest first day of any project''s window in beacon.daily_stats: UTC yesterday (the earliest today of any time zone) minus beacon.settings.view_days. A bound for index scans; a project''s own first day is beacon.view_since(its time zone).';

CREATE OR REPLACE FUNCTION beacon.view_since(p_tz text) RETURNS date
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (now() AT TIME ZONE p_tz)::date - (SELECT s.view_days FROM beacon.settings s);
END $$;
COMMENT ON FUNCTION beacon.view_since(text) IS 'First day covered by beacon.daily_stats for a project in time zone p_tz: its today minus beacon.settings.view_days.';

CREATE OR REPLACE FUNCTION beacon.daily_counts(p_project uuid[], p_day date[])
RETURNS TABLE (project_id uuid, day date, events bigint, pageviews bigint, visitors bigint, users bigint,
               sessions bigint, id_rows bigint, hour_rows bigint)
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT x.project_id, x.day, coalesce(pr.timezone, 'UTC') AS tz
        FROM (SELECT DISTINCT x.project_id, x.day FROM unnest(p_project, p_day) x (project_id, day)) x
        LEFT JOIN beacon.projects pr ON pr.project_id = x.project_id
    ), ev AS (
        -- The day's hours: from its local midnight to the next (23 or 25 hours across DST).
        SELECT d.project_id, d.day, sum(h.events) AS events,
               coalesce(sum(h.events) FILTER (WHERE h.name = '$pageview'), 0) AS pageviews,
               count(*) AS hour_rows
        FROM d
        JOIN beacon.rollup_hourly h ON h.project_id = d.project_id
                                   AND h.hour >= d.day::timestamp AT TIME ZONE d.tz
                                   AND h.hour < (d.day + 1)::timestamp AT TIME ZONE d.tz
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
COMMENT ON FUNCTION beacon.daily_counts(uuid[], date[]) IS 'Daily figures (days of each project''s time zone) counted from the rollups (rollup_hourly, rollup_daily_ids, with aliases and merges resolved now) for the given (project, day) pairs (parallel arrays): the query mv_daily ran, restricted to those days. One row per pair with data; id_rows and hour_rows are the rollup rows it read. Reads only those days'' rows.';

CREATE OR REPLACE FUNCTION beacon.refresh_daily() RETURNS bigint
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
    PERFORM pg_catalog.pg_advisory_xact_lock(1113940323, 2);
    SELECT * INTO v_state FROM beacon.daily_state FOR UPDATE;

    -- 1. The window: days that left it go (as they did from the matview); days that enter it
    -- because view_days grew are counted. Each project's window starts at view_since(its zone),
    -- between v_since and v_since + 2.
    DELETE FROM beacon.daily_stats s WHERE s.day < v_since;
    DELETE FROM beacon.daily_stats s USING beacon.projects p
    WHERE s.day < v_since + 2 AND p.project_id = s.project_id AND s.day < beacon.view_since(p.timezone);
    IF v_since < v_state.since THEN
        INSERT INTO beacon.daily_dirty (project_id, day)
        SELECT h.project_id, (h.hour AT TIME ZONE coalesce(pr.timezone, 'UTC'))::date
        FROM beacon.rollup_hourly h LEFT JOIN beacon.projects pr ON pr.project_id = h.project_id
        WHERE h.hour >= v_since::timestamp AT TIME ZONE 'UTC' AND h.hour < (v_state.since + 2)::timestamp AT TIME ZONE 'UTC'
        UNION
        SELECT i.project_id, i.day FROM beacon.rollup_daily_ids i
        WHERE i.day >= v_since AND i.day < v_state.since + 2
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
    FROM q LEFT JOIN beacon.projects p ON p.project_id = q.project_id
    WHERE q.day >= beacon.view_since(coalesce(p.timezone, 'UTC'));

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
COMMENT ON FUNCTION beacon.refresh_daily() IS 'Brings beacon.daily_stats up to date: drops days that left the window, turns queued identity changes into the days they affect, and recounts only the days in beacon.daily_dirty (beacon.daily_counts). Returns the (project, day) pairs recounted; its work is recorded in beacon.daily_state. Called by refresh_analytics().';

CREATE OR REPLACE FUNCTION beacon.daily_aliases_changed() RETURNS trigger
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

CREATE OR REPLACE TRIGGER aliases_daily_insert AFTER INSERT ON beacon.aliases
    REFERENCING NEW TABLE AS new_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.daily_aliases_changed();
COMMENT ON TRIGGER aliases_daily_insert ON beacon.aliases IS 'Queues the anon ids of new aliases for refresh_daily() (beacon.daily_aliases_changed).';
CREATE OR REPLACE TRIGGER aliases_daily_update AFTER UPDATE ON beacon.aliases
    REFERENCING OLD TABLE AS old_aliases NEW TABLE AS new_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.daily_aliases_changed();
COMMENT ON TRIGGER aliases_daily_update ON beacon.aliases IS 'Queues the anon ids whose user an update changed (beacon.daily_aliases_changed).';
CREATE OR REPLACE TRIGGER aliases_daily_delete AFTER DELETE ON beacon.aliases
    REFERENCING OLD TABLE AS old_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.daily_aliases_changed();
COMMENT ON TRIGGER aliases_daily_delete ON beacon.aliases IS 'Queues the anon ids of removed aliases (beacon.daily_aliases_changed).';

CREATE OR REPLACE FUNCTION beacon.daily_user_changed() RETURNS trigger
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
CREATE OR REPLACE TRIGGER users_daily_update AFTER UPDATE ON beacon.users
    FOR EACH ROW
    WHEN (OLD.merged_into IS DISTINCT FROM NEW.merged_into
          OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION beacon.daily_user_changed();
COMMENT ON TRIGGER users_daily_update ON beacon.users IS 'Queues a user whose person changed (merged_into set, changed or cleared; beacon.daily_user_changed). Not fired by identifys traits updates.';
CREATE OR REPLACE TRIGGER users_daily_insert AFTER INSERT ON beacon.users
    FOR EACH ROW WHEN (NEW.merged_into IS NOT NULL)
    EXECUTE FUNCTION beacon.daily_user_changed();
COMMENT ON TRIGGER users_daily_insert ON beacon.users IS 'Queues a user inserted already merged (beacon.daily_user_changed).';
CREATE OR REPLACE TRIGGER users_daily_delete AFTER DELETE ON beacon.users
    FOR EACH ROW WHEN (OLD.merged_into IS NOT NULL)
    EXECUTE FUNCTION beacon.daily_user_changed();
COMMENT ON TRIGGER users_daily_delete ON beacon.users IS 'Queues a merged user that is deleted (beacon.daily_user_changed).';
