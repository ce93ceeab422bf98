package ws_test

import (
	"maps"
	"testing"

	"github.com/beacon-analytics/beacon/ws"
)

// TestFlagsOnCountsWhatWasPushed: the count follows the flag sets written to the clients, per
// project, through a change pushed by the trigger path.
func TestFlagsOnCountsWhatWasPushed(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p, other := s.project(t), s.project(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled, client_visible) VALUES
		($1, 'on', true, true), ($1, 'off', false, true), ($2, 'on', true, true)`, p, other)
	c1, c2 := s.dial(t, p, "f1"), s.dial(t, p, "f2")
	c1.next("flags")
	c2.next("flags")
	s.dial(t, other, "g1").next("flags")
	if got, want := s.reg.FlagsOn(p), map[string]int{"on": 2}; !maps.Equal(got, want) {
		t.Fatalf("FlagsOn = %v, want %v", got, want)
	}
	s.exec(t, `UPDATE beacon.flags SET enabled = NOT enabled WHERE project_id = $1`, p)
	c1.next("flags")
	c2.next("flags")
	if got, want := s.reg.FlagsOn(p), map[string]int{"off": 2}; !maps.Equal(got, want) {
		t.Fatalf("after the change FlagsOn = %v, want %v", got, want)
	}
	if got := s.reg.FlagsOn(s.project(t)); len(got) != 0 {
		t.Errorf("a project without clients: %v", got)
	}
}
