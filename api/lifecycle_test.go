package api_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

// TestDisableAccounts: who may disable whom, and a disabled account's sessions and tokens stop
// at once.
func TestDisableAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	a, b := e.project("A"), e.project("B")
	admin := e.account("admin@example.com", pw, true)
	owner := e.account("owner@example.com", pw, false)
	member := e.account("member@example.com", pw, false)
	both := e.account("both@example.com", pw, false)
	stranger := e.account("stranger@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner'), beacon.set_membership($3, $2, 'editor'),
	               beacon.set_membership($4, $2, 'viewer'), beacon.set_membership($4, $5, 'viewer'),
	               beacon.set_membership($6, $5, 'viewer')`, owner, a, member, both, b, stranger)
	ob, mb, ab := e.browser(), e.browser(), e.browser()
	ob.mustSignIn("owner@example.com", pw)
	mb.mustSignIn("member@example.com", pw)
	ab.mustSignIn("admin@example.com", pw)
	tok := "bct_" + strings.Repeat("m", 43)
	h := sha256.Sum256([]byte(tok))
	e.exec(`SELECT beacon.create_token($1, 'read', 'member''s', interval '1 day', $2, $3)`, a, h[:], member)
	memberToken := tokenClient{e, tok}
	if r := memberToken.do("GET", "/api/projects/"+a+"/flags", nil); r.status != 200 {
		t.Fatalf("member's token before: %d %s", r.status, r.body)
	}

	off := map[string]any{"disabled": true}
	for _, c := range []struct {
		who    *browser
		target string
		status int
	}{
		{ob, stranger, 404}, // not a member of its projects: no such account for it
		{ob, both, 403},     // also a member of B, which it does not own
		{ob, admin, 404},    // admins have no membership rows: none of its members
		{ob, owner, 400},    // itself
		{ob, "not-a-uuid", 404},
	} {
		if r := c.who.send("PATCH", "/api/accounts/"+c.target, off); r.status != c.status {
			t.Errorf("disable %s: %d %s, want %d", c.target, r.status, r.body, c.status)
		}
	}
	if r := ob.send("PATCH", "/api/accounts/"+member, map[string]any{}); r.status != 400 {
		t.Errorf("no disabled field: %d %s", r.status, r.body)
	}
	if r := ob.send("PATCH", "/api/accounts/"+member, off); r.status != 200 || r.json(t)["disabled"] != true {
		t.Fatalf("owner disables its member: %d %s", r.status, r.body)
	}
	if r := mb.do("GET", "/api/projects", nil); r.status != 401 {
		t.Errorf("disabled account's session: %d %s", r.status, r.body)
	}
	if r := memberToken.do("GET", "/api/projects/"+a+"/flags", nil); r.status != 401 {
		t.Errorf("disabled account's token: %d %s", r.status, r.body)
	}
	if r := e.browser().signIn("member@example.com", pw); r.status != 401 {
		t.Errorf("disabled account signs in: %d", r.status)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'account_disabled' AND account_id = $1 AND target = 'account:' || $2`, owner, member); n != 1 {
		t.Errorf("%d account_disabled rows", n)
	}
	// The admin disables anyone else and re-enables.
	if r := ab.send("PATCH", "/api/accounts/"+both, off); r.status != 200 {
		t.Errorf("admin disables: %d %s", r.status, r.body)
	}
	if r := ab.send("PATCH", "/api/accounts/"+member, map[string]any{"disabled": false}); r.status != 200 {
		t.Errorf("admin enables: %d %s", r.status, r.body)
	}
	e.browser().mustSignIn("member@example.com", pw)
	if e.auditCount("account_enabled", admin) != 1 {
		t.Error("enabling not audited")
	}
}

