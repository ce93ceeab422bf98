-- 001_baseline: Beacon's state — schemas, roles, tables, indexes, types, materialized views, table
-- grants and seed rows — as the pre-baseline chain 001_core … 015_daily_incremental left it
-- (squashed; nothing had shipped). Functions, procedures, triggers and views are not here: they
-- live in the code package sql/code/, installed by `beacon migrate` after the numbered migrations,
-- every time (docs/sql.md). A database built by the old chain is moved onto this baseline by
-- sql/upgrade/legacy015.sql.
--
-- Later changes of state go in new numbered migrations (002_….sql, …), never here.
--
-- Column defaults that call a Beacon function (the audit tables' db_role and app_user) are set by
-- the code package next to the functions (code/common.sql): the functions do not exist yet here.

CREATE SCHEMA IF NOT EXISTS beacon;
COMMENT ON SCHEMA beacon IS 'Beacon''s tables and functions. Not a public interface: BI tools read the analytics schema.';

CREATE SCHEMA IF NOT EXISTS analytics;
COMMENT ON SCHEMA analytics IS 'Beacon''s stable read interface for the dashboard and BI tools: commented views over the beacon schema. Read-only.';

-- Schema bookkeeping -----------------------------------------------------------------------------

CREATE TABLE beacon.schema_migrations (
    version    int         PRIMARY KEY,
    name       text        NOT NULL,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE beacon.schema_migrations IS 'Every numbered migration applied, with the SHA-256 of its text: beacon migrate refuses a database whose applied migrations differ from the binary''s (a migration edited or replaced after it ran), and sql.CheckSchema compares them at start-up. The version number itself is tern''s, in public.beacon_schema_version.';
COMMENT ON COLUMN beacon.schema_migrations.version IS 'Migration number (tern sequence).';
COMMENT ON COLUMN beacon.schema_migrations.name IS 'File name, e.g. 001_baseline.sql.';
COMMENT ON COLUMN beacon.schema_migrations.sha256 IS 'Hex SHA-256 of the migration file as embedded in the binary that applied it.';
COMMENT ON COLUMN beacon.schema_migrations.applied_at IS 'When it was applied (for 001 on an upgraded database: when the database was moved onto the baseline).';

CREATE TABLE beacon.schema_code (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    sha256       text        NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE beacon.schema_code IS 'The code package (sql/code/: functions, procedures, triggers, views) installed last, one row: its SHA-256, written by beacon migrate in the transaction that installs it.';
COMMENT ON COLUMN beacon.schema_code.singleton IS 'Always true: one row.';
COMMENT ON COLUMN beacon.schema_code.sha256 IS 'Hex SHA-256 over the code package''s files (names and contents).';
COMMENT ON COLUMN beacon.schema_code.installed_at IS 'When it was installed.';

-- Roles ------------------------------------------------------------------------------------------
--
-- Roles are cluster-wide and this migration runs in every database of the cluster (tests clone
-- many), so they are created only when missing, as NOLOGIN group roles: operators create LOGIN
-- roles and grant them into these (docs/sql.md). Grants are per database.
--
--   beacon_relay      COPY/INSERT into beacon.events (no SELECT on it), read beacon.projects, TEMP
--                     for the dedup retry, EXECUTE identify / connect / evaluate_flags(_many) /
--                     maintain (granted in code/roles.sql).
--   beacon_dashboard  read analytics.*, manage beacon.flags and beacon.projects, merge people.
--   beacon_reader     read-only on analytics.* (BI tools).

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['beacon_relay', 'beacon_dashboard', 'beacon_reader'] LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration created it meanwhile
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % does not exist and % may not create it', r, current_user
                    USING ERRCODE = '42501', HINT = format('As a superuser: CREATE ROLE %I NOLOGIN;', r);
        END;
    END LOOP;
END $$;

-- Nobody but the owner by default. The two REVOKE EXECUTE default privileges below do not take
-- away the global default EXECUTE to PUBLIC (per-schema default privileges only add); code/roles.sql
-- revokes it from every routine on each install and grants EXECUTE by name.
REVOKE ALL ON SCHEMA beacon FROM PUBLIC;
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA beacon REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
-- Views created in analytics by this owner are readable by both readers.
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO beacon_dashboard, beacon_reader;
GRANT USAGE ON SCHEMA beacon TO beacon_relay;
GRANT USAGE ON SCHEMA beacon, analytics TO beacon_dashboard;
GRANT USAGE ON SCHEMA analytics TO beacon_reader;
DO $$ BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO beacon_relay', current_database());
END $$;
GRANT SELECT ON beacon.schema_migrations, beacon.schema_code TO beacon_relay, beacon_dashboard;

-- Projects ---------------------------------------------------------------------------------------

CREATE TABLE beacon.projects (
    project_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    allowed_origins text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    retention_days  int CHECK (retention_days >= 2)
);
COMMENT ON TABLE beacon.projects IS 'One tracked product. Its id is the project= parameter every client sends.';
COMMENT ON COLUMN beacon.projects.project_id IS 'Project id, the project= parameter of every client.';
COMMENT ON COLUMN beacon.projects.name IS 'Display name, 1–200 characters.';
COMMENT ON COLUMN beacon.projects.allowed_origins IS 'Browser origins (scheme://host[:port]) allowed to connect; ''*'' allows any. Empty: only the relay''s ALLOWED_ORIGINS default applies. Requests without an Origin header (server code) are always allowed.';
COMMENT ON COLUMN beacon.projects.created_at IS 'When the project was created.';
COMMENT ON COLUMN beacon.projects.retention_days IS 'Days of this project''s events kept; NULL follows beacon.settings.retention_days. Shorter than the global value: rows are deleted from cold partitions once per day; longer: partitions are kept longer for everyone and the other projects'' rows deleted from them.';
GRANT SELECT ON beacon.projects TO beacon_relay;
GRANT SELECT, INSERT, UPDATE, DELETE ON beacon.projects TO beacon_dashboard;

-- Events -----------------------------------------------------------------------------------------

CREATE TABLE beacon.events (
    project_id  uuid        NOT NULL,
    event_id    uuid        NOT NULL,
    session_id  text        NOT NULL DEFAULT '',
    anon_id     text        NOT NULL DEFAULT '',
    user_id     text,
    name        text        NOT NULL,
    props       jsonb       NOT NULL DEFAULT '{}',
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL
) PARTITION BY RANGE (ts);
COMMENT ON TABLE beacon.events IS 'Every tracked event, partitioned by day on ts. Written by COPY from the relay; no row-level security, no per-row triggers, so COPY stays fast. Events outside the daily partitions land in beacon.events_default.';
COMMENT ON COLUMN beacon.events.project_id IS 'Project the event was sent to (not a foreign key: a COPY must never fail for one row; events of a deleted project are left to retention).';
COMMENT ON COLUMN beacon.events.event_id IS 'Client-made UUID (v7) or one the relay made; with project_id and ts it identifies a re-sent duplicate.';
COMMENT ON COLUMN beacon.events.session_id IS 'The SDK''s session id (session= of the connection); empty when the sender had none.';
COMMENT ON COLUMN beacon.events.anon_id IS 'The SDK''s anonymous id (anon= of the connection); empty when the sender had none.';
COMMENT ON COLUMN beacon.events.user_id IS 'User id known to the relay when the event arrived (after identify); earlier events are attributed through beacon.aliases in the analytics views.';
COMMENT ON COLUMN beacon.events.name IS 'Event name, e.g. $pageview.';
COMMENT ON COLUMN beacon.events.props IS 'Event properties (a JSON object, bounded in size by the relay).';
COMMENT ON COLUMN beacon.events.ts IS 'Client time. The relay replaces values more than 1 day ahead or older than its MAX_EVENT_AGE by the time in the event''s UUIDv7 id, or by received_at.';
COMMENT ON COLUMN beacon.events.received_at IS 'Relay time when the event arrived.';
GRANT INSERT ON beacon.events TO beacon_relay;

CREATE TABLE beacon.events_default PARTITION OF beacon.events DEFAULT;
COMMENT ON TABLE beacon.events_default IS 'Catches events whose day has no partition (very late or early clocks) so a COPY never fails for want of one; beacon.ensure_partitions moves its rows into a new daily partition when one is made.';

-- Dedup: a re-sent event (same project, id and client time) is refused here; the relay then retries
-- that batch with ON CONFLICT DO NOTHING. The partition key must be part of a unique index.
CREATE UNIQUE INDEX events_dedup ON beacon.events (project_id, event_id, ts);
COMMENT ON INDEX beacon.events_dedup IS 'Refuses a re-sent event (same project, event id and ts): the relay retries such a batch with ON CONFLICT DO NOTHING. Includes ts, the partition key, as a unique index on a partitioned table must.';
CREATE INDEX events_project_ts ON beacon.events USING brin (project_id, ts);
COMMENT ON INDEX beacon.events_project_ts IS 'BRIN on (project_id, ts): cheap to keep up under COPY; narrows a project''s time range within a partition.';

-- The shape of an event row, for the relay's dedup retry table: CREATE TEMP TABLE … (LIKE
-- beacon.events) needs SELECT on beacon.events, which beacon_relay must not have.
CREATE TYPE beacon.event_row AS (
    project_id  uuid,
    event_id    uuid,
    session_id  text,
    anon_id     text,
    user_id     text,
    name        text,
    props       jsonb,
    ts          timestamptz,
    received_at timestamptz
);
COMMENT ON TYPE beacon.event_row IS 'The columns of beacon.events in order, for CREATE TEMP TABLE … (LIKE beacon.event_row): the ingest role may not SELECT beacon.events, which LIKE beacon.events requires. A test keeps it equal to beacon.events.';
GRANT USAGE ON TYPE beacon.event_row TO beacon_relay;

-- Settings ---------------------------------------------------------------------------------------

CREATE TABLE beacon.settings (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    retention_days   int         DEFAULT 395 CHECK (retention_days >= 2),
    retention_mode   text        NOT NULL DEFAULT 'drop' CHECK (retention_mode IN ('drop', 'detach')),
    partitions_ahead int         NOT NULL DEFAULT 7 CHECK (partitions_ahead BETWEEN 1 AND 90),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    view_days        int         NOT NULL DEFAULT 90 CHECK (view_days BETWEEN 1 AND 3660),
    refresh_interval interval    NOT NULL DEFAULT '1 minute'
);
INSERT INTO beacon.settings DEFAULT VALUES;
COMMENT ON TABLE beacon.settings IS 'Operator settings, one row. Change with a plain UPDATE beacon.settings SET …; beacon.maintain() reads them on its next run.';
COMMENT ON COLUMN beacon.settings.singleton IS 'Always true: the table holds exactly one row.';
COMMENT ON COLUMN beacon.settings.retention_days IS 'Days of events kept (whole UTC days before today); NULL keeps them forever. A project''s own retention_days overrides it.';
COMMENT ON COLUMN beacon.settings.retention_mode IS '''drop'' drops expired daily partitions; ''detach'' detaches them and leaves beacon.events_YYYYMMDD as a standalone table to archive (pg_dump -t) and drop by hand.';
COMMENT ON COLUMN beacon.settings.partitions_ahead IS 'Daily partitions of beacon.events created ahead of today.';
COMMENT ON COLUMN beacon.settings.updated_at IS 'Last change of this row.';
COMMENT ON COLUMN beacon.settings.view_days IS 'Days of history (UTC days before today, plus today) that beacon.daily_stats (analytics.daily) covers.';
COMMENT ON COLUMN beacon.settings.refresh_interval IS 'Least time between two refreshes of the dashboard''s aggregates (daily_stats, the materialized views) while events keep arriving; they are refreshed at least hourly regardless.';

CREATE TABLE beacon.retention_state (
    project_id    uuid        PRIMARY KEY REFERENCES beacon.projects ON DELETE CASCADE,
    purged_before timestamptz NOT NULL
);
COMMENT ON TABLE beacon.retention_state IS 'Per project, the time before which its events have already been deleted by a per-project retention, so each expired day is deleted once.';
COMMENT ON COLUMN beacon.retention_state.project_id IS 'Project.';
COMMENT ON COLUMN beacon.retention_state.purged_before IS 'Events of the project with ts before this time have been deleted.';

-- Maintenance ------------------------------------------------------------------------------------

CREATE TABLE beacon.maintenance_log (
    log_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_at   timestamptz NOT NULL DEFAULT now(),
    step     text        NOT NULL,
    rows     bigint,
    duration interval    NOT NULL,
    error    text
);
CREATE INDEX maintenance_log_run_at ON beacon.maintenance_log (run_at);
COMMENT ON INDEX beacon.maintenance_log_run_at IS 'For beacon.maintain()''s deletion of rows older than 30 days.';
COMMENT ON TABLE beacon.maintenance_log IS 'Steps of beacon.maintain() that did something or failed, kept 30 days. A failing step is logged here (and raised as a WARNING) without stopping the other steps.';
COMMENT ON COLUMN beacon.maintenance_log.log_id IS 'Order of the log rows.';
COMMENT ON COLUMN beacon.maintenance_log.run_at IS 'Start of the step''s transaction.';
COMMENT ON COLUMN beacon.maintenance_log.step IS 'partitions, retention, purge, rollup, refresh, …';
COMMENT ON COLUMN beacon.maintenance_log.rows IS 'Rows or objects the step handled (partitions made, partitions dropped, rows deleted, events rolled up, …).';
COMMENT ON COLUMN beacon.maintenance_log.duration IS 'Wall time of the step.';
COMMENT ON COLUMN beacon.maintenance_log.error IS 'Error message when the step failed; NULL on success.';

CREATE TABLE beacon.maintenance_steps (
    step     text          PRIMARY KEY,
    position int           NOT NULL UNIQUE,
    fn       regprocedure  NOT NULL,
    enabled  boolean       NOT NULL DEFAULT true
);
COMMENT ON TABLE beacon.maintenance_steps IS 'What beacon.maintain() runs, in position order, each step in its own transaction. Each fn takes no argument and returns the rows or objects it handled. Beacon''s own steps are written by the code package (code/maintenance.sql), which keeps an operator''s enabled flag.';
COMMENT ON COLUMN beacon.maintenance_steps.step IS 'Name used in beacon.maintenance_log.';
COMMENT ON COLUMN beacon.maintenance_steps.position IS 'Order of execution.';
COMMENT ON COLUMN beacon.maintenance_steps.fn IS 'Function run for the step.';
COMMENT ON COLUMN beacon.maintenance_steps.enabled IS 'false skips the step (for an operator who runs it elsewhere).';

-- Sessions ---------------------------------------------------------------------------------------

-- fillfactor 70: every batch updates ~1 row per active session; free space on the page keeps those
-- updates HOT (no index writes). No index on last_seen for the same reason.
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
) WITH (fillfactor = 70);
CREATE INDEX sessions_project_first_seen ON beacon.sessions (project_id, first_seen);
COMMENT ON INDEX beacon.sessions_project_first_seen IS 'Sessions of a project by start: the dashboard''s time ranges and the retention purge (first_seen <= last_seen).';
COMMENT ON TABLE beacon.sessions IS 'One row per session (the SDK''s session id), maintained by the events_sessions trigger from every insert into beacon.events. No foreign key to projects: the trigger must never fail a COPY.';
COMMENT ON COLUMN beacon.sessions.project_id IS 'Project of the session.';
COMMENT ON COLUMN beacon.sessions.session_id IS 'The SDK''s session id.';
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

-- Users, aliases, merges -------------------------------------------------------------------------

CREATE TABLE beacon.users (
    project_id  uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    user_id     text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
    traits      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(traits) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    merged_into text,
    PRIMARY KEY (project_id, user_id),
    CONSTRAINT users_not_merged_into_self CHECK (merged_into <> user_id),
    CONSTRAINT users_merged_into_fkey FOREIGN KEY (project_id, merged_into)
        REFERENCES beacon.users (project_id, user_id) ON DELETE SET NULL (merged_into)
);
CREATE INDEX users_merged_into ON beacon.users (project_id, merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON INDEX beacon.users_merged_into IS 'The users merged into a root user: a person''s members (merges, unmerges, person_traits).';
COMMENT ON TABLE beacon.users IS 'Identified people of a project: the user id the product knows them by, and their merged traits.';
COMMENT ON COLUMN beacon.users.project_id IS 'Project of the user.';
COMMENT ON COLUMN beacon.users.user_id IS 'The product''s user id, 1–200 characters.';
COMMENT ON COLUMN beacon.users.traits IS 'Traits merged from every identify; a newer value wins per top-level key.';
COMMENT ON COLUMN beacon.users.created_at IS 'First identify.';
COMMENT ON COLUMN beacon.users.updated_at IS 'Latest identify (traits change).';
COMMENT ON COLUMN beacon.users.merged_into IS 'Root user of the person this user was merged into (always a root: a user whose merged_into is NULL); NULL when the user is its own person. Set only by beacon.merge_users / beacon.unmerge_users and, when a user is deleted, by the users_delete trigger.';

CREATE TABLE beacon.aliases (
    project_id uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    anon_id    text        NOT NULL,
    user_id    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, anon_id)
);
CREATE INDEX aliases_user ON beacon.aliases (project_id, user_id);
COMMENT ON INDEX beacon.aliases_user IS 'The anonymous ids of a user: a merge''s days to recount (refresh_daily), a person''s privacy delete.';
COMMENT ON TABLE beacon.aliases IS 'Which user an anonymous id turned out to be, learned from identify.';
COMMENT ON COLUMN beacon.aliases.project_id IS 'Project of the alias.';
COMMENT ON COLUMN beacon.aliases.anon_id IS 'Anonymous id (the SDK''s anon= id).';
COMMENT ON COLUMN beacon.aliases.user_id IS 'The first user this anonymous id identified as.';
COMMENT ON COLUMN beacon.aliases.created_at IS 'When the anonymous id first identified.';

CREATE TABLE beacon.user_merges (
    merge_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    from_user  text        NOT NULL,
    into_user  text        NOT NULL,
    merged_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, from_user),
    FOREIGN KEY (project_id, from_user) REFERENCES beacon.users (project_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (project_id, into_user) REFERENCES beacon.users (project_id, user_id) ON DELETE CASCADE,
    CHECK (from_user <> into_user)
);
COMMENT ON TABLE beacon.user_merges IS 'Merges in force: the person rooted at from_user was merged into the person rooted at into_user. A forest: each root is merged at most once. beacon.unmerge_users deletes a row; the users_delete trigger re-points the rows of a deleted user; beacon.identity_audit keeps the history.';
COMMENT ON COLUMN beacon.user_merges.project_id IS 'Project of the users.';
COMMENT ON COLUMN beacon.user_merges.merge_id IS 'Id to pass to beacon.unmerge_users.';
COMMENT ON COLUMN beacon.user_merges.from_user IS 'Root user of the person merged away.';
COMMENT ON COLUMN beacon.user_merges.into_user IS 'Root user of the person it joined (at merge time; the nearest user still there after a user is deleted).';
COMMENT ON COLUMN beacon.user_merges.merged_at IS 'When the merge was made.';

CREATE TABLE beacon.identity_audit (
    audit_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('alias', 'unalias', 'merge', 'unmerge', 'delete')),
    anon_id    text,
    user_id    text        NOT NULL,
    other_user text,
    merge_id   bigint,
    detail     jsonb       NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now(),
    db_role    text        NOT NULL,
    login_role text        NOT NULL DEFAULT session_user,
    app_user   text
);
CREATE INDEX identity_audit_project_at ON beacon.identity_audit (project_id, at);
COMMENT ON INDEX beacon.identity_audit_project_at IS 'A project''s identity history by time (analytics.identity_audit).';
COMMENT ON TABLE beacon.identity_audit IS 'Append-only history of identity links: aliases made and removed, users merged, unmerged and deleted. No role may update or delete it (a trigger refuses even the owner).';
COMMENT ON COLUMN beacon.identity_audit.audit_id IS 'Order of the audit rows.';
COMMENT ON COLUMN beacon.identity_audit.project_id IS 'Project.';
COMMENT ON COLUMN beacon.identity_audit.action IS 'alias (anon_id linked to user_id), unalias, merge (user_id''s person merged into other_user''s), unmerge (that merge reversed), delete (user_id deleted; other_user took its place in its person, if any; detail.person: the whole person deleted by beacon.delete_person).';
COMMENT ON COLUMN beacon.identity_audit.anon_id IS 'Anonymous id, for alias and unalias.';
COMMENT ON COLUMN beacon.identity_audit.user_id IS 'User linked (alias) or merged away (merge: root of the person merged).';
COMMENT ON COLUMN beacon.identity_audit.other_user IS 'For merge and unmerge: root user of the person merged into.';
COMMENT ON COLUMN beacon.identity_audit.merge_id IS 'For merge and unmerge: beacon.user_merges.merge_id.';
COMMENT ON COLUMN beacon.identity_audit.detail IS 'For merge: the users requested and the users moved; for unmerge: the users whose person changed back.';
COMMENT ON COLUMN beacon.identity_audit.at IS 'Transaction time of the change.';
COMMENT ON COLUMN beacon.identity_audit.db_role IS 'Database role acting (SET ROLE, else login role). Default beacon.actor_role(), set in code/common.sql.';
COMMENT ON COLUMN beacon.identity_audit.login_role IS 'Login role of the session.';
COMMENT ON COLUMN beacon.identity_audit.app_user IS 'Application user set by the dashboard with SET LOCAL beacon.app_user, if any. Default beacon.app_user(), set in code/common.sql.';

-- Flags ------------------------------------------------------------------------------------------

CREATE TABLE beacon.flags (
    project_id      uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    key             text        NOT NULL CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
    enabled         boolean     NOT NULL DEFAULT false,
    rollout_percent numeric(5,2) NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    description     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    rules           jsonb       NOT NULL DEFAULT '[]',
    PRIMARY KEY (project_id, key)
);
COMMENT ON TABLE beacon.flags IS 'Feature flags. Any change — dashboard, migration or a DBA''s plain UPDATE — is pushed to connected clients by the flags_notify trigger.';
COMMENT ON COLUMN beacon.flags.project_id IS 'Project of the flag.';
COMMENT ON COLUMN beacon.flags.key IS 'Flag key as the SDK sees it: a letter or digit, then up to 99 of letters, digits, _ . : -';
COMMENT ON COLUMN beacon.flags.enabled IS 'Master switch: false turns the flag off for everyone.';
COMMENT ON COLUMN beacon.flags.rollout_percent IS 'Share of ids for which an enabled flag is on (default 100: everyone). See beacon.flag_bucket for the bucketing.';
COMMENT ON COLUMN beacon.flags.description IS 'Free text for the dashboard.';
COMMENT ON COLUMN beacon.flags.created_at IS 'When the flag was created.';
COMMENT ON COLUMN beacon.flags.updated_at IS 'Last change (set by trigger).';
COMMENT ON COLUMN beacon.flags.rules IS 'Targeting: a JSON array of rules, all of which must match the person''s traits: {"trait":"plan","op":"eq","value":"pro"}, {"trait":"country","op":"in","values":["US","CA"]}, {"trait":"beta","op":"exists"}. Values compare as JSON ("1" is not 1). Anonymous clients have no traits, so a flag with rules is off for them. Default []: everyone.';
GRANT SELECT, INSERT, UPDATE, DELETE ON beacon.flags TO beacon_dashboard;

CREATE TABLE beacon.flag_audit (
    audit_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid        NOT NULL,
    flag_key   text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    old_row    jsonb,
    new_row    jsonb,
    changed_at timestamptz NOT NULL DEFAULT now(),
    db_role    text        NOT NULL,
    login_role text        NOT NULL DEFAULT session_user,
    app_user   text,
    txid       bigint      NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX flag_audit_project_key ON beacon.flag_audit (project_id, flag_key, changed_at);
COMMENT ON INDEX beacon.flag_audit_project_key IS 'The history of one flag by time.';
COMMENT ON TABLE beacon.flag_audit IS 'Append-only history of every change to beacon.flags, from any source (dashboard, migration, a DBA''s UPDATE), written by the flags_audit trigger. No role may update, delete or truncate it; application roles may not insert into it either. No foreign key: it outlives deleted flags and projects.';
COMMENT ON COLUMN beacon.flag_audit.audit_id IS 'Order of the audit rows.';
COMMENT ON COLUMN beacon.flag_audit.project_id IS 'Project of the flag.';
COMMENT ON COLUMN beacon.flag_audit.flag_key IS 'Key of the flag changed.';
COMMENT ON COLUMN beacon.flag_audit.action IS 'INSERT, UPDATE, DELETE, or TRUNCATE (one row per flag that existed).';
COMMENT ON COLUMN beacon.flag_audit.old_row IS 'The flag before the change (NULL for INSERT), as JSON.';
COMMENT ON COLUMN beacon.flag_audit.new_row IS 'The flag after the change (NULL for DELETE and TRUNCATE), as JSON.';
COMMENT ON COLUMN beacon.flag_audit.changed_at IS 'Transaction time of the change.';
COMMENT ON COLUMN beacon.flag_audit.db_role IS 'Database role acting (SET ROLE, else login role). Default beacon.actor_role(), set in code/common.sql.';
COMMENT ON COLUMN beacon.flag_audit.login_role IS 'Login role of the session.';
COMMENT ON COLUMN beacon.flag_audit.app_user IS 'Application user declared by the dashboard with SET LOCAL beacon.app_user; NULL for changes made outside it. Default beacon.app_user(), set in code/common.sql.';
COMMENT ON COLUMN beacon.flag_audit.txid IS 'Transaction id: rows with the same txid were one change.';

-- Rollups ----------------------------------------------------------------------------------------
--
-- How they stay incremental: the events_rollup trigger (code/rollups.sql) turns each inserted
-- batch into a few pre-aggregated rows in rollup_pending (insert only: concurrent writers never
-- wait on each other's rows, and the rows commit or roll back with their events); fold_rollups(),
-- a maintain() step, adds them into the rollup tables. Unique counts are exact: rollup_daily_ids
-- keeps the set of distinct ids seen each day.

CREATE TABLE beacon.rollup_pending (
    project_id uuid        NOT NULL,
    kind       text        NOT NULL,
    bucket     timestamptz NOT NULL,
    key        text        NOT NULL,
    n          bigint      NOT NULL
);
COMMENT ON TABLE beacon.rollup_pending IS 'Per-batch aggregates written by the events_rollup trigger, waiting for beacon.fold_rollups(). Insert-only queue; empty after each maintain().';
COMMENT ON COLUMN beacon.rollup_pending.project_id IS 'Project of the events.';
COMMENT ON COLUMN beacon.rollup_pending.kind IS 'event (bucket = hour, key = name), page/referrer/browser/device/os (bucket = day, key = value, $pageview events only), u/a/s (bucket = day, key = user id / anon id / session id).';
COMMENT ON COLUMN beacon.rollup_pending.bucket IS 'Start of the UTC hour or day.';
COMMENT ON COLUMN beacon.rollup_pending.key IS 'Event name, dimension value or id.';
COMMENT ON COLUMN beacon.rollup_pending.n IS 'Events in the batch for this kind, bucket and key.';

CREATE TABLE beacon.rollup_hourly (
    project_id uuid        NOT NULL,
    hour       timestamptz NOT NULL,
    name       text        NOT NULL,
    events     bigint      NOT NULL,
    PRIMARY KEY (project_id, hour, name)
);
CREATE INDEX rollup_hourly_hour ON beacon.rollup_hourly (hour);
COMMENT ON INDEX beacon.rollup_hourly_hour IS 'Hours of a time window across projects (mv_event_names, view_days growing).';
COMMENT ON TABLE beacon.rollup_hourly IS 'Events per project, UTC hour (of the client time ts) and event name; all history (counts only, no personal data, so not subject to retention).';
COMMENT ON COLUMN beacon.rollup_hourly.project_id IS 'Project of the events.';
COMMENT ON COLUMN beacon.rollup_hourly.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN beacon.rollup_hourly.name IS 'Event name.';
COMMENT ON COLUMN beacon.rollup_hourly.events IS 'Events inserted.';

CREATE TABLE beacon.rollup_daily_dims (
    project_id uuid   NOT NULL,
    day        date   NOT NULL,
    dimension  text   NOT NULL CHECK (dimension IN ('page', 'referrer', 'browser', 'device', 'os')),
    value      text   NOT NULL,
    pageviews  bigint NOT NULL,
    PRIMARY KEY (project_id, dimension, day, value)
);
CREATE INDEX rollup_daily_dims_day ON beacon.rollup_daily_dims (day);
COMMENT ON INDEX beacon.rollup_daily_dims_day IS 'Days of a time window across projects (mv_top_values reads the last 30).';
COMMENT ON TABLE beacon.rollup_daily_dims IS '$pageview events per project, UTC day and value of a dimension: page (props.path or url), referrer (external host or ''(direct)''), browser, device, os (props $browser/browser, $device/device, $os/os). All history.';
COMMENT ON COLUMN beacon.rollup_daily_dims.project_id IS 'Project of the events.';
COMMENT ON COLUMN beacon.rollup_daily_dims.day IS 'UTC day of ts.';
COMMENT ON COLUMN beacon.rollup_daily_dims.dimension IS 'page, referrer, browser, device or os.';
COMMENT ON COLUMN beacon.rollup_daily_dims.value IS 'Value of the dimension, at most 200 (page: 500) characters.';
COMMENT ON COLUMN beacon.rollup_daily_dims.pageviews IS '$pageview events with this value.';

CREATE TABLE beacon.rollup_daily_ids (
    project_id uuid   NOT NULL,
    day        date   NOT NULL,
    kind       "char" NOT NULL CHECK (kind IN ('u', 'a', 's')),
    id         text   NOT NULL,
    PRIMARY KEY (project_id, day, kind, id)
);
CREATE INDEX rollup_daily_ids_day ON beacon.rollup_daily_ids (day);
COMMENT ON INDEX beacon.rollup_daily_ids_day IS 'Days of a time window across projects (view_days growing).';
COMMENT ON TABLE beacon.rollup_daily_ids IS 'Each distinct id seen per project and UTC day — u: user id of events that carried one, a: anon id of events without a user id, s: session id — so daily unique counts are exact. Written directly by the events_rollup trigger (ON CONFLICT DO NOTHING). Holds personal ids: subject to retention.';
COMMENT ON COLUMN beacon.rollup_daily_ids.project_id IS 'Project of the events.';
COMMENT ON COLUMN beacon.rollup_daily_ids.day IS 'UTC day of ts.';
COMMENT ON COLUMN beacon.rollup_daily_ids.kind IS 'u (user id), a (anon id of an event without user id), s (session id).';
COMMENT ON COLUMN beacon.rollup_daily_ids.id IS 'The id.';

CREATE TABLE beacon.rollup_state (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    dirty        boolean     NOT NULL DEFAULT false,
    refreshed_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO beacon.rollup_state DEFAULT VALUES;
COMMENT ON TABLE beacon.rollup_state IS 'Whether the rollups changed since the dashboard''s aggregates were last refreshed (beacon.refresh_views), and when that was.';
COMMENT ON COLUMN beacon.rollup_state.singleton IS 'Always true: one row.';
COMMENT ON COLUMN beacon.rollup_state.dirty IS 'Rollups changed since the last refresh.';
COMMENT ON COLUMN beacon.rollup_state.refreshed_at IS 'Last refresh of the dashboard''s aggregates.';

-- Materialized views: state, not code. They hold data and a unique index each (for REFRESH …
-- CONCURRENTLY); re-creating them on every migrate would empty them until the next refresh and
-- take an exclusive lock on what the dashboard reads. A change of definition is a new numbered
-- migration (docs/sql.md). They read only the rollup tables, never beacon.events.

CREATE MATERIALIZED VIEW beacon.mv_event_names AS
SELECT h.project_id, h.name,
       coalesce(sum(h.events) FILTER (WHERE h.hour >= now() - interval '24 hours'), 0)::bigint AS events_24h,
       coalesce(sum(h.events) FILTER (WHERE h.hour >= now() - interval '7 days'), 0)::bigint AS events_7d,
       sum(h.events)::bigint AS events_30d,
       max(h.hour) AS last_hour
FROM beacon.rollup_hourly h
WHERE h.hour >= now() - interval '30 days'
GROUP BY h.project_id, h.name;
CREATE UNIQUE INDEX mv_event_names_key ON beacon.mv_event_names (project_id, name);
COMMENT ON INDEX beacon.mv_event_names_key IS 'One row per project and name; lets REFRESH MATERIALIZED VIEW CONCURRENTLY run.';
COMMENT ON MATERIALIZED VIEW beacon.mv_event_names IS 'Event names of the last 30 days per project with their counts over 24 hours, 7 and 30 days. Read it through analytics.top_events.';
COMMENT ON COLUMN beacon.mv_event_names.project_id IS 'Project.';
COMMENT ON COLUMN beacon.mv_event_names.name IS 'Event name.';
COMMENT ON COLUMN beacon.mv_event_names.events_24h IS 'Events in the last 24 hours (by whole hours).';
COMMENT ON COLUMN beacon.mv_event_names.events_7d IS 'Events in the last 7 days.';
COMMENT ON COLUMN beacon.mv_event_names.events_30d IS 'Events in the last 30 days.';
COMMENT ON COLUMN beacon.mv_event_names.last_hour IS 'Latest UTC hour with such an event.';

CREATE MATERIALIZED VIEW beacon.mv_top_values AS
SELECT r.project_id, r.dimension, r.value, r.pageviews_7d, r.pageviews_30d, r.rank
FROM (
    SELECT d.project_id, d.dimension, d.value,
           coalesce(sum(d.pageviews) FILTER (WHERE d.day > (now() AT TIME ZONE 'UTC')::date - 7), 0)::bigint AS pageviews_7d,
           sum(d.pageviews)::bigint AS pageviews_30d,
           rank() OVER (PARTITION BY d.project_id, d.dimension ORDER BY sum(d.pageviews) DESC)::int AS rank
    FROM beacon.rollup_daily_dims d
    WHERE d.day > (now() AT TIME ZONE 'UTC')::date - 30
    GROUP BY d.project_id, d.dimension, d.value
) r
WHERE r.rank <= 1000;
CREATE UNIQUE INDEX mv_top_values_key ON beacon.mv_top_values (project_id, dimension, value);
COMMENT ON INDEX beacon.mv_top_values_key IS 'One row per project, dimension and value; lets REFRESH MATERIALIZED VIEW CONCURRENTLY run.';
COMMENT ON MATERIALIZED VIEW beacon.mv_top_values IS 'The 1,000 most viewed values per project and dimension (page, referrer, browser, device, os) over the last 30 UTC days (today included), with 7- and 30-day $pageview counts. Read it through analytics.top_pages and friends.';
COMMENT ON COLUMN beacon.mv_top_values.project_id IS 'Project.';
COMMENT ON COLUMN beacon.mv_top_values.dimension IS 'page, referrer, browser, device or os.';
COMMENT ON COLUMN beacon.mv_top_values.value IS 'Value of the dimension.';
COMMENT ON COLUMN beacon.mv_top_values.pageviews_7d IS '$pageview events with this value in the last 7 UTC days, today included.';
COMMENT ON COLUMN beacon.mv_top_values.pageviews_30d IS '$pageview events with this value in the last 30 UTC days, today included.';
COMMENT ON COLUMN beacon.mv_top_values.rank IS 'Rank by 30-day pageviews within project and dimension (1 = most); at most 1,000.';

-- Daily figures, recounted per changed day -------------------------------------------------------

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
COMMENT ON INDEX beacon.daily_stats_day IS 'Days that left the window, deleted by refresh_daily().';
COMMENT ON TABLE beacon.daily_stats IS 'Per project and UTC day of the last beacon.settings.view_days days: events, pageviews and exact unique visitors, users and sessions (aliases and merges resolved). Kept by beacon.refresh_daily(), which recounts only the days that changed; read it through analytics.daily.';
COMMENT ON COLUMN beacon.daily_stats.project_id IS 'Project.';
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
COMMENT ON COLUMN beacon.daily_dirty.project_id IS 'Project.';
COMMENT ON COLUMN beacon.daily_dirty.day IS 'UTC day to recount.';

CREATE TABLE beacon.daily_identity_changes (
    project_id uuid   NOT NULL,
    kind       "char" NOT NULL CHECK (kind IN ('a', 'u')),
    id         text   NOT NULL
);
COMMENT ON TABLE beacon.daily_identity_changes IS 'Identities whose person changed since the last beacon.refresh_daily(): a (anon id aliased or unaliased) or u (user merged, unmerged or deleted while merged). Insert-only queue written by triggers on beacon.aliases and beacon.users; refresh_daily() turns each into the days it was seen and empties it.';
COMMENT ON COLUMN beacon.daily_identity_changes.project_id IS 'Project.';
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
-- The window of a fresh database (no rollups yet): today minus the default view_days.
INSERT INTO beacon.daily_state (since)
SELECT (now() AT TIME ZONE 'UTC')::date - s.view_days FROM beacon.settings s;
COMMENT ON TABLE beacon.daily_state IS 'The window beacon.daily_stats covers, and what the last beacon.refresh_daily() did (the work of a refresh, for benchmarks and operators).';
COMMENT ON COLUMN beacon.daily_state.singleton IS 'Always true: one row.';
COMMENT ON COLUMN beacon.daily_state.since IS 'First day daily_stats covers (beacon.view_since() as of the last refresh).';
COMMENT ON COLUMN beacon.daily_state.refreshed_at IS 'Last refresh_daily().';
COMMENT ON COLUMN beacon.daily_state.days_recounted IS '(project, day) pairs the last refresh recounted.';
COMMENT ON COLUMN beacon.daily_state.identity_changes IS 'Queued identity changes the last refresh turned into days.';
COMMENT ON COLUMN beacon.daily_state.id_rows_read IS 'rollup_daily_ids rows the last recount read.';
COMMENT ON COLUMN beacon.daily_state.hour_rows_read IS 'rollup_hourly rows the last recount read.';
COMMENT ON COLUMN beacon.daily_state.took IS 'Duration of the last refresh_daily().';
