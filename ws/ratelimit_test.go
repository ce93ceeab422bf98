package ws_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/wsclient"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

func TestRateLimitAnswersThenCloses(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{Rates: ws.RateLimits{PerConn: 1, PerConnBurst: 5, Strikes: 10}})
	p := s.project(t)
	c := s.dial(t, p, "flood")
	c.next("flags")
	for i := 1; i <= 5; i++ {
		c.send(map[string]any{"type": "event", "event": "e", "seq": i})
	}
	c.waitAck(5)
	// The burst is spent: the next message is answered, not silently dropped.
	c.send(map[string]any{"type": "event", "event": "e", "seq": 6})
	if m := c.next("error"); m["code"] != protocol.CodeRateLimited || m["seq"] != float64(6) {
		t.Fatalf("got %v, want rate_limited for seq 6", m)
	}
	// A client that persists is closed with 1008.
	for i := 7; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.c.Write(ctx, websocket.MessageText, []byte(`{"type":"event","event":"e"}`))
		cancel()
	}
	for range c.msgs {
	}
	if code := websocket.CloseStatus(<-c.done); code != websocket.StatusPolicyViolation {
		t.Fatalf("close = %v, want 1008", code)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p); n != 5 {
		t.Fatalf("rows = %d, want the 5 allowed", n)
	}
}

func TestProjectRateLimit(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{Rates: ws.RateLimits{PerProject: 0.001, PerProjectBurst: 3}})
	p := s.project(t)
	a, b := s.dial(t, p, "a"), s.dial(t, p, "b")
	a.next("flags")
	b.next("flags")
	for i := 1; i <= 3; i++ {
		a.send(map[string]any{"type": "event", "event": "e", "seq": i})
	}
	a.waitAck(3)
	// The project's bucket is shared: b is limited though it sent nothing yet; pings still work.
	b.send(map[string]any{"type": "event", "event": "e", "seq": 1})
	if m := b.next("error"); m["code"] != protocol.CodeRateLimited {
		t.Fatalf("got %v", m)
	}
	b.send(map[string]any{"type": "ping"})
	b.next("pong")
}

func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{Rates: ws.RateLimits{MaxConns: 3, MaxConnsProject: 2}})
	p, q := s.project(t), s.project(t)
	s.dial(t, p, "1").next("flags")
	s.dial(t, p, "2").next("flags")
	status := func(project string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, _ := wsclient.Dial(ctx, s.url("/ws", mustUUID(project), "x"), nil)
		if c != nil {
			t.Cleanup(func() { _ = c.CloseNow() })
		}
		if resp == nil {
			return 0
		}
		return resp.StatusCode
	}
	if got := status(p.String()); got != http.StatusServiceUnavailable {
		t.Fatalf("third connection of one project: %d, want 503", got)
	}
	if got := status(q.String()); got != http.StatusSwitchingProtocols {
		t.Fatalf("other project: %d, want 101", got)
	}
	if got := status(q.String()); got != http.StatusServiceUnavailable {
		t.Fatalf("fourth connection on the relay: %d, want 503", got)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{IdleTimeout: 300 * time.Millisecond})
	c := s.dial(t, s.project(t), "idle")
	c.next("flags")
	start := time.Now()
	for range c.msgs {
	}
	err := <-c.done
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("idle close: %v, want 1008", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("idle connection outlived its timeout by far")
	}
}
