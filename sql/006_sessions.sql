-- 006_sessions: what a session overview needs (issue 11, item 5), and first-seen per visitor.
--
--  * beacon.sessions gains the landing page's source and UTM parameters and a pageview count. The
--    insert trigger (code/sessions.sql) fills them for new events. Existing rows keep NULL in
--    them: their values are in beacon.events only, and reading every event back inside the
--    migration's transaction (which holds up ingest) is not cheap. A session that goes on after
--    the upgrade keeps NULL pageviews (its count before is unknown); its source and UTM fill in if
--    an earlier pageview arrives late. Adding nullable columns without a default rewrites nothing.
--  * beacon.first_seen_ids: when each anonymous id and user id was first seen and in which session,
--    kept by the same trigger with one upsert per new session (not per event). analytics.first_seen
--    resolves ids to people at query time, so identifies, merges and unmerges need no upkeep here.
--    Backfilled from the existing sessions (one pass over beacon.sessions, not over events).

ALTER TABLE beacon.sessions
    ADD COLUMN pageviews    bigint,
    ADD COLUMN source       text,
    ADD COLUMN utm_source   text,
    ADD COLUMN utm_medium   text,
    ADD COLUMN utm_campaign text,
    ADD COLUMN utm_term     text,
    ADD COLUMN utm_content  text;
COMMENT ON COLUMN beacon.sessions.pageviews IS '$pageview events of the session. NULL for a session that began before migration 006 (its earlier count is unknown).';
COMMENT ON COLUMN beacon.sessions.source IS 'Where the session came from: the referring host of its landing page (the earliest $pageview, beacon.referrer_of), ''(direct)'' when it had no referrer or one on the site itself. NULL without pageviews, or for a session that began before migration 006.';
COMMENT ON COLUMN beacon.sessions.utm_source IS 'utm_source of the landing page''s URL (props.url, else props.path; beacon.url_param, decoded, at most 200 characters); NULL when absent.';
COMMENT ON COLUMN beacon.sessions.utm_medium IS 'utm_medium of the landing page''s URL; NULL when absent.';
COMMENT ON COLUMN beacon.sessions.utm_campaign IS 'utm_campaign of the landing page''s URL; NULL when absent.';
COMMENT ON COLUMN beacon.sessions.utm_term IS 'utm_term of the landing page''s URL; NULL when absent.';
COMMENT ON COLUMN beacon.sessions.utm_content IS 'utm_content of the landing page''s URL; NULL when absent.';
COMMENT ON COLUMN beacon.sessions.entry_page IS 'Page of the earliest $pageview (the landing page): its path without query string or fragment (beacon.page_of), at most 500 characters; NULL without pageviews. Sessions written before migration 006 may hold a URL with its query string.';

CREATE TABLE beacon.first_seen_ids (
    project_id uuid        NOT NULL,
    kind       "char"      NOT NULL CHECK (kind IN ('a', 'u')),
    id         text        NOT NULL,
    first_seen timestamptz NOT NULL,
    session_id text        NOT NULL,
    PRIMARY KEY (project_id, kind, id),
    FOREIGN KEY (project_id, session_id) REFERENCES beacon.sessions ON DELETE CASCADE
);
COMMENT ON TABLE beacon.first_seen_ids IS 'When each anonymous id and user id of a project was first seen: the start of its earliest session. Kept by the events_sessions trigger (beacon.sessions_from_events), one upsert per session the batch starts; read through analytics.first_seen, which resolves ids to people (aliases, merges) at query time. A row goes with its session (ON DELETE CASCADE): retention and privacy deletes of sessions remove it.';
COMMENT ON COLUMN beacon.first_seen_ids.project_id IS 'Project of the id.';
COMMENT ON COLUMN beacon.first_seen_ids.kind IS '''a'': an anonymous id (sessions.anon_id); ''u'': a user id (sessions.user_id, when known at the session''s start).';
COMMENT ON COLUMN beacon.first_seen_ids.id IS 'The anonymous id or user id.';
COMMENT ON COLUMN beacon.first_seen_ids.first_seen IS 'Start (first_seen) of the earliest session with this id.';
COMMENT ON COLUMN beacon.first_seen_ids.session_id IS 'That session.';
COMMENT ON CONSTRAINT first_seen_ids_project_id_session_id_fkey ON beacon.first_seen_ids IS 'The first session; deleting it (retention, delete_person) deletes the row.';

CREATE INDEX first_seen_ids_session ON beacon.first_seen_ids (project_id, session_id);
COMMENT ON INDEX beacon.first_seen_ids_session IS 'For the cascade when a session is deleted.';

INSERT INTO beacon.first_seen_ids (project_id, kind, id, first_seen, session_id)
SELECT DISTINCT ON (x.project_id, x.kind, x.id) x.project_id, x.kind, x.id, x.first_seen, x.session_id
FROM (
    SELECT s.project_id, k.kind, k.id, s.first_seen, s.session_id
    FROM beacon.sessions s
    CROSS JOIN LATERAL (VALUES ('a'::"char", nullif(s.anon_id, '')), ('u'::"char", s.user_id)) AS k(kind, id)
    WHERE k.id IS NOT NULL AND octet_length(k.id) <= 1000
) x
ORDER BY x.project_id, x.kind, x.id, x.first_seen, x.session_id;
