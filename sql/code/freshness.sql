-- freshness: keeping the stored analytics aggregates within seconds of commit, saying how current
-- each view is (analytics.freshness), and letting a reader ask for a refresh (analytics.refresh()).
--
-- The relay calls beacon.keep_fresh() every second, beside the minutely beacon.maintain(). Each
-- call folds the pending rollups, then refreshes an aggregate (daily_stats; the top-list
-- materialized views) only when it changed, or a reader asked, or an hour passed — and no sooner
-- than settings.refresh_interval (2 s) and 4 times its own last refresh after the previous one, so
-- a costly refresh paces itself (at most a fifth of one backend) instead of piling up. A
-- refresh_interval of 0 turns the pacing off: every call with a change refreshes. maintain()'s
-- 'refresh' step runs the same function. Both take the advisory lock (1113940323, 5) and skip
-- when it is held: one refresh at a time.

CREATE OR REPLACE FUNCTION beacon.refresh_due(p_f beacon.freshness, p_changed boolean, p_requested timestamptz)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_f.refreshed_at < now() - interval '1 hour'
        OR p_requested > p_f.refreshed_at
        OR (p_changed AND (s.refresh_interval = interval '0'
                           OR p_f.refreshed_at <= now() - greatest(s.refresh_interval, 4 * coalesce(p_f.took, interval '0'))))
    FROM beacon.settings s
$$;
COMMENT ON FUNCTION beacon.refresh_due(beacon.freshness, boolean, timestamptz) IS 'Whether an aggregate is due for a refresh: an hour since the last (windows move), a reader''s request since, or a change and both settings.refresh_interval and 4 times its last duration since (a refresh_interval of 0 refreshes on every change, whatever it costs).';

