package ws_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/store"
	"github.com/beacon-analytics/beacon/ws"
)

// verifiedProject makes a project the way `beacon project create` does and returns its secret.
func (s *stack) verifiedProject(t *testing.T) (uuid.UUID, string) {
	t.Helper()
	var id uuid.UUID
	var secret string
	err := s.db.Pool.QueryRow(context.Background(),
		`SELECT p, beacon.identity_secret(p) FROM beacon.create_project('verified', '{}') p`).Scan(&id, &secret)
	if err != nil {
		t.Fatal(err)
	}
	return id, secret
}

func (s *stack) plan(t *testing.T, project uuid.UUID, user string) string {
	t.Helper()
	var plan string
	if err := s.db.Pool.QueryRow(context.Background(),
		`SELECT traits->>'plan' FROM beacon.users WHERE project_id = $1 AND user_id = $2`, project, user).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

// wantError waits for an error reply to seq with code, then checks the connection still answers.
func (c *client) wantError(seq float64, code string) {
	c.t.Helper()
	m := c.next("error")
	if m["code"] != code || m["seq"] != seq {
		c.t.Fatalf("error reply = %v, want code %s for seq %v", m, code, seq)
	}
	c.send(map[string]any{"type": "ping"})
	c.next("pong")
}

func flagSet(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	set, ok := m["flags"].(map[string]any)
	if !ok {
		t.Fatalf("flags message without a set: %v", m)
	}
	return set
}

// TestVictimCannotBeImpersonated is issue 10's scenario over a real WebSocket: an attacker who
// knows the project id identifies as the victim to downgrade their plan; with verification on
// the identify is refused, the victim's traits stay and the victim keeps the flag.
func TestVictimCannotBeImpersonated(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p, secret := s.verifiedProject(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled, rules, client_visible)
		VALUES ($1, 'enterprise-export', true, '[{"trait":"plan","op":"eq","value":"enterprise"}]', true)`, p)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'server-kill-switch', true)`, p) // server-only by default

	victim := s.dial(t, p, "victim-anon")
	if set := flagSet(t, victim.next("flags")); len(set) != 1 || set["enterprise-export"] != false {
		t.Fatalf("victim's first set = %v, want only enterprise-export=false", set)
	}
	victim.send(map[string]any{"type": "identify", "userId": "victim", "traits": map[string]any{"plan": "enterprise"},
		"userHash": store.UserHash(secret, "victim"), "seq": 1})
	victim.waitAck(1)
	if set := flagSet(t, victim.next("flags")); set["enterprise-export"] != true || len(set) != 1 {
		t.Fatalf("victim's set after a verified identify = %v, want enterprise-export only, on", set)
	}

	attacker := s.dial(t, p, "attacker-anon")
	attacker.next("flags")
	attacker.send(map[string]any{"type": "identify", "userId": "victim", "traits": map[string]any{"plan": "free"}, "seq": 1})
	attacker.wantError(1, "identity_unverified")
	attacker.send(map[string]any{"type": "identify", "userId": "victim", "traits": map[string]any{"plan": "free"},
		"userHash": store.UserHash("not-the-secret", "victim"), "seq": 2})
	attacker.wantError(2, "identity_unverified")
	attacker.send(map[string]any{"type": "identify", "userId": "victim", "traits": map[string]any{"plan": "free"},
		"userHash": store.UserHash(secret, "someone-else"), "seq": 3})
	attacker.wantError(3, "identity_unverified")
	attacker.send(map[string]any{"type": "event", "event": "after-refusal", "seq": 4})
	attacker.waitAck(4)

	if plan := s.plan(t, p, "victim"); plan != "enterprise" {
		t.Fatalf("victim's plan = %q after the attack, want enterprise", plan)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.aliases WHERE project_id = $1 AND anon_id = 'attacker-anon'`, p); n != 0 {
		t.Fatal("a refused identify claimed the user for the attacker's anon id")
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'after-refusal' AND user_id IS NULL`, p); n != 1 {
		t.Fatal("events after a refused identify carry the claimed user id")
	}
	// The victim's next connect still gets the flag, and never the server-only one.
	again := s.dial(t, p, "victim-anon")
	if set := flagSet(t, again.next("flags")); set["enterprise-export"] != true || len(set) != 1 {
		t.Fatalf("victim's set on reconnect = %v, want enterprise-export only, on", set)
	}
}

