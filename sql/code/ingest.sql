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

CREATE OR REPLACE FUNCTION beacon.page_of(p_path text, p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(coalesce(nullif(p_path, ''), nullif(p_url, '')), 500)
$$;
COMMENT ON FUNCTION beacon.page_of(text, text) IS 'The page of a $pageview from its props.path and props.url: the path, else the URL, cut to 500 characters; NULL when both are empty.';

CREATE OR REPLACE FUNCTION beacon.referrer_of(p_referrer text, p_site text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(p_referrer, '') = '' THEN '(direct)'
        WHEN lower(split_part(p_referrer, '/', 3)) = lower(p_site) THEN NULL
        ELSE left(coalesce(beacon.url_host(p_referrer), p_referrer), 200)
    END
$$;
COMMENT ON FUNCTION beacon.referrer_of(text, text) IS 'Referrer of a $pageview for the referrers rollup from its props.referrer and p_site, the authority part of its props.url (split_part(url, ''/'', 3)): the referring host, ''(direct)'' when the referrer is empty, NULL for a same-site referrer (same authority, case-insensitive: an in-app navigation).';

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
