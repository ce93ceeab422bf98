package sql_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// Every table, view, materialized view, function and procedure of Beacon, every trigger, every
// index (but those of a primary key or unique constraint, described by their table, and those
// PostgreSQL makes on each partition), every column of a beacon table (beacon.events included)
// and of the analytics views carries a COMMENT for the DBA and the BI user.
func TestEverythingIsCommented(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	missing := scalar[[]string](t, db.Pool, `
		SELECT coalesce(array_agg(what ORDER BY what), '{}') FROM (
		    SELECT c.oid::regclass::text AS what FROM pg_class c
		    WHERE c.relnamespace IN ('beacon'::regnamespace, 'analytics'::regnamespace)
		      AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
		      AND obj_description(c.oid, 'pg_class') IS NULL
		    UNION ALL
		    SELECT p.oid::regprocedure::text FROM pg_proc p
		    WHERE p.pronamespace IN ('beacon'::regnamespace, 'analytics'::regnamespace)
		      AND obj_description(p.oid, 'pg_proc') IS NULL
		    UNION ALL
		    SELECT c.oid::regclass::text || '.' || a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		    WHERE c.relnamespace IN ('beacon'::regnamespace, 'analytics'::regnamespace)
		      AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
		      AND a.attnum > 0 AND NOT a.attisdropped
		      AND col_description(c.oid, a.attnum) IS NULL
		    UNION ALL
		    SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text FROM pg_trigger t
		    JOIN pg_class c ON c.oid = t.tgrelid
		    WHERE c.relnamespace IN ('beacon'::regnamespace, 'analytics'::regnamespace)
		      AND NOT t.tgisinternal AND t.tgparentid = 0
		      AND obj_description(t.oid, 'pg_trigger') IS NULL
		    UNION ALL
		    SELECT 'index ' || i.indexrelid::regclass::text FROM pg_index i
		    JOIN pg_class c ON c.oid = i.indrelid
		    JOIN pg_class ic ON ic.oid = i.indexrelid
		    WHERE c.relnamespace IN ('beacon'::regnamespace, 'analytics'::regnamespace)
		      AND NOT c.relispartition AND NOT ic.relispartition
		      AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))
		      AND obj_description(i.indexrelid, 'pg_class') IS NULL
		) m`)
	// The checks must see what they check: events columns, triggers and indexes exist.
	for _, q := range []string{
		`SELECT count(*) FROM pg_attribute WHERE attrelid = 'beacon.events'::regclass AND attnum > 0 AND col_description(attrelid, attnum) IS NOT NULL`,
		`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'beacon.events'::regclass AND NOT tgisinternal AND obj_description(oid, 'pg_trigger') IS NOT NULL`,
		`SELECT count(*) FROM pg_index WHERE indrelid = 'beacon.events'::regclass AND obj_description(indexrelid, 'pg_class') IS NOT NULL`,
	} {
		if n := scalar[int](t, db.Pool, q); n < 2 {
			t.Errorf("%d commented objects for %s", n, oneLine(q))
		}
	}
	if len(missing) > 0 {
		t.Errorf("no COMMENT on:\n  %s", strings.Join(missing, "\n  "))
	}
}

// An event sent anonymously before identify is attributed to the user, and merged users to one
// person, in analytics.events and analytics.sessions.
func TestAnalyticsResolvesPeople(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now()
	copyEvents(t, db.Pool,
		ev{project: p, session: "s1", anon: "a1", name: "before", ts: now},
		ev{project: p, session: "s1", anon: "a1", user: ptr("u1"), name: "after", ts: now.Add(time.Second)},
		ev{project: p, session: "s2", anon: "a2", user: ptr("u2"), name: "other", ts: now},
		ev{project: p, session: "s3", anon: "a3", name: "anon", ts: now},
	)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1'), beacon.identify($1, 'a2', 'u2')`, p)
	exec(t, db.Pool, `SELECT beacon.merge_users($1, 'u2', 'u1')`, p)
	got := scalar[string](t, db.Pool, `
		SELECT string_agg(concat_ws(':', name, coalesce(sent_user_id, '-'), coalesce(user_id, '-'), coalesce(person_id, '-')), ' ' ORDER BY name)
		FROM analytics.events WHERE project_id = $1`, p)
	if want := "after:u1:u1:u1 anon:-:-:- before:-:u1:u1 other:u2:u2:u1"; got != want {
		t.Errorf("events: %s, want %s", got, want)
	}
	got = scalar[string](t, db.Pool, `
		SELECT string_agg(session_id || ':' || coalesce(person_id, '-'), ' ' ORDER BY session_id)
		FROM analytics.sessions WHERE project_id = $1`, p)
	if want := "s1:u1 s2:u1 s3:-"; got != want {
		t.Errorf("sessions: %s, want %s", got, want)
	}
	if got := scalar[string](t, db.Pool, `SELECT array_to_string(user_ids, ',') FROM analytics.people WHERE project_id = $1`, p); got != "u1,u2" {
		t.Errorf("people: %s", got)
	}
}

