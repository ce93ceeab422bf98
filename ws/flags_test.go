package ws_test

import (
	"testing"

	"github.com/beacon-analytics/beacon/ws"
)

func TestFlagChangeReachesOnlyItsProject(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	a, b := s.project(t), s.project(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'new-nav', false), ($2, 'other', false)`, a, b)
	a1, a2, b1 := s.dial(t, a, "x1"), s.dial(t, a, "x2"), s.dial(t, b, "y1")
	for _, c := range []*client{a1, a2} {
		if m := c.next("flags"); m["flags"].(map[string]any)["new-nav"] != false {
			t.Fatalf("initial flags = %v", m["flags"])
		}
	}
	b1.next("flags")

	// A DBA's plain UPDATE, no relay involved.
	s.exec(t, `UPDATE beacon.flags SET enabled = true WHERE project_id = $1 AND key = 'new-nav'`, a)
	for _, c := range []*client{a1, a2} {
		if m := c.next("flags"); m["flags"].(map[string]any)["new-nav"] != true {
			t.Fatalf("pushed flags = %v, want new-nav true", m["flags"])
		}
	}
	// b1's next flags message must be its own project's change, not a's.
	s.exec(t, `UPDATE beacon.flags SET enabled = true WHERE project_id = $1`, b)
	m := b1.next("flags")
	if got := m["flags"].(map[string]any); len(got) != 1 || got["other"] != true {
		t.Fatalf("project b client got %v, want only other=true", got)
	}
	// Deleting the last flag pushes {} (never null).
	s.exec(t, `DELETE FROM beacon.flags WHERE project_id = $1`, b)
	if got := b1.next("flags")["flags"].(map[string]any); len(got) != 0 {
		t.Fatalf("after delete: %v, want {}", got)
	}
}

func TestFlagsResyncAfterListenerReconnect(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'beta', false)`, p)
	c := s.dial(t, p, "z1")
	c.next("flags")

	// Kill the listener's connection, then change the flag before it can reconnect (its
	// reconnect delay is 500ms): the NOTIFY goes to no one, and only the resync can deliver it.
	if n := s.count(t, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'beacon_listener' AND datname = current_database()`); n != 1 {
		t.Fatalf("terminated %d listener backends, want 1", n)
	}
	s.exec(t, `UPDATE beacon.flags SET enabled = true WHERE project_id = $1`, p)
	if m := c.next("flags"); m["flags"].(map[string]any)["beta"] != true {
		t.Fatalf("after resync: %v", m["flags"])
	}
	waitFor(t, "listener back", s.pusher.Listening)
}

func TestRolloutAndIdentifyChangeFlags(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	// 0% rollout: off for everyone; an identify does not change that, and the set is re-sent
	// only when it changes.
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled, rollout_percent) VALUES ($1, 'slow', true, 0)`, p)
	c := s.dial(t, p, "r1")
	if m := c.next("flags"); m["flags"].(map[string]any)["slow"] != false {
		t.Fatalf("0%% rollout flag on: %v", m["flags"])
	}
	s.exec(t, `UPDATE beacon.flags SET rollout_percent = 100 WHERE project_id = $1`, p)
	if m := c.next("flags"); m["flags"].(map[string]any)["slow"] != true {
		t.Fatalf("100%% rollout flag off: %v", m["flags"])
	}
}
