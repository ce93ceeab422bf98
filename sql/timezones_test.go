package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

const (
	la        = "America/Los_Angeles"
	kathmandu = "Asia/Kathmandu" // +05:45: hours do not start on the UTC hour
)

// tzProject makes a project in time zone tz.
func tzProject(t *testing.T, db *testdb.DB, tz string) string {
	t.Helper()
	return scalar[string](t, db.Pool, `INSERT INTO beacon.projects (name, timezone) VALUES ($1, $1) RETURNING project_id::text`, tz)
}

// aroundMidnights returns the same events for project p whatever its zone: on each of the last
// five days, minutes and half-hours either side of Los Angeles' and UTC's midnights and at noon,
// from a few returning anonymous ids, sessions and one identified user.
func aroundMidnights(p string, today time.Time) []ev {
	laZone, err := time.LoadLocation(la)
	if err != nil {
		panic(err)
	}
	var evs []ev
	for d := 0; d < 5; d++ {
		day := today.AddDate(0, 0, -d)
		laMidnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, laZone)
		utcMidnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		for i, at := range []time.Time{
			laMidnight.Add(-time.Minute), laMidnight.Add(time.Minute), laMidnight.Add(-30 * time.Minute),
			laMidnight.Add(59 * time.Minute), utcMidnight.Add(-time.Minute), utcMidnight.Add(time.Minute),
			utcMidnight.Add(-15 * time.Minute), utcMidnight.Add(12 * time.Hour),
		} {
			e := ev{project: p, session: fmt.Sprintf("s%d-%d", d, i%3), anon: fmt.Sprintf("a%d", (d+i)%6), name: "click", ts: at}
			if i%2 == 0 {
				e.name = "$pageview"
				e.props = map[string]any{"path": fmt.Sprintf("/p%d", i%3), "url": "https://app.test/", "referrer": ""}
			}
			if i == 5 {
				e.user = ptr("u1")
			}
			evs = append(evs, e)
		}
	}
	return evs
}

// dailyVersusRaw lists the differences between analytics.daily of project p and per-day counts
// made from analytics.events with (ts AT TIME ZONE tz)::date.
func dailyVersusRaw(t *testing.T, db *testdb.DB, p, tz string) []string {
	t.Helper()
	return scalar[[]string](t, db.Pool, `
		WITH raw AS (
		    SELECT (ts AT TIME ZONE $2)::date AS day, count(*) AS events,
		           count(*) FILTER (WHERE name = '$pageview') AS pageviews,
		           count(DISTINCT CASE WHEN person_id IS NULL THEN 'anon ' || anon_id ELSE 'user ' || person_id END)
		               FILTER (WHERE person_id IS NOT NULL OR anon_id <> '') AS visitors,
		           count(DISTINCT person_id) AS users,
		           count(DISTINCT session_id) FILTER (WHERE session_id <> '') AS sessions
		    FROM analytics.events WHERE project_id = $1 GROUP BY 1
		), cur AS (
		    SELECT day, events, pageviews, visitors, users, sessions FROM analytics.daily WHERE project_id = $1
		)
		SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM (
		    SELECT 'raw   ' || r::text AS x FROM (TABLE raw EXCEPT TABLE cur) r
		    UNION ALL
		    SELECT 'daily ' || c::text FROM (TABLE cur EXCEPT TABLE raw) c
		) d`, p, tz)
}

// refresh folds (recounting time-zone changes), recounts every changed day and refreshes the
// materialized views.
func refresh(t *testing.T, db *testdb.DB) {
	t.Helper()
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	exec(t, db.Pool, `SELECT beacon.refresh_analytics()`)
}

