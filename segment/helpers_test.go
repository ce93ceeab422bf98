package segment_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/segment"
	"github.com/beacon-analytics/beacon/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"), // keep-alive conns of http.DefaultTransport
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// stack is the Segment API on a fresh database: the real handler, store and batcher, running as
// beacon_relay (production's grants), served by httptest.
type stack struct {
	db      *testdb.DB
	http    *httptest.Server
	obs     *counts
	project uuid.UUID
	key     string
	keyID   uuid.UUID
}

// wrap, when given, stands between the client and the API (a test's failure hook).
func newStack(t *testing.T, wrap func(http.Handler) http.Handler) *stack {
	t.Helper()
	db := testdb.New(t)
	pool, err := pgxpool.New(context.Background(), db.LoginAs(t, "beacon_relay"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	batcher := pgbatch.New(pool, pgbatch.Config{BatchSize: 500, FlushInterval: 5 * time.Millisecond}, quiet, nil)
	s := &stack{db: db, obs: &counts{m: map[string]int{}}}
	h := segment.New(segment.Config{CommitTimeout: 5 * time.Second, Observer: s.obs}, store.New(pool), batcher, quiet)
	mux := http.NewServeMux()
	h.Routes(mux)
	var handler http.Handler = mux
	if wrap != nil {
		handler = wrap(mux)
	}
	s.http = httptest.NewServer(handler)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { batcher.Run(ctx) })
	t.Cleanup(func() {
		s.http.Close()
		sctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := batcher.Close(sctx); err != nil {
			t.Errorf("batcher close: %v", err)
		}
		cancel()
		wg.Wait()
	})
	s.project = s.newProject(t)
	s.key, s.keyID = s.newKey(t, s.project)
	return s
}

func (s *stack) newProject(t *testing.T) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := s.db.Pool.QueryRow(context.Background(), `SELECT beacon.create_project('seg')`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// newKey makes a write key as `beacon writekey create` does (as the owner).
func (s *stack) newKey(t *testing.T, project uuid.UUID) (string, uuid.UUID) {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key := "bwk_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	var id uuid.UUID
	if err := s.db.Pool.QueryRow(context.Background(), `SELECT beacon.create_write_key($1, 'test', $2)`, project, sum[:]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return key, id
}

// answer is a decoded response.
type answer struct {
	Status   int
	Success  bool   `json:"success"`
	Error    string `json:"error"`
	Message  string `json:"message"`
	Accepted int    `json:"accepted"`
	Errors   []struct {
		Index     int    `json:"index"`
		MessageID string `json:"messageId"`
		Code      string `json:"code"`
		Message   string `json:"message"`
	} `json:"errors"`
}

// post sends body to path with the stack's key (HTTP Basic, as Segment's libraries do) and
// extra headers.
func (s *stack) post(t *testing.T, path string, body []byte, key string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", s.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s: answer %d %q: %v", path, resp.StatusCode, raw, err)
	}
	a.Status = resp.StatusCode
	return a
}

func (s *stack) postJSON(t *testing.T, path string, v any) answer {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.post(t, path, b, s.key)
}

func (s *stack) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (s *stack) text(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var v *string
	if err := s.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if v == nil {
		return "<null>"
	}
	return *v
}

// counts is an Observer that remembers what it was told.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(k string) { c.mu.Lock(); c.m[k]++; c.mu.Unlock() }
func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}
func (c *counts) SegmentMessage(typ string)         { c.add("message:" + typ) }
func (c *counts) SegmentMessageRefused(code string) { c.add("refused:" + code) }
func (c *counts) SegmentRequestRefused(code string) { c.add("request:" + code) }
func (c *counts) TSReplaced(reason string)          { c.add("ts:" + reason) }
