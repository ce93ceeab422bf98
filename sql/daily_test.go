package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// fromScratchDaily is the query beacon.mv_daily ran (pre-baseline migration 005), with days and
// windows in each project's time zone: every day of the window recounted from the rollups.
// beacon.daily_stats must always hold exactly its rows.
const fromScratchDaily = `
WITH ev AS (
    SELECT h.project_id, (h.hour AT TIME ZONE coalesce(pr.timezone, 'UTC'))::date AS day,
           sum(h.events) AS events,
           coalesce(sum(h.events) FILTER (WHERE h.name = '$pageview'), 0) AS pageviews
    FROM beacon.rollup_hourly h LEFT JOIN beacon.projects pr ON pr.project_id = h.project_id
    WHERE h.hour >= beacon.view_since()::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2
), people AS (
    SELECT i.project_id, i.day, i.kind, i.id,
           CASE i.kind WHEN 'u' THEN coalesce(u.merged_into, i.id)
                       WHEN 'a' THEN coalesce(u.merged_into, a.user_id) END AS person
    FROM beacon.rollup_daily_ids i
    LEFT JOIN beacon.aliases a ON i.kind = 'a' AND a.project_id = i.project_id AND a.anon_id = i.id
    LEFT JOIN beacon.users u ON u.project_id = i.project_id
                            AND u.user_id = CASE i.kind WHEN 'u' THEN i.id WHEN 'a' THEN a.user_id END
    WHERE i.day >= beacon.view_since()
), ids AS (
    SELECT p.project_id, p.day,
           count(DISTINCT (p.person IS NULL, coalesce(p.person, p.id))) FILTER (WHERE p.kind <> 's') AS visitors,
           count(DISTINCT p.person) AS users,
           count(*) FILTER (WHERE p.kind = 's') AS sessions
    FROM people p
    GROUP BY 1, 2
)
SELECT coalesce(ev.project_id, ids.project_id) AS project_id,
       coalesce(ev.day, ids.day) AS day,
       coalesce(ev.events, 0)::bigint AS events,
       coalesce(ev.pageviews, 0)::bigint AS pageviews,
       coalesce(ids.visitors, 0) AS visitors,
       coalesce(ids.users, 0) AS users,
       coalesce(ids.sessions, 0) AS sessions
FROM ev FULL JOIN ids ON ids.project_id = ev.project_id AND ids.day = ev.day
WHERE coalesce(ev.day, ids.day) >= beacon.view_since(coalesce(
          (SELECT p.timezone FROM beacon.projects p WHERE p.project_id = coalesce(ev.project_id, ids.project_id)), 'UTC'))`

// assertDailyFromScratch fails the test when analytics.daily differs from a recount of the
// whole window.
func assertDailyFromScratch(t *testing.T, q querier, when string) {
	t.Helper()
	diff := scalar[[]string](t, q, `
		WITH ref AS (`+fromScratchDaily+`), cur AS (SELECT * FROM analytics.daily)
		SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM (
		    SELECT 'missing ' || r::text AS x FROM (TABLE ref EXCEPT TABLE cur) r
		    UNION ALL
		    SELECT 'extra   ' || c::text FROM (TABLE cur EXCEPT TABLE ref) c
		) d`)
	if len(diff) > 0 {
		t.Errorf("%s: analytics.daily differs from a from-scratch count:\n  %s", when, strings.Join(diff, "\n  "))
	}
}

// genEvents inserts n events evenly over [from, from+span) on the server, through beacon.events'
// triggers: 10 events per session (session ids unique per tag), anon ids from a pool of 300
// shared by every day (returning visitors), a fifth of sessions identified as one of 60 users,
// 60 % page views. The same (n, span) gives the same ids whatever the day.
func genEvents(t *testing.T, q querier, project, tag string, from time.Time, span time.Duration, n int) {
	t.Helper()
	exec(t, q, `
		INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, user_id, name, props, ts, received_at)
		SELECT $1::uuid, gen_random_uuid(), 's-' || $2 || '-' || (i / 10), 'a-' || ((i / 10) * 7919 % 300),
		       CASE WHEN (i / 10) % 5 = 0 THEN 'u-' || ((i / 10) * 7919 % 60) END,
		       CASE WHEN i % 10 < 6 THEN '$pageview' ELSE 'click' END, '{}', t, t
		FROM generate_series(0, $3::int - 1) i,
		     LATERAL (SELECT $4::timestamptz + i * ($5::bigint * interval '1 microsecond')) x (t)`,
		project, tag, n, from, span.Microseconds()/int64(n))
}

