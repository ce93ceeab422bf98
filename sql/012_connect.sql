-- 012_connect: what a (re)connecting client needs in one call — the user its anon id was
-- identified as, and its flag set — so events sent after a reconnect carry user_id without the
-- SDK having to identify again.

CREATE FUNCTION beacon.connect(p_project uuid, p_anon_id text)
RETURNS TABLE (user_id text, flags jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.user_id, beacon.evaluate_flags(p_project, p_anon_id, u.user_id)
    FROM (SELECT (SELECT a.user_id FROM beacon.aliases a
                  WHERE a.project_id = p_project AND a.anon_id = p_anon_id) AS user_id) u
$$;
COMMENT ON FUNCTION beacon.connect(uuid, text) IS 'Called by the relay when a client connects: the user id the anon id is aliased to (NULL when never identified), which the relay stamps on the connection''s events, and the client''s flag set (beacon.evaluate_flags).';

REVOKE EXECUTE ON FUNCTION beacon.connect(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.connect(uuid, text) TO beacon_relay;
