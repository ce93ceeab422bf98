package sql_test

import (
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// freshness returns analytics.freshness's as_of and refreshed_at of view.
func freshness(t *testing.T, q querier, view string) (asOf, refreshed time.Time) {
	t.Helper()
	if err := q.QueryRow(ctx(t), `SELECT as_of, coalesce(refreshed_at, '-infinity') FROM analytics.freshness WHERE view_name = $1`, view).Scan(&asOf, &refreshed); err != nil {
		t.Fatalf("freshness of %s: %v", view, err)
	}
	return asOf, refreshed
}

// TestFreshnessMovesAfterRefresh: each stored view says which aggregate keeps it, and its as_of
// moves past an event's commit exactly when that event is counted.
func TestFreshnessMovesAfterRefresh(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	kept := scalar[map[string]string](t, db.Pool, `SELECT jsonb_object_agg(view_name, kept_by) FROM analytics.freshness`)
	for view, want := range map[string]string{"daily": "daily", "top_pages": "top", "top_events": "top", "hourly_events": "rollups", "daily_pageviews": "rollups", "events": "live"} {
		if kept[view] != want {
			t.Errorf("%s kept by %q, want %q", view, kept[view], want)
		}
	}

	copyEvents(t, db.Pool, ev{project: p, session: "s", anon: "a", name: "$pageview", props: map[string]any{"path": "/x"}, ts: time.Now()})
	committed := scalar[time.Time](t, db.Pool, `SELECT clock_timestamp()`)
	if asOf, _ := freshness(t, db.Pool, "daily"); !asOf.Before(committed) {
		t.Fatalf("daily as of %v before the refresh, after the commit at %v", asOf, committed)
	}
	exec(t, db.Pool, `UPDATE beacon.freshness SET refreshed_at = '-infinity'`) // as if refresh_interval had passed
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	for _, view := range []string{"daily", "top_pages", "hourly_events"} {
		if asOf, refreshed := freshness(t, db.Pool, view); asOf.Before(committed) || refreshed.Before(committed) {
			t.Errorf("%s as of %v, refreshed %v: not after the commit at %v", view, asOf, refreshed, committed)
		}
	}
	if n := scalar[int](t, db.Pool, `SELECT coalesce(sum(pageviews), 0) FROM analytics.daily WHERE project_id = $1`, p); n != 1 {
		t.Errorf("daily pageviews = %d after the refresh, want 1", n)
	}
	if d := scalar[time.Duration](t, db.Pool, `SELECT last_refresh_duration FROM analytics.freshness WHERE view_name = 'top_pages'`); d <= 0 {
		t.Errorf("top_pages last_refresh_duration = %v", d)
	}
}

// TestKeepFreshPacesItself: within refresh_interval of the last refresh a tick folds the rollups
// (hourly_events follows at once) but leaves daily as it was, and says so in as_of; once the
// interval has passed, the next tick brings daily up to date. This is the bound docs/bi.md gives:
// refresh_interval (or 4 times the last refresh, if longer) plus the relay's 1-second tick.
func TestKeepFreshPacesItself(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '10 minutes'`) // no real clock can pass it mid-test
	exec(t, db.Pool, `UPDATE beacon.freshness SET refreshed_at = '-infinity'`)     // the first tick refreshes all
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)

	copyEvents(t, db.Pool, ev{project: p, session: "s", anon: "a", name: "e", ts: time.Now()})
	committed := scalar[time.Time](t, db.Pool, `SELECT clock_timestamp()`)
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	if n := scalar[int](t, db.Pool, `SELECT coalesce(sum(events), 0) FROM analytics.hourly_events WHERE project_id = $1`, p); n != 1 {
		t.Errorf("hourly_events = %d one tick after the commit, want 1", n)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM analytics.daily WHERE project_id = $1`, p); n != 0 {
		t.Errorf("daily refreshed within refresh_interval (%d rows)", n)
	}
	if asOf, _ := freshness(t, db.Pool, "daily"); !asOf.Before(committed) {
		t.Errorf("daily claims to be as of %v, after the commit at %v it does not count", asOf, committed)
	}

	exec(t, db.Pool, `UPDATE beacon.freshness SET refreshed_at = refreshed_at - interval '10 minutes'`) // the interval passes
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	if n := scalar[int](t, db.Pool, `SELECT coalesce(sum(events), 0) FROM analytics.daily WHERE project_id = $1`, p); n != 1 {
		t.Errorf("daily events = %d on the first tick after refresh_interval, want 1", n)
	}
	if asOf, _ := freshness(t, db.Pool, "daily"); asOf.Before(committed) {
		t.Errorf("daily as of %v, before the commit at %v it now counts", asOf, committed)
	}

	// A costly refresh waits 4 times its duration even when the interval is shorter.
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '1 second'`)
	exec(t, db.Pool, `UPDATE beacon.freshness SET took = interval '10 minutes', refreshed_at = now() - interval '30 minutes' WHERE source = 'daily'`)
	copyEvents(t, db.Pool, ev{project: p, session: "s", anon: "a", name: "e", ts: time.Now()})
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	if n := scalar[int](t, db.Pool, `SELECT coalesce(sum(events), 0) FROM analytics.daily WHERE project_id = $1`, p); n != 1 {
		t.Errorf("daily events = %d: refreshed 30 min after a 10 min refresh, want it to wait 40 min", n)
	}
}

// TestReaderRefreshRequest: a BI login asks for a refresh; the next tick serves it although nothing
// is due; a second request within 10 s is refused with the time to ask again; an open transaction
// holding a request blocks nobody.
func TestReaderRefreshRequest(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '10 minutes'`)
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	_, before := freshness(t, db.Pool, "top_pages")

	reader := as(t, db, "beacon_reader")
	var accepted bool
	var next time.Time
	if err := reader.QueryRow(ctx(t), `SELECT accepted, next_accepted_at FROM analytics.refresh()`).Scan(&accepted, &next); err != nil || !accepted {
		t.Fatalf("first request: accepted=%v, %v", accepted, err)
	}
	exec(t, db.Pool, `SELECT beacon.keep_fresh()`)
	if _, after := freshness(t, db.Pool, "top_pages"); !after.After(before) {
		t.Errorf("top_pages refreshed at %v, %v before the request: the request was not served", after, before)
	}
	if _, after := freshness(t, db.Pool, "daily"); !after.After(before) {
		t.Errorf("daily not refreshed for the request")
	}

	var again time.Time
	if err := reader.QueryRow(ctx(t), `SELECT accepted, next_accepted_at FROM analytics.refresh()`).Scan(&accepted, &again); err != nil || accepted {
		t.Fatalf("second request within 10 s: accepted=%v, %v", accepted, err)
	}
	if d := again.Sub(next); d < -time.Second || d > time.Second {
		t.Errorf("refused request says ask again at %v, the accepted one said %v", again, next)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.refresh_requests`); n != 1 {
		t.Errorf("%d requests recorded, want 1 (the refused one is not)", n)
	}

	// An uncommitted request (a reader inside BEGIN) holds nothing keep_fresh waits for.
	exec(t, db.Pool, `UPDATE beacon.refresh_requests SET requested_at = requested_at - interval '1 minute'`)
	tx, err := reader.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx(t))
	exec(t, tx, `SELECT analytics.refresh()`)
	other := conn(t, db)
	exec(t, other, `SET statement_timeout = '3s'`)
	exec(t, other, `SELECT beacon.keep_fresh()`)
	exec(t, other, `SELECT beacon.keep_fresh()`)
}

// TestMaintainRefreshStepSkipsWhileKeepFreshRuns: the two share the refresh lock (1113940323, 5):
// maintain() goes on with its other steps instead of waiting.
func TestMaintainRefreshStepSkipsWhileKeepFreshRuns(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	holder := conn(t, db)
	tx, err := holder.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx(t))
	exec(t, tx, `SELECT pg_advisory_xact_lock(1113940323, 5)`)
	if n := scalar[int](t, db.Pool, `SELECT beacon.refresh_analytics()`); n != 0 {
		t.Errorf("refresh_analytics() refreshed %d while another session held the refresh lock", n)
	}
	exec(t, db.Pool, `CALL beacon.maintain()`)
}