// dailyWork is what one refresh_daily() did, by its own account and by EXPLAIN ANALYZE of the
// recount it ran.
type dailyWork struct {
	recounted, idRows, hourRows int64
	explainIDs, explainHours    float64
	fullWindowIDs               float64 // what a from-scratch count (the old matview) reads
}

// TestDailyRefreshIndependentOfHistory: after 3 and after 10 days of history, one new hour of
// events makes refresh_daily() recount the same one day and read the same rollup rows. A count of
// the whole window — what REFRESH MATERIALIZED VIEW mv_daily did — reads ~3x more with 10 days.
func TestDailyRefreshIndependentOfHistory(t *testing.T) {
	t.Parallel()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	work := map[int]dailyWork{}
	for _, days := range []int{3, 10} {
		db := testdb.New(t)
		p := newProject(t, db.Pool)
		exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
		exec(t, db.Pool, `SELECT beacon.ensure_partitions($1, 2)`, days+1)
		// History: full days before today, then today until noon (the clock does not matter:
		// rows in the future are counted like the others).
		for d := days; d >= 1; d-- {
			genEvents(t, db.Pool, p, fmt.Sprint("d", d), today.AddDate(0, 0, -d), 24*time.Hour, 2400)
		}
		genEvents(t, db.Pool, p, "d0", today, 12*time.Hour, 1200)
		exec(t, db.Pool, `CALL beacon.maintain()`)
		assertDailyFromScratch(t, db.Pool, fmt.Sprintf("%d days of history", days))
		if n := scalar[int](t, db.Pool, `SELECT count(*) FROM analytics.daily WHERE project_id = $1`, p); n != days+1 {
			t.Fatalf("%d days in analytics.daily, want %d", n, days+1)
		}
		exec(t, db.Pool, `ANALYZE`)

		// One new hour: today 12:00–13:00.
		genEvents(t, db.Pool, p, "new", today.Add(12*time.Hour), time.Hour, 100)
		exec(t, db.Pool, `SELECT beacon.fold_rollups()`)
		pairs := scalar[string](t, db.Pool, `SELECT string_agg(project_id || ' ' || day, ', ') FROM beacon.daily_dirty`)
		if want := p + " " + today.Format("2006-01-02"); pairs != want {
			t.Fatalf("dirty days after the new hour = %q, want %q", pairs, want)
		}
		ps := scalar[string](t, db.Pool, `SELECT array_agg(project_id)::text FROM beacon.daily_dirty`)
		ds := scalar[string](t, db.Pool, `SELECT array_agg(day)::text FROM beacon.daily_dirty`)
		plan := scalar[[]byte](t, db.Pool, `EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM beacon.daily_counts($1::uuid[], $2::date[])`, ps, ds)
		var w dailyWork
		w.explainIDs = rowsRead(t, plan, "rollup_daily_ids")
		w.explainHours = rowsRead(t, plan, "rollup_hourly")
		w.recounted = scalar[int64](t, db.Pool, `SELECT beacon.refresh_daily()`)
		w.idRows = scalar[int64](t, db.Pool, `SELECT id_rows_read FROM beacon.daily_state`)
		w.hourRows = scalar[int64](t, db.Pool, `SELECT hour_rows_read FROM beacon.daily_state`)
		plan = scalar[[]byte](t, db.Pool, `EXPLAIN (ANALYZE, FORMAT JSON) `+fromScratchDaily)
		w.fullWindowIDs = rowsRead(t, plan, "rollup_daily_ids")
		assertDailyFromScratch(t, db.Pool, fmt.Sprintf("%d days of history and a new hour", days))
		t.Logf("%2d days of history, one new hour: refresh_daily recounted %d day(s), read %d rollup_daily_ids and %d rollup_hourly rows "+
			"(EXPLAIN ANALYZE of its recount: %.0f and %.0f); a from-scratch count of the window reads %.0f rollup_daily_ids rows",
			days, w.recounted, w.idRows, w.hourRows, w.explainIDs, w.explainHours, w.fullWindowIDs)
		work[days] = w
	}
	a, b := work[3], work[10]
	if a.recounted != 1 || b.recounted != 1 {
		t.Errorf("days recounted = %d and %d, want 1 and 1", a.recounted, b.recounted)
	}
	if a.idRows != b.idRows || a.hourRows != b.hourRows || a.explainIDs != b.explainIDs || a.explainHours != b.explainHours {
		t.Errorf("refresh work differs with history: 3 days %+v, 10 days %+v", a, b)
	}
	if a.idRows == 0 || float64(a.idRows) != a.explainIDs {
		t.Errorf("refresh_daily reported %d id rows read, EXPLAIN ANALYZE %.0f", a.idRows, a.explainIDs)
	}
	if b.fullWindowIDs < 2.5*a.fullWindowIDs {
		t.Errorf("from-scratch count read %.0f rows with 3 days and %.0f with 10: the history did not grow as intended", a.fullWindowIDs, b.fullWindowIDs)
	}
}

