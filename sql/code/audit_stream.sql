-- audit_stream: one JSON shape for an audit row, read by the dashboard (GET /api/audit) and by the
-- stream a SIEM reads (AUDIT_STREAM, auditstream/), and the stream's reading in commit-safe order
-- (migration 019 says why (xact, audit_id) and not audit_id alone).

CREATE OR REPLACE FUNCTION beacon.audit_outcome(p_action text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_action ~ '_(failed|refused|locked|denied)$' OR p_action = 'lockout' THEN 'failure' ELSE 'success' END
$$;
COMMENT ON FUNCTION beacon.audit_outcome(text) IS 'The outcome of an audited action, for a SIEM (AU-3): failure for refusals and failed attempts (actions ending in _failed, _refused, _locked or _denied, and lockout), success for the rest.';

CREATE OR REPLACE FUNCTION beacon.audit_entry(p beacon.audit) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.audit_id, 'at', p.at, 'action', p.action,
        'outcome', beacon.audit_outcome(p.action), 'target', p.target,
        'account_id', p.account_id, 'email', (SELECT a.email FROM beacon.accounts a WHERE a.account_id = p.account_id),
        'token_id', p.token_id, 'db_role', p.db_role, 'ip', host(p.ip), 'before', p.before, 'after', p.after)
$$;
COMMENT ON FUNCTION beacon.audit_entry(beacon.audit) IS 'One audit row as JSON, the one shape of GET /api/audit''s entries and of each line of the audit stream: id, at (time), action, outcome (beacon.audit_outcome), target (object), account_id, email, token_id and db_role (actor), ip (source address), before and after (details).';

CREATE OR REPLACE FUNCTION beacon.audit_stream_lock() RETURNS boolean
LANGUAGE sql VOLATILE AS $$ SELECT pg_catalog.pg_try_advisory_lock(1113940323, 19) $$;
COMMENT ON FUNCTION beacon.audit_stream_lock() IS 'Takes the audit stream''s session advisory lock (1113940323, 19) if free: the one relay holding it streams; the others wait their turn. Released when its connection ends.';

CREATE OR REPLACE FUNCTION beacon.audit_stream_read(p_limit int)
RETURNS TABLE (xact xid8, audit_id bigint, entry jsonb)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(u.xact, '0'::xid8), u.audit_id, beacon.audit_entry(u)
    FROM beacon.audit u, beacon.audit_stream_cursor c
    WHERE (coalesce(u.xact, '0'::xid8), u.audit_id) > (c.xact, c.audit_id)
      AND coalesce(u.xact, '0'::xid8) < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY coalesce(u.xact, '0'::xid8), u.audit_id
    LIMIT least(greatest(p_limit, 1), 10000)
$$;
COMMENT ON FUNCTION beacon.audit_stream_read(int) IS 'The audit stream''s next rows after beacon.audit_stream_cursor, at most p_limit (1–10000), in (xact, audit_id) order, each as beacon.audit_entry. Only rows of transactions below the snapshot''s xmin, all of which have ended: a row committed late with an early id is read later, never skipped. A transaction still open (a long maintain() step, a forgotten BEGIN) holds the stream back until it ends. Call it in a transaction that has written nothing.';

CREATE OR REPLACE FUNCTION beacon.audit_stream_advance(p_xact xid8, p_audit_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_locks l WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted
                   AND l.classid = 1113940323 AND l.objid = 19 AND l.objsubid = 2) THEN
        RAISE EXCEPTION 'this session does not hold the audit stream lock (beacon.audit_stream_lock)' USING ERRCODE = '55P03';
    END IF;
    UPDATE beacon.audit_stream_cursor c SET xact = p_xact, audit_id = p_audit_id, streamed_at = now()
    WHERE (c.xact, c.audit_id) < (p_xact, p_audit_id);
END $$;
COMMENT ON FUNCTION beacon.audit_stream_advance(xid8, bigint) IS 'Moves beacon.audit_stream_cursor to the last row the relay wrote out and flushed (never backwards). Only for the session holding the stream lock (55P03 otherwise), so two relays cannot both stream.';

CREATE OR REPLACE FUNCTION beacon.audit_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('beacon_audit', '');
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.audit_notify() IS 'AFTER INSERT statement trigger of beacon.audit: NOTIFY beacon_audit (empty payload; delivered at commit, once per transaction), which wakes the relay streaming the audit.';
CREATE OR REPLACE TRIGGER audit_notify AFTER INSERT ON beacon.audit
    FOR EACH STATEMENT EXECUTE FUNCTION beacon.audit_notify();
COMMENT ON TRIGGER audit_notify ON beacon.audit IS 'Wakes the audit stream (beacon.audit_notify).';

REVOKE ALL ON FUNCTION beacon.audit_stream_read(int), beacon.audit_stream_advance(xid8, bigint),
    beacon.audit_stream_lock() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.audit_stream_read(int), beacon.audit_stream_advance(xid8, bigint),
    beacon.audit_stream_lock() TO beacon_relay;
