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
