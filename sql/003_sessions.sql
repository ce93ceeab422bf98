-- 003_sessions: beacon.sessions, kept up to date from event inserts by one set-based,
-- statement-level trigger with a transition table (no per-row trigger on the COPY path), and a
-- table-driven beacon.maintain() so later migrations add scheduled steps by inserting a row.
--
-- A session is what the SDK calls one: the session= id of a connection (and the events sent with
-- it over HTTP). Beacon does not split sessions on inactivity.
--
-- Cost (measured, see docs/sql.md): a transition-table trigger on a partitioned table makes COPY
-- insert row by row instead of in multi-row batches.

CREATE TABLE beacon.sessions (
    project_id    uuid        NOT NULL,
    session_id    text        NOT NULL,
    anon_id       text        NOT NULL DEFAULT '',
    user_id       text,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    event_count   bigint      NOT NULL,
    entry_event   text        NOT NULL,
    exit_event    text        NOT NULL,
    entry_page    text,
    exit_page     text,
    entry_page_at timestamptz,
    exit_page_at  timestamptz,
    duration      interval    GENERATED ALWAYS AS (last_seen - first_seen) STORED,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, session_id)
);
CREATE INDEX sessions_project_first_seen ON beacon.sessions (project_id, first_seen);
CREATE INDEX sessions_project_last_seen ON beacon.sessions (project_id, last_seen);
COMMENT ON TABLE beacon.sessions IS 'One row per session (the SDK''s session id), maintained by the events_sessions trigger from every insert into beacon.events. No foreign key to projects: the trigger must never fail a COPY.';
COMMENT ON COLUMN beacon.sessions.anon_id IS 'Anonymous id of the session''s first event that had one.';
COMMENT ON COLUMN beacon.sessions.user_id IS 'User id of the latest event that had one; the analytics views also resolve anon_id through beacon.aliases.';
COMMENT ON COLUMN beacon.sessions.first_seen IS 'Client time (ts) of the earliest event.';
COMMENT ON COLUMN beacon.sessions.last_seen IS 'Client time (ts) of the latest event.';
COMMENT ON COLUMN beacon.sessions.event_count IS 'Events inserted for the session (duplicates dropped by the dedup index are not counted).';
COMMENT ON COLUMN beacon.sessions.entry_event IS 'Name of the earliest event.';
COMMENT ON COLUMN beacon.sessions.exit_event IS 'Name of the latest event.';
COMMENT ON COLUMN beacon.sessions.entry_page IS 'Page (props.path, else props.url, at most 500 characters) of the earliest $pageview; NULL without pageviews.';
COMMENT ON COLUMN beacon.sessions.exit_page IS 'Page of the latest $pageview.';
COMMENT ON COLUMN beacon.sessions.entry_page_at IS 'Client time of the earliest $pageview.';
COMMENT ON COLUMN beacon.sessions.exit_page_at IS 'Client time of the latest $pageview.';
COMMENT ON COLUMN beacon.sessions.duration IS 'last_seen - first_seen.';
COMMENT ON COLUMN beacon.sessions.updated_at IS 'Last insert of an event of this session.';

