-- 011_people_search: indexes for the dashboard's People page, and its audited action (issue 12;
-- the functions are in code/api_people.sql). State only.
--
--  * beacon.audit.action may be 'person_deleted' (a privacy delete from the dashboard). The check
--    is replaced with the previous list plus it: a migration that adds another action must keep
--    this one.
--  * users_traits: GIN (jsonb_path_ops) on beacon.users.traits, for the exact trait search
--    `key=value` (traits @> {"key": "value"}). Written on identify only, never on the ingest path.
--  * users_id_lower: b-tree on (project_id, lower(user_id) text_pattern_ops), for the search of a
--    user id by its beginning, case-insensitively, in any collation.
--  * users_updated: (project_id, updated_at), for the people list without a query (latest first).
--  * sessions_project_anon / sessions_project_user: a person's sessions (by their anonymous ids
--    and user ids) without reading every session of the project, and the time range their
--    event timeline is read in. Costs one index entry per new session on the ingest path; the
--    columns hardly ever change afterwards (user_id once, on identify), so the per-batch updates
--    of a session stay HOT (fillfactor 70).
-- Plain CREATE INDEX (tern runs a migration in a transaction, so not CONCURRENTLY): on a large
-- sessions table this blocks writes to it while it builds; run it in a quiet hour.

CREATE INDEX users_traits ON beacon.users USING gin (traits jsonb_path_ops);
COMMENT ON INDEX beacon.users_traits IS 'Trait search of the People page: traits @> {"key": "value"} (beacon.api_people, query key=value).';
CREATE INDEX users_id_lower ON beacon.users (project_id, lower(user_id) text_pattern_ops);
COMMENT ON INDEX beacon.users_id_lower IS 'User id search of the People page: ids beginning with the query, case-insensitively (beacon.api_people).';
CREATE INDEX users_updated ON beacon.users (project_id, updated_at);
COMMENT ON INDEX beacon.users_updated IS 'The most recently identified users of a project: the People page without a query (beacon.api_people).';
CREATE INDEX sessions_project_anon ON beacon.sessions (project_id, anon_id) WHERE anon_id <> '';
COMMENT ON INDEX beacon.sessions_project_anon IS 'Sessions of an anonymous id: a person''s sessions and the time range of their events (beacon.api_person).';
CREATE INDEX sessions_project_user ON beacon.sessions (project_id, user_id) WHERE user_id IS NOT NULL;
COMMENT ON INDEX beacon.sessions_project_user IS 'Sessions of a user id: a person''s sessions and the time range of their events (beacon.api_person).';

ALTER TABLE beacon.audit DROP CONSTRAINT audit_action_check,
    ADD CONSTRAINT audit_action_check CHECK (action IN (
        'sign_in', 'sign_in_failed', 'sign_in_locked', 'lockout', 'sign_out', 'session_expired',
        'account_created', 'account_changed', 'membership_added', 'membership_changed', 'membership_removed',
        'password_rehashed',
        'flag_created', 'flag_changed', 'flag_deleted',
        'person_deleted'));
COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed, flag_created/changed/deleted (before and after: the whole flag), person_deleted (a privacy delete: target project:ID/person:USER, after the counts deleted).';
