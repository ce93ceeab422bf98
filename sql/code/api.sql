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

REVOKE ALL ON FUNCTION beacon.api_projects() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_projects()
TO beacon_api;

-- The overview (GET …/overview, …/overview/{table}.csv, …/current): code/api_overview.sql.
