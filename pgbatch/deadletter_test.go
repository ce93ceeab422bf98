package pgbatch_test

import (
	"context"
	"math/bits"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/pgbatch"
)

// copies counts COPY statements and the rows they carried.
type copies struct {
	mu               sync.Mutex
	statements, rows int
	rejected         map[string]int
}

func (c *copies) Flushed(rows int, _ time.Duration, _ error) {
	c.mu.Lock()
	c.statements++
	c.rows += rows
	c.mu.Unlock()
}
func (c *copies) Rejected(code string, rows int) {
	c.mu.Lock()
	c.rejected[code] += rows
	c.mu.Unlock()
}
func (c *copies) Buffered(int64)                     {}
func (c *copies) Committed(int)                      {}
func (c *copies) Released(int64)                     {}
func (c *copies) Retrying(error, int, time.Duration) {}

func (c *copies) take() (statements, rows int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	statements, rows, c.statements, c.rows = c.statements, c.rows, 0, 0
	return statements, rows
}

// installTrigger makes every insert of an event named poison fail as a buggy trigger shipped in a
// migration would (P0001); all: every event fails.
func installTrigger(t *testing.T, db *testdb.DB, all bool) {
	t.Helper()
	cond := `NEW.name = 'poison'`
	if all {
		cond = `true`
	}
	if _, err := db.Pool.Exec(context.Background(), `CREATE FUNCTION beacon.buggy() RETURNS trigger
		LANGUAGE plpgsql AS $$ BEGIN IF `+cond+` THEN RAISE EXCEPTION 'buggy trigger'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER buggy BEFORE INSERT ON beacon.events FOR EACH ROW EXECUTE FUNCTION beacon.buggy()`); err != nil {
		t.Fatal(err)
	}
}

func batchOf(project uuid.UUID, n int, poison ...int) []pgbatch.Event {
	evs := make([]pgbatch.Event, n)
	for i := range evs {
		evs[i] = event(project, i)
	}
	for _, i := range poison {
		evs[i].Name = "poison"
	}
	return evs
}

// TestTriggerBugDoesNotStopIngest: a trigger that refuses some rows once stopped ingest on every
// relay. Now the other rows commit, the refused ones land in beacon.events_rejected, every sender
// is acknowledged, the batcher goes on, and one bad row costs a bounded number of COPYs.
func TestTriggerBugDoesNotStopIngest(t *testing.T) {
	t.Parallel()
	const n = 5000
	obs := &copies{rejected: map[string]int{}}
	db, b, project := setupObserved(t, pgbatch.Config{BatchSize: n, FlushInterval: time.Second,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, RejectRetries: 1}, obs)
	installTrigger(t, db, false)
	for _, poison := range [][]int{{2718}, {0, 1234, 4999}} {
		checkKept(t, addAll(t, b, batchOf(project, n, poison...)), "P0001", poison...)
		statements, rows := obs.take()
		// The first COPY and one retry of the whole batch, then per bad row two halves per level.
		depth := bits.Len(n)
		if max := 2 + 2*depth*len(poison); statements > max {
			t.Errorf("%d bad rows: %d COPY statements, want at most %d", len(poison), statements, max)
		}
		if max := (2 + 2) * n; len(poison) == 1 && rows > max { // two whole tries, then halves: n/2+n/2, n/4+n/4 …
			t.Errorf("one bad row: %d rows copied, want at most %d", rows, max)
		}
		if max := (2 + depth) * n; rows > max {
			t.Errorf("%d bad rows: %d rows copied, want at most %d", len(poison), rows, max)
		}
		t.Logf("%d bad rows in %d: %d COPY statements, %d rows copied", len(poison), n, statements, rows)
	}
	if got := count(t, db, project); got != 2*n-4 {
		t.Fatalf("events = %d, want %d", got, 2*n-4)
	}
	if got := rejected(t, db, "P0001"); got != 4 {
		t.Fatalf("dead letters = %d, want 4", got)
	}
	if obs.rejected["P0001"] != 4 {
		t.Fatalf("observed rejections %v, want P0001: 4", obs.rejected)
	}
	if errs := addAll(t, b, batchOf(project, 10)); errs[0] != nil {
		t.Fatalf("after the dead letters: %v", errs[0])
	}
}

// TestRefusingEveryRowIsBounded: a trigger that refuses every row (a grant or function dropped)
// must not cost a COPY per row: past the budget, failing parts are set aside whole.
func TestRefusingEveryRowIsBounded(t *testing.T) {
	t.Parallel()
	const n = 1000
	obs := &copies{rejected: map[string]int{}}
	db, b, project := setupObserved(t, pgbatch.Config{BatchSize: n, FlushInterval: time.Second,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, RejectRetries: -1}, obs)
	installTrigger(t, db, true)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	checkKept(t, addAll(t, b, batchOf(project, n)), "P0001", all...)
	statements, _ := obs.take()
	if max := 1 + 16*bits.Len(n); statements > max {
		t.Fatalf("%d COPY statements, want at most %d", statements, max)
	}
	if got := rejected(t, db, "P0001"); got != n {
		t.Fatalf("dead letters = %d, want %d", got, n)
	}
}

// TestConnectionLossIsRetriedNotRejected: a COPY whose backend is terminated (as on a restart,
// 57P01) is retried until it commits, and nothing becomes a dead letter.
func TestConnectionLossIsRetriedNotRejected(t *testing.T) {
	t.Parallel()
	db, b, project := setup(t, pgbatch.Config{BatchSize: 10, FlushInterval: 5 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	release := db.HoldEvents(t) // the COPY waits where we can see it
	committed := make(chan error, 1)
	if err := b.Add(ctx, event(project, 1), func(err error) { committed <- err }); err != nil {
		t.Fatal(err)
	}
	var killed bool
	for !killed && ctx.Err() == nil {
		if err := db.Pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'COPY%'`).Scan(&killed); err != nil {
			t.Fatal(err)
		}
	}
	release()
	select {
	case err := <-committed:
		if err != nil {
			t.Fatalf("after the backend was terminated: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("event not committed after its connection was lost")
	}
	if got := count(t, db, project); got != 1 {
		t.Fatalf("events = %d, want 1", got)
	}
	if got := rejected(t, db, ""); got != 0 {
		t.Fatalf("dead letters = %d, want 0", got)
	}
}
