package pgbatch_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/pgbatch"
)

// newProject inserts a project and returns its id.
func newProject(t *testing.T, db *testdb.DB) uuid.UUID {
	t.Helper()
	var p uuid.UUID
	if err := db.Pool.QueryRow(context.Background(), `INSERT INTO beacon.projects (name) VALUES ('t') RETURNING project_id`).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// adder adds events and tells when all it added were answered.
type adder struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (a *adder) add(t *testing.T, b *pgbatch.Batcher, ev pgbatch.Event) {
	t.Helper()
	a.wg.Add(1)
	if err := b.Add(context.Background(), ev, func(err error) {
		if err != nil && ev.Name != "poison" {
			a.mu.Lock()
			a.errs = append(a.errs, err)
			a.mu.Unlock()
		}
		a.wg.Done()
	}); err != nil {
		t.Fatal(err)
	}
}

func (a *adder) done() <-chan struct{} {
	c := make(chan struct{})
	go func() { a.wg.Wait(); close(c) }()
	return c
}

// TestRefusedRowsHoldBackOnlyTheirProject: project A's rows that a trigger refuses share a batch
// with project B's. B's events are answered as soon as the batch is split by project, while A's
// wait out the trigger-bug retry (3–6 s here) in the quarantine. Before, B waited for A's retries
// and isolation, and was answered after A's refused rows.
func TestRefusedRowsHoldBackOnlyTheirProject(t *testing.T) {
	t.Parallel()
	db, b, a := setup(t, pgbatch.Config{BatchSize: 200, FlushInterval: time.Second,
		RetryMin: 6 * time.Second, RetryMax: 6 * time.Second, RejectRetries: 1})
	installTrigger(t, db, false)
	bProject := newProject(t, db)
	aEvs, bEvs := batchOf(a, 100, 3, 50, 97), batchOf(bProject, 100)
	var aAdd, bAdd adder
	for i := range 100 { // interleaved, as many connections adding at once; the 200th flushes
		aAdd.add(t, b, aEvs[i])
		bAdd.add(t, b, bEvs[i])
	}
	aDone, bDone := aAdd.done(), bAdd.done()
	select {
	case <-bDone:
	case <-time.After(3 * time.Second):
		t.Fatal("B's events not answered within 3 s: A's trigger-bug retry (6 s) holds them back")
	}
	select {
	case <-aDone:
		t.Fatal("A's events answered with B's: A's retry held B back")
	default:
	}
	<-aDone
	if errs := append(aAdd.errs, bAdd.errs...); len(errs) > 0 {
		t.Fatalf("good events answered with %v", errs)
	}
	if got := count(t, db, bProject); got != 100 {
		t.Fatalf("B's events = %d", got)
	}
	if got := rejected(t, db, "P0001"); got != 3 {
		t.Fatalf("dead letters = %d, want 3", got)
	}
}

// lines is a slog handler that keeps every record's text.
type lines struct {
	mu   sync.Mutex
	text []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	l.text = append(l.text, b.String())
	l.mu.Unlock()
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

// TestRefusedRowsLogO1Lines: N refused rows in many batches write O(1) log lines, each naming
// the project and the SQLSTATE with counts (one line per row let an attacker fill the log).
func TestRefusedRowsLogO1Lines(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	project := newProject(t, db)
	installTrigger(t, db, false)
	log := &lines{}
	// LogEvery is longer than any run, so a slow machine adds no interval line to the two below.
	b := pgbatch.New(db.Pool, pgbatch.Config{BatchSize: 100, FlushInterval: time.Second, RejectRetries: -1, LogEvery: time.Hour}, slog.New(log), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	go func() { b.Run(ctx); close(ran) }()
	const batches, bad = 8, 10
	for range batches {
		poison := make([]int, bad)
		for i := range poison {
			poison[i] = i * 10
		}
		checkKept(t, addAll(t, b, batchOf(project, 100, poison...)), "P0001", poison...)
	}
	closeCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if err := b.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	<-ran
	log.mu.Lock()
	defer log.mu.Unlock()
	t.Logf("%d rows refused, %d log lines:\n%s", batches*bad, len(log.text), strings.Join(log.text, "\n"))
	if len(log.text) > 3 {
		t.Fatalf("%d refused rows wrote %d log lines, want at most 3", batches*bad, len(log.text))
	}
	all := strings.Join(log.text, "\n")
	if !strings.Contains(all, project.String()) || !strings.Contains(all, "P0001") {
		t.Fatal("the log does not name the project and the SQLSTATE")
	}
	if !strings.Contains(all, "P0001: 10 kept") || !strings.Contains(all, "P0001: 70 kept") {
		t.Fatal("the lines do not carry the counts: the first isolation's, then the rest at Close")
	}
}
