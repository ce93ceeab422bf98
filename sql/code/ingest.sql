-- ingest: how the insert triggers read an event's props — its page, referrer and the host of a
-- URL. Text functions, so the rollup trigger runs them on grouped values, not once per event.

CREATE OR REPLACE FUNCTION beacon.url_host(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- scheme://[userinfo@]host[:port][/?#…]: the third '/'-separated part is the authority.
    -- split_part, not a regular expression (~10 µs a call). An IPv6 literal host ([::1]) is cut
    -- at its first ':'.
    SELECT CASE WHEN strpos(p_url, '://') > 0 THEN
        nullif(lower(split_part(split_part(split_part(split_part(split_part(p_url, '/', 3), '?', 1), '#', 1), '@', -1), ':', 1)), '')
    END
$$;
COMMENT ON FUNCTION beacon.url_host(text) IS 'Lower-cased host of an absolute URL (scheme://[user@]host[:port]…), without port; NULL when there is none.';

-- Pages: a page is a path, without query string or fragment, so /p/1?utm_source=x and /p/1 are one
-- page. url_path is split in two functions so each is a plain expression PostgreSQL inlines into
-- the trigger's query (no function call per event).
CREATE OR REPLACE FUNCTION beacon.path_after_authority(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- scheme://authority/path → /path ('/' when nothing follows the authority); anything without
    -- '://' is already a path.
    SELECT CASE WHEN strpos(p_url, '://') > 0 THEN
        coalesce(nullif(substr(split_part(p_url, '://', 2), strpos(split_part(p_url, '://', 2) || '/', '/')), ''), '/')
    ELSE p_url END
$$;
COMMENT ON FUNCTION beacon.path_after_authority(text) IS 'The path part of an absolute URL without query or fragment (scheme://authority/path → /path, ''/'' when there is none); any other text unchanged. A step of beacon.url_path.';

CREATE OR REPLACE FUNCTION beacon.url_path(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Query and fragment first: a '/' or '://' inside them is not part of the path.
    SELECT beacon.path_after_authority(split_part(split_part(p_url, '#', 1), '?', 1))
$$;
COMMENT ON FUNCTION beacon.url_path(text) IS 'Path of a URL or of a path, without query string and fragment: https://a.test/p/1?x=1#top → /p/1, /p/1?x=1 → /p/1, https://a.test → /. Case and trailing slashes are kept (paths are case-sensitive). split_part only, no regular expression.';

CREATE OR REPLACE FUNCTION beacon.raw_page(p_path text, p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(p_path, ''), nullif(p_url, ''))
$$;
COMMENT ON FUNCTION beacon.raw_page(text, text) IS 'props.path of a $pageview, else props.url, as sent (NULL when both are empty). The insert triggers group events by this value, read once per event, and turn each group''s value into its page with beacon.page_of(raw, NULL): the parsing runs per grouped value, not per event.';

CREATE OR REPLACE FUNCTION beacon.page_of(p_path text, p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(beacon.url_path(beacon.raw_page(p_path, p_url)), 500)
$$;
COMMENT ON FUNCTION beacon.page_of(text, text) IS 'The page of a $pageview from its props.path and props.url: the path (props.path, else the path part of props.url), without query string or fragment, cut to 500 characters; NULL when both are empty. Query strings (UTM parameters, click ids) do not make pages of their own: see beacon.url_param.';

CREATE OR REPLACE FUNCTION beacon.site_of(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN strpos(p_url, '://') > 0 THEN nullif(split_part(p_url, '/', 3), '') END
$$;
COMMENT ON FUNCTION beacon.site_of(text) IS 'Authority ([user@]host[:port]) of an absolute URL, NULL for a path, a relative URL or an empty value: the site a $pageview''s props.url names, which beacon.referrer_of compares referrers with.';

CREATE OR REPLACE FUNCTION beacon.referrer_of(p_referrer text, p_site text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(p_referrer, '') = '' THEN '(direct)'
        WHEN beacon.url_host(p_referrer) = lower(split_part(split_part(p_site, '@', -1), ':', 1)) THEN NULL
        ELSE left(coalesce(beacon.url_host(p_referrer), p_referrer), 200)
    END
$$;
COMMENT ON FUNCTION beacon.referrer_of(text, text) IS 'Referrer of a $pageview from its props.referrer and p_site, the authority of its props.url (beacon.site_of): the referring host (lower case, without port), ''(direct)'' when the referrer is empty, NULL for a referrer on the page''s own host (an in-app navigation; ports and user info are ignored). A referrer that is not an absolute URL is returned as sent (200 characters at most).';

CREATE OR REPLACE FUNCTION beacon.referrer_of(p_referrer text, p_site text, p_project uuid) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- A pageview without an absolute url (a server sending only a path) has no site of its own:
    -- its project's allowed origins stand for it. Called per grouped value, not per event.
    SELECT CASE
        WHEN coalesce(p_site, '') = '' AND coalesce(p_referrer, '') <> '' AND EXISTS (
            SELECT FROM beacon.projects p, unnest(p.allowed_origins) o
            WHERE p.project_id = p_project AND beacon.url_host(o) = beacon.url_host(p_referrer))
        THEN NULL
        ELSE beacon.referrer_of(p_referrer, p_site)
    END
$$;
COMMENT ON FUNCTION beacon.referrer_of(text, text, uuid) IS 'beacon.referrer_of(referrer, site), and when the pageview named no site (no absolute props.url: a sender of paths only), a referrer whose host is the host of one of the project''s allowed_origins is internal too (NULL). A project with no origins listed (or only ''*'') cannot tell: such referrers count as external. Reads beacon.projects: STABLE.';

-- UTM parameters: read from a URL's query string, decoded (application/x-www-form-urlencoded).
CREATE OR REPLACE FUNCTION beacon.url_decode(p_text text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text := replace(p_text, '+', ' ');
BEGIN
    IF strpos(s, '%') = 0 THEN
        RETURN s;
    END IF;
    -- Every '%XX' becomes its byte; the bytes are read as UTF-8. A malformed escape or invalid
    -- UTF-8 leaves the text as sent: no value may fail the insert trigger that calls this.
    BEGIN
        RETURN convert_from(
            (SELECT string_agg(CASE WHEN t.i = 1 THEN convert_to(t.part, 'UTF8')
                                    ELSE decode(left(t.part, 2), 'hex') || convert_to(substr(t.part, 3), 'UTF8') END,
                               ''::bytea ORDER BY t.i)
             FROM unnest(string_to_array(s, '%')) WITH ORDINALITY AS t(part, i)),
            'UTF8');
    EXCEPTION WHEN OTHERS THEN
        RETURN s;
    END;
END $$;
COMMENT ON FUNCTION beacon.url_decode(text) IS 'Decodes a query-string value: ''+'' is a space, %XX a byte, the bytes UTF-8. A malformed escape or invalid UTF-8 returns the text with only ''+'' replaced (never an error).';

CREATE OR REPLACE FUNCTION beacon.url_param(p_url text, p_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- '&' || query finds the parameter at the start as at any later position; the value ends at
    -- the next '&'. The first occurrence wins; an empty value is NULL.
    SELECT CASE WHEN strpos(p_url, '?') > 0 AND strpos(p_url, p_name || '=') > 0 THEN
        left(beacon.url_decode(nullif(split_part(split_part(
            '&' || split_part(substr(p_url, strpos(p_url, '?') + 1), '#', 1),
            '&' || p_name || '=', 2), '&', 1), '')), 200)
    END
$$;
COMMENT ON FUNCTION beacon.url_param(text, text) IS 'Value of the query parameter p_name (e.g. utm_campaign) of a URL or path with a query string, decoded (beacon.url_decode), cut to 200 characters; NULL when absent or empty. Parameter names are case-sensitive; the first occurrence wins; the fragment is ignored.';

-- Exactly-once for events keyed by id (beacon.event_ids, 003_event_ids.sql): the relay's slow
-- path, taken by a batch whose COPY into beacon.event_ids failed with 23505 (a re-send).
CREATE OR REPLACE FUNCTION beacon.claim_event_ids(p_projects uuid[], p_events uuid[], p_received timestamptz[])
RETURNS SETOF int
LANGUAGE sql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    -- ON CONFLICT DO NOTHING waits for a concurrent writer of the same id and skips it once that
    -- one commits (or inserts it if that one rolls back), so two relays cannot both claim an id.
    -- A repeated id within the arrays is inserted once; its first position is returned.
    WITH fresh AS (
        INSERT INTO beacon.event_ids AS d (project_id, event_id, received_at)
        SELECT x.p, x.e, x.r FROM unnest(p_projects, p_events, p_received) AS x(p, e, r)
        ON CONFLICT DO NOTHING
        RETURNING d.project_id, d.event_id
    )
    SELECT min(x.i)::int
    FROM unnest(p_projects, p_events) WITH ORDINALITY AS x(p, e, i)
    JOIN fresh f ON f.project_id = x.p AND f.event_id = x.e
    GROUP BY x.p, x.e
$$;
COMMENT ON FUNCTION beacon.claim_event_ids(uuid[], uuid[], timestamptz[]) IS 'Records the ids of events keyed by id in beacon.event_ids, skipping those already there (a re-send within the dedup window), and returns the 1-based position of the first occurrence of each id it recorded: the relay stores those events and drops the others. Called in the transaction that stores the events, so the key commits with its event. Security definer: the relay may not read beacon.event_ids.';
