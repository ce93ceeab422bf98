package ws_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/ws"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	project := s.project(t)
	c := s.dial(t, project, "anon-1")
	if m := c.next("flags"); len(m["flags"].(map[string]any)) != 0 {
		t.Fatalf("first message flags = %v, want {}", m["flags"])
	}
	c.send(map[string]any{"type": "ping"})
	c.next("pong")

	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		c.send(map[string]any{"type": "event", "event": "click", "id": ids[i], "seq": i + 1,
			"ts": 1732870000000 + i, "props": map[string]any{"i": i, "path": "/pricing"}})
	}
	c.waitAck(1000)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, project); n != 1000 {
		t.Fatalf("rows = %d, want 1000", n)
	}
	var session, anon, name string
	var user *string
	var i int
	var tsMillis int64
	err := s.db.Pool.QueryRow(context.Background(), `
		SELECT session_id, anon_id, user_id, name, (props->>'i')::int, (extract(epoch FROM ts) * 1000)::bigint
		FROM beacon.events WHERE event_id = $1`, ids[41]).Scan(&session, &anon, &user, &name, &i, &tsMillis)
	if err != nil {
		t.Fatal(err)
	}
	if session != "s-anon-1" || anon != "anon-1" || user != nil || name != "click" || i != 41 {
		t.Fatalf("row = %q %q %v %q %d", session, anon, user, name, i)
	}
	// A year-old ts is within MAX_EVENT_AGE: it is kept as sent (1732870000000 is 2024-11-29).
	if tsMillis != 1732870000041 {
		t.Fatalf("ts = %d, want 1732870000041", tsMillis)
	}

	// Re-send 100 of them, as an SDK does after a reconnect: acked, not stored twice.
	for i := range 100 {
		c.send(map[string]any{"type": "event", "event": "click", "id": ids[i], "seq": 1001 + i,
			"ts": 1732870000000 + i, "props": map[string]any{"i": i, "path": "/pricing"}})
	}
	c.waitAck(1100)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, project); n != 1000 {
		t.Fatalf("rows after re-send = %d, want 1000", n)
	}
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	project := s.project(t)
	c := s.dial(t, project, "anon-2")
	c.send(map[string]any{"type": "event", "event": "before", "seq": 1})
	c.send(map[string]any{"type": "identify", "userId": "u-42", "traits": map[string]any{"plan": "pro"}, "seq": 2})
	c.send(map[string]any{"type": "identify", "userId": "u-42", "traits": map[string]any{"email": "a@b.c"}, "seq": 3})
	c.send(map[string]any{"type": "event", "event": "after", "seq": 4})
	c.waitAck(4)
	if n := s.count(t, `SELECT count(*) FROM beacon.users WHERE project_id = $1 AND user_id = 'u-42'
		AND traits = '{"plan":"pro","email":"a@b.c"}'`, project); n != 1 {
		t.Fatalf("merged user rows = %d, want 1", n)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.aliases WHERE project_id = $1 AND anon_id = 'anon-2' AND user_id = 'u-42'`, project); n != 1 {
		t.Fatalf("alias rows = %d, want 1", n)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'after' AND user_id = 'u-42'`, project); n != 1 {
		t.Fatal("event after identify does not carry the user id")
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'before' AND user_id IS NULL`, project); n != 1 {
		t.Fatal("event before identify should have no user id")
	}
	// A reconnect with the same anon id carries the user without a new identify.
	again := s.dial(t, project, "anon-2")
	again.next("flags")
	again.send(map[string]any{"type": "event", "event": "reconnected", "seq": 1})
	again.waitAck(1)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'reconnected' AND user_id = 'u-42'`, project); n != 1 {
		t.Fatal("event after a reconnect lacks the identified user")
	}
}
