package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// maintain() commits after each step: once its partition step has made a partition, COPYs into
// beacon.events (the new day's included) commit while maintain() is still at a later step. Under
// the old single transaction they waited for the whole run on the partition step's ACCESS
// EXCLUSIVE lock. The later step here waits on an advisory lock the test holds, so maintain() is
// caught between steps for as long as the test needs, without sleeps.
func TestMaintainCommitsPartitionsBeforeLaterSteps(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	last := lastPartition(t, db)
	exec(t, db.Pool, `DROP TABLE beacon.`+last)
	exec(t, db.Pool, `
		CREATE FUNCTION public.wait_for_test() RETURNS bigint LANGUAGE plpgsql SET lock_timeout = 0 AS $$
		BEGIN
		    PERFORM pg_catalog.pg_advisory_xact_lock(42, 42);
		    RETURN 0;
		END $$`)
	exec(t, db.Pool, `INSERT INTO beacon.maintenance_steps (step, position, fn) VALUES ('wait_for_test', 15, 'public.wait_for_test()')`)

	holder := conn(t, db)
	exec(t, holder, `SELECT pg_advisory_lock(42, 42)`)
	maintainer := conn(t, db)
	pid := scalar[int](t, maintainer, `SELECT pg_backend_pid()`)
	done := make(chan error, 1)
	go func() {
		_, err := maintainer.Exec(context.Background(), `CALL beacon.maintain()`)
		done <- err
	}()

	// maintain() is at the wait_for_test step once its backend waits for the advisory lock.
	deadline := time.Now().Add(30 * time.Second)
	for !scalar[bool](t, db.Pool, `SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted)`, pid) {
		select {
		case err := <-done:
			t.Fatalf("maintain() ended before its wait_for_test step: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("maintain() never reached its wait_for_test step")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if scalar[*string](t, db.Pool, `SELECT to_regclass('beacon.' || $1)::text`, last) == nil {
		t.Fatalf("partition %s not committed while maintain() is at a later step", last)
	}

	writer := conn(t, db)
	exec(t, writer, `SET statement_timeout = '5s'`)
	day, err := time.Parse("events_20060102", last)
	if err != nil {
		t.Fatal(err)
	}
	copyEvents(t, writer,
		ev{project: p, session: "s1", anon: "a1", name: "today", ts: time.Now()},
		ev{project: p, session: "s1", anon: "a1", name: "new day", ts: day.Add(time.Hour)})
	if n := scalar[int](t, writer, `SELECT count(*) FROM beacon.`+last); n != 1 {
		t.Errorf("%d rows in the new partition %s, want 1", n, last)
	}

	exec(t, holder, `SELECT pg_advisory_unlock(42, 42)`)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("maintain(): %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("maintain() did not finish after the test released its lock")
	}
	// The later steps ran after the wait, in their own transactions: the COPY's events are rolled up.
	if n := scalar[int](t, db.Pool, `SELECT coalesce(sum(events), 0) FROM beacon.rollup_hourly WHERE project_id = $1`, p); n != 2 {
		t.Errorf("rolled up %d events, want 2", n)
	}
}

// CALL beacon.maintain() inside an explicit transaction is refused: it must commit per step.
func TestMaintainRefusedInTransaction(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	tx, err := db.Pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(ctx(t), `CALL beacon.maintain()`)
	wantErr(t, err, "2D000", "invalid transaction termination")
}