// The example queries of docs/bi.md run as beacon_reader and return rows.
func TestBIExamplesWork(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/bi.md")
	if err != nil {
		t.Fatal(err)
	}
	db := testdb.New(t)
	p := scalar[string](t, db.Pool, `INSERT INTO beacon.projects (name) VALUES ('shop') RETURNING project_id::text`)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	now := time.Now()
	copyEvents(t, db.Pool,
		ev{project: p, session: "s", anon: "a", name: "$pageview", props: map[string]any{"path": "/", "url": "https://shop.test/", "referrer": "https://search.test/q"}, ts: now},
		ev{project: p, session: "s", anon: "a", user: ptr("u"), name: "signup", ts: now.Add(time.Second)},
	)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	reader := as(t, db, "beacon_reader")

	blocks := strings.Split(string(doc), "```sql\n")[1:]
	ran := 0
	for _, blk := range blocks {
		blk = blk[:strings.Index(blk, "```")]
		if strings.Contains(blk, "CREATE ROLE") {
			continue
		}
		for _, stmt := range strings.Split(blk, ";") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			rows, err := reader.Query(ctx(t), stmt)
			if err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			if n == 0 {
				t.Errorf("no rows from %s", stmt)
			}
			ran++
		}
	}
	if ran < 3 {
		t.Errorf("ran %d example queries, want at least 3", ran)
	}
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// "The last 7 days" means one thing in every view: the 7 calendar days ending today in the
// project's time zone, today included (30 likewise). Events just inside and just outside each
// window, and a day ahead, are counted independently from beacon.events and compared with
// top_events and top_pages; top_referrers counts only pageviews with an external or empty
// referrer, as its comments say.
func TestLastNDaysOneMeaning(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	assertTopWindows(t, db, p, "UTC")
}

// assertTopWindows loads events around the 7- and 30-day boundaries of project p, whose time
// zone is tz, refreshes, and compares the top lists with counts made from beacon.events.
func assertTopWindows(t *testing.T, db *testdb.DB, p, tz string) {
	t.Helper()
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	// Local midnight of today minus d days, in the project's zone.
	midnight := func(d int) time.Time {
		return scalar[time.Time](t, db.Pool, `SELECT ((now() AT TIME ZONE $1)::date - $2::int)::timestamp AT TIME ZONE $1`, tz, d)
	}
	pv := func(at time.Time, path, ref string) ev {
		return ev{project: p, session: "s", anon: "a", name: "$pageview", ts: at,
			props: map[string]any{"url": "https://app.test" + path, "path": path, "referrer": ref}}
	}
	copyEvents(t, db.Pool,
		pv(midnight(6).Add(time.Minute), "/in7", ""),
		pv(midnight(6).Add(time.Minute), "/in7", "https://app.test/"), // same-site referrer
		pv(midnight(6).Add(-time.Minute), "/out7", "https://news.test/a"),
		pv(midnight(29).Add(time.Minute), "/in30", ""),
		pv(midnight(29).Add(-time.Minute), "/out30", ""),
		pv(midnight(0).Add(time.Hour), "/today", "https://news.test/b"),
		pv(midnight(-1).Add(time.Hour), "/tomorrow", ""), // a clock a little ahead
		ev{project: p, session: "s", anon: "a", name: "click", ts: midnight(6).Add(-time.Minute)},
		ev{project: p, session: "s", anon: "a", name: "click", ts: midnight(0).Add(2 * time.Hour)},
	)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	exec(t, db.Pool, `SELECT beacon.refresh_analytics()`)

	// The truth: events with ts in [midnight(N-1), midnight(-1)).
	want := scalar[string](t, db.Pool, `
		SELECT concat_ws(' ',
		    count(*) FILTER (WHERE name = '$pageview' AND ts >= $2 AND ts < $4),
		    count(*) FILTER (WHERE name = '$pageview' AND ts >= $3 AND ts < $4),
		    count(*) FILTER (WHERE name = 'click' AND ts >= $2 AND ts < $4),
		    count(*) FILTER (WHERE name = 'click' AND ts >= $3 AND ts < $4),
		    count(*) FILTER (WHERE name = '$pageview' AND ts >= $2 AND ts < $4 AND props->>'referrer' NOT LIKE 'https://app.test/%'),
		    count(*) FILTER (WHERE name = '$pageview' AND ts >= $3 AND ts < $4 AND props->>'referrer' NOT LIKE 'https://app.test/%'))
		FROM beacon.events WHERE project_id = $1`, p, midnight(6), midnight(29), midnight(-1))
	got := scalar[string](t, db.Pool, `
		SELECT concat_ws(' ',
		    (SELECT events_7d FROM analytics.top_events WHERE project_id = $1 AND name = '$pageview'),
		    (SELECT events_30d FROM analytics.top_events WHERE project_id = $1 AND name = '$pageview'),
		    (SELECT events_7d FROM analytics.top_events WHERE project_id = $1 AND name = 'click'),
		    (SELECT events_30d FROM analytics.top_events WHERE project_id = $1 AND name = 'click'),
		    (SELECT sum(pageviews_7d) FROM analytics.top_referrers WHERE project_id = $1),
		    (SELECT sum(pageviews_30d) FROM analytics.top_referrers WHERE project_id = $1))`, p)
	if want != "3 5 1 2 2 4" {
		t.Fatalf("%s: independent counts %s, want 3 5 1 2 2 4: the test data is not what it means to be", tz, want)
	}
	if got != want {
		t.Errorf("%s: top_events 7d/30d of $pageview and click, top_referrers 7d/30d = %s; counted from the events %s", tz, got, want)
	}
	pages := scalar[string](t, db.Pool, `
		SELECT string_agg(page || '=' || pageviews_7d || '/' || pageviews_30d, ' ' ORDER BY page)
		FROM analytics.top_pages WHERE project_id = $1`, p)
	if want := "/in30=0/1 /in7=2/2 /out7=0/1 /today=1/1"; pages != want {
		t.Errorf("%s: top_pages = %s, want %s", tz, pages, want)
	}
}
