package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// sessionDailyFromScratch is beacon.session_daily as a GROUP BY over beacon.sessions would count
// it now, in each project's zone: what the incremental recount must equal.
const sessionDailyFromScratch = `
	SELECT s.project_id, (s.first_seen AT TIME ZONE p.timezone)::date AS day, d.dimension, d.value, count(*),
	       count(*) FILTER (WHERE s.pageviews > 0), coalesce(sum(s.pageviews) FILTER (WHERE s.pageviews > 0), 0)::bigint,
	       count(*) FILTER (WHERE s.pageviews > 0 AND s.event_count = 1), sum(extract(epoch FROM s.duration))::numeric(20, 3)
	FROM beacon.sessions s JOIN beacon.projects p USING (project_id)
	CROSS JOIN LATERAL (VALUES ('all', ''), ('entry_page', s.entry_page), ('source', s.source), ('browser', s.browser),
	                           ('os', s.os), ('device', s.device)) d (dimension, value)
	WHERE d.value IS NOT NULL
	GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`

const sessionDailyStored = `
	SELECT project_id, day, dimension, value, sessions, sessions_with_pageviews, pageviews, bounces, duration_seconds::numeric(20, 3)
	FROM beacon.session_daily ORDER BY 1, 2, 3, 4`

func refreshOverview(t *testing.T, db *testdb.DB) {
	t.Helper()
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	exec(t, db.Pool, `SELECT beacon.refresh_analytics()`)
}

func checkSessionDaily(t *testing.T, db *testdb.DB, when string) {
	t.Helper()
	got, want := dump(t, db, sessionDailyStored), dump(t, db, sessionDailyFromScratch)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: session_daily\n got %s\nwant %s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) == 0 {
		t.Fatalf("%s: no sessions", when)
	}
}

// session_daily follows the sessions: a session that goes on past midnight recounts its start day,
// a late event that only touches an old session recounts that day, a zone change recounts all.
func TestSessionDailyFollowsSessions(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	pv := func(session string, ts time.Time, path, ref, browser string) ev {
		return ev{project: p, session: session, anon: "a-" + session, name: "$pageview", ts: ts,
			props: map[string]any{"path": path, "url": "https://site.test" + path, "referrer": ref, "$browser": browser, "os": "Linux"}}
	}
	copyEvents(t, db.Pool,
		pv("s1", today.Add(-2*time.Hour), "/", "https://news.example/", "Firefox"), // yesterday, goes on today
		pv("s2", today.Add(-30*time.Hour), "/pricing", "", "Chrome"),
		ev{project: p, session: "s2", anon: "a-s2", name: "signup", ts: today.Add(-29 * time.Hour)},
		pv("s3", today.Add(time.Hour), "/docs", "", "Chrome"),
	)
	refreshOverview(t, db)
	checkSessionDaily(t, db, "first batch")
	if n := scalar[int](t, db.Pool, `SELECT sessions::int FROM beacon.session_daily WHERE dimension = 'browser' AND value = 'Firefox'`); n != 1 {
		t.Errorf("Firefox sessions %d, want 1 (sessions.browser of the landing pageview)", n)
	}
	before := scalar[string](t, db.Pool, `SELECT duration_seconds::text FROM beacon.session_daily WHERE dimension = 'all' AND day = $1`, today.AddDate(0, 0, -1))

	// s1 goes on today: yesterday's figures change (duration, pageviews, bounce).
	copyEvents(t, db.Pool, pv("s1", today.Add(2*time.Hour), "/pricing", "", "Firefox"))
	refreshOverview(t, db)
	checkSessionDaily(t, db, "after s1 went on past midnight")
	if after := scalar[string](t, db.Pool, `SELECT duration_seconds::text FROM beacon.session_daily WHERE dimension = 'all' AND day = $1`, today.AddDate(0, 0, -1)); after == before {
		t.Errorf("yesterday's duration stayed %s", after)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*)::int FROM beacon.session_dirty`); n != 0 {
		t.Errorf("%d dirty days left", n)
	}

	// A zone change recounts every day in the new zone.
	exec(t, db.Pool, `UPDATE beacon.projects SET timezone = 'Pacific/Kiritimati' WHERE project_id = $1`, p)
	refreshOverview(t, db)
	checkSessionDaily(t, db, "after a zone change")
	if z := scalar[string](t, db.Pool, `SELECT timezone FROM beacon.session_daily_zones WHERE project_id = $1`, p); z != "Pacific/Kiritimati" {
		t.Errorf("zone %s", z)
	}
	for _, src := range []string{"sessions", "periods"} {
		if ok := scalar[bool](t, db.Pool, `SELECT as_of > now() - interval '1 minute' FROM beacon.freshness WHERE source = $1`, src); !ok {
			t.Errorf("freshness of %s not brought up to date", src)
		}
	}
}

// period_stats holds the exact visitors of the four standard periods of each project, as
// analytics.visitors counts them.
func TestPeriodStats(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now().UTC()
	var evs []ev
	for i := range 70 {
		evs = append(evs, ev{project: p, session: fmt.Sprint("s", i), anon: fmt.Sprint("a", i%23), name: "$pageview",
			ts: now.Add(-time.Duration(i) * 20 * time.Hour)})
	}
	copyEvents(t, db.Pool, evs...)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1', '{}')`, p) // an alias: people, not ids
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a2', 'u1', '{}')`, p)
	refreshOverview(t, db)
	got := dump(t, db, `SELECT first_day, last_day, visitors FROM beacon.period_stats WHERE project_id = '`+p+`' ORDER BY 1, 2`)
	want := dump(t, db, `
		SELECT x.f, x.l, v.visitors FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS d) t,
		LATERAL (VALUES (t.d - 59, t.d - 30), (t.d - 29, t.d), (t.d - 13, t.d - 7), (t.d - 6, t.d)) x (f, l),
		LATERAL analytics.visitors('`+p+`', x.f, x.l) v ORDER BY 1, 2`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("period_stats\n got %s\nwant %s", got, want)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(DISTINCT visitors)::int FROM beacon.period_stats`); n < 2 {
		t.Errorf("the periods' visitors do not differ: the data does not exercise them")
	}
}
