-- 001_core: the heart of Beacon's data model — projects, partitioned events, identified users,
-- feature flags and the trigger that tells every relay about a flag change.
--
-- Later migrations extend this (sessions, merging, rollups, audit, roles); functions are replaced
-- with CREATE OR REPLACE so the newest definition is the one in force.

CREATE SCHEMA IF NOT EXISTS beacon;
COMMENT ON SCHEMA beacon IS 'Beacon''s tables and functions. Not a public interface: BI tools read the analytics schema.';

-- Projects ---------------------------------------------------------------------------------------

CREATE TABLE beacon.projects (
    project_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    allowed_origins text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE beacon.projects IS 'One tracked product. Its id is the project= parameter every client sends.';
COMMENT ON COLUMN beacon.projects.allowed_origins IS 'Browser origins (scheme://host[:port]) allowed to connect; ''*'' allows any. Empty: only the relay''s ALLOWED_ORIGINS default applies. Requests without an Origin header (server code) are always allowed.';

-- Events -----------------------------------------------------------------------------------------

CREATE TABLE beacon.events (
    project_id  uuid        NOT NULL,
    event_id    uuid        NOT NULL,
    session_id  text        NOT NULL DEFAULT '',
    anon_id     text        NOT NULL DEFAULT '',
    user_id     text,
    name        text        NOT NULL,
    props       jsonb       NOT NULL DEFAULT '{}',
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL
) PARTITION BY RANGE (ts);
COMMENT ON TABLE beacon.events IS 'Every tracked event, partitioned by day on ts. Written by COPY from the relay; no row-level security, no per-row triggers, so COPY stays fast. Events outside the daily partitions land in beacon.events_default.';
COMMENT ON COLUMN beacon.events.event_id IS 'Client-made UUID (v7) or one the relay made; with project_id and ts it identifies a re-sent duplicate.';
COMMENT ON COLUMN beacon.events.user_id IS 'User id known to the relay when the event arrived (after identify); earlier events are attributed through beacon.aliases in the analytics views.';
COMMENT ON COLUMN beacon.events.ts IS 'Client time. The relay replaces values more than 1 day ahead or older than its MAX_EVENT_AGE by the time in the event''s UUIDv7 id, or by received_at.';
COMMENT ON COLUMN beacon.events.received_at IS 'Relay time when the event arrived.';

CREATE TABLE beacon.events_default PARTITION OF beacon.events DEFAULT;
COMMENT ON TABLE beacon.events_default IS 'Catches events whose day has no partition (very late or early clocks) so a COPY never fails for want of one; beacon.ensure_partitions moves its rows into a new daily partition when one is made.';

-- Dedup: a re-sent event (same project, id and client time) is refused here; the relay then retries
-- that batch with ON CONFLICT DO NOTHING. The partition key must be part of a unique index.
CREATE UNIQUE INDEX events_dedup ON beacon.events (project_id, event_id, ts);
CREATE INDEX events_project_ts ON beacon.events USING brin (project_id, ts);

CREATE FUNCTION beacon.partition_name(p_day date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'events_' || to_char(p_day, 'YYYYMMDD') $$;
COMMENT ON FUNCTION beacon.partition_name(date) IS 'Name of the daily partition of beacon.events holding p_day (UTC).';

CREATE FUNCTION beacon.ensure_partitions(p_days_back int DEFAULT 1, p_days_ahead int DEFAULT 7)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    d       date;
    created int := 0;
    lo      timestamptz;
    hi      timestamptz;
    part    text;
BEGIN
    FOR d IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - p_days_back,
                                    (now() AT TIME ZONE 'UTC')::date + p_days_ahead, '1 day')::date
    LOOP
        part := beacon.partition_name(d);
        CONTINUE WHEN to_regclass(format('beacon.%I', part)) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        IF EXISTS (SELECT FROM beacon.events_default WHERE ts >= lo AND ts < hi) THEN
            -- Rows the default partition already caught for this day would make the new partition's
            -- bounds overlap it: move them into the new table, then attach it.
            EXECUTE format('CREATE TABLE beacon.%I (LIKE beacon.events INCLUDING DEFAULTS)', part);
            EXECUTE format('INSERT INTO beacon.%I SELECT * FROM beacon.events_default WHERE ts >= $1 AND ts < $2', part)
                USING lo, hi;
            DELETE FROM beacon.events_default WHERE ts >= lo AND ts < hi;
            EXECUTE format('ALTER TABLE beacon.events ATTACH PARTITION beacon.%I FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        ELSE
            EXECUTE format('CREATE TABLE beacon.%I PARTITION OF beacon.events FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;
COMMENT ON FUNCTION beacon.ensure_partitions(int, int) IS 'Creates the daily partitions of beacon.events from p_days_back days ago to p_days_ahead days ahead (UTC) that do not exist yet, moving any rows the default partition caught for those days. Returns how many it made. Called by beacon.maintain().';

CREATE FUNCTION beacon.maintain() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Several relays call this on a ticker; the transaction-scoped advisory lock makes one of them
    -- do the work and the others return at once.
    IF NOT pg_try_advisory_xact_lock(hashtext('beacon.maintain')) THEN
        RETURN;
    END IF;
    PERFORM beacon.ensure_partitions();
END $$;
COMMENT ON FUNCTION beacon.maintain() IS 'All scheduled work (partitions ahead; later: retention, rollups, view refresh). Safe to call from many relays at once: only the caller that takes the advisory lock works.';

SELECT beacon.ensure_partitions();

-- Users and aliases ------------------------------------------------------------------------------

CREATE TABLE beacon.users (
    project_id uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    user_id    text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
    traits     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(traits) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
COMMENT ON TABLE beacon.users IS 'Identified people of a project: the user id the product knows them by, and their merged traits.';
COMMENT ON COLUMN beacon.users.traits IS 'Traits merged from every identify; a newer value wins per top-level key.';

CREATE TABLE beacon.aliases (
    project_id uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    anon_id    text        NOT NULL,
    user_id    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, anon_id)
);
COMMENT ON TABLE beacon.aliases IS 'Which user an anonymous id turned out to be, learned from identify.';

CREATE FUNCTION beacon.identify(p_project uuid, p_anon_id text, p_user_id text, p_traits jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_user_id IS NULL OR p_user_id = '' THEN
        RAISE EXCEPTION 'identify: user id must not be empty' USING ERRCODE = '22023';
    END IF;
    IF p_traits IS NOT NULL AND jsonb_typeof(p_traits) <> 'object' THEN
        RAISE EXCEPTION 'identify: traits must be a JSON object, got %', jsonb_typeof(p_traits) USING ERRCODE = '22023';
    END IF;
    INSERT INTO beacon.users AS u (project_id, user_id, traits)
    VALUES (p_project, p_user_id, coalesce(p_traits, '{}'))
    ON CONFLICT (project_id, user_id) DO UPDATE
        SET traits = u.traits || excluded.traits, updated_at = now();
    IF coalesce(p_anon_id, '') <> '' THEN
        INSERT INTO beacon.aliases (project_id, anon_id, user_id)
        VALUES (p_project, p_anon_id, p_user_id)
        ON CONFLICT (project_id, anon_id) DO UPDATE SET user_id = excluded.user_id
        WHERE beacon.aliases.user_id IS DISTINCT FROM excluded.user_id;
    END IF;
END $$;
COMMENT ON FUNCTION beacon.identify(uuid, text, text, jsonb) IS 'Upserts a user (traits merged, newer wins per key) and aliases the anonymous id to it. Called by the relay for every identify message.';

-- Flags ------------------------------------------------------------------------------------------

CREATE TABLE beacon.flags (
    project_id      uuid        NOT NULL REFERENCES beacon.projects ON DELETE CASCADE,
    key             text        NOT NULL CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
    enabled         boolean     NOT NULL DEFAULT false,
    rollout_percent numeric(5,2) NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    description     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, key)
);
COMMENT ON TABLE beacon.flags IS 'Feature flags. Any change — dashboard, migration or a DBA''s plain UPDATE — is pushed to connected clients by the flags_notify trigger.';
COMMENT ON COLUMN beacon.flags.enabled IS 'Master switch: false turns the flag off for everyone.';
COMMENT ON COLUMN beacon.flags.rollout_percent IS 'Share of ids for which an enabled flag is on (default 100: everyone). See beacon.flag_bucket for the bucketing.';

CREATE FUNCTION beacon.flag_bucket(p_key text, p_id text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (('x' || substr(encode(sha256(convert_to(p_key || ':' || p_id, 'UTF8')), 'hex'), 1, 8))::bit(32)::bigint % 10000)::int
$$;
COMMENT ON FUNCTION beacon.flag_bucket(text, text) IS 'Rollout bucket 0..9999 of an id for a flag, fixed forever: the first 4 bytes of SHA-256(UTF-8 of key || '':'' || id), read as a big-endian unsigned integer, modulo 10000. A flag is on for the id when bucket < rollout_percent * 100, so raising the percentage only adds ids.';

CREATE FUNCTION beacon.flags_for(p_project uuid, p_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(f.key,
               f.enabled AND beacon.flag_bucket(f.key, coalesce(p_id, '')) < f.rollout_percent * 100), '{}')
    FROM beacon.flags f
    WHERE f.project_id = p_project
$$;
COMMENT ON FUNCTION beacon.flags_for(uuid, text) IS 'Every flag of a project evaluated for one id (user id when known, else anon id), as a JSON object of booleans; {} when the project has none.';

CREATE FUNCTION beacon.evaluate_flags(p_project uuid, p_anon_id text, p_user_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT beacon.flags_for(p_project, coalesce(
        nullif(p_user_id, ''),
        (SELECT a.user_id FROM beacon.aliases a WHERE a.project_id = p_project AND a.anon_id = p_anon_id),
        p_anon_id))
$$;
COMMENT ON FUNCTION beacon.evaluate_flags(uuid, text, text) IS 'The flag set one client sees: evaluated for its user id, or the user its anon id is aliased to, or the anon id.';

CREATE FUNCTION beacon.evaluate_flags_many(p_project uuid, p_anon_ids text[], p_user_ids text[])
RETURNS TABLE (idx int, flags jsonb)
LANGUAGE sql STABLE AS $$
    SELECT c.idx::int, beacon.evaluate_flags(p_project, c.anon_id, c.user_id)
    FROM unnest(p_anon_ids, p_user_ids) WITH ORDINALITY AS c(anon_id, user_id, idx)
$$;
COMMENT ON FUNCTION beacon.evaluate_flags_many(uuid, text[], text[]) IS 'beacon.evaluate_flags for many clients in one call (the relay re-evaluates every connected client of a project after a change); idx is the 1-based position in the input arrays.';

CREATE FUNCTION beacon.flags_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- NOTIFY folds identical payloads within a transaction, so a statement touching many flags of
    -- one project sends one notification per project at commit.
    PERFORM pg_notify('beacon_flags', coalesce(NEW.project_id, OLD.project_id)::text);
    IF TG_OP = 'UPDATE' AND NEW.project_id IS DISTINCT FROM OLD.project_id THEN
        PERFORM pg_notify('beacon_flags', OLD.project_id::text);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION beacon.flags_notify() IS 'NOTIFY beacon_flags with the project id of a changed flag, so every relay re-evaluates and pushes that project''s flags.';

CREATE TRIGGER flags_notify AFTER INSERT OR UPDATE OR DELETE ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.flags_notify();

CREATE FUNCTION beacon.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
COMMENT ON FUNCTION beacon.touch_updated_at() IS 'Sets updated_at on every UPDATE.';

CREATE TRIGGER flags_touch BEFORE UPDATE ON beacon.flags
    FOR EACH ROW EXECUTE FUNCTION beacon.touch_updated_at();
