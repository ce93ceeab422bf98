package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// filterDailyFromScratch is beacon.session_filter_daily as one GROUP BY over every session and
// its events would count it now, in each project's zone.
const filterDailyFromScratch = `
	WITH s AS (
		SELECT s.*, p.timezone AS tz, (s.first_seen AT TIME ZONE p.timezone)::date AS start_day
		FROM beacon.sessions s JOIN beacon.projects p USING (project_id) WHERE isfinite(s.first_seen)
	), dims AS (
		SELECT s.*, d.dimension, d.value FROM s
		CROSS JOIN LATERAL (VALUES ('entry_page', s.entry_page), ('source', s.source), ('browser', s.browser),
		                           ('os', s.os), ('device', s.device)) d (dimension, value)
		WHERE d.value IS NOT NULL
	)
	SELECT x.project_id, x.dimension, x.value, x.day, x.target, x.item, x.start_day, count(*) FROM (
		SELECT s.project_id, s.dimension, s.value, (e.ts AT TIME ZONE s.tz)::date AS day, t.target, t.item, s.start_day
		FROM dims s JOIN beacon.events e ON e.project_id = s.project_id AND e.session_id = s.session_id
		CROSS JOIN LATERAL (VALUES
			('name', left(e.name, 200)),
			('page', CASE WHEN e.name = '$pageview' THEN beacon.page_of(e.props->>'path', e.props->>'url') END),
			('browser', CASE WHEN e.name = '$pageview' THEN left(coalesce(e.props->>'$browser', e.props->>'browser'), 200) END),
			('os', CASE WHEN e.name = '$pageview' THEN left(coalesce(e.props->>'$os', e.props->>'os'), 200) END),
			('device', CASE WHEN e.name = '$pageview' THEN left(coalesce(e.props->>'$device', e.props->>'device'), 200) END)) t (target, item)
		WHERE t.item IS NOT NULL
		UNION ALL
		SELECT s.project_id, s.dimension, s.value, s.start_day, t.target, t.item, s.start_day
		FROM dims s CROSS JOIN LATERAL (VALUES ('entry_page', s.entry_page), ('source', s.source)) t (target, item)
		WHERE t.item IS NOT NULL
	) x GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7`

const filterDailyStored = `
	SELECT project_id, dimension, value, day, target, item, start_day, n FROM beacon.session_filter_daily ORDER BY 1, 2, 3, 4, 5, 6, 7`

const filterIDsFromScratch = `
	SELECT DISTINCT s.project_id, d.dimension, d.value, (e.ts AT TIME ZONE p.timezone)::date,
	       CASE WHEN e.user_id IS NOT NULL THEN 'u' ELSE 'a' END, coalesce(e.user_id, e.anon_id),
	       (s.first_seen AT TIME ZONE p.timezone)::date
	FROM beacon.sessions s JOIN beacon.projects p USING (project_id)
	JOIN beacon.events e ON e.project_id = s.project_id AND e.session_id = s.session_id
	CROSS JOIN LATERAL (VALUES ('entry_page', s.entry_page), ('source', s.source), ('browser', s.browser),
	                           ('os', s.os), ('device', s.device)) d (dimension, value)
	WHERE d.value IS NOT NULL AND coalesce(e.user_id, nullif(e.anon_id, '')) IS NOT NULL
	  AND octet_length(coalesce(e.user_id, e.anon_id)) <= 1000
	ORDER BY 1, 2, 3, 4, 5, 6, 7`

const filterIDsStored = `
	SELECT project_id, dimension, value, day, kind::text, id, start_day FROM beacon.session_filter_ids ORDER BY 1, 2, 3, 4, 5, 6, 7`