CREATE OR REPLACE FUNCTION beacon.refresh_analytics() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_req     timestamptz;
    v_f       beacon.freshness;
    v_changed boolean;
    v_t0      timestamptz := clock_timestamp();
    v_n       bigint := 0;
    v_any     timestamptz;
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock(1113940323, 5) THEN
        RETURN 0; -- another session is refreshing
    END IF;
    SELECT max(r.requested_at) INTO v_req FROM beacon.refresh_requests r;
    -- rollup_state.refreshed_at is the last refresh of either; an operator who sets it back (to
    -- '-infinity') makes both due.
    SELECT st.refreshed_at INTO v_any FROM beacon.rollup_state st;

    -- Rollups: fold what the COPYs queued. Cheap, every time.
    PERFORM beacon.fold_rollups();
    UPDATE beacon.freshness SET as_of = now(), refreshed_at = clock_timestamp(), took = clock_timestamp() - v_t0
    WHERE source = 'rollups';

    -- Daily figures: recount the changed days.
    SELECT * INTO v_f FROM beacon.freshness WHERE source = 'daily';
    v_f.refreshed_at := least(v_f.refreshed_at, v_any);
    v_changed := EXISTS (SELECT FROM beacon.daily_dirty) OR EXISTS (SELECT FROM beacon.daily_identity_changes);
    IF beacon.refresh_due(v_f, v_changed, v_req) THEN
        v_t0 := clock_timestamp();
        PERFORM beacon.refresh_daily();
        UPDATE beacon.rollup_state SET refreshed_at = now();
        UPDATE beacon.freshness SET as_of = now(), refreshed_at = clock_timestamp(), took = clock_timestamp() - v_t0
        WHERE source = 'daily';
        v_n := v_n + 1;
    ELSIF NOT v_changed THEN
        UPDATE beacon.freshness SET as_of = now() WHERE source = 'daily'; -- nothing waits: complete now
    END IF;

    -- Top lists: REFRESH … CONCURRENTLY (readers keep reading the old rows meanwhile).
    SELECT * INTO v_f FROM beacon.freshness WHERE source = 'top';
    v_f.refreshed_at := least(v_f.refreshed_at, v_any);
    v_changed := (SELECT st.dirty FROM beacon.rollup_state st);
    IF beacon.refresh_due(v_f, v_changed, v_req) THEN
        v_t0 := clock_timestamp();
        REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_event_names_local;
        REFRESH MATERIALIZED VIEW CONCURRENTLY beacon.mv_top_values_local;
        UPDATE beacon.rollup_state SET dirty = false, refreshed_at = now();
        UPDATE beacon.freshness SET as_of = now(), refreshed_at = clock_timestamp(), took = clock_timestamp() - v_t0
        WHERE source = 'top';
        v_n := v_n + 2;
    ELSIF NOT v_changed THEN
        UPDATE beacon.freshness SET as_of = now() WHERE source = 'top'; -- every event folded is in them
    END IF;

    -- The overview's session figures and period visitors (code/overview_rollups.sql).
    SELECT * INTO v_f FROM beacon.freshness WHERE source = 'sessions';
    v_changed := EXISTS (SELECT FROM beacon.session_dirty) OR EXISTS (
        SELECT FROM beacon.projects p LEFT JOIN beacon.session_daily_zones z ON z.project_id = p.project_id
        WHERE z.timezone IS DISTINCT FROM p.timezone);
    IF beacon.refresh_due(v_f, v_changed, v_req) THEN
        v_t0 := clock_timestamp();
        PERFORM beacon.refresh_session_daily();
        UPDATE beacon.freshness SET as_of = now(), refreshed_at = clock_timestamp(), took = clock_timestamp() - v_t0
        WHERE source = 'sessions';
        v_n := v_n + 1;
    ELSIF NOT v_changed THEN
        UPDATE beacon.freshness SET as_of = now() WHERE source = 'sessions';
    END IF;
    SELECT * INTO v_f FROM beacon.freshness WHERE source = 'periods';
    -- Changed: events folded and not yet recounted, or recounted since (the id sets it reads are
    -- written at commit; their days are in daily_dirty until refresh_daily recounts them).
    v_changed := EXISTS (SELECT FROM beacon.daily_dirty)
        OR (SELECT d.refreshed_at > v_f.refreshed_at FROM beacon.freshness d WHERE d.source = 'daily');
    IF beacon.refresh_due(v_f, v_changed, v_req) THEN
        v_t0 := clock_timestamp();
        PERFORM beacon.refresh_period_stats();
        UPDATE beacon.freshness SET as_of = now(), refreshed_at = clock_timestamp(), took = clock_timestamp() - v_t0
        WHERE source = 'periods';
        v_n := v_n + 1;
    ELSIF NOT v_changed THEN
        UPDATE beacon.freshness SET as_of = now() WHERE source = 'periods';
    END IF;

    DELETE FROM beacon.refresh_requests r WHERE r.requested_at < now() - interval '1 day';
    RETURN v_n;
END $$;
COMMENT ON FUNCTION beacon.refresh_analytics() IS 'Folds the pending rollups, then refreshes daily_stats (beacon.refresh_daily), the top-list materialized views, the overview''s session_daily (beacon.refresh_session_daily) and period_stats (beacon.refresh_period_stats) when each is due (beacon.refresh_due), recording each in beacon.freshness. Skips everything when another session holds the refresh lock (1113940323, 5). Returns the aggregates refreshed. Run by beacon.keep_fresh() every second and by maintain()''s refresh step.';

CREATE OR REPLACE FUNCTION beacon.keep_fresh() RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_t0 timestamptz := clock_timestamp();
BEGIN
    RETURN beacon.refresh_analytics();
EXCEPTION WHEN OTHERS THEN
    PERFORM beacon.log_step('fresh', NULL, v_t0, SQLERRM);
    RAISE WARNING 'beacon.keep_fresh: %', SQLERRM;
    RETURN 0;
END $$;
COMMENT ON FUNCTION beacon.keep_fresh() IS 'What the relay calls every second: beacon.refresh_analytics(), as the owner. A failure is logged in beacon.maintenance_log (step ''fresh'') and raised as a WARNING, never as an error. Returns the aggregates refreshed.';

