-- Moves a database built by the pre-baseline migration chain (001_core … 015_daily_incremental,
-- kept as test data in sql/testdata/legacy-015.tar.gz) onto 001_baseline. Run by sql.Migrate, in
-- its transaction, only for a database at version 15 of that chain that has no
-- beacon.schema_migrations; then Migrate records version 1 (the baseline), re-applies the
-- baseline's COMMENT statements, runs any later numbered migration and installs the code package,
-- as for every database. The upgrade test checks the result equals a fresh database, catalog for
-- catalog.

-- Functions the code package no longer defines (dead since 006/014), and maintain(), which is a
-- procedure now.
DROP FUNCTION beacon.flags_for(uuid, text);
DROP FUNCTION beacon.flags_for(uuid, text, jsonb);
DROP FUNCTION beacon.event_page(text, jsonb);
DROP FUNCTION beacon.event_referrer(text, jsonb);
DROP FUNCTION beacon.maintain();

-- The baseline's bookkeeping tables (same definitions as in 001_baseline.sql).
CREATE TABLE beacon.schema_migrations (
    version    int         PRIMARY KEY,
    name       text        NOT NULL,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE beacon.schema_code (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    sha256       text        NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON beacon.schema_migrations, beacon.schema_code TO beacon_relay, beacon_dashboard;

-- identity_audit records deletes of users and people (code/people.sql).
ALTER TABLE beacon.identity_audit DROP CONSTRAINT identity_audit_action_check,
    ADD CONSTRAINT identity_audit_action_check CHECK (action IN ('alias', 'unalias', 'merge', 'unmerge', 'delete'));
