-- api: what the dashboard's JSON API (package api, /api/…) reads, one function per endpoint,
-- each answering the endpoint's JSON. Each acts for the signed-in account of its transaction
-- (beacon.current_account()) and checks its role with beacon.require_role before it reads
-- anything of a project. The API's role, beacon_api, may call only these and the sign-in and
-- session functions (code/accounts.sql): a bug in a Go handler cannot reach another project.

CREATE OR REPLACE FUNCTION beacon.api_projects() RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('projects', coalesce(jsonb_agg(
               jsonb_build_object('id', p.project_id, 'name', p.name, 'role', r.role)
               ORDER BY lower(p.name), p.project_id), '[]'))
    FROM beacon.projects p
    CROSS JOIN LATERAL (SELECT beacon.account_role(beacon.current_account(), p.project_id) AS role) r
    WHERE r.role IS NOT NULL
$$;
COMMENT ON FUNCTION beacon.api_projects() IS 'GET /api/projects: {"projects":[{"id","name","role"}]}, the projects the signed-in account may see (all of them, as owner, for an admin account), by name. Empty without a signed-in account.';

CREATE OR REPLACE FUNCTION beacon.api_overview(p_project uuid, p_from date, p_to date) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    series jsonb;
    totals jsonb;
    pages jsonb;
    referrers jsonb;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    IF p_from IS NULL OR p_to IS NULL OR p_from > p_to OR p_to - p_from > 730 THEN
        RAISE EXCEPTION 'the range must run from a day to the same or a later day, at most 731 days'
            USING ERRCODE = '22023';
    END IF;
    SELECT jsonb_agg(jsonb_build_object('day', g.day::date, 'pageviews', coalesce(d.pageviews, 0),
               'visitors', coalesce(d.visitors, 0), 'sessions', coalesce(d.sessions, 0),
               'events', coalesce(d.events, 0)) ORDER BY g.day)
    INTO series
    FROM generate_series(p_from, p_to, interval '1 day') g(day)
    LEFT JOIN analytics.daily d ON d.project_id = p_project AND d.day = g.day::date;

    SELECT jsonb_build_object('pageviews', coalesce(sum(d.pageviews), 0), 'events', coalesce(sum(d.events), 0),
               'visitors', v.visitors, 'sessions', v.sessions)
    INTO totals
    FROM analytics.visitors(p_project, p_from, p_to) v
    LEFT JOIN analytics.daily d ON d.project_id = p_project AND d.day BETWEEN p_from AND p_to
    GROUP BY v.visitors, v.sessions;

    SELECT coalesce(jsonb_agg(jsonb_build_object('page', t.value, 'pageviews', t.n) ORDER BY t.n DESC, t.value), '[]')
    INTO pages
    FROM (SELECT d.value, sum(d.pageviews) AS n FROM analytics.daily_pageviews d
          WHERE d.project_id = p_project AND d.dimension = 'page' AND d.day BETWEEN p_from AND p_to
          GROUP BY d.value ORDER BY n DESC, d.value LIMIT 10) t;

    SELECT coalesce(jsonb_agg(jsonb_build_object('referrer', t.value, 'pageviews', t.n) ORDER BY t.n DESC, t.value), '[]')
    INTO referrers
    FROM (SELECT d.value, sum(d.pageviews) AS n FROM analytics.daily_pageviews d
          WHERE d.project_id = p_project AND d.dimension = 'referrer' AND d.day BETWEEN p_from AND p_to
          GROUP BY d.value ORDER BY n DESC, d.value LIMIT 10) t;

    RETURN jsonb_build_object('series', series, 'totals', totals, 'top_pages', pages, 'top_referrers', referrers);
END $$;
COMMENT ON FUNCTION beacon.api_overview(uuid, date, date) IS 'GET /api/projects/{id}/overview: per UTC day from p_from to p_to (inclusive, at most 731 days) pageviews, visitors, sessions and events (analytics.daily; 0 for days without); totals (pageviews and events summed, visitors and sessions distinct over the whole range: analytics.visitors); the 10 top pages and referrers by pageviews (analytics.daily_pageviews). Needs the viewer role: raises P0002 ''project not found'' for an account that is not a member, 22023 for a bad range. Reads only the rollups, never beacon.events.';

REVOKE ALL ON FUNCTION beacon.api_projects(), beacon.api_overview(uuid, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_projects(),
    beacon.api_overview(uuid, date, date)
TO beacon_api;
