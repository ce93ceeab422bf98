package auditstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

// start runs a Streamer to target as a beacon_relay login, as production does; the returned
// function stops it and waits until it has.
func start(t *testing.T, db *testdb.DB, target string) (*Streamer, func()) {
	t.Helper()
	relayURL := db.LoginAs(t, "beacon_relay")
	connect := func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, relayURL) }
	var logged syncBuffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(Config{Target: target, Poll: 100 * time.Millisecond, LockRetry: 50 * time.Millisecond}, connect, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			// A quiet stream waits on notifications with a timeout: that is no error, and an
			// error would restart the session (hiding behind the retry) rather than fail a test.
			if w := logged.String(); w != "" {
				t.Errorf("the streamer warned: %s", w)
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

type querier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// audit writes one audit row as the owner, the way Beacon's functions do, and returns its id.
func audit(t *testing.T, q querier, action string) int64 {
	t.Helper()
	var id int64
	err := q.QueryRow(context.Background(), `SELECT beacon.write_audit($1, 'account:stream-test', NULL, '{"n": 1}', NULL) IS NULL,
		currval(pg_catalog.pg_get_serial_sequence('beacon.audit', 'audit_id'))`, action).Scan(nil, &id)
	if err != nil {
		t.Fatalf("write audit %s: %v", action, err)
	}
	return id
}

// streamOrder is every audit row's id in the order the stream must write them.
func streamOrder(t *testing.T, db *testdb.DB) []int64 {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT audit_id FROM beacon.audit ORDER BY coalesce(xact, '0'::xid8), audit_id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// ids reads the stream file's lines (each must be a whole JSON object) and returns their ids.
func ids(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			ID      int64  `json:"id"`
			Action  string `json:"action"`
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" || e.Outcome == "" {
			t.Fatalf("%s: line %q is not an audit entry: %v", path, sc.Text(), err)
		}
		out = append(out, e.ID)
	}
	return out
}

// waitIDs waits until the files together hold n lines, and returns their ids, files in order.
func waitIDs(t *testing.T, n int, paths ...string) []int64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var all []int64
		for _, p := range paths {
			all = append(all, ids(t, p)...)
		}
		if len(all) >= n || time.Now().After(deadline) {
			if len(all) != n {
				t.Fatalf("stream holds %d lines (%v), want %d", len(all), all, n)
			}
			return all
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStreamExactlyOnceAcrossRestart(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for _, a := range []string{"sign_in", "sign_in_failed", "flag_changed"} {
		audit(t, db.Pool, a)
	}
	_, stop := start(t, db, path)
	want := streamOrder(t, db)
	if got := waitIDs(t, len(want), path); !slices.Equal(got, want) {
		t.Fatalf("first run streamed %v, want %v", got, want)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stream file mode %v (%v), want 0600", st.Mode(), err)
	}
	stop()
	audit(t, db.Pool, "sign_out") // while no relay streams
	_, stop = start(t, db, path)
	audit(t, db.Pool, "sign_in") // while it streams: the notification wakes it
	want = streamOrder(t, db)
	if got := waitIDs(t, len(want), path); !slices.Equal(got, want) {
		t.Fatalf("after a restart the file holds %v, want each row once in order %v", got, want)
	}
	stop()
	var curID int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT audit_id FROM beacon.audit_stream_cursor`).Scan(&curID); err != nil || curID != want[len(want)-1] {
		t.Fatalf("cursor at %d (%v), want the last row %d", curID, err, want[len(want)-1])
	}
}

func TestOneRelayStreamsAndAnotherTakesOver(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	sa, stopA := start(t, db, a)
	waitFor(t, "relay a streaming", sa.Streaming)
	sb, stopB := start(t, db, b)
	for range 4 {
		audit(t, db.Pool, "sign_in")
	}
	waitIDs(t, 4, a, b)
	if sb.Streaming() || len(ids(t, b)) != 0 {
		t.Fatalf("relay b streams too (%v) while a holds the lock", ids(t, b))
	}
	stopA()
	waitFor(t, "relay b taking over", sb.Streaming)
	for range 3 {
		audit(t, db.Pool, "sign_out")
	}
	want := streamOrder(t, db)
	if got := waitIDs(t, len(want), a, b); !slices.Equal(got, want) {
		t.Fatalf("a then b hold %v, want each row once in order %v", got, want)
	}
	if len(ids(t, b)) != 3 {
		t.Fatalf("b holds %v, want the 3 rows written after a stopped", ids(t, b))
	}
	stopB()
}

// A row whose id was taken before a row already committed, but which commits after it, is not
// skipped: nothing past an open transaction is read until it ends.
func TestLateCommitIsNotSkipped(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, stop := start(t, db, path)
	waitFor(t, "streaming", s.Streaming)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	early := audit(t, tx, "flag_changed") // id taken first, committed last
	late := audit(t, db.Pool, "sign_in")
	if late <= early {
		t.Fatalf("ids %d then %d: the test needs the later row to have the higher id", early, late)
	}
	// What the relay reads while the first transaction is open: nothing past it.
	relay, err := pgx.Connect(ctx, db.LoginAs(t, "beacon_relay"))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close(ctx)
	var n int
	if err := relay.QueryRow(ctx, `SELECT count(*) FROM beacon.audit_stream_read(100) WHERE audit_id = $1`, late).Scan(&n); err != nil || n != 0 {
		t.Fatalf("row %d readable (%d, %v) while row %d's transaction is open", late, n, err, early)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := waitIDs(t, 2, path); !slices.Equal(got, []int64{early, late}) {
		t.Fatalf("stream holds %v, want %d then %d", got, early, late)
	}
	stop()
}

func TestReopenOnRotation(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, stop := start(t, db, path)
	audit(t, db.Pool, "sign_in")
	waitIDs(t, 1, path)
	if err := os.Rename(path, path+".1"); err != nil { // what logrotate does before its postrotate SIGHUP
		t.Fatal(err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	audit(t, db.Pool, "sign_out")
	waitIDs(t, 1, path)
	if len(ids(t, path+".1")) != 1 {
		t.Fatalf("the rotated file holds %v, want its one line", ids(t, path+".1"))
	}
	stop()
}

func TestCursorNeedsTheLock(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	relay, err := pgx.Connect(ctx, db.LoginAs(t, "beacon_relay"))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close(ctx)
	_, err = relay.Exec(ctx, `SELECT beacon.audit_stream_advance('1', 1)`)
	if err == nil || !strings.Contains(err.Error(), "does not hold the audit stream lock") {
		t.Fatalf("advance without the lock: %v", err)
	}
	for _, sql := range []string{`SELECT count(*) FROM beacon.audit`, `UPDATE beacon.audit_stream_cursor SET audit_id = 0`} {
		if _, err := relay.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("relay ran %q: %v", sql, err)
		}
	}
}

// syncBuffer is a bytes.Buffer the streamer's goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 15s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