// TestIdleAccountsDisabled: maintain() disables accounts unused for account_idle_days.
func TestIdleAccountsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	idle := e.account("idle@example.com", pw, false)
	active := e.account("active@example.com", pw, false)
	fresh := e.account("fresh@example.com", pw, false)
	e.browser().mustSignIn("active@example.com", pw)
	e.exec(`UPDATE beacon.accounts SET created_at = now() - interval '200 days', last_active_at = now() - interval '91 days' WHERE account_id = $1`, idle)
	e.exec(`UPDATE beacon.accounts SET created_at = now() - interval '200 days', last_active_at = now() - interval '91 days' WHERE account_id = $1`, active)
	e.maintain()
	for id, want := range map[string]bool{idle: true, active: false, fresh: false} {
		if got := scalar[bool](e, `SELECT disabled_at IS NOT NULL FROM beacon.accounts WHERE account_id = $1`, id); got != want {
			t.Errorf("account %s disabled %v, want %v", id, got, want)
		}
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'account_disabled' AND target = 'account:' || $1 AND after ->> 'reason' = 'idle 90 days'`, idle); n != 1 {
		t.Errorf("%d idle account_disabled rows", n)
	}
	e.exec(`UPDATE beacon.settings SET account_idle_days = NULL`)
	e.exec(`UPDATE beacon.accounts SET last_active_at = now() - interval '1000 days', created_at = now() - interval '1000 days' WHERE account_id = $1`, active)
	e.maintain()
	if scalar[bool](e, `SELECT disabled_at IS NOT NULL FROM beacon.accounts WHERE account_id = $1`, active) {
		t.Error("disabled with account_idle_days NULL")
	}
}

// TestOwnSessions: a person lists and ends their own sessions; the oldest beyond the limit end.
func TestOwnSessions(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.MaxSessions = 2
	e := newEnv(t, cfg)
	ada := e.account("ada@example.com", pw, false)
	e.account("bob@example.com", pw, false)
	first, second := e.browser(), e.browser()
	first.mustSignIn("ada@example.com", pw)
	second.mustSignIn("ada@example.com", pw)
	bob := e.browser()
	bob.mustSignIn("bob@example.com", pw)

	r := second.do("GET", "/api/account/sessions", nil)
	list, _ := r.json(t)["sessions"].([]any)
	if r.status != 200 || len(list) != 2 || list[0].(map[string]any)["current"] != true || list[1].(map[string]any)["current"] != false {
		t.Fatalf("sessions: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "token") || strings.Contains(string(r.body), "csrf") {
		t.Errorf("sessions show secrets: %s", r.body)
	}
	firstID := fmt.Sprint(list[1].(map[string]any)["id"])
	if r := bob.send("DELETE", "/api/account/sessions/"+firstID, nil); r.status != 404 {
		t.Errorf("bob ends ada's session: %d %s", r.status, r.body)
	}
	if r := second.send("DELETE", "/api/account/sessions/"+firstID, nil); r.status != 204 {
		t.Fatalf("end own session: %d %s", r.status, r.body)
	}
	if r := first.do("GET", "/api/session", nil); r.status != 401 {
		t.Errorf("ended session: %d", r.status)
	}
	if e.auditCount("session_ended", ada) != 1 {
		t.Error("session_ended not audited")
	}

	// At most 2: a third sign-in ends the oldest.
	third, fourth := e.browser(), e.browser()
	third.mustSignIn("ada@example.com", pw)
	fourth.mustSignIn("ada@example.com", pw)
	if r := second.do("GET", "/api/session", nil); r.status != 401 {
		t.Errorf("oldest session past the limit: %d", r.status)
	}
	for _, b := range []*browser{third, fourth} {
		if r := b.do("GET", "/api/session", nil); r.status != 200 {
			t.Errorf("newer session: %d", r.status)
		}
	}
	if e.auditCount("session_evicted", ada) != 1 {
		t.Errorf("%d session_evicted rows", e.auditCount("session_evicted", ada))
	}
}

// TestSensitiveActionsNeedRecentPassword: adding a member and deleting a person too.
func TestSensitiveActionsNeedRecentPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	p := e.project("A")
	owner := e.account("owner@example.com", pw, false)
	e.account("new@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner')`, owner, p)
	b := e.browser()
	b.mustSignIn("owner@example.com", pw)
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '10 minutes'`)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/projects/" + p + "/members", map[string]any{"email": "new@example.com", "role": "viewer"}},
		{"DELETE", "/api/projects/" + p + "/people/u1", nil},
	} {
		if r := b.send(c.method, c.path, c.body); r.status != 403 || r.code(t) != "reauth_required" {
			t.Errorf("%s %s with an old password: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if r := b.send("POST", "/api/session/reauth", map[string]any{"password": pw}); r.status != 204 {
		t.Fatalf("reauth: %d %s", r.status, r.body)
	}
	if r := b.send("POST", "/api/projects/"+p+"/members", map[string]any{"email": "new@example.com", "role": "viewer"}); r.status != 201 {
		t.Errorf("add member after reauth: %d %s", r.status, r.body)
	}
	if e.auditCount("reauth", owner) != 1 {
		t.Error("reauth not audited")
	}
}

// TestBanner: with SIGNIN_BANNER set, no sign-in without accepting it; the acceptance is audited.
func TestBanner(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.Banner = "You are accessing a U.S. Government information system."
	e := newEnv(t, cfg)
	id := e.account("ada@example.com", pw, false)
	b := e.browser()
	if r := b.do("GET", "/api/banner", nil); r.status != 200 || r.json(t)["banner"] != cfg.Banner {
		t.Errorf("GET /api/banner: %d %s", r.status, r.body)
	}
	if r := b.signIn("ada@example.com", pw); r.status != 400 || r.code(t) != "banner_not_accepted" {
		t.Errorf("sign-in without accepting: %d %s", r.status, r.body)
	}
	r := b.do("POST", "/api/session", map[string]any{"email": "ada@example.com", "password": pw, "accept_banner": true})
	if r.status != 200 {
		t.Fatalf("sign-in accepting: %d %s", r.status, r.body)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(cfg.Banner)))
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'banner_accepted' AND account_id = $1 AND after ->> 'banner_sha256' = $2`, id, sum); n != 1 {
		t.Errorf("%d banner_accepted rows", n)
	}
	// Without a banner: null, and no acceptance needed.
	e2 := newEnv(t, defaultConfig())
	if r := e2.browser().do("GET", "/api/banner", nil); r.status != 200 || string(r.body) != "{\"banner\":null}\n" {
		t.Errorf("no banner: %d %q", r.status, r.body)
	}
}
