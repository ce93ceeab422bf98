-- Beacon's code package: every function, procedure, trigger and view, one live definition each,
-- installed by `beacon migrate` after the numbered migrations, in the same transaction, every time
-- (tern code package; docs/sql.md). Everything here is CREATE OR REPLACE: re-running it changes
-- nothing that did not change. The analytics views are replaced in place, never dropped (BI
-- users build on them). Order matters only where a SQL-language body names another function.
--
-- Objects that are no longer wanted are dropped by a numbered migration, not here. roles.sql
-- stays last: it revokes EXECUTE from PUBLIC on every routine defined above it, scopes every
-- analytics view (access.sql), and grants by name.

{{ template "common.sql" . }}
{{ template "ingest.sql" . }}
{{ template "sessions.sql" . }}
{{ template "identity.sql" . }}
{{ template "people.sql" . }}
{{ template "flags.sql" . }}
{{ template "rollups.sql" . }}
{{ template "daily.sql" . }}
{{ template "timezones.sql" . }}
{{ template "freshness.sql" . }}
{{ template "maintenance.sql" . }}
{{ template "access.sql" . }}
{{ template "analytics.sql" . }}
{{ template "tokens.sql" . }}
{{ template "accounts.sql" . }}
{{ template "api.sql" . }}
{{ template "api_overview.sql" . }}
{{ template "overview_rollups.sql" . }}
{{ template "overview_live.sql" . }}
{{ template "overview_stored.sql" . }}
{{ template "overview_filtered.sql" . }}
{{ template "api_flags.sql" . }}
{{ template "api_events.sql" . }}
{{ template "api_people.sql" . }}
{{ template "api_settings.sql" . }}
{{ template "lifecycle.sql" . }}
{{ template "mfa.sql" . }}
{{ template "writekeys.sql" . }}
{{ template "invites.sql" . }}
{{ template "sso.sql" . }}
{{ template "sso_reauth.sql" . }}
{{ template "audit_stream.sql" . }}
{{ template "roles.sql" . }}