// TestServerOnlyFlagNeverPushed: a flag not marked client_visible is absent from connect's set
// and from every push; marking it visible pushes it.
func TestServerOnlyFlagNeverPushed(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p, _ := s.verifiedProject(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled, client_visible) VALUES ($1, 'public', false, true)`, p)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'internal', true)`, p)
	c := s.dial(t, p, "a1")
	if set := flagSet(t, c.next("flags")); len(set) != 1 || set["public"] != false {
		t.Fatalf("connect set = %v, want only public", set)
	}
	s.exec(t, `UPDATE beacon.flags SET enabled = true WHERE project_id = $1`, p)
	if set := flagSet(t, c.next("flags")); len(set) != 1 || set["public"] != true {
		t.Fatalf("pushed set = %v, want only public=true", set)
	}
	s.exec(t, `UPDATE beacon.flags SET client_visible = true WHERE project_id = $1 AND key = 'internal'`, p)
	if set := flagSet(t, c.next("flags")); len(set) != 2 || set["internal"] != true {
		t.Fatalf("after marking internal visible: %v", set)
	}
}

// TestVerificationOffKeepsOldBehaviour: a project inserted by hand (as every project before 004)
// takes unsigned identifies as before, and a userHash is ignored; all its flags stay visible.
func TestVerificationOffKeepsOldBehaviour(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled, rules) VALUES ($1, 'pro', true, '[{"trait":"plan","op":"eq","value":"pro"}]')`, p)
	c := s.dial(t, p, "old-1")
	if set := flagSet(t, c.next("flags")); set["pro"] != false {
		t.Fatalf("first set = %v", set)
	}
	c.send(map[string]any{"type": "identify", "userId": "u1", "traits": map[string]any{"plan": "pro"}, "seq": 1})
	c.waitAck(1)
	if set := flagSet(t, c.next("flags")); set["pro"] != true {
		t.Fatalf("set after an unsigned identify = %v, want pro on", set)
	}
	c.send(map[string]any{"type": "identify", "userId": "u1", "traits": map[string]any{"plan": "free"}, "userHash": "00", "seq": 2})
	c.waitAck(2)
	if plan := s.plan(t, p, "u1"); plan != "free" {
		t.Fatalf("plan = %q, want free (no verification: last identify wins, as before)", plan)
	}
}

// TestTraitsTooLarge: the per-user bound answers traits_too_large and the connection lives.
func TestTraitsTooLarge(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	s.exec(t, `UPDATE beacon.settings SET max_trait_keys = 2`)
	c := s.dial(t, p, "t1")
	c.next("flags")
	c.send(map[string]any{"type": "identify", "userId": "u", "traits": map[string]any{"a": 1, "b": 2}, "seq": 1})
	c.waitAck(1)
	c.send(map[string]any{"type": "identify", "userId": "u", "traits": map[string]any{"c": 3}, "seq": 2})
	c.wantError(2, "traits_too_large")
	if n := s.count(t, `SELECT count(*) FROM beacon.users, jsonb_object_keys(traits) WHERE project_id = $1`, p); n != 2 {
		t.Fatalf("stored keys = %d, want 2", n)
	}
}

// TestHTTPIdentifyVerified: POST /v1/events (server code, sendBeacon) follows the same rule: an
// unsigned identify of a verifying project is refused and the events after it carry no user; a
// signed one names the user of the events after it.
func TestHTTPIdentifyVerified(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p, secret := s.verifiedProject(t)
	url := strings.Replace(s.url("/v1/events", p, "h-anon"), "ws://", "http://", 1)
	body := `[
		{"type":"identify","userId":"u-1","traits":{"plan":"enterprise"}},
		{"type":"event","event":"unsigned-after"},
		{"type":"identify","userId":"u-1","traits":{"plan":"pro"},"userHash":"` + store.UserHash(secret, "u-1") + `"},
		{"type":"event","event":"signed-after"}
	]`
	resp, out := post(t, url, "application/json", body, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	errs := out["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["index"] != float64(0) || errs[0].(map[string]any)["code"] != "identity_unverified" {
		t.Fatalf("errors = %v, want identity_unverified for message 0 only", errs)
	}
	if plan := s.plan(t, p, "u-1"); plan != "pro" {
		t.Fatalf("plan = %q, want pro (only the signed identify)", plan)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1
		AND (name = 'unsigned-after' AND user_id IS NULL OR name = 'signed-after' AND user_id = 'u-1')`, p); n != 2 {
		t.Fatalf("events with the expected user ids = %d, want 2", n)
	}
}
