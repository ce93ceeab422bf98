-- api_events: the dashboard's Events page (GET /api/projects/{id}/events). Events are read from
-- analytics.events (users resolved) newest first, a page at a time, with keyset pagination on
-- (ts, event_id) — never OFFSET — and always bounded on ts, the partition key, so PostgreSQL
-- prunes partitions and the BRIN index (project_id, ts) narrows each one. beacon.events has no
-- b-tree on (project_id, ts) (it would cost COPY throughput), so a page is found by reading growing
-- ts windows back from the cursor: 1 hour, 8 hours, 64 hours, … until the page is full. A filter
-- that matches rarely therefore reads more of the project's history (see docs/dashboard.md).

CREATE OR REPLACE FUNCTION beacon.api_cursor(p_kind text, p_at timestamptz, p_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT translate(encode(convert_to(p_kind || (extract(epoch FROM p_at) * 1000000)::bigint || '.' || coalesce(p_id::text, ''), 'UTF8'), 'base64'),
                     E'+/=\n', '-_')
$$;
COMMENT ON FUNCTION beacon.api_cursor(text, timestamptz, uuid) IS 'An opaque page cursor for the API: kind (b: before, on ts; a: after, on received_at), a time to the microsecond and an event id, base64url. Read back by beacon.api_cursor_read.';

CREATE OR REPLACE FUNCTION beacon.api_cursor_read(p_cursor text, p_kind text, OUT at timestamptz, OUT id uuid)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw text;
    m text[];
BEGIN
    IF p_cursor IS NULL OR p_cursor = '' THEN
        RETURN;
    END IF;
    BEGIN
        raw := convert_from(decode(rpad(translate(p_cursor, '-_', '+/'), (length(p_cursor) + 3) / 4 * 4, '='), 'base64'), 'UTF8');
    EXCEPTION WHEN OTHERS THEN
        raw := NULL;
    END;
    m := regexp_match(raw, '^' || p_kind || '(-?[0-9]{1,17})\.([0-9a-f-]{36})?$');
    IF m IS NULL THEN
        RAISE EXCEPTION 'the cursor is not one this endpoint gave out' USING ERRCODE = '22023';
    END IF;
    at := timestamptz 'epoch' + m[1]::bigint * interval '1 microsecond';
    id := m[2]::uuid;
END $$;
COMMENT ON FUNCTION beacon.api_cursor_read(text, text) IS 'Reads a cursor of beacon.api_cursor of the given kind back into its time and event id (both NULL for no cursor); raises 22023 for anything else.';

CREATE OR REPLACE FUNCTION beacon.api_event_json(e analytics.events) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('id', e.event_id, 'ts', e.ts, 'received_at', e.received_at, 'name', e.name,
                              'user_id', e.user_id, 'person_id', e.person_id, 'anon_id', nullif(e.anon_id, ''),
                              'session_id', nullif(e.session_id, ''), 'page', e.page, 'props', e.props)
$$;
COMMENT ON FUNCTION beacon.api_event_json(analytics.events) IS 'One event as the API answers it: id, ts, received_at, name, user_id, person_id, anon_id, session_id (NULL when empty), page, props.';

CREATE OR REPLACE FUNCTION beacon.api_event_hour(p_project uuid, p_before timestamptz, p_latest boolean) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p_latest
        THEN greatest((SELECT max(h.hour) FROM beacon.rollup_hourly h WHERE h.project_id = p_project AND h.hour < p_before),
                      (SELECT max(r.bucket) FROM beacon.rollup_pending r
                       WHERE r.project_id = p_project AND r.kind = 'event' AND r.bucket < p_before))
        ELSE least((SELECT min(h.hour) FROM beacon.rollup_hourly h WHERE h.project_id = p_project AND h.hour < p_before),
                   (SELECT min(r.bucket) FROM beacon.rollup_pending r
                    WHERE r.project_id = p_project AND r.kind = 'event' AND r.bucket < p_before)) END
$$;
COMMENT ON FUNCTION beacon.api_event_hour(uuid, timestamptz, boolean) IS 'The latest (p_latest) or first hour before p_before in which the project has events, from rollup_hourly and the not yet folded rollup_pending (both written in the events'' transaction, by the primary key''s index and a small queue); NULL when there is none. Lets beacon.api_event_page skip empty stretches and stop at the first event.';

CREATE OR REPLACE FUNCTION beacon.api_event_page(p_project uuid, p_floor timestamptz, p_before_ts timestamptz,
    p_before_id uuid, p_name text, p_prop text, p_value text, p_person text, p_limit int,
    OUT events jsonb, OUT resume timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off -- as beacon.api_events_after: compiling the page's queries costs seconds, running them ms
AS $$
DECLARE
    v_start timestamptz := clock_timestamp();
    v_hi    timestamptz := coalesce(p_before_ts + interval '1 microsecond', now() + interval '2 days');
    v_span  interval := interval '1 hour';
    v_lo    timestamptz;
    v_floor timestamptz;
    v_got   jsonb;
    v_next  timestamptz;
BEGIN
    -- Every committed event is counted per hour in rollup_hourly or, until the next fold, in
    -- rollup_pending (written in the event's transaction): nothing is older than the first hour.
    -- 2 hours of margin: hours follow the project's time zone, which may be off by a fraction.
    v_floor := greatest(p_floor, beacon.api_event_hour(p_project, 'infinity', false) - interval '2 hours');
    IF v_floor IS NULL THEN
        v_floor := 'infinity'; -- no event at all
    END IF;
    events := '[]';
    WHILE v_hi > v_floor LOOP
        v_lo := greatest(v_hi - v_span, v_floor);
        SELECT coalesce(jsonb_agg(beacon.api_event_json(x) ORDER BY x.ts DESC, x.event_id DESC), '[]') INTO v_got
        FROM (SELECT e.* FROM analytics.events e
              WHERE e.project_id = p_project AND e.ts >= v_lo AND e.ts < v_hi
                AND (p_before_ts IS NULL OR (e.ts, e.event_id) < (p_before_ts, p_before_id))
                AND (p_name IS NULL OR e.name = p_name)
                AND (p_prop IS NULL OR CASE WHEN p_value IS NULL THEN e.props ? p_prop ELSE e.props ->> p_prop = p_value END)
                AND (p_person IS NULL OR e.person_id = p_person)
              ORDER BY e.ts DESC, e.event_id DESC
              LIMIT p_limit - jsonb_array_length(events)) x;
        events := events || v_got;
        EXIT WHEN jsonb_array_length(events) >= p_limit;
        v_hi := v_lo;
        IF v_got = '[]' THEN -- jump over hours without events
            v_next := beacon.api_event_hour(p_project, v_hi, true);
            EXIT WHEN v_next IS NULL; -- nothing older
            v_hi := least(v_hi, v_next + interval '2 hours');
        END IF;
        IF v_hi > v_floor AND clock_timestamp() - v_start > interval '250 milliseconds' THEN
            resume := v_hi; -- out of time: the caller pages on from here
            EXIT;
        END IF;
        v_span := least(v_span * 8, interval '1 day');
    END LOOP;
END $$;
COMMENT ON FUNCTION beacon.api_event_page(uuid, timestamptz, timestamptz, uuid, text, text, text, text, int) IS 'Up to p_limit events of a project from analytics.events, newest first by (ts, event_id), strictly before the cursor (p_before_ts, p_before_id; a NULL id: before p_before_ts), not older than p_floor nor than the project''s first hour with events (beacon.api_event_hour, less 2 hours), filtered by name, by one property (p_value NULL: the key is present) and by person. Reads ts windows of 1 h, 8 h, then a day each, so partitions prune, and jumps over hours without events; after 250 ms it stops at a window''s edge and returns it as resume (events then holds fewer than p_limit, and the caller pages on from resume). Checks nothing: only the api_* functions call it.';

CREATE OR REPLACE FUNCTION beacon.api_check_filters(p_name text, p_prop text, p_value text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF length(p_name) > 200 OR length(p_prop) > 200 OR length(p_value) > 1000 THEN
        RAISE EXCEPTION 'a filter is too long' USING ERRCODE = '22023';
    END IF;
END $$;
COMMENT ON FUNCTION beacon.api_check_filters(text, text, text) IS 'Refuses (22023) an events filter longer than the API takes: a name or property key over 200 characters, a value over 1,000. Shared by beacon.api_events and beacon.api_events_after.';

CREATE OR REPLACE FUNCTION beacon.api_events(p_project uuid, p_name text, p_prop text, p_value text,
    p_before text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off -- the plan's cost counts every partition (pruned only at run time): JIT compiled for 1.5–3.5 s a query that runs in ms
AS $$
DECLARE
    c      record;
    v_n    int := least(greatest(coalesce(p_limit, 50), 1), 200);
    pg     record;
    v_evs  jsonb;
    v_last jsonb;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    PERFORM beacon.api_check_filters(p_name, p_prop, p_value);
    c := beacon.api_cursor_read(p_before, 'b');
    pg := beacon.api_event_page(p_project, '-infinity', c.at, c.id, nullif(p_name, ''), nullif(p_prop, ''), p_value, NULL, v_n);
    v_evs := pg.events;
    v_last := v_evs -> -1;
    RETURN jsonb_build_object(
        'events', v_evs,
        'next', CASE WHEN jsonb_array_length(v_evs) = v_n
                     THEN beacon.api_cursor('b', (v_last ->> 'ts')::timestamptz, (v_last ->> 'id')::uuid)
                     WHEN pg.resume IS NOT NULL THEN beacon.api_cursor('b', pg.resume, NULL) END,
        'searched_to', CASE WHEN jsonb_array_length(v_evs) < v_n THEN pg.resume END,
        'tail', beacon.api_cursor('a', now(), NULL),
        'timezone', (SELECT p.timezone FROM beacon.projects p WHERE p.project_id = p_project));
END $$;
COMMENT ON FUNCTION beacon.api_events(uuid, text, text, text, text, int) IS 'GET /api/projects/{id}/events: {"events":[…], "next": cursor or null, "searched_to", "tail": cursor, "timezone"}: up to p_limit (1–200, default 50) events newest first (fewer, with searched_to and a next cursor, when a rare filter ran out of the 250 ms a request may read for: next goes on from searched_to), filtered by name and by one property (props->>p_prop = p_value; p_value NULL: the key is present), before the cursor p_before (the "next" of the previous page). "tail" is the cursor of GET …/events?after= (beacon.api_events_after) for events arriving from now on. Needs the viewer role (P0002 for a non-member); 22023 for a bad cursor or an over-long filter.';

CREATE OR REPLACE FUNCTION beacon.api_events_after(p_project uuid, p_name text, p_prop text, p_value text,
    p_after text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off -- the plan's cost counts every partition (pruned only at run time): JIT compiled for 1.5–3.5 s a query that runs in ms
AS $$
DECLARE
    c     record;
    v_n   int := least(greatest(coalesce(p_limit, 50), 1), 200);
    v_evs jsonb;
    v_max timestamptz;
BEGIN
    PERFORM beacon.require_role(p_project, 'viewer');
    PERFORM beacon.api_check_filters(p_name, p_prop, p_value);
    c := beacon.api_cursor_read(p_after, 'a');
    IF c.at IS NULL THEN
        RAISE EXCEPTION 'after needs the tail cursor of a previous answer' USING ERRCODE = '22023';
    END IF;
    -- The relay commits in batches from several writers, so an event received before the cursor
    -- may commit after it was made: re-read the 10 s before it (the page drops ids it shows).
    -- ts bounds the scan to recent partitions: an event whose client time is more than 5 minutes
    -- before its arrival (an offline queue) is not tailed; the list shows it on reload.
    -- At most v_n, the newest: in a flood the tail skips some (the list has them all) rather
    -- than fall behind.
    SELECT coalesce(jsonb_agg(beacon.api_event_json(x) ORDER BY x.received_at, x.event_id), '[]'), max(x.received_at)
    INTO v_evs, v_max
    FROM (SELECT e.* FROM analytics.events e
          WHERE e.project_id = p_project AND e.ts >= c.at - interval '10 seconds' - interval '5 minutes'
            AND e.received_at > c.at - interval '10 seconds'
            AND (nullif(p_name, '') IS NULL OR e.name = p_name)
            AND (nullif(p_prop, '') IS NULL OR CASE WHEN p_value IS NULL THEN e.props ? p_prop ELSE e.props ->> p_prop = p_value END)
          ORDER BY e.received_at DESC, e.event_id DESC
          LIMIT v_n) x;
    RETURN jsonb_build_object('events', v_evs, 'tail', beacon.api_cursor('a', greatest(c.at, v_max), NULL));
END $$;
COMMENT ON FUNCTION beacon.api_events_after(uuid, text, text, text, text, int) IS 'GET /api/projects/{id}/events?after=: the live tail. Events received since the tail cursor p_after (and in the 10 s before it: batches from several writers commit out of order, so callers drop ids they already show), oldest first, at most p_limit (the newest ones when more arrived), with the same filters as beacon.api_events; {"events":[…], "tail": the cursor of the next call}. Only events whose client time is at most 5 minutes before their arrival are tailed (the scan stays in recent partitions). Needs the viewer role.';

REVOKE ALL ON FUNCTION beacon.api_cursor(text, timestamptz, uuid), beacon.api_cursor_read(text, text),
    beacon.api_event_json(analytics.events),
    beacon.api_event_page(uuid, timestamptz, timestamptz, uuid, text, text, text, text, int),
    beacon.api_events(uuid, text, text, text, text, int),
    beacon.api_events_after(uuid, text, text, text, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.api_events(uuid, text, text, text, text, int),
    beacon.api_events_after(uuid, text, text, text, text, int)
TO beacon_api;