// Identity changes alter past days' uniques; the days concerned are recounted and the table equals
// a from-scratch count after each. So do retention purges and window changes.
func TestDailyFollowsIdentityRetentionAndWindow(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	other := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	exec(t, db.Pool, `SELECT beacon.ensure_partitions(6, 2)`)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	at := func(daysAgo int) time.Time { return today.AddDate(0, 0, -daysAgo).Add(10 * time.Hour) }
	copyEvents(t, db.Pool,
		// 3 days ago: anonymous a1, user u1 (device a9), user u2, anonymous a2.
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", ts: at(3)},
		ev{project: p, session: "s2", anon: "a9", user: ptr("u1"), name: "$pageview", ts: at(3)},
		ev{project: p, session: "s3", anon: "a3", user: ptr("u2"), name: "click", ts: at(3)},
		ev{project: p, session: "s4", anon: "a2", name: "$pageview", ts: at(3)},
		// 2 days ago: anonymous a1 again, u2.
		ev{project: p, session: "s5", anon: "a1", name: "$pageview", ts: at(2)},
		ev{project: p, session: "s6", anon: "a3", user: ptr("u2"), name: "$pageview", ts: at(2)},
		// today: u1, a2.
		ev{project: p, session: "s7", anon: "a9", user: ptr("u1"), name: "$pageview", ts: at(0)},
		ev{project: p, session: "s8", anon: "a2", name: "$pageview", ts: at(0)},
		// another project, 5 days ago and today.
		ev{project: other, session: "x1", anon: "a1", name: "$pageview", ts: at(5)},
		ev{project: other, session: "x2", anon: "a1", name: "$pageview", ts: at(0)},
	)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a9', 'u1'), beacon.identify($1, 'a3', 'u2')`, p)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	assertDailyFromScratch(t, db.Pool, "after load")
	figures := func(daysAgo int) string {
		return scalar[string](t, db.Pool, `
			SELECT coalesce((SELECT events || ' ' || pageviews || ' ' || visitors || ' ' || users || ' ' || sessions
			                 FROM analytics.daily WHERE project_id = $1 AND day = $2::date), '-')`, p, at(daysAgo))
	}
	if got := figures(3); got != "4 3 4 2 4" {
		t.Errorf("3 days ago = %s, want 4 3 4 2 4", got)
	}
	step := func(what, sql string, args ...any) {
		t.Helper()
		exec(t, db.Pool, sql, args...)
		exec(t, db.Pool, `CALL beacon.maintain()`)
		assertDailyFromScratch(t, db.Pool, what)
	}
	recounted := func() int64 { return scalar[int64](t, db.Pool, `SELECT days_recounted FROM beacon.daily_state`) }

	// a1 (anonymous on days 3 and 2) turns out to be u1: day 3 loses a visitor and gains a user
	// (u1 was there), day 2 gains a user. Only those two days are recounted.
	step("identify a1 as u1", `SELECT beacon.identify($1, 'a1', 'u1')`, p)
	if got := figures(3); got != "4 3 3 2 4" {
		t.Errorf("3 days ago after identify = %s, want 4 3 3 2 4", got)
	}
	if got := figures(2); got != "2 2 2 2 2" {
		t.Errorf("2 days ago after identify = %s, want 2 2 2 2 2", got)
	}
	if n := recounted(); n != 2 {
		t.Errorf("identify recounted %d days, want 2 (days 3 and 2 ago)", n)
	}
	// u2 merged into u1: one person on days 3 and 2.
	mergeID := scalar[int64](t, db.Pool, `SELECT beacon.merge_users($1, 'u2', 'u1')`, p)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	assertDailyFromScratch(t, db.Pool, "merge u2 into u1")
	if got := figures(3); got != "4 3 2 1 4" {
		t.Errorf("3 days ago after merge = %s, want 4 3 2 1 4", got)
	}
	if n := recounted(); n != 2 {
		t.Errorf("merge recounted %d days, want 2", n)
	}
	step("unmerge", `SELECT beacon.unmerge_users($1, $2)`, p, mergeID)
	if got := figures(3); got != "4 3 3 2 4" {
		t.Errorf("3 days ago after unmerge = %s, want 4 3 3 2 4", got)
	}
	step("merge again", `SELECT beacon.merge_users($1, 'u2', 'u1')`, p)
	step("delete the merged user", `DELETE FROM beacon.users WHERE project_id = $1 AND user_id = 'u2'`, p)
	step("unalias a1", `SELECT beacon.unalias($1, 'a1')`, p)
	if got := figures(3); got != "4 3 4 2 4" {
		t.Errorf("3 days ago after deleting u2 and unaliasing a1 = %s, want 4 3 4 2 4", got)
	}
	// Nothing changed: nothing recounted.
	exec(t, db.Pool, `SELECT beacon.refresh_daily()`)
	if n := recounted(); n != 0 {
		t.Errorf("an idle refresh recounted %d days", n)
	}
	// A late event for a past day.
	copyEvents(t, db.Pool, ev{project: p, session: "s9", anon: "a7", name: "late", ts: at(3).Add(time.Hour)})
	step("late event", `SELECT 1`)
	if n := recounted(); n != 1 {
		t.Errorf("a late event recounted %d days, want 1", n)
	}

	// Retention shorter than the window: the purged days keep their events, lose their uniques.
	step("retention 2 days", `UPDATE beacon.projects SET retention_days = 2 WHERE project_id = $1`, p)
	if got := figures(3); got != "5 3 0 0 0" {
		t.Errorf("3 days ago after retention = %s, want 5 3 0 0 0", got)
	}

	// The window: days leave it when view_days shrinks, and come back when it grows.
	exec(t, db.Pool, `UPDATE beacon.settings SET view_days = 2`)
	exec(t, db.Pool, `SELECT beacon.refresh_daily()`)
	assertDailyFromScratch(t, db.Pool, "view_days 2")
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM analytics.daily WHERE day < (now() AT TIME ZONE 'UTC')::date - 2`); n != 0 {
		t.Errorf("%d days older than the window remain", n)
	}
	exec(t, db.Pool, `UPDATE beacon.settings SET view_days = 90`)
	exec(t, db.Pool, `SELECT beacon.refresh_daily()`)
	assertDailyFromScratch(t, db.Pool, "view_days 90 again")
	if got := scalar[string](t, db.Pool, `SELECT string_agg(((now() AT TIME ZONE 'UTC')::date - day)::text, ',' ORDER BY day) FROM analytics.daily WHERE project_id = $1`, other); got != "5,0" {
		t.Errorf("other project's days (days ago) = %s, want 5,0", got)
	}

	// Deleting a project queues nothing for it.
	exec(t, db.Pool, `DELETE FROM beacon.projects WHERE project_id = $1`, p)
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.daily_identity_changes`); n != 0 {
		t.Errorf("%d identity changes queued for a deleted project", n)
	}
}

