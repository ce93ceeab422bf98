package sql_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

func TestRollupsAndViews(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.Add(-24 * time.Hour).Add(10 * time.Hour)
	pv := func(path, ref string, extra ...string) map[string]any {
		m := map[string]any{"url": "https://app.test" + path, "path": path, "referrer": ref}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	copyEvents(t, db.Pool,
		// a1 browses anonymously, then logs in as u1 (later events carry the user id).
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", props: pv("/", "https://news.example/x", "$browser", "Firefox"), ts: yesterday},
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", props: pv("/pricing", "https://app.test/"), ts: yesterday.Add(time.Minute)},
		ev{project: p, session: "s1", anon: "a1", user: ptr("u1"), name: "signup", ts: yesterday.Add(2 * time.Minute)},
		// a2 stays anonymous.
		ev{project: p, session: "s2", anon: "a2", name: "$pageview", props: pv("/", "", "$browser", "Chrome"), ts: yesterday.Add(time.Hour)},
		// u1 again on another device (anon a3, identified).
		ev{project: p, session: "s3", anon: "a3", user: ptr("u1"), name: "$pageview", props: pv("/pricing", ""), ts: yesterday.Add(2 * time.Hour)},
	)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1')`, p)
	exec(t, db.Pool, `CALL beacon.maintain()`)

	if got := scalar[string](t, db.Pool, `
		SELECT string_agg(to_char(hour AT TIME ZONE 'UTC', 'HH24') || ' ' || name || '=' || events, ', ' ORDER BY hour, name)
		FROM beacon.rollup_hourly WHERE project_id = $1`, p); got != "10 $pageview=2, 10 signup=1, 11 $pageview=1, 12 $pageview=1" {
		t.Errorf("hourly = %s", got)
	}
	if got := scalar[string](t, db.Pool, `
		SELECT events || ' ' || pageviews || ' ' || visitors || ' ' || users || ' ' || sessions
		FROM analytics.daily WHERE project_id = $1 AND day = $2::date`, p, yesterday); got != "5 4 2 1 3" {
		t.Errorf("daily events/pageviews/visitors/users/sessions = %s, want 5 4 2 1 3", got)
	}
	if got := scalar[string](t, db.Pool, `
		SELECT string_agg(dimension || ':' || value || '=' || pageviews_30d, ', ' ORDER BY dimension, value)
		FROM beacon.mv_top_values_local WHERE project_id = $1`, p); got != "browser:Chrome=1, browser:Firefox=1, page:/=2, page:/pricing=2, referrer:(direct)=2, referrer:news.example=1" {
		t.Errorf("top values = %s", got)
	}
	if got := scalar[string](t, db.Pool, `
		SELECT string_agg(name || '=' || events_30d, ', ' ORDER BY events_30d DESC, name)
		FROM beacon.mv_event_names_local WHERE project_id = $1`, p); got != "$pageview=4, signup=1" {
		t.Errorf("event names = %s", got)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.rollup_pending`); n != 0 {
		t.Errorf("%d pending rows after maintain, want 0", n)
	}
}

// The rollups are brought up to date from the events inserted since the last run, not from
// history: the fold reports (and handles) only the new events, the materialized views are defined
// on the rollup tables alone and read only their window, and the daily figures recount only the
// days that changed.
func TestRollupRefreshTouchesOnlyRecentData(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	now := time.Now().UTC()
	batch := make([]ev, 2000)
	for i := range batch {
		batch[i] = ev{project: p, session: "s", anon: "a", name: "e", ts: now.Add(-time.Duration(i) * time.Minute)}
	}
	copyEvents(t, db.Pool, batch...)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	copyEvents(t, db.Pool, batch[:7]...) // new ids, same times: 7 new events
	exec(t, db.Pool, `CALL beacon.maintain()`)
	got := scalar[string](t, db.Pool, `SELECT string_agg(rows::text, ',' ORDER BY log_id) FROM beacon.maintenance_log WHERE step = 'rollup'`)
	if got != "2000,7" {
		t.Errorf("rollup step handled %s events, want 2000,7", got)
	}
	if n := scalar[int64](t, db.Pool, `SELECT sum(events) FROM beacon.rollup_hourly WHERE project_id = $1`, p); n != 2007 {
		t.Errorf("rolled up %d events, want 2007", n)
	}
	// The 7 new events are from the last 7 minutes: one day (two just after midnight UTC).
	if n := scalar[int64](t, db.Pool, `SELECT days_recounted FROM beacon.daily_state`); n < 1 || n > 2 {
		t.Errorf("the refresh after 7 new events recounted %d days, want 1 or 2", n)
	}

	for _, mv := range []string{"beacon.mv_event_names_local", "beacon.mv_top_values_local"} {
		if n := scalar[int](t, db.Pool, `
			SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
			WHERE r.ev_class = $1::regclass AND d.refobjid = 'beacon.events'::regclass`, mv); n != 0 {
			t.Errorf("%s depends on beacon.events", mv)
		}
	}

	// Years of history in the count rollups: refreshing the top lists reads their windows only.
	exec(t, db.Pool, `
		INSERT INTO beacon.rollup_daily_dims (project_id, day, dimension, value, pageviews)
		SELECT $1, current_date - 40 - g / 100, 'page', '/old' || g, 1 FROM generate_series(1, 50000) g`, p)
	exec(t, db.Pool, `
		INSERT INTO beacon.rollup_hourly (project_id, hour, name, events)
		SELECT $1, date_trunc('hour', now()) - interval '40 days' - g * interval '1 hour', 'old', 1 FROM generate_series(1, 50000) g`, p)
	exec(t, db.Pool, `ANALYZE beacon.rollup_daily_dims, beacon.rollup_hourly`)
	for mv, table := range map[string]string{"mv_top_values_local": "rollup_daily_dims", "mv_event_names_local": "rollup_hourly"} {
		def := scalar[string](t, db.Pool, `SELECT definition FROM pg_matviews WHERE schemaname = 'beacon' AND matviewname = $1`, mv)
		plan := scalar[[]byte](t, db.Pool, `EXPLAIN (ANALYZE, FORMAT JSON) `+strings.TrimSuffix(strings.TrimSpace(def), ";"))
		if read := rowsRead(t, plan, table); read > 5000 {
			t.Errorf("refreshing %s read %.0f rows of %s holding 50,000 older ones, want only its 30 days'", mv, read, table)
		}
	}

	// Years of history in the daily id sets; recounting today reads today's rows only.
	exec(t, db.Pool, `
		INSERT INTO beacon.rollup_daily_ids (project_id, day, kind, id)
		SELECT $1, current_date - 100 - g / 100, 'a', 'old' || g FROM generate_series(1, 100000) g`, p)
	exec(t, db.Pool, `ANALYZE beacon.rollup_daily_ids`)
	plan := scalar[[]byte](t, db.Pool, `EXPLAIN (ANALYZE, FORMAT JSON)
		SELECT * FROM beacon.daily_counts(ARRAY[$1::uuid], ARRAY[(now() AT TIME ZONE 'UTC')::date])`, p)
	read := rowsRead(t, plan, "rollup_daily_ids")
	if read > 1000 {
		t.Errorf("recounting today read %.0f rows of rollup_daily_ids holding 100,000 old ones, want only today's", read)
	}
	t.Logf("recounting today read %.0f rollup_daily_ids rows (100,000 on older days)", read)
}

// rowsRead sums the rows a plan's scans of table produced or filtered away.
func rowsRead(t *testing.T, plan []byte, table string) float64 {
	t.Helper()
	var doc []struct{ Plan map[string]any }
	if err := json.Unmarshal(plan, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n map[string]any) float64
	walk = func(n map[string]any) float64 {
		var sum float64
		if n["Relation Name"] == table {
			loops, _ := n["Actual Loops"].(float64)
			rows, _ := n["Actual Rows"].(float64)
			removed, _ := n["Rows Removed by Filter"].(float64)
			sum += (rows + removed) * max(loops, 1)
		}
		if kids, ok := n["Plans"].([]any); ok {
			for _, k := range kids {
				sum += walk(k.(map[string]any))
			}
		}
		return sum
	}
	return walk(doc[0].Plan)
}

func TestURLHost(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	for _, tc := range []struct{ url, want string }{
		{"https://News.Example/x?y#z", "news.example"},
		{"http://user:pw@host.test:8080/p", "host.test"},
		{"https://host.test?q=1", "host.test"},
		{"https://host.test#frag", "host.test"},
		{"android-app://com.example.app/", "com.example.app"},
		{"not a url", ""},
		{"", ""},
	} {
		if got := scalar[*string](t, db.Pool, `SELECT beacon.url_host($1)`, tc.url); deref(got) != tc.want && !(got == nil && tc.want == "") {
			t.Errorf("url_host(%q) = %q, want %q", tc.url, deref(got), tc.want)
		}
	}
	for _, tc := range []struct{ url, ref, want string }{
		{"https://app.test/a", "", "(direct)"},
		{"https://app.test/a", "https://app.test/b", "<nil>"},
		{"https://app.test/a", "https://www.google.com/search?q=x", "www.google.com"},
		{"https://app.test/a", "weird", "weird"},
	} {
		got := scalar[*string](t, db.Pool, `SELECT beacon.referrer_of($2::text, split_part($1::text, '/', 3))`, tc.url, tc.ref)
		if deref(got) != tc.want {
			t.Errorf("referrer_of(%q, site of %q) = %q, want %q", tc.ref, tc.url, deref(got), tc.want)
		}
	}
}
