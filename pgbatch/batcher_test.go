package pgbatch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/pgbatch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setup returns a running batcher on a fresh database with one project, and that project's id.
func setup(t *testing.T, cfg pgbatch.Config) (*testdb.DB, *pgbatch.Batcher, uuid.UUID) {
	t.Helper()
	return setupObserved(t, cfg, nil)
}

// setupObserved is setup with obs receiving the batcher's measurements.
func setupObserved(t *testing.T, cfg pgbatch.Config, obs pgbatch.Observer) (*testdb.DB, *pgbatch.Batcher, uuid.UUID) {
	t.Helper()
	db := testdb.New(t)
	var project uuid.UUID
	if err := db.Pool.QueryRow(context.Background(),
		`INSERT INTO beacon.projects (name) VALUES ('t') RETURNING project_id`).Scan(&project); err != nil {
		t.Fatal(err)
	}
	b := pgbatch.New(db.Pool, cfg, quiet, obs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	t.Cleanup(func() {
		closeCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		if err := b.Close(closeCtx); err != nil {
			t.Errorf("close: %v", err)
		}
		cancel()
		<-done
	})
	return db, b, project
}

func event(project uuid.UUID, i int) pgbatch.Event {
	now := time.Now()
	return pgbatch.Event{
		ProjectID: project, EventID: uuid.Must(uuid.NewV7()), SessionID: "s1", AnonID: "a1",
		Name: "click", Props: []byte(fmt.Sprintf(`{"i":%d,"path":"/pricing"}`, i)), TS: now, ReceivedAt: now,
	}
}

// addAll adds evs and waits for every done callback; it returns their errors in order.
func addAll(t *testing.T, b *pgbatch.Batcher, evs []pgbatch.Event) []error {
	t.Helper()
	errs := make([]error, len(evs))
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Add(1)
		if err := b.Add(context.Background(), ev, func(err error) { errs[i] = err; wg.Done() }); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	waitGroup(t, &wg, 30*time.Second)
	return errs
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("callbacks not all called within %v", d)
	}
}

// checkKept fails t unless exactly the events at bad got a *RowError with code, Kept.
func checkKept(t *testing.T, errs []error, code string, bad ...int) {
	t.Helper()
	isBad := map[int]bool{}
	for _, i := range bad {
		isBad[i] = true
	}
	for i, err := range errs {
		var rowErr *pgbatch.RowError
		switch {
		case !isBad[i] && err != nil:
			t.Fatalf("event %d: %v", i, err)
		case isBad[i] && (!errors.As(err, &rowErr) || rowErr.Code != code || !rowErr.Kept):
			t.Fatalf("event %d: %v, want a kept *RowError with code %s", i, err, code)
		}
	}
}

// rejected counts dead letters with code ("": any).
func rejected(t *testing.T, db *testdb.DB, code string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM beacon.events_rejected WHERE $1 IN ('', error_code)`, code).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func count(t *testing.T, db *testdb.DB, project uuid.UUID) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM beacon.events WHERE project_id = $1`, project).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommitsAndDeduplicates(t *testing.T) {
	t.Parallel()
	db, b, project := setup(t, pgbatch.Config{BatchSize: 300, FlushInterval: 10 * time.Millisecond})
	evs := make([]pgbatch.Event, 1000)
	for i := range evs {
		evs[i] = event(project, i)
	}
	for i, err := range addAll(t, b, evs) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if n := count(t, db, project); n != 1000 {
		t.Fatalf("rows = %d, want 1000", n)
	}
	// Re-send 100 of them mixed with 5 new ones: the batch goes the ON CONFLICT way.
	again := append(append([]pgbatch.Event{}, evs[:100]...), event(project, 2000), event(project, 2001),
		event(project, 2002), event(project, 2003), event(project, 2004))
	for i, err := range addAll(t, b, again) {
		if err != nil {
			t.Fatalf("re-sent event %d: %v", i, err)
		}
	}
	if n := count(t, db, project); n != 1005 {
		t.Fatalf("rows after re-send = %d, want 1005", n)
	}
	var props string
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT props::text FROM beacon.events WHERE event_id = $1`, evs[7].EventID).Scan(&props); err != nil {
		t.Fatal(err)
	}
	if props != `{"i": 7, "path": "/pricing"}` {
		t.Fatalf("props = %s", props)
	}
}

func TestBadRowSparesItsBatch(t *testing.T) {
	t.Parallel()
	db, b, project := setup(t, pgbatch.Config{BatchSize: 100, FlushInterval: time.Second})
	evs := make([]pgbatch.Event, 100)
	for i := range evs {
		evs[i] = event(project, i)
	}
	// Valid JSON that jsonb refuses: PostgreSQL rejects this one row with 22P05.
	evs[37].Props = []byte(`{"bad":"\u0000"}`)
	checkKept(t, addAll(t, b, evs), "22P05", 37)
	if n := count(t, db, project); n != 99 {
		t.Fatalf("rows = %d, want 99", n)
	}
	if got := rejected(t, db, "22P05"); got != 1 {
		t.Fatalf("dead letters = %d, want 1", got)
	}
	if n, code := b.Rejected(); n != 1 || code != "22P05" {
		t.Fatalf("Rejected() = %d, %q", n, code)
	}
}

func TestTransientErrorIsRetried(t *testing.T) {
	t.Parallel()
	db, b, project := setup(t, pgbatch.Config{BatchSize: 10, FlushInterval: 5 * time.Millisecond,
		RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE beacon.events RENAME TO events_away`); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	if err := b.Add(ctx, event(project, 1), func(err error) { committed <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-committed:
		t.Fatalf("done called while the table is missing: %v", err)
	case <-time.After(300 * time.Millisecond): // several retries have failed by now
	}
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE beacon.events_away RENAME TO events`); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-committed:
		if err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event not committed after the table came back")
	}
	if n := count(t, db, project); n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
	if n := rejected(t, db, ""); n != 0 {
		t.Fatalf("dead letters = %d after a transient error, want 0", n)
	}
}

func TestFullBufferBlocksAdd(t *testing.T) {
	t.Parallel()
	db, b, project := setup(t, pgbatch.Config{BatchSize: 1000, FlushInterval: 5 * time.Millisecond, BufferBytes: 2000})
	ctx := context.Background()
	release := db.HoldEvents(t) // no flush can finish while the buffer fills
	var wg sync.WaitGroup
	added := 0
	for i := 0; ; i++ {
		addCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		wg.Add(1)
		err := b.Add(addCtx, event(project, i), func(err error) {
			if err != nil {
				t.Errorf("done: %v", err)
			}
			wg.Done()
		})
		cancel()
		if err != nil {
			wg.Done()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("add: %v, want deadline exceeded", err)
			}
			break
		}
		added++
		if added > 100 {
			t.Fatal("buffer of 2000 bytes took more than 100 events")
		}
	}
	if added == 0 {
		t.Fatal("no event fit the buffer")
	}
	release()
	waitGroup(t, &wg, 30*time.Second)
	if n := count(t, db, project); n != added {
		t.Fatalf("rows = %d, want %d", n, added)
	}
}