// Daily figures follow the project's time zone: for projects in Los Angeles, Kathmandu and UTC
// loaded with the same events around midnights, analytics.daily equals the raw per-local-day
// counts on every day; daily_pageviews and the top lists' windows follow the zone too.
func TestDailyFollowsProjectTimezone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	projects := map[string]string{}
	for _, tz := range []string{la, kathmandu, "UTC"} {
		projects[tz] = tzProject(t, db, tz)
		copyEvents(t, db.Pool, aroundMidnights(projects[tz], today)...)
		exec(t, db.Pool, `SELECT beacon.identify($1, 'a2', 'u1')`, projects[tz])
	}
	refresh(t, db)
	for tz, p := range projects {
		if diff := dailyVersusRaw(t, db, p, tz); len(diff) > 0 {
			t.Errorf("%s: analytics.daily differs from the raw per-day counts:\n  %s", tz, strings.Join(diff, "\n  "))
		}
		if n := scalar[int](t, db.Pool, `SELECT count(*) FROM analytics.daily WHERE project_id = $1`, p); n < 5 {
			t.Errorf("%s: %d days in analytics.daily, want at least 5", tz, n)
		}
		got := scalar[string](t, db.Pool, `
			SELECT coalesce(string_agg(day || '=' || n, ' ' ORDER BY day), '') FROM (
			    SELECT day, sum(pageviews) AS n FROM analytics.daily_pageviews WHERE project_id = $1 AND dimension = 'page' GROUP BY 1) x`, p)
		want := scalar[string](t, db.Pool, `
			SELECT coalesce(string_agg(day || '=' || n, ' ' ORDER BY day), '') FROM (
			    SELECT (ts AT TIME ZONE $2)::date AS day, count(*) AS n FROM beacon.events
			    WHERE project_id = $1 AND name = '$pageview' GROUP BY 1) x`, p, tz)
		if got != want {
			t.Errorf("%s: daily_pageviews per day %s, raw %s", tz, got, want)
		}
	}
	// The zone matters for these events: Los Angeles' days are not UTC's.
	if la, utc := scalar[string](t, db.Pool, `SELECT string_agg(day || ':' || events, ' ' ORDER BY day) FROM analytics.daily WHERE project_id = $1`, projects[la]),
		scalar[string](t, db.Pool, `SELECT string_agg(day || ':' || events, ' ' ORDER BY day) FROM analytics.daily WHERE project_id = $1`, projects["UTC"]); la == utc {
		t.Errorf("Los Angeles and UTC give the same days (%s): the test data does not tell the zones apart", la)
	}
	// Kathmandu's hours start at :15 UTC.
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.rollup_hourly WHERE project_id = $1 AND extract(minute FROM hour) <> 15`, projects[kathmandu]); n != 0 {
		t.Errorf("%d Kathmandu hours do not start at :15 UTC", n)
	}
}

// The 7- and 30-day windows of the top lists are calendar days of the project's zone.
func TestTopWindowsFollowProjectTimezone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	assertTopWindows(t, db, tzProject(t, db, la), la)
}

// A time zone is an IANA name from pg_timezone_names: anything else is refused, a name in
// another case is stored as spelled there.
func TestProjectTimezoneIsChecked(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	if tz := scalar[string](t, db.Pool, `SELECT timezone FROM analytics.projects WHERE project_id = $1`, p); tz != "UTC" {
		t.Errorf("default time zone %q, want UTC", tz)
	}
	if tz := scalar[string](t, db.Pool, `SELECT beacon.set_project_timezone($1, 'america/los_angeles')`, p); tz != la {
		t.Errorf("set_project_timezone returned %q, want %s", tz, la)
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "", "+05:00"} {
		_, err := db.Pool.Exec(ctx(t), `SELECT beacon.set_project_timezone($1, $2)`, p, bad)
		wantErr(t, err, "22023", "unknown time zone '"+bad+"': use an IANA name from pg_timezone_names")
		_, err = db.Pool.Exec(ctx(t), `INSERT INTO beacon.projects (name, timezone) VALUES ('x', $1)`, bad)
		wantErr(t, err, "22023", "unknown time zone")
	}
	_, err := db.Pool.Exec(ctx(t), `SELECT beacon.set_project_timezone(gen_random_uuid(), 'UTC')`)
	wantErr(t, err, "P0002", "no project")
	if tz := scalar[string](t, db.Pool, `SELECT timezone FROM beacon.projects WHERE project_id = $1`, p); tz != la {
		t.Errorf("time zone after refused changes %q, want %s", tz, la)
	}
}

// rollupsOf renders a project's rollup rows, without its id, to compare two projects.
func rollupsOf(t *testing.T, db *testdb.DB, p string) string {
	t.Helper()
	return scalar[string](t, db.Pool, `
		SELECT concat_ws(E'\n',
		    (SELECT string_agg(hour || ' ' || name || ' ' || events, ', ' ORDER BY hour, name) FROM beacon.rollup_hourly WHERE project_id = $1),
		    (SELECT string_agg(day || ' ' || dimension || ' ' || value || ' ' || pageviews, ', ' ORDER BY day, dimension, value) FROM beacon.rollup_daily_dims WHERE project_id = $1),
		    (SELECT string_agg(day || ' ' || kind::text || ' ' || id, ', ' ORDER BY day, kind, id) FROM beacon.rollup_daily_ids WHERE project_id = $1))`, p)
}

// A change of time zone recounts the project: its rollups become exactly those of a project that
// was in the new zone from the start, and analytics.daily the raw per-day counts in the new zone.
// An insert still open when the zone changes (it read the old zone) makes the change wait, and
// after 5 s refuse; once it has committed, the change goes through and the insert is recounted.
func TestTimezoneChangeRecounts(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	ref := map[string]string{}
	for _, tz := range []string{la, kathmandu, "UTC"} {
		ref[tz] = tzProject(t, db, tz)
	}
	p := tzProject(t, db, "UTC")
	for _, q := range []string{p, ref[la], ref[kathmandu], ref["UTC"]} {
		copyEvents(t, db.Pool, aroundMidnights(q, today)...)
	}
	refresh(t, db)

	// An insert in flight: it read the zone (UTC) and has not committed.
	tx, err := conn(t, db).Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	late := ev{project: p, session: "late", anon: "late", name: "$pageview", ts: today.Add(3 * time.Hour), props: map[string]any{"path": "/late"}}
	copyEvents(t, tx, late)
	start := time.Now()
	_, err = db.Pool.Exec(ctx(t), `SELECT beacon.set_project_timezone($1, $2)`, p, la)
	wantErr(t, err, "55P03", "time zone of project "+p+" not changed: inserts into beacon.events kept beacon.rollup_pending locked for 5 s")
	if waited := time.Since(start); waited < 4*time.Second {
		t.Errorf("the refused change waited %v, want 5 s", waited)
	}
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	exec(t, db.Pool, `SELECT beacon.set_project_timezone($1, $2)`, p, la)
	for _, q := range ref {
		late.project = q
		copyEvents(t, db.Pool, late)
	}
	refresh(t, db)
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.timezone_recounts`); n != 0 {
		t.Fatalf("%d recounts still queued after maintain()", n)
	}

	for _, tz := range []string{la, kathmandu, "UTC"} {
		if tz != la {
			exec(t, db.Pool, `UPDATE beacon.projects SET timezone = $2 WHERE project_id = $1`, p, tz)
			refresh(t, db)
		}
		if got, want := rollupsOf(t, db, p), rollupsOf(t, db, ref[tz]); got != want {
			t.Errorf("after the change to %s the rollups are\n%s\nwant those of a project in %s from the start:\n%s", tz, got, tz, want)
		}
		if diff := dailyVersusRaw(t, db, p, tz); len(diff) > 0 {
			t.Errorf("after the change to %s analytics.daily differs from the raw per-day counts:\n  %s", tz, strings.Join(diff, "\n  "))
		}
		if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.rollup_pending`); n != 0 {
			t.Errorf("%d pending rows after maintain", n)
		}
	}
}

// A session's day, in analytics.sessions and analytics.daily_sessions, is the calendar day it
// started in the project's time zone, as every daily figure is.
func TestSessionDayFollowsProjectTimezone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	la, utc := newProject(t, db.Pool), newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.set_project_timezone($1, 'America/Los_Angeles')`, la)
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC) // 19:00 on 1 January in Los Angeles
	for _, p := range []string{la, utc} {
		copyEvents(t, db.Pool, ev{project: p, session: "s", anon: "a", name: "$pageview", props: map[string]any{"path": "/"}, ts: start})
	}
	for p, want := range map[string]string{la: "2026-01-01", utc: "2026-01-02"} {
		if got := scalar[string](t, db.Pool, `SELECT day::text FROM analytics.sessions WHERE project_id = $1`, p); got != want {
			t.Errorf("analytics.sessions.day = %s, want %s", got, want)
		}
		if got := scalar[string](t, db.Pool, `SELECT day::text FROM analytics.daily_sessions WHERE project_id = $1`, p); got != want {
			t.Errorf("analytics.daily_sessions.day = %s, want %s", got, want)
		}
	}
}
