-- 009_access_freshness: BI logins scoped to projects, and analytics freshness you can see and ask
-- for (issue 11, items 7 and 8). State only; the functions and views are in code/access.sql and
-- code/freshness.sql.
--
--  * beacon_scoped_reader: a NOLOGIN group role like beacon_reader whose members see, in every
--    analytics view, only the projects beacon.project_grants lists for them (none until granted:
--    it fails closed). A login in it is "scoped"; a login only in beacon_reader sees every project.
--  * beacon.project_grants: which role may see which project (`beacon project grant`).
--  * beacon.freshness: as of when each stored aggregate is complete, and what its last refresh cost.
--  * beacon.refresh_requests: refreshes readers asked for (analytics.refresh()), insert-only.
--  * settings.refresh_interval: 1 minute → 2 seconds (the relay now refreshes on a 1-second tick
--    and each aggregate paces itself by its own cost; docs/sql.md "Freshness"). A database whose
--    operator chose another value keeps it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'beacon_scoped_reader') THEN
        BEGIN
            CREATE ROLE beacon_scoped_reader NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration created it meanwhile
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role beacon_scoped_reader does not exist and % may not create it', current_user
                    USING ERRCODE = '42501', HINT = 'As a superuser: CREATE ROLE beacon_scoped_reader NOLOGIN;';
        END;
    END IF;
END $$;
GRANT USAGE ON SCHEMA analytics TO beacon_scoped_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO beacon_scoped_reader;

CREATE TABLE beacon.project_grants (
    role_name  name        NOT NULL,
    project_id uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by name        NOT NULL DEFAULT session_user,
    PRIMARY KEY (role_name, project_id)
);
COMMENT ON TABLE beacon.project_grants IS 'Projects a member of beacon_scoped_reader may see in the analytics views: a row per role (a login, or a group role its logins are members of) and project. Written by `beacon project grant` / `revoke`; read only through beacon.visible_projects().';
COMMENT ON COLUMN beacon.project_grants.role_name IS 'Role granted the project; members of it see it too. Not a foreign key (roles are cluster-wide): a grant to a dropped role matches nobody.';
COMMENT ON COLUMN beacon.project_grants.project_id IS 'Project the role may see; the grant goes with the project.';
COMMENT ON COLUMN beacon.project_grants.granted_at IS 'When it was granted.';
COMMENT ON COLUMN beacon.project_grants.granted_by IS 'Login that granted it.';

CREATE TABLE beacon.freshness (
    source       text        PRIMARY KEY,
    relations    regclass[]  NOT NULL,
    as_of        timestamptz NOT NULL DEFAULT '-infinity',
    refreshed_at timestamptz NOT NULL DEFAULT '-infinity',
    took         interval
);
INSERT INTO beacon.freshness (source, relations) VALUES
    ('rollups', '{beacon.rollup_hourly, beacon.rollup_daily_dims, beacon.rollup_daily_ids}'),
    ('daily',   '{beacon.daily_stats}'),
    ('top',     '{beacon.mv_event_names_local, beacon.mv_top_values_local}');
COMMENT ON TABLE beacon.freshness IS 'One row per stored aggregate that beacon.refresh_analytics() brings up to date: as of when it is complete and what its last refresh cost. analytics.freshness maps it onto the views that read those relations.';
COMMENT ON COLUMN beacon.freshness.source IS 'rollups (folded counts: fold_rollups), daily (daily_stats: refresh_daily), top (the top-list materialized views).';
COMMENT ON COLUMN beacon.freshness.relations IS 'The relations this aggregate keeps; a view reading any of them is as of this row.';
COMMENT ON COLUMN beacon.freshness.as_of IS 'Every event committed before this time is counted (a lower bound: later ones may be too).';
COMMENT ON COLUMN beacon.freshness.refreshed_at IS 'End of its last refresh.';
COMMENT ON COLUMN beacon.freshness.took IS 'Duration of its last refresh; the next one waits at least 4 times this (beacon.refresh_analytics).';

CREATE TABLE beacon.refresh_requests (
    request_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by name        NOT NULL DEFAULT session_user
);
CREATE INDEX refresh_requests_requested_at ON beacon.refresh_requests (requested_at);
COMMENT ON INDEX beacon.refresh_requests_requested_at IS 'The latest request (rate limit, and whether one is waiting).';
COMMENT ON TABLE beacon.refresh_requests IS 'Refreshes asked for through analytics.refresh() and accepted (at most one per 10 s). Insert-only, so a requester holds no lock anyone waits for; beacon.refresh_analytics() serves them and deletes rows older than a day.';
COMMENT ON COLUMN beacon.refresh_requests.request_id IS 'Identity.';
COMMENT ON COLUMN beacon.refresh_requests.requested_at IS 'When it was asked (clock time of the call).';
COMMENT ON COLUMN beacon.refresh_requests.requested_by IS 'Login that asked.';

ALTER TABLE beacon.settings ALTER COLUMN refresh_interval SET DEFAULT '2 seconds';
UPDATE beacon.settings SET refresh_interval = '2 seconds' WHERE refresh_interval = '1 minute';
COMMENT ON COLUMN beacon.settings.refresh_interval IS 'Least time between two refreshes of one stored aggregate (daily_stats, the top-list materialized views) while events keep arriving; each also waits at least 4 times its last refresh''s duration, and all are refreshed at least hourly regardless. 0 refreshes on every change whatever it costs. Default 2 seconds.';

-- beacon.refresh_views() is replaced by beacon.refresh_analytics() (code/freshness.sql).
DROP FUNCTION IF EXISTS beacon.refresh_views();