// checkFilterRollups compares the stored per-dimension figures with a count from scratch, and the
// overview read from them (beacon.overview_filtered) with the one counted from the events
// (beacon.overview_live) for every dimension value, by days and by months.
func checkFilterRollups(t *testing.T, db *testdb.DB, p, when string) {
	t.Helper()
	for _, q := range [][2]string{{filterDailyStored, filterDailyFromScratch}, {filterIDsStored, filterIDsFromScratch}} {
		got, want := dump(t, db, q[0]), dump(t, db, q[1])
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: %s\n got %s\nwant %s", when, oneLine(q[0]), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(want) == 0 {
			t.Fatalf("%s: nothing counted", when)
		}
	}
	values := dump(t, db, `SELECT DISTINCT d.dimension || '=' || d.value FROM beacon.sessions s
		CROSS JOIN LATERAL (VALUES ('entry_page', s.entry_page), ('source', s.source), ('browser', s.browser),
		                           ('os', s.os), ('device', s.device)) d (dimension, value)
		WHERE d.value IS NOT NULL ORDER BY 1`)
	if len(values) < 10 {
		t.Fatalf("%s: only %d dimension values: the data does not exercise the filters", when, len(values))
	}
	for _, dv := range values {
		dim, val, _ := strings.Cut(strings.Trim(dv, "[]"), "=")
		for _, c := range []struct {
			step       string
			first, len int
		}{{"day", 6, 7}, {"day", 3, 2}, {"month", 62, 63}} {
			q := fmt.Sprintf(`
				WITH r AS (SELECT p.timezone AS tz, (now() AT TIME ZONE p.timezone)::date - %d AS f,
				                  (now() AT TIME ZONE p.timezone)::date - %d + %d AS l
				           FROM beacon.projects p WHERE p.project_id = $1)
				SELECT beacon.overview_filtered($1, r.tz, r.f, r.l, '%s', $2, $3, w.what, 10)
				       = beacon.overview_live($1, r.tz, r.f::timestamp AT TIME ZONE r.tz, (r.l + 1)::timestamp AT TIME ZONE r.tz,
				                              '%s', jsonb_build_object($2::text, $3::text), w.what, 10),
				       w.what, beacon.overview_filtered($1, r.tz, r.f, r.l, '%s', $2, $3, w.what, 10)::text,
				       beacon.overview_live($1, r.tz, r.f::timestamp AT TIME ZONE r.tz, (r.l + 1)::timestamp AT TIME ZONE r.tz,
				                              '%s', jsonb_build_object($2::text, $3::text), w.what, 10)::text
				FROM r, unnest(ARRAY['all', 'totals', 'sources']) w (what)`,
				c.first, c.first, c.len-1, c.step, c.step, c.step, c.step)
			rows, err := db.Pool.Query(ctx(t), q, p, dim, val)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			for rows.Next() {
				var same bool
				var what, got, want string
				if err := rows.Scan(&same, &what, &got, &want); err != nil {
					t.Fatal(err)
				}
				if !same {
					t.Errorf("%s: %s=%s by %s (%s)\nstored %s\n  live %s", when, dim, val, c.step, what, got, want)
				}
			}
			rows.Close()
		}
	}
}

// The filtered overview's stored figures follow the sessions and their events: late events that
// change a session's landing page (and so its dimensions) or carry it past midnight, identities,
// and a change of zone.
func TestSessionFilterRollups(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	browsers, oses, devices := []string{"Firefox", "Chrome", "Safari"}, []string{"Linux", "iOS"}, []string{"desktop", "mobile"}
	refs := []string{"", "https://news.example/x", "https://search.example/?q=1"}
	pages := []string{"/", "/pricing", "/docs"}
	var evs []ev
	for i := range 60 {
		start := today.AddDate(0, 0, -(i % 40)).Add(time.Duration(i*37%1440) * time.Minute)
		if start.After(now) {
			start = now.Add(-time.Duration(i) * time.Minute)
		}
		sid, anon := fmt.Sprint("s", i), fmt.Sprint("a", i%17)
		var user *string
		if i%6 == 0 {
			u := fmt.Sprint("u", i%4)
			user = &u
		}
		for j := range 1 + i%4 {
			e := ev{project: p, session: sid, anon: anon, user: user, name: "$pageview", ts: start.Add(time.Duration(j*13) * time.Minute),
				props: map[string]any{"path": pages[(i+j)%3], "$browser": browsers[(i+j)%3], "os": oses[i%2], "$device": devices[(i/2)%2]}}
			if j == 0 {
				e.props["referrer"] = refs[i%3]
			}
			if j == 2 {
				e.name, e.props = "signup", map[string]any{"plan": "pro"}
			}
			evs = append(evs, e)
		}
	}
	evs = append(evs, ev{project: p, session: "s-empty", anon: "", name: "$pageview", ts: now.Add(-time.Hour),
		props: map[string]any{"path": "/", "$browser": "Firefox"}})
	copyEvents(t, db.Pool, evs...)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1', '{}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a2', 'u1', '{}')`, p)
	refreshOverview(t, db)
	checkFilterRollups(t, db, p, "first batch")

	// Late events: an earlier landing page for s1 (its browser, source and entry page change), and
	// s2 going on past midnight, then merged users.
	s1 := scalar[time.Time](t, db.Pool, `SELECT first_seen FROM beacon.sessions WHERE session_id = 's1'`)
	s2 := scalar[time.Time](t, db.Pool, `SELECT last_seen FROM beacon.sessions WHERE session_id = 's2'`)
	copyEvents(t, db.Pool,
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", ts: s1.Add(-time.Minute),
			props: map[string]any{"path": "/landing", "$browser": "Edge", "referrer": "https://late.example/"}},
		ev{project: p, session: "s2", anon: "a2", name: "$pageview", ts: s2.Add(20 * time.Minute),
			props: map[string]any{"path": "/late", "$browser": "Chrome"}})
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a5', 'u2', '{}')`, p)
	refreshOverview(t, db)
	checkFilterRollups(t, db, p, "after late events")
	if n := scalar[int](t, db.Pool, `SELECT count(*)::int FROM beacon.session_filter_daily WHERE dimension = 'browser' AND value = 'Edge'`); n == 0 {
		t.Errorf("s1's new landing browser Edge not counted")
	}

	exec(t, db.Pool, `UPDATE beacon.projects SET timezone = 'America/Los_Angeles' WHERE project_id = $1`, p)
	refreshOverview(t, db)
	checkFilterRollups(t, db, p, "after a zone change")
}
