package ws_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/store"
	"github.com/beacon-analytics/beacon/ws"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// stack is a whole relay edge on a fresh database, served by httptest.
type stack struct {
	db      *testdb.DB
	edge    *ws.Server
	http    *httptest.Server
	batcher *pgbatch.Batcher
	pusher  *flags.Pusher
	reg     *ws.Registry
}

func newStack(t *testing.T, cfg ws.Config) *stack {
	t.Helper()
	return newStackWith(t, cfg, pgbatch.Config{BatchSize: 500, FlushInterval: 5 * time.Millisecond})
}

// newStackWith is newStack with the batcher configured by bcfg.
func newStackWith(t *testing.T, cfg ws.Config, bcfg pgbatch.Config, opts ...func(*httptest.Server)) *stack {
	t.Helper()
	db := testdb.New(t)
	s := &stack{db: db}
	s.batcher = pgbatch.New(db.Pool, bcfg, quiet, nil)
	reg := ws.NewRegistry()
	s.reg = reg
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		c, err := pgx.ParseConfig(db.URL)
		if err != nil {
			return nil, err
		}
		c.RuntimeParams["application_name"] = "beacon_listener"
		return pgx.ConnectConfig(ctx, c)
	}
	s.pusher = flags.New(db.Pool, connect, reg, quiet, nil)
	s.edge = ws.New(cfg, store.New(db.Pool), s.batcher, s.pusher, reg, quiet)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", s.edge)
	mux.HandleFunc("/v1/events", s.edge.Ingest)
	s.http = httptest.NewUnstartedServer(mux)
	for _, o := range opts {
		o(s.http)
	}
	s.http.Start()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.batcher.Run(ctx) })
	wg.Go(func() { s.pusher.Run(ctx) })
	t.Cleanup(func() {
		sctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		if err := s.edge.Shutdown(sctx); err != nil {
			t.Errorf("edge shutdown: %v", err)
		}
		s.http.Close()
		if err := s.batcher.Close(sctx); err != nil {
			t.Errorf("batcher close: %v", err)
		}
		cancel()
		wg.Wait()
	})
	waitFor(t, "listener", s.pusher.Listening)
	return s
}

// project inserts a project allowing origins and returns its id.
func (s *stack) project(t *testing.T, origins ...string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := s.db.Pool.QueryRow(context.Background(),
		`INSERT INTO beacon.projects (name, allowed_origins) VALUES ('p', $1) RETURNING project_id`,
		append([]string{}, origins...)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *stack) url(path string, project uuid.UUID, anon string) string {
	u := strings.Replace(s.http.URL, "http://", "ws://", 1) + path + "?project=" + project.String() + "&session=s-" + anon + "&anon=" + anon
	return u
}

func (s *stack) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := s.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (s *stack) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// client is a test WebSocket client that reads server messages into a channel.
type client struct {
	t     *testing.T
	c     *websocket.Conn
	msgs  chan map[string]any
	done  chan error       // the read loop's end
	flags []map[string]any // flag sets read while waiting for something else, oldest first
}

func (s *stack) dial(t *testing.T, project uuid.UUID, anon string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := wsclient.Dial(ctx, s.url("/ws", project, anon), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: t, c: c, msgs: make(chan map[string]any, 10000), done: make(chan error, 1)}
	go func() {
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				cl.done <- err
				close(cl.msgs)
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Errorf("server sent bad JSON %q", data)
			}
			cl.msgs <- m
		}
	}()
	t.Cleanup(func() { _ = c.CloseNow() })
	return cl
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next message of type typ, skipping others for which skip is true.
// next returns the next message of type typ, skipping acks and pongs. A flag set read meanwhile
// is kept for the next next("flags"): the relay may write an identify's new flags before or
// after its ack.
func (c *client) next(typ string) map[string]any {
	c.t.Helper()
	if typ == "flags" && len(c.flags) > 0 {
		m := c.flags[0]
		c.flags = c.flags[1:]
		return m
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("connection closed while waiting for %s: %v", typ, <-c.done)
			}
			if m["type"] == typ {
				return m
			}
			if m["type"] == "flags" {
				c.flags = append(c.flags, m)
				continue
			}
			if m["type"] != "ack" && m["type"] != "pong" {
				c.t.Fatalf("waiting for %s, got %v", typ, m)
			}
		case <-timeout:
			c.t.Fatalf("no %s message within 15s", typ)
		}
	}
}

// waitAck waits until the server has acknowledged seq.
func (c *client) waitAck(seq float64) {
	c.t.Helper()
	for {
		if m := c.next("ack"); m["seq"].(float64) >= seq {
			return
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 15*time.Second, what, cond)
}

// waitWithin is waitFor with its own limit, for a condition whose time depends on the machine's
// throughput rather than on a timer of the code under test.
func waitWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s not reached within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }

// smallSendBuffers gives the relay's accepted sockets a 4 KiB kernel send buffer, so a client that
// does not read blocks the relay's writes after a few KiB rather than after the megabytes Linux
// autotunes to.
func smallSendBuffers(srv *httptest.Server) { srv.Listener = sendBufferListener{srv.Listener} }

type sendBufferListener struct{ net.Listener }

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(4096); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}
