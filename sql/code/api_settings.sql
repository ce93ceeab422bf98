-- api_settings: the dashboard's Project settings and Live pages (issue 12): create a project,
-- read and change its settings (name, allowed origins, time zone, retention, identity
-- verification), its members and their roles, and the live figures PostgreSQL knows. Like api.sql,
-- each function acts for the signed-in account (beacon.current_account()), checks its role with
-- beacon.require_role first (viewers read, owners change), and audits every change in beacon.audit
-- in the transaction of the change. Errors a person can fix are 22023 with a message written for
-- them (the API answers 400 with it).

CREATE OR REPLACE FUNCTION beacon.check_origin(p_origin text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_origin = '*' THEN
        RETURN p_origin;
    END IF;
    IF p_origin IS NULL OR p_origin !~* '^https?://[a-z0-9._\-\[\]:]+(:[0-9]{1,5})?/?$' OR p_origin ~ '@' THEN
        RAISE EXCEPTION 'origin % must be scheme://host[:port], e.g. https://shop.example.com (no path, query or user), or * for any',
            coalesce(quote_literal(p_origin), 'NULL') USING ERRCODE = '22023';
    END IF;
    RETURN lower(rtrim(p_origin, '/'));
END $$;
COMMENT ON FUNCTION beacon.check_origin(text) IS 'An allowed origin as stored: lower case without a trailing slash, or *; raises 22023 for anything that is not http(s)://host[:port] (the rule of `beacon project create --origin` and ALLOWED_ORIGINS). The relay compares Origin headers with it case-insensitively.';

CREATE OR REPLACE FUNCTION beacon.project_settings_json(p_project uuid) RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('id', p.project_id, 'name', p.name, 'allowed_origins', to_jsonb(p.allowed_origins),
               'timezone', p.timezone, 'retention_days', p.retention_days,
               'default_retention_days', (SELECT s.retention_days FROM beacon.settings s LIMIT 1),
               'verify_identity', p.verify_identity, 'created_at', p.created_at)
    FROM beacon.projects p WHERE p.project_id = p_project
$$;
COMMENT ON FUNCTION beacon.project_settings_json(uuid) IS 'A project''s settings as the API shows them (beacon.api_project_settings): id, name, allowed_origins, timezone, retention_days (NULL: the global default), default_retention_days (beacon.settings), verify_identity, created_at. Checks nothing: the owner''s alone, called by the api_* functions after their role check.';

CREATE OR REPLACE FUNCTION beacon.api_create_project(p_name text, p_origins text[] DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me uuid := beacon.current_account();
    origins text[];
    id uuid;
BEGIN
    PERFORM beacon.require_person(); -- an admin's API token may not create projects (code/tokens.sql)
    IF NOT EXISTS (SELECT FROM beacon.accounts a WHERE a.account_id = me AND a.admin AND a.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'only an admin account (created with `beacon account create --role owner` and no --project) may create projects'
            USING ERRCODE = '42501';
    END IF;
    IF length(btrim(coalesce(p_name, ''))) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'a project name has 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(array_agg(DISTINCT beacon.check_origin(btrim(o))), '{}') INTO origins
    FROM unnest(coalesce(p_origins, '{}')) o;
    id := beacon.create_project(btrim(p_name), origins);
    PERFORM beacon.write_audit('project_created', 'project:' || id, NULL, beacon.project_settings_json(id) - 'created_at');
    PERFORM beacon.set_membership(me, id, 'owner');
    RETURN jsonb_build_object('id', id, 'name', btrim(p_name), 'role', 'owner');
END $$;
COMMENT ON FUNCTION beacon.api_create_project(text, text[]) IS 'POST /api/projects: creates a project with the secure defaults of beacon.create_project (identity verification on) and makes the signed-in account its owner (a membership row, so it stays owner if it stops being an admin); audited (project_created, membership_added). Only admin accounts may (42501 otherwise): a project is a new tenant, which is the operator''s decision. 22023 for an empty or too long name or a bad origin.';

CREATE OR REPLACE FUNCTION beacon.api_project_settings(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r text := beacon.require_role(p_project, 'viewer');
BEGIN
    RETURN beacon.project_settings_json(p_project) || jsonb_build_object('role', r,
        'admin', coalesce((SELECT a.admin FROM beacon.accounts a WHERE a.account_id = beacon.current_account()), false));
END $$;
COMMENT ON FUNCTION beacon.api_project_settings(uuid) IS 'GET /api/projects/{id}/settings: the project''s settings (beacon.project_settings_json), the signed-in account''s role, and admin: whether it is an admin account (which may create projects). Needs the viewer role (P0002 ''project not found'' for a non-member).';

CREATE OR REPLACE FUNCTION beacon.api_update_project_settings(p_project uuid, p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    before jsonb;
    after jsonb;
    k text;
    v jsonb;
    origins text[];
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    IF jsonb_typeof(p_changes) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the body must be a JSON object of the settings to change' USING ERRCODE = '22023';
    END IF;
    PERFORM FROM beacon.projects p WHERE p.project_id = p_project FOR UPDATE;
    before := beacon.project_settings_json(p_project) - 'created_at' - 'default_retention_days';
    FOR k, v IN SELECT * FROM jsonb_each(p_changes) LOOP
        CASE k
        WHEN 'name' THEN
            IF jsonb_typeof(v) <> 'string' OR length(btrim(v #>> '{}')) NOT BETWEEN 1 AND 200 THEN
                RAISE EXCEPTION 'a project name has 1 to 200 characters' USING ERRCODE = '22023';
            END IF;
            UPDATE beacon.projects p SET name = btrim(v #>> '{}') WHERE p.project_id = p_project;
        WHEN 'allowed_origins' THEN
            IF jsonb_typeof(v) <> 'array' OR EXISTS (SELECT FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string') THEN
                RAISE EXCEPTION 'allowed_origins must be a list of origins' USING ERRCODE = '22023';
            END IF;
            SELECT coalesce(array_agg(o ORDER BY first), '{}') INTO origins
            FROM (SELECT beacon.check_origin(btrim(e)) AS o, min(n) AS first
                  FROM jsonb_array_elements_text(v) WITH ORDINALITY x(e, n) GROUP BY 1) d;
            IF cardinality(origins) > 100 THEN
                RAISE EXCEPTION 'at most 100 allowed origins' USING ERRCODE = '22023';
            END IF;
            UPDATE beacon.projects p SET allowed_origins = origins WHERE p.project_id = p_project;
        WHEN 'timezone' THEN
            IF jsonb_typeof(v) <> 'string' THEN
                RAISE EXCEPTION 'timezone must be an IANA name, e.g. Europe/Paris' USING ERRCODE = '22023';
            END IF;
            PERFORM beacon.set_project_timezone(p_project, btrim(v #>> '{}')); -- its trigger checks the name (22023)
        WHEN 'retention_days' THEN
            IF jsonb_typeof(v) <> 'null' AND (jsonb_typeof(v) <> 'number' OR (v #>> '{}')::numeric NOT BETWEEN 2 AND 36500
                                                  OR (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric)) THEN
                RAISE EXCEPTION 'retention must be a whole number of days from 2 to 36500, or null for the default' USING ERRCODE = '22023';
            END IF;
            UPDATE beacon.projects p SET retention_days = (v #>> '{}')::int WHERE p.project_id = p_project;
        WHEN 'verify_identity' THEN
            IF jsonb_typeof(v) <> 'boolean' THEN
                RAISE EXCEPTION 'verify_identity must be true or false' USING ERRCODE = '22023';
            END IF;
            PERFORM beacon.set_identity_verification(p_project, v::boolean);
        ELSE
            RAISE EXCEPTION 'unknown setting %: name, allowed_origins, timezone, retention_days and verify_identity can be changed', quote_literal(k)
                USING ERRCODE = '22023';
        END CASE;
    END LOOP;
    after := beacon.project_settings_json(p_project) - 'created_at' - 'default_retention_days';
    IF after <> before THEN
        PERFORM beacon.write_audit('project_changed', 'project:' || p_project,
            (SELECT jsonb_object_agg(b.key, b.value) FROM jsonb_each(before) b WHERE b.value IS DISTINCT FROM after -> b.key),
            (SELECT jsonb_object_agg(a.key, a.value) FROM jsonb_each(after) a WHERE a.value IS DISTINCT FROM before -> a.key));
    END IF;
    RETURN beacon.api_project_settings(p_project);
END $$;
COMMENT ON FUNCTION beacon.api_update_project_settings(uuid, jsonb) IS 'PATCH /api/projects/{id}/settings: changes the settings named in p_changes (name; allowed_origins, a list checked by beacon.check_origin, stored lower case and without duplicates; timezone, an IANA name (set_project_timezone); retention_days, 2–36500 or null for the global default; verify_identity) all or none, audits what changed (project_changed, before → after of the changed keys only) and returns the new settings. Needs the owner role (42501), P0002 for a non-member, 22023 with a message for people for a bad value or an unknown key.';

CREATE OR REPLACE FUNCTION beacon.api_members(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    RETURN jsonb_build_object('members', coalesce((
        SELECT jsonb_agg(jsonb_build_object('account_id', a.account_id, 'email', a.email, 'role', m.role,
                   'admin', a.admin, 'since', m.created_at, 'managed_by', m.managed_by,
                   'disabled', a.disabled_at IS NOT NULL) ORDER BY a.disabled_at IS NOT NULL, lower(a.email))
        FROM beacon.memberships m JOIN beacon.accounts a USING (account_id)
        WHERE m.project_id = p_project), '[]'),
        'admins', (SELECT count(*) FROM beacon.accounts a WHERE a.admin AND a.disabled_at IS NULL));
END $$;
COMMENT ON FUNCTION beacon.api_members(uuid) IS 'GET /api/projects/{id}/members: {"members":[{"account_id","email","role","admin","since","managed_by","disabled"}],"admins":N}, the project''s members by email, those whose account is disabled last (disabled: true; an owner may enable them again), and how many admin accounts (owners of every project without a membership) there are. Needs the viewer role.';

CREATE OR REPLACE FUNCTION beacon.change_member(p_project uuid, p_account uuid, p_role text) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old text;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_person(); -- members are never managed with an API token (code/tokens.sql)
    IF p_role IS NOT NULL AND p_role NOT IN ('owner', 'editor', 'viewer') THEN
        RAISE EXCEPTION 'role must be owner, editor or viewer' USING ERRCODE = '22023';
    END IF;
    -- One change of a project's members at a time: two owners demoting each other at once must
    -- not leave it without one.
    PERFORM FROM beacon.projects p WHERE p.project_id = p_project FOR UPDATE;
    SELECT m.role INTO old FROM beacon.memberships m WHERE m.project_id = p_project AND m.account_id = p_account;
    IF old IS NULL THEN
        RAISE EXCEPTION 'member not found' USING ERRCODE = 'P0002', HINT = 'member';
    END IF;
    IF old = 'owner' AND p_role IS DISTINCT FROM 'owner' AND NOT EXISTS (
        SELECT FROM beacon.memberships m JOIN beacon.accounts a USING (account_id)
        WHERE m.project_id = p_project AND m.role = 'owner' AND m.account_id <> p_account AND a.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'the project''s last owner cannot be removed or made editor or viewer: make another member owner first'
            USING ERRCODE = '22023';
    END IF;
    PERFORM beacon.set_membership(p_account, p_project, p_role);
END $$;
COMMENT ON FUNCTION beacon.change_member(uuid, uuid, text) IS 'Changes a member''s role, or removes it (p_role NULL), through beacon.set_membership (audited; a membership single sign-on managed becomes hand-managed, managed_by NULL, which the role map then leaves alone), refusing to leave the project without an owner member (22023): admin accounts do not count, they may lose the flag. Needs the owner role; P0002 ''member not found'' (HINT member) when the account is not a member. Serialised per project (the project row''s lock).';

CREATE OR REPLACE FUNCTION beacon.api_add_member(p_project uuid, p_email text, p_role text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acc uuid;
BEGIN
    PERFORM beacon.require_role(p_project, 'owner');
    PERFORM beacon.require_recent_auth(); -- a sensitive action: the password within SESSION_REAUTH_WINDOW (code/tokens.sql)
    IF p_role IS NULL OR p_role NOT IN ('owner', 'editor', 'viewer') THEN
        RAISE EXCEPTION 'role must be owner, editor or viewer' USING ERRCODE = '22023';
    END IF;
    SELECT a.account_id INTO acc FROM beacon.accounts a WHERE lower(a.email) = lower(btrim(coalesce(p_email, ''))) AND a.disabled_at IS NULL;
    IF acc IS NULL THEN
        RAISE EXCEPTION 'no account has the email %: an operator creates it with `beacon account create --email … --role % --project %`',
            quote_literal(btrim(coalesce(p_email, ''))), p_role, p_project USING ERRCODE = '22023';
    END IF;
    PERFORM FROM beacon.projects p WHERE p.project_id = p_project FOR UPDATE;
    IF EXISTS (SELECT FROM beacon.memberships m WHERE m.project_id = p_project AND m.account_id = acc) THEN
        RAISE EXCEPTION '% is a member already: change its role in the list', btrim(p_email) USING ERRCODE = '22023';
    END IF;
    PERFORM beacon.set_membership(acc, p_project, p_role);
    RETURN beacon.api_members(p_project);
END $$;
COMMENT ON FUNCTION beacon.api_add_member(uuid, text, text) IS 'POST /api/projects/{id}/members {"email","role"}: makes the account with that email (case-insensitively) a member with the role, audited (membership_added), and returns the members. Needs the owner role. 22023 for an unknown or disabled email, a member already, or a bad role. Accounts are created by an operator (`beacon account create`): the dashboard invites nobody by email.';

CREATE OR REPLACE FUNCTION beacon.api_set_member_role(p_project uuid, p_account uuid, p_role text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_role IS NULL THEN
        RAISE EXCEPTION 'role must be owner, editor or viewer' USING ERRCODE = '22023';
    END IF;
    PERFORM beacon.change_member(p_project, p_account, p_role);
    RETURN beacon.api_members(p_project);
END $$;
COMMENT ON FUNCTION beacon.api_set_member_role(uuid, uuid, text) IS 'PATCH /api/projects/{id}/members/{account} {"role"}: changes a member''s role (beacon.change_member: owner role needed, never the last owner, audited membership_changed) and returns the members.';

CREATE OR REPLACE FUNCTION beacon.api_remove_member(p_project uuid, p_account uuid) RETURNS void
LANGUAGE sql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT beacon.change_member(p_project, p_account, NULL) $$;
COMMENT ON FUNCTION beacon.api_remove_member(uuid, uuid) IS 'DELETE /api/projects/{id}/members/{account}: removes a member (beacon.change_member: owner role needed, never the last owner, audited membership_removed).';

CREATE OR REPLACE FUNCTION beacon.api_live(p_project uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    visitors bigint;
    recent bigint;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    -- Sessions touched in the last 5 minutes; one that began more than a day ago is left out so
    -- the (project_id, first_seen) index bounds the read.
    SELECT count(DISTINCT s.anon_id) INTO visitors FROM beacon.sessions s
    WHERE s.project_id = p_project AND s.first_seen > now() - interval '1 day'
      AND s.last_seen > now() - interval '5 minutes';
    -- Events committed in the last 10 s whatever relay took them, among those with a client time
    -- in the last hour (partition pruning and the BRIN index bound the read; backfills are not live).
    SELECT count(*) INTO recent FROM beacon.events e
    WHERE e.project_id = p_project AND e.ts > now() - interval '1 hour'
      AND e.received_at > now() - interval '10 seconds';
    RETURN jsonb_build_object('current_visitors', visitors, 'events_last_10s', recent,
                              'events_per_second', round(recent / 10.0, 1), 'at', now());
END $$;
COMMENT ON FUNCTION beacon.api_live(uuid) IS 'GET /api/projects/{id}/live (its SQL half): current_visitors, distinct anon ids of sessions with an event in the last 5 minutes (sessions begun in the last day); events_last_10s, events of the project committed in the last 10 seconds (received_at) whose client time is in the last hour, across all relays, and events_per_second = that / 10. The relay adds its own connected clients. Needs the viewer role.';

REVOKE ALL ON FUNCTION
    beacon.check_origin(text), beacon.project_settings_json(uuid), beacon.change_member(uuid, uuid, text),
    beacon.api_create_project(text, text[]), beacon.api_project_settings(uuid),
    beacon.api_update_project_settings(uuid, jsonb), beacon.api_members(uuid),
    beacon.api_add_member(uuid, text, text), beacon.api_set_member_role(uuid, uuid, text),
    beacon.api_remove_member(uuid, uuid), beacon.api_live(uuid)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_create_project(text, text[]), beacon.api_project_settings(uuid),
    beacon.api_update_project_settings(uuid, jsonb), beacon.api_members(uuid),
    beacon.api_add_member(uuid, text, text), beacon.api_set_member_role(uuid, uuid, text),
    beacon.api_remove_member(uuid, uuid), beacon.api_live(uuid)
TO beacon_api;