// analytics.visitors counts people once over a period; summing the days does not.
func TestVisitorsOverPeriod(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.ensure_partitions(4, 2)`)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for d := 3; d >= 0; d-- {
		genEvents(t, db.Pool, p, fmt.Sprint("d", d), today.AddDate(0, 0, -d), 24*time.Hour, 1000)
	}
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a-1', 'u-7'), beacon.identify($1, 'a-2', 'u-7')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a-3', 'u-8'), beacon.identify($1, 'a-4', 'u-9')`, p)
	exec(t, db.Pool, `SELECT beacon.merge_users($1, 'u-8', 'u-9')`, p)
	// maintain() folds; its refresh step waits for refresh_interval after the last one (which may
	// be the template's, made seconds ago), so recount explicitly.
	exec(t, db.Pool, `CALL beacon.maintain()`)
	exec(t, db.Pool, `SELECT beacon.refresh_daily()`)
	from, to := today.AddDate(0, 0, -3), today
	got := scalar[string](t, db.Pool, `SELECT visitors || ' ' || users || ' ' || sessions FROM analytics.visitors($1, $2::date, $3::date)`, p, from, to)
	want := scalar[string](t, db.Pool, `
		SELECT count(DISTINCT CASE WHEN person_id IS NULL THEN 'anon ' || anon_id ELSE 'user ' || person_id END)
		           FILTER (WHERE person_id IS NOT NULL OR anon_id <> '')
		       || ' ' || count(DISTINCT person_id) || ' ' || count(DISTINCT session_id) FILTER (WHERE session_id <> '')
		FROM analytics.events WHERE project_id = $1 AND ts >= $2 AND ts < $3::date + 1`, p, from, to)
	if got != want {
		t.Errorf("analytics.visitors = %s, counted from the events %s", got, want)
	}
	sum := scalar[int64](t, db.Pool, `SELECT sum(visitors) FROM analytics.daily WHERE project_id = $1`, p)
	var visitors int64
	fmt.Sscan(got, &visitors)
	t.Logf("over 4 days: %s (visitors users sessions); the sum of the daily visitors is %d", got, sum)
	if sum <= visitors {
		t.Errorf("summed daily visitors %d <= period visitors %d: the data has no returning visitors", sum, visitors)
	}
}