CREATE FUNCTION beacon.event_page(p_name text, p_props jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_name = '$pageview'
                THEN left(coalesce(nullif(p_props->>'path', ''), nullif(p_props->>'url', '')), 500) END
$$;
COMMENT ON FUNCTION beacon.event_page(text, jsonb) IS 'The page of a $pageview event: props.path, else props.url, cut to 500 characters; NULL for other events.';

CREATE FUNCTION beacon.sessions_from_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- One upsert per statement. Rows are taken in key order so concurrent writers lock sessions in
    -- the same order and cannot deadlock.
    INSERT INTO beacon.sessions AS s (project_id, session_id, anon_id, user_id, first_seen, last_seen,
        event_count, entry_event, exit_event, entry_page, exit_page, entry_page_at, exit_page_at)
    SELECT e.project_id, e.session_id,
           coalesce((array_agg(e.anon_id ORDER BY e.ts, e.event_id) FILTER (WHERE e.anon_id <> ''))[1], ''),
           (array_agg(e.user_id ORDER BY e.ts DESC, e.event_id DESC) FILTER (WHERE e.user_id IS NOT NULL))[1],
           min(e.ts), max(e.ts), count(*),
           (array_agg(e.name ORDER BY e.ts, e.event_id))[1],
           (array_agg(e.name ORDER BY e.ts DESC, e.event_id DESC))[1],
           (array_agg(e.page ORDER BY e.ts, e.event_id) FILTER (WHERE e.page IS NOT NULL))[1],
           (array_agg(e.page ORDER BY e.ts DESC, e.event_id DESC) FILTER (WHERE e.page IS NOT NULL))[1],
           min(e.ts) FILTER (WHERE e.page IS NOT NULL),
           max(e.ts) FILTER (WHERE e.page IS NOT NULL)
    FROM (SELECT n.*, beacon.event_page(n.name, n.props) AS page FROM new_events n WHERE n.session_id <> '') e
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
COMMENT ON FUNCTION beacon.sessions_from_events() IS 'Statement-level AFTER INSERT trigger on beacon.events: folds the inserted rows (transition table new_events) into beacon.sessions with one upsert. Security definer so the ingest role needs no rights on beacon.sessions.';

CREATE TRIGGER events_sessions AFTER INSERT ON beacon.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.sessions_from_events();

CREATE FUNCTION beacon.purge_sessions() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM beacon.sessions s
    USING beacon.project_retention() r
    WHERE s.project_id = r.project_id
      AND r.retention_days IS NOT NULL
      AND s.last_seen < beacon.day_start(r.retention_days);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.purge_sessions() IS 'Deletes sessions whose last event is older than their project''s effective retention. Returns the rows deleted.';

-- Table-driven maintenance -----------------------------------------------------------------------

CREATE FUNCTION beacon.make_partitions() RETURNS bigint
LANGUAGE sql AS $$
    SELECT beacon.ensure_partitions(1, (SELECT s.partitions_ahead FROM beacon.settings s))
$$;
COMMENT ON FUNCTION beacon.make_partitions() IS 'beacon.ensure_partitions from yesterday to beacon.settings.partitions_ahead days ahead.';

CREATE TABLE beacon.maintenance_steps (
    step     text          PRIMARY KEY,
    position int           NOT NULL UNIQUE,
    fn       regprocedure  NOT NULL,
    enabled  boolean       NOT NULL DEFAULT true
);
COMMENT ON TABLE beacon.maintenance_steps IS 'What beacon.maintain() runs, in position order. Each fn takes no argument and returns the rows or objects it handled.';
COMMENT ON COLUMN beacon.maintenance_steps.step IS 'Name used in beacon.maintenance_log.';
COMMENT ON COLUMN beacon.maintenance_steps.position IS 'Order of execution.';
COMMENT ON COLUMN beacon.maintenance_steps.fn IS 'Function run for the step.';
COMMENT ON COLUMN beacon.maintenance_steps.enabled IS 'false skips the step (for an operator who runs it elsewhere).';

INSERT INTO beacon.maintenance_steps (step, position, fn) VALUES
    ('partitions', 10, 'beacon.make_partitions()'),
    ('retention',  20, 'beacon.drop_expired_partitions()'),
    ('purge',      30, 'beacon.purge_project_events()'),
    ('sessions',   40, 'beacon.purge_sessions()');

CREATE OR REPLACE FUNCTION beacon.maintain() RETURNS void
LANGUAGE plpgsql
-- Security definer: the ingest role calls it and it creates and drops partitions, which only the
-- owner of beacon.events may do. search_path is pinned so no caller's schema can shadow a name.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    st record;
    t0 timestamptz;
    n  bigint;
BEGIN
    -- Several relays call this on a ticker; the transaction-scoped advisory lock makes one of them
    -- do the work and the others return at once.
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('beacon.maintain')) THEN
        RETURN;
    END IF;
    FOR st IN SELECT m.step, m.fn FROM beacon.maintenance_steps m WHERE m.enabled ORDER BY m.position LOOP
        -- Each step runs in its own subtransaction: one that fails (say, a lock it waited 5 s for)
        -- is logged and the others still run; the next call retries it.
        t0 := clock_timestamp();
        BEGIN
            EXECUTE format('SELECT %s', st.fn) INTO n;
            PERFORM beacon.log_step(st.step, n, t0);
        EXCEPTION WHEN OTHERS THEN
            PERFORM beacon.log_step(st.step, NULL, t0, SQLERRM);
            RAISE WARNING 'beacon.maintain: %: %', st.step, SQLERRM;
        END;
    END LOOP;
    DELETE FROM beacon.maintenance_log WHERE run_at < now() - interval '30 days';
END $$;
COMMENT ON FUNCTION beacon.maintain() IS 'All scheduled work: the steps of beacon.maintenance_steps in order (partitions ahead, retention, purges, rollups, view refresh). Safe to call from many relays at once: only the caller that takes the advisory lock works, the others return at once. A failing step is logged in beacon.maintenance_log and raised as a WARNING; the other steps still run.';
