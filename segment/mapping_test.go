package segment_test

import (
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/segment"
)

const firefoxAndroid = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"

// TestMappings: every Segment type posted to its own endpoint lands where docs/protocol.md says.
func TestMappings(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	ctx := map[string]any{
		"userAgent": firefoxAndroid, "locale": "de-DE", "ip": "203.0.113.9",
		"library":  map[string]any{"name": "analytics-node", "version": "2.1.0"},
		"campaign": map[string]any{"name": "spring", "source": "newsletter", "medium": "email"},
		"page":     map[string]any{"url": "https://shop.example/p?x=1", "path": "/p", "referrer": "https://www.google.com/", "title": "P"},
	}
	posts := []struct {
		path string
		msg  map[string]any
	}{
		{"/v1/track", map[string]any{"userId": "u1", "anonymousId": "a1", "event": "Order Completed", "messageId": "m-track", "properties": map[string]any{"total": 30.5}, "context": ctx}},
		{"/v1/page", map[string]any{"anonymousId": "a1", "name": "Pricing", "messageId": "m-page", "properties": map[string]any{"title": "Own title"}, "context": ctx}},
		{"/v1/screen", map[string]any{"userId": "u1", "name": "Home", "messageId": "m-screen"}},
		{"/v1/group", map[string]any{"userId": "u1", "groupId": "acme", "messageId": "m-group", "traits": map[string]any{"name": "Acme Inc."}}},
		{"/v1/identify", map[string]any{"userId": "u1", "anonymousId": "a1", "traits": map[string]any{"email": "u1@example.com", "plan": "pro"}}},
		{"/v1/identify", map[string]any{"userId": "u2", "traits": map[string]any{"plan": "free"}}},
		{"/v1/alias", map[string]any{"previousId": "a9", "userId": "u1"}},
		{"/v1/alias", map[string]any{"previousId": "u2", "userId": "u1"}},
	}
	for _, p := range posts {
		if a := s.postJSON(t, p.path, p.msg); a.Status != 200 || !a.Success || a.Accepted != 1 {
			t.Fatalf("%s: %+v", p.path, a)
		}
	}
	q := func(id, expr string) string {
		return s.text(t, `SELECT `+expr+` FROM beacon.events WHERE project_id = $1 AND event_id = $2`, s.project, segment.EventID(s.project, id))
	}
	for _, c := range []struct{ id, expr, want string }{
		{"m-track", "name", "Order Completed"},
		{"m-track", "props->>'total'", "30.5"},
		{"m-track", "user_id || '/' || anon_id", "u1/a1"},
		{"m-track", "props->>'$browser' || '/' || (props->>'$os') || '/' || (props->>'$device')", "Firefox/Android/mobile"},
		{"m-track", "props->>'utm_campaign' || '/' || (props->>'utm_source') || '/' || (props->>'utm_medium')", "spring/newsletter/email"},
		{"m-track", "props->>'$lib' || ' ' || (props->>'$lib_version') || ' ' || (props->>'$locale')", "analytics-node 2.1.0 de-DE"},
		{"m-track", "props->'$context'->>'ip'", "203.0.113.9"},
		{"m-track", "props->>'$message_id'", "m-track"},
		{"m-page", "name", "$pageview"},
		{"m-page", "props->>'url' || ' ' || (props->>'path') || ' ' || (props->>'referrer')", "https://shop.example/p?x=1 /p https://www.google.com/"},
		{"m-page", "props->>'title' || '/' || (props->>'name')", "Own title/Pricing"},
		{"m-page", "coalesce(user_id, '-')", "-"},
		{"m-screen", "name || ' ' || (props->>'name')", "$screen Home"},
		{"m-group", "name", "$group"},
		{"m-group", "props->>'$group_key' || ' ' || (props->'$group_set'->>'name') || ' ' || (props->'$groups'->>'group')", "acme Acme Inc. acme"},
	} {
		if got := q(c.id, c.expr); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.id, c.expr, got, c.want)
		}
	}
	if got := s.text(t, `SELECT traits->>'email' FROM beacon.users WHERE project_id = $1 AND user_id = 'u1'`, s.project); got != "u1@example.com" {
		t.Errorf("identify traits: %q", got)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.aliases WHERE project_id = $1 AND user_id = 'u1' AND anon_id IN ('a1', 'a9')`, s.project); n != 2 {
		t.Errorf("aliases of u1: %d, want a1 (identify) and a9 (alias)", n)
	}
	if got := s.text(t, `SELECT merged_into FROM beacon.users WHERE project_id = $1 AND user_id = 'u2'`, s.project); got != "u1" {
		t.Errorf("alias of a known user: u2 merged into %q, want u1", got)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.identity_audit WHERE project_id = $1 AND action = 'merge'`, s.project); n != 1 {
		t.Errorf("merges audited: %d", n)
	}
	// The pageview's context feeds the session code's columns only with a session id; the props
	// the sessions trigger reads are there.
	if got := q("m-page", "props->>'$browser'"); got != "Firefox" {
		t.Errorf("pageview $browser %q", got)
	}
	if s.obs.get("message:track") != 1 || s.obs.get("message:alias") != 2 {
		t.Errorf("observer: %v", s.obs.m)
	}
}

// TestVerifyingProjectTakesWriteKeyIdentifies: the write key is the server's credential, so a
// project that verifies identities takes the API's identifies without a userHash.
func TestVerifyingProjectTakesWriteKeyIdentifies(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	if n := s.count(t, `SELECT count(*) FROM beacon.projects WHERE project_id = $1 AND verify_identity`, s.project); n != 1 {
		t.Fatal("beacon.create_project made a project that does not verify identities: the case is not reproduced")
	}
	if a := s.postJSON(t, "/v1/identify", map[string]any{"userId": "v1", "anonymousId": "va", "traits": map[string]any{"k": 1}}); a.Status != 200 {
		t.Fatalf("%+v", a)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.aliases WHERE project_id = $1 AND anon_id = 'va' AND user_id = 'v1'`, s.project); n != 1 {
		t.Error("identify not stored")
	}
}

// TestClockSkew: timestamp = receivedAt - (sentAt - originalTimestamp), as the spec says; a
// message without sentAt keeps its own time.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	skewed := time.Now().Add(-3 * time.Hour) // the device's clock is 3 h behind
	iso := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	past := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	body := map[string]any{"sentAt": iso(skewed), "batch": []any{
		map[string]any{"type": "track", "event": "a", "userId": "u", "messageId": "skew", "originalTimestamp": iso(skewed.Add(-10 * time.Second))},
		map[string]any{"type": "track", "event": "b", "userId": "u", "messageId": "own-sent", "timestamp": iso(past), "sentAt": iso(past)},
	}}
	before := time.Now()
	if a := s.postJSON(t, "/v1/batch", body); a.Status != 200 || a.Accepted != 2 {
		t.Fatalf("%+v", a)
	}
	var ts time.Time
	_ = s.db.Pool.QueryRow(t.Context(), `SELECT ts FROM beacon.events WHERE event_id = $1`, segment.EventID(s.project, "skew")).Scan(&ts)
	if d := before.Add(-10 * time.Second).Sub(ts); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("skew-corrected ts %v, want about %v", ts, before.Add(-10*time.Second))
	}
	_ = s.db.Pool.QueryRow(t.Context(), `SELECT ts FROM beacon.events WHERE event_id = $1`, segment.EventID(s.project, "own-sent")).Scan(&ts)
	if d := time.Since(ts); d > time.Minute {
		t.Errorf("sentAt equal to the timestamp 48 h ago: ts %v, want about now (the sender's clock is 48 h behind)", ts)
	}
}
