package sql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// dayCounts returns the events of project p per table they sit in (partition name → count).
func dayCounts(t *testing.T, q querier, p string) map[string]int {
	t.Helper()
	rows, err := q.Query(ctx(t), `
		SELECT tableoid::regclass::text, count(*)::int FROM beacon.events WHERE project_id = $1 GROUP BY 1`, p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var part string
		var n int
		if err := rows.Scan(&part, &n); err != nil {
			t.Fatal(err)
		}
		out[part] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// explain returns the plan of a query, one line per plan line.
func explain(t *testing.T, q querier, sql string, args ...any) string {
	t.Helper()
	rows, err := q.Query(ctx(t), `EXPLAIN (COSTS OFF) `+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func partOf(ts time.Time) string { return "beacon.events_" + ts.UTC().Format("20060102") }

func sameCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s holds %d events, want %d", what, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s holds %d events, want none", what, k, v)
		}
	}
}

// A backfill of past days (and events beyond retention) ends, after one maintain(), with every
// day in its own partition and nothing in events_default: the days within retention are
// partitioned, the rows older than retention deleted by the retention step. A second run changes
// nothing.
func TestBackfillGetsPartitions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		retention string // beacon.settings.retention_days
		keepOld   bool   // the 400-day-old event gets a partition
	}{{"395 days", "395", false}, {"forever", "NULL", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			p := newProject(t, db.Pool)
			exec(t, db.Pool, `UPDATE beacon.settings SET retention_days = `+tc.retention)
			midday := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
			want := map[string]int{}
			var evs []ev
			for _, d := range []int{0, 2, 3, 20, 89, 400} {
				for i := range d%3 + 1 {
					ts := midday.AddDate(0, 0, -d).Add(time.Duration(i) * time.Hour)
					evs = append(evs, ev{project: p, anon: "a", session: "s", name: "e", ts: ts})
					if d != 400 || tc.keepOld {
						want[partOf(ts)]++
					}
				}
			}
			copyEvents(t, db.Pool, evs...)
			if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.events_default`); n == 0 {
				t.Fatal("the backfill did not land in events_default: nothing to test")
			}

			exec(t, db.Pool, `CALL beacon.maintain()`)
			if errs := scalar[[]string](t, db.Pool, `SELECT coalesce(array_agg(step || ': ' || error), '{}') FROM beacon.maintenance_log WHERE error IS NOT NULL`); len(errs) > 0 {
				t.Fatalf("maintain failed: %v", errs)
			}
			sameCounts(t, "after maintain()", dayCounts(t, db.Pool, p), want)
			if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.events_default`); n != 0 {
				t.Errorf("%d events left in events_default, want 0", n)
			}
			// Moving rows fires no insert trigger: the rollups counted each event once, at its COPY
			// (the expired one too: count rollups outlive retention).
			if n := scalar[int](t, db.Pool, `SELECT coalesce(sum(events), 0) FROM beacon.rollup_hourly WHERE project_id = $1`, p); n != len(evs) {
				t.Errorf("rollup_hourly counts %d events, want the %d sent", n, len(evs))
			}
			// The constraints used to attach without scanning are gone.
			if n := scalar[int](t, db.Pool, `SELECT count(*) FROM pg_constraint WHERE conname LIKE 'beacon_attach%'`); n != 0 {
				t.Errorf("%d attach constraints left behind", n)
			}
			// A ts filter on a backfilled day reads its partition alone.
			plan := explain(t, db.Pool, `SELECT count(*) FROM beacon.events WHERE ts >= $1 AND ts < $2`,
				midday.AddDate(0, 0, -20).Add(-time.Hour), midday.AddDate(0, 0, -20).Add(time.Hour))
			if !strings.Contains(plan, partOf(midday.AddDate(0, 0, -20))[len("beacon."):]) || strings.Contains(plan, "events_default") {
				t.Errorf("plan of a ts filter on day -20 does not read its partition:\n%s", plan)
			}

			// Idempotent: a second run makes and moves nothing.
			before := scalar[int64](t, db.Pool, `SELECT coalesce(max(log_id), 0) FROM beacon.maintenance_log`)
			exec(t, db.Pool, `CALL beacon.maintain()`)
			if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.maintenance_log WHERE step = 'partitions' AND log_id > $1`, before); n != 0 {
				t.Errorf("second maintain() made partitions again")
			}
			sameCounts(t, "after a second maintain()", dayCounts(t, db.Pool, p), want)
		})
	}
}

// The move runs while COPYs go on committing: maintain() is held in the middle of moving a day's
// rows out of events_default (a row trigger on the default partition waits for an advisory lock the
// test holds), and a COPY of a live event and of more backfilled events — for the day being moved
// and for another — commits meanwhile. Once released, maintain() moves those too, under its short
// lock, and attaches every day without scanning events_default or the new tables again.
func TestBackfillMoveDoesNotBlockCopy(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	midday := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	d10, d30 := midday.AddDate(0, 0, -10), midday.AddDate(0, 0, -30)
	copyEvents(t, db.Pool,
		ev{project: p, anon: "a", session: "s", name: "old", ts: d10},
		ev{project: p, anon: "a", session: "s", name: "old", ts: d30})
	exec(t, db.Pool, `
		CREATE FUNCTION public.wait_for_test() RETURNS trigger LANGUAGE plpgsql SET lock_timeout = 0 AS $$
		BEGIN
		    PERFORM pg_catalog.pg_advisory_xact_lock(42, 42);
		    RETURN OLD;
		END $$`)
	exec(t, db.Pool, `CREATE TRIGGER wait_for_test BEFORE DELETE ON beacon.events_default FOR EACH ROW EXECUTE FUNCTION public.wait_for_test()`)

	holder := conn(t, db)
	exec(t, holder, `SELECT pg_advisory_lock(42, 42)`)
	maintainer := conn(t, db)
	pid := scalar[int](t, maintainer, `SELECT pg_backend_pid()`)
	done := make(chan error, 1)
	go func() {
		_, err := maintainer.Exec(context.Background(), `CALL beacon.maintain()`)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !scalar[bool](t, db.Pool, `SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted)`, pid) {
		select {
		case err := <-done:
			t.Fatalf("maintain() ended before moving a row: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("maintain() never started moving rows")
		}
		time.Sleep(10 * time.Millisecond)
	}

	writer := conn(t, db)
	exec(t, writer, `SET statement_timeout = '5s'`)
	copyEvents(t, writer,
		ev{project: p, anon: "a", session: "s", name: "live", ts: time.Now()},
		ev{project: p, anon: "a", session: "s", name: "late", ts: d30.Add(time.Hour)},
		ev{project: p, anon: "a", session: "s", name: "late", ts: d10.Add(time.Hour)})

	exec(t, holder, `SELECT pg_advisory_unlock(42, 42)`)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("maintain(): %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("maintain() did not finish after the test released its lock")
	}
	sameCounts(t, "after maintain()", dayCounts(t, db.Pool, p),
		map[string]int{partOf(d10): 2, partOf(d30): 2, partOf(time.Now()): 1})
}

// Under the short lock, no ATTACH scans a table: the new partition carries a CHECK of its range
// and events_default one excluding every new day, validated once. PostgreSQL says so at DEBUG1.
func TestBackfillAttachScansNothing(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	midday := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	copyEvents(t, db.Pool,
		ev{project: p, anon: "a", session: "s", name: "e", ts: midday.AddDate(0, 0, -5)},
		ev{project: p, anon: "a", session: "s", name: "e", ts: midday.AddDate(0, 0, -6)},
		ev{project: p, anon: "a", session: "s", name: "stray", ts: midday.AddDate(2, 0, 0)})
	cfg, err := pgx.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	c, err := pgx.ConnectConfig(ctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	exec(t, c, `SET client_min_messages = debug1`)
	if n := scalar[int](t, c, `SELECT beacon.make_partitions()`); n != 2 {
		t.Errorf("made %d partitions, want 2 (days -5 and -6; today's exist)", n)
	}
	all := strings.Join(notices, "\n")
	for _, want := range []string{
		`partition constraint for table "` + partOf(midday.AddDate(0, 0, -5))[len("beacon."):] + `" is implied by existing constraints`,
		`partition constraint for table "` + partOf(midday.AddDate(0, 0, -6))[len("beacon."):] + `" is implied by existing constraints`,
		`updated partition constraint for default partition "events_default" is implied by existing constraints`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no notice %q; notices:\n%s", want, all)
		}
	}
	// One scan in all: the validation of events_default's CHECK.
	if n := strings.Count(all, "verifying table"); n != 1 || !strings.Contains(all, `verifying table "events_default"`) {
		t.Errorf("%d tables scanned, want events_default once:\n%s", n, all)
	}
	if n := scalar[int](t, c, `SELECT count(*) FROM beacon.events_default`); n != 1 {
		t.Errorf("%d rows in events_default, want the one two years ahead", n)
	}
}