CREATE OR REPLACE FUNCTION analytics.refresh()
RETURNS TABLE (accepted boolean, next_accepted_at timestamptz)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s'
AS $$
DECLARE
    v_last timestamptz := (SELECT max(r.requested_at) FROM beacon.refresh_requests r);
    v_cost interval := (SELECT coalesce(sum(f.took), interval '0') FROM beacon.freshness f);
    v_next timestamptz := coalesce(v_last, '-infinity') + greatest(interval '10 seconds', 4 * v_cost);
BEGIN
    -- clock_timestamp(), not now(): a caller's transaction may have begun long ago.
    IF clock_timestamp() < v_next THEN
        RETURN QUERY SELECT false, v_next;
        RETURN;
    END IF;
    INSERT INTO beacon.refresh_requests (requested_at) VALUES (clock_timestamp()) RETURNING requested_at INTO v_last;
    RETURN QUERY SELECT true, v_last + greatest(interval '10 seconds', 4 * v_cost);
END $$;
COMMENT ON FUNCTION analytics.refresh() IS 'Asks for the stored analytics views (daily, top_*) to be refreshed now rather than at their pace: the relay''s next tick (within about a second; the next beacon.maintain() without a relay) refreshes them, and analytics.freshness shows it. Rate-limited for all callers together to one accepted request per 10 seconds (or 4 times the last refreshes'' duration, if longer); accepted is false and next_accepted_at says when to ask again. It only records the request (no work, no lock anyone waits for), so it cannot be used to hold locks or run unbounded work.';

CREATE OR REPLACE VIEW analytics.freshness AS
WITH RECURSIVE reads (view_oid, rel) AS (
    -- The relations each analytics view reads, through other views too.
    SELECT v.oid, d.refobjid
    FROM pg_catalog.pg_class v
    JOIN pg_catalog.pg_rewrite w ON w.ev_class = v.oid
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                               AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> v.oid
    WHERE v.relnamespace = 'analytics'::regnamespace AND v.relkind = 'v'
    UNION
    SELECT r.view_oid, d.refobjid
    FROM reads r
    JOIN pg_catalog.pg_class c ON c.oid = r.rel AND c.relkind = 'v'
    JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.rel
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                               AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.rel
)
SELECT v.relname::text AS view_name,
       coalesce(min(f.as_of), now()) AS as_of,
       max(f.took) AS last_refresh_duration,
       min(f.refreshed_at) AS refreshed_at,
       coalesce(string_agg(DISTINCT f.source, ', '), 'live') AS kept_by
FROM pg_catalog.pg_class v
LEFT JOIN reads r ON r.view_oid = v.oid
LEFT JOIN beacon.freshness f ON r.rel = ANY (f.relations)
WHERE v.relnamespace = 'analytics'::regnamespace AND v.relkind = 'v'
GROUP BY v.relname;
COMMENT ON VIEW analytics.freshness IS 'How current each analytics view is: every event committed before as_of is counted in it. Stored views (daily, top_*, hourly_events, daily_pageviews) follow commit within a few seconds while the relay runs (docs/bi.md "Freshness"); live views read the tables and are as of now(). Ask for a refresh with SELECT * FROM analytics.refresh().';
COMMENT ON COLUMN analytics.freshness.view_name IS 'The analytics view.';
COMMENT ON COLUMN analytics.freshness.as_of IS 'Every event committed before this time is counted (a lower bound); now() for live views.';
COMMENT ON COLUMN analytics.freshness.last_refresh_duration IS 'How long the last refresh of what the view reads took; NULL for live views.';
COMMENT ON COLUMN analytics.freshness.refreshed_at IS 'End of that last refresh; NULL for live views.';
COMMENT ON COLUMN analytics.freshness.kept_by IS 'What keeps it: rollups, daily, top (beacon.freshness), or live.';
