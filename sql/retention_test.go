package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
	beaconsql "github.com/beacon-analytics/beacon/sql"
)

// An event a year old and one a day in the future both land: the first in the default partition
// (no daily partition exists for it), the second in its daily partition. Neither fails the COPY.
func TestLateAndEarlyEventsLand(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now()
	copyEvents(t, db.Pool,
		ev{project: p, anon: "a", session: "s", name: "old", ts: now.AddDate(-1, 0, 0)},
		ev{project: p, anon: "a", session: "s", name: "future", ts: now.Add(24 * time.Hour)},
		ev{project: p, anon: "a", session: "s", name: "now", ts: now},
	)
	rows, err := db.Pool.Query(ctx(t), `SELECT name, tableoid::regclass::text FROM beacon.events ORDER BY ts`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var name, part string
		if err := rows.Scan(&name, &part); err != nil {
			t.Fatal(err)
		}
		got[name] = part
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	day := func(t time.Time) string { return "beacon.events_" + t.UTC().Format("20060102") }
	want := map[string]string{"old": "beacon.events_default", "future": day(now.Add(24 * time.Hour)), "now": day(now)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("event %q in %q, want %q", k, got[k], v)
		}
	}
}

// Retention drops whole partitions at the longest retention any project needs and deletes the
// rows of projects with a shorter one, once per expired day.
func TestRetention(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, b, c := newProject(t, db.Pool), newProject(t, db.Pool), newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.settings SET retention_days = 10`)
	exec(t, db.Pool, `UPDATE beacon.projects SET retention_days = 5 WHERE project_id = $1`, a)
	exec(t, db.Pool, `UPDATE beacon.projects SET retention_days = 20 WHERE project_id = $1`, c)
	exec(t, db.Pool, `SELECT beacon.ensure_partitions(30, 7)`)

	midday := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	var evs []ev
	for _, p := range []string{a, b, c} {
		for _, d := range []int{25, 15, 7, 3} {
			evs = append(evs, ev{project: p, anon: "x", name: "e", ts: midday.AddDate(0, 0, -d)})
		}
	}
	evs = append(evs, ev{project: b, anon: "x", name: "e", ts: midday.AddDate(-1, 0, 0)})
	copyEvents(t, db.Pool, evs...)

	exec(t, db.Pool, `CALL beacon.maintain()`)

	// Partitions: kept for 20 days (project c), so day -25 is gone for everyone.
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM pg_class WHERE relname = $1`,
		"events_"+midday.AddDate(0, 0, -25).Format("20060102")); n != 0 {
		t.Errorf("partition of day -25 still exists")
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM pg_class WHERE relname = $1`,
		"events_"+midday.AddDate(0, 0, -15).Format("20060102")); n != 1 {
		t.Errorf("partition of day -15 was dropped, want kept (project c keeps 20 days)")
	}
	left := func(p string) []int {
		rows, err := db.Pool.Query(ctx(t), `
			SELECT ((now() AT TIME ZONE 'UTC')::date - (ts AT TIME ZONE 'UTC')::date)
			FROM beacon.events WHERE project_id = $1 ORDER BY ts`, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for rows.Next() {
			var d int
			if err := rows.Scan(&d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		project string
		want    []int
	}{{"a (5 days)", a, []int{3}}, {"b (global 10)", b, []int{7, 3}}, {"c (20 days)", c, []int{15, 7, 3}}} {
		if got := left(tc.project); !equalInts(got, tc.want) {
			t.Errorf("project %s: events left on days ago %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := scalar[int64](t, db.Pool, `SELECT coalesce(sum(rows), 0) FROM beacon.maintenance_log WHERE step = 'purge'`); n != 3 {
		t.Errorf("purge deleted %d rows, want 3 (a: days 15 and 7; b: day 15; the year-old row goes with the default partition's cleanup)", n)
	}

	// A second run finds nothing left to purge: the watermark bounds the work to new days.
	exec(t, db.Pool, `CALL beacon.maintain()`)
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.maintenance_log WHERE step = 'purge'`); n != 1 {
		t.Errorf("purge ran %d times with work, want 1", n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Many relays call maintain() on a ticker: while one is at a step (holding the maintenance lock,
// class beaconsql.LockClass, key LockMaintain, for the step's transaction) the others return at
// once, doing nothing.
func TestMaintainConcurrentCallersDoNotWait(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	c1, c2 := conn(t, db), conn(t, db)
	tx, err := c1.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	exec(t, tx, `SELECT pg_advisory_xact_lock($1, $2)`, beaconsql.LockClass, beaconsql.LockMaintain)
	exec(t, db.Pool, `DROP TABLE beacon.`+lastPartition(t, db))
	before := scalar[int64](t, db.Pool, `SELECT coalesce(max(log_id), 0) FROM beacon.maintenance_log`)
	exec(t, c2, `SET statement_timeout = '2s'`)
	exec(t, c2, `CALL beacon.maintain()`) // would time out if it waited for c1
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.maintenance_log WHERE log_id > $1`, before); n != 0 {
		t.Errorf("maintain() logged %d steps while another caller held the lock, want 0", n)
	}
	if err := tx.Rollback(ctx(t)); err != nil {
		t.Fatal(err)
	}
	exec(t, c2, `CALL beacon.maintain()`)
	if n := scalar[int](t, db.Pool, `SELECT rows FROM beacon.maintenance_log WHERE step = 'partitions' AND log_id > $1`, before); n != 1 {
		t.Errorf("maintain() after the lock was released made %d partitions, want 1", n)
	}
}

// lastPartition is the name of the furthest daily partition of beacon.events.
func lastPartition(t *testing.T, db *testdb.DB) string {
	t.Helper()
	return scalar[string](t, db.Pool, `
		SELECT max(c.relname) FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'beacon.events'::regclass AND c.relname ~ '^events_[0-9]{8}$'`)
}

// A failing step (here: a lock it cannot get within lock_timeout) is logged, and the next call
// retries it.
func TestMaintainLogsFailingStep(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	exec(t, db.Pool, `UPDATE beacon.settings SET partitions_ahead = 9`)
	locker := conn(t, db)
	tx, err := locker.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	before := scalar[int64](t, db.Pool, `SELECT coalesce(max(log_id), 0) FROM beacon.maintenance_log`)
	exec(t, tx, `LOCK beacon.events_default IN ACCESS EXCLUSIVE MODE`)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	if err := tx.Rollback(ctx(t)); err != nil {
		t.Fatal(err)
	}
	msg := scalar[string](t, db.Pool, `SELECT error FROM beacon.maintenance_log WHERE step = 'partitions' AND log_id > $1`, before)
	if msg != "canceling statement due to lock timeout" {
		t.Errorf("logged error %q, want the lock timeout", msg)
	}
	exec(t, db.Pool, `CALL beacon.maintain()`)
	if n := scalar[int](t, db.Pool, `SELECT rows FROM beacon.maintenance_log WHERE step = 'partitions' AND error IS NULL AND log_id > $1`, before); n < 2 {
		t.Errorf("retry made %d partitions, want at least 2", n)
	}
}
