-- access: BI logins scoped to projects (docs/bi.md "Scoped logins").
--
-- A login that is a member of beacon_scoped_reader sees, in every analytics view, only the
-- projects beacon.project_grants lists for it or for a role it is a member of; none until granted.
-- Any other role that may read the views (beacon_reader, beacon_dashboard, the owner) sees all.
--
-- The analytics views run with their owner's rights, so row-level security on the beacon tables
-- would be checked against the owner, and beacon.events cannot have RLS (COPY). Instead every
-- analytics view with a project_id column filters its rows with beacon.visible_projects(), called
-- once per query (an InitPlan). beacon.scope_analytics_views(), run by roles.sql after every view
-- is (re)defined, wraps each view's own definition — unchanged in analytics.sql — as
--     SELECT * FROM (<definition>) scoped WHERE <visible>
-- with security_barrier, so a reader's own WHERE (a cast that fails, a function that logs its
-- argument) is never evaluated on another project's rows. A new view is covered the day it is
-- added; TestScopedReaderSeesItsProjectsOnly checks every view. A function granted to the readers
-- runs as its owner, who sees all: one that takes a project must check it against
-- beacon.visible_projects(session_user), as analytics.visitors does.

CREATE OR REPLACE FUNCTION beacon.visible_projects(p_role name) RETURNS uuid[]
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = p_role) THEN NULL
        -- Not scoped: every project. So also for the owner, whose rights a security-definer
        -- function (the dashboard's api_* functions) reads the views with.
        WHEN NOT pg_catalog.pg_has_role(p_role, 'beacon_scoped_reader', 'MEMBER') THEN NULL
        -- A scoped role's grants only to a session that can act as it.
        WHEN NOT pg_catalog.pg_has_role(session_user, p_role, 'MEMBER') THEN '{}'::uuid[]
        ELSE coalesce((SELECT array_agg(DISTINCT g.project_id)
                       FROM beacon.project_grants g
                       JOIN pg_catalog.pg_roles r ON r.rolname = g.role_name
                       WHERE pg_catalog.pg_has_role(p_role, r.oid, 'MEMBER')), '{}'::uuid[])
    END
$$;
COMMENT ON FUNCTION beacon.visible_projects(name) IS 'Projects p_role may see in the analytics views: NULL for all (not a member of beacon_scoped_reader, or a superuser), else the projects beacon.project_grants lists for it or a role it is a member of (empty until granted). For a scoped p_role the session must be able to act as it, else nothing is visible. Called by every analytics view with current_user (inside a security-definer function, its owner: every project).';

CREATE OR REPLACE FUNCTION beacon.scope_analytics_views() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v record;
    n int := 0;
BEGIN
    FOR v IN
        SELECT c.oid, c.relname, pg_catalog.pg_get_viewdef(c.oid) AS def
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind = 'v'
          AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
        ORDER BY c.relname
    LOOP
        CONTINUE WHEN v.def LIKE '%visible_projects(%'; -- scoped already (defined in a migration)
        EXECUTE format(
            'CREATE OR REPLACE VIEW analytics.%I WITH (security_barrier) AS SELECT * FROM (%s) scoped '
            'WHERE (SELECT beacon.visible_projects(CURRENT_USER)) IS NULL '
            'OR scoped.project_id = ANY ((SELECT beacon.visible_projects(CURRENT_USER))::uuid[])',
            v.relname, rtrim(v.def, E'; \n'));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION beacon.scope_analytics_views() IS 'Makes every analytics view with a project_id column show a scoped reader only its projects: wraps the view''s definition in a security-barrier filter on beacon.visible_projects(CURRENT_USER), keeping its columns, comments and grants. Idempotent; run by the code package after the views are defined. Returns the views wrapped.';

CREATE OR REPLACE FUNCTION beacon.grant_project(p_role name, p_project uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = p_role) THEN
        RAISE EXCEPTION 'role % does not exist', p_role
            USING ERRCODE = '42704', HINT = format('CREATE ROLE %I LOGIN PASSWORD ''…'';', p_role);
    END IF;
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = p_role) THEN
        RAISE EXCEPTION 'role % is a superuser: it sees every project whatever it is granted', p_role
            USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT FROM beacon.projects p WHERE p.project_id = p_project) THEN
        RAISE EXCEPTION 'project % does not exist', p_project USING ERRCODE = '23503';
    END IF;
    IF NOT pg_catalog.pg_has_role(p_role, 'beacon_scoped_reader', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT beacon_scoped_reader TO %I', p_role);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION '% may not make % a member of beacon_scoped_reader', current_user, p_role
                USING ERRCODE = '42501', HINT = format('As a superuser: GRANT beacon_scoped_reader TO %I; then grant again.', p_role);
        END;
    END IF;
    INSERT INTO beacon.project_grants (role_name, project_id) VALUES (p_role, p_project)
    ON CONFLICT DO NOTHING;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION beacon.grant_project(name, uuid) IS 'Lets p_role see project p_project in the analytics views, and makes it a member of beacon_scoped_reader (so it sees only the projects granted to it, or to a role it is a member of). Returns false when it was granted already. The owner''s alone; `beacon project grant --role R --project ID` calls it.';

CREATE OR REPLACE FUNCTION beacon.revoke_project(p_role name, p_project uuid) RETURNS boolean
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM beacon.project_grants g WHERE g.role_name = p_role AND g.project_id = p_project RETURNING 1
    )
    SELECT EXISTS (SELECT FROM gone)
$$;
COMMENT ON FUNCTION beacon.revoke_project(name, uuid) IS 'Takes project p_project from what p_role sees; the role stays scoped (a scoped role without grants sees nothing). Returns false when it was not granted. The owner''s alone; `beacon project revoke --role R --project ID` calls it. To make a role an all-projects reader again: REVOKE beacon_scoped_reader FROM it.';
