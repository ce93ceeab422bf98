package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/beacon-analytics/beacon/api"
)

const ownerPW = "owner password long enough"

// invite creates an invitation as b and returns its link's path.
func invite(t *testing.T, b *browser, project, email, role string) string {
	t.Helper()
	a := b.send("POST", "/api/projects/"+project+"/invites", map[string]string{"email": email, "role": role})
	if a.status != http.StatusCreated {
		t.Fatalf("invite %s: %d %s", email, a.status, a.body)
	}
	p, _ := a.json(t)["path"].(string)
	if !strings.HasPrefix(p, "/invite/") {
		t.Fatalf("invite path %q", p)
	}
	return p
}

// TestInviteLifecycle: an owner (recently re-authenticated) invites; the link shows the
// invitation, refuses a weak password, makes the account a member with the role and signs it in,
// once; revoked, expired and unknown links are refused with their reason; all audited.
func TestInviteLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	p := e.project("invites")
	owner := e.account("owner@example.com", ownerPW, true)
	b := e.browser()
	b.mustSignIn("owner@example.com", ownerPW)

	// Re-authentication needed, as for adding a member.
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour', created_at = now() - interval '1 hour'`)
	if a := b.send("POST", "/api/projects/"+p+"/invites", map[string]string{"email": "new@example.com", "role": "editor"}); a.status != http.StatusForbidden || a.code(t) != "reauth_required" {
		t.Fatalf("invite without a recent password: %d %s", a.status, a.body)
	}
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now()`)
	if a := b.send("POST", "/api/projects/"+p+"/invites", map[string]string{"email": "owner@example.com", "role": "editor"}); a.status != http.StatusBadRequest {
		t.Fatalf("invite of an existing account: %d %s", a.status, a.body)
	}
	link := invite(t, b, p, "New@Example.com", "editor")
	if a := b.send("POST", "/api/projects/"+p+"/invites", map[string]string{"email": "new@example.com", "role": "viewer"}); a.status != http.StatusBadRequest {
		t.Fatalf("a second pending invitation: %d %s", a.status, a.body)
	}
	list := b.do("GET", "/api/projects/"+p+"/invites", nil)
	if inv, _ := list.json(t)["invites"].([]any); list.status != http.StatusOK || len(inv) != 1 || strings.Contains(string(list.body), strings.TrimPrefix(link, "/invite/")) {
		t.Fatalf("pending invites: %d %s", list.status, list.body)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.invites WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, strings.TrimPrefix(link, "/invite/")); n != 1 {
		t.Fatal("the token is not stored as its SHA-256")
	}

	guest := e.browser()
	peek := guest.do("GET", "/api"+strings.Replace(link, "/invite/", "/invites/", 1), nil)
	if j := peek.json(t); peek.status != http.StatusOK || j["email"] != "New@Example.com" || j["role"] != "editor" || j["project"] != "invites" {
		t.Fatalf("peek: %d %s", peek.status, peek.body)
	}
	accept := "/api" + strings.Replace(link, "/invite/", "/invites/", 1)
	if a := guest.do("POST", accept, map[string]string{"password": "short"}); a.status != http.StatusBadRequest || a.code(t) != "weak_password" {
		t.Fatalf("weak password: %d %s", a.status, a.body)
	}
	if a := guest.do("POST", accept, map[string]string{"password": "a new password for the guest"}); a.status != http.StatusOK {
		t.Fatalf("accept: %d %s", a.status, a.body)
	}
	if s := guest.do("GET", "/api/session", nil); s.status != http.StatusOK {
		t.Fatalf("no session after accepting: %d", s.status)
	}
	if r := scalar[string](e, `SELECT m.role FROM beacon.memberships m JOIN beacon.accounts a USING (account_id) WHERE a.email = 'New@Example.com' AND m.project_id = $1`, p); r != "editor" {
		t.Fatalf("role %q, want editor", r)
	}
	if a := e.browser().do("POST", accept, map[string]string{"password": "another password for someone"}); a.status != http.StatusGone || a.code(t) != "invite_used" {
		t.Fatalf("a used link: %d %s", a.status, a.body)
	}
	e.browser().mustSignIn("New@Example.com", "a new password for the guest")

	// An editor cannot invite.
	ed := e.browser()
	ed.mustSignIn("New@Example.com", "a new password for the guest")
	if a := ed.send("POST", "/api/projects/"+p+"/invites", map[string]string{"email": "x@example.com", "role": "viewer"}); a.status != http.StatusForbidden {
		t.Fatalf("an editor invites: %d %s", a.status, a.body)
	}

	// Revoked, expired, unknown.
	revoked := invite(t, b, p, "rev@example.com", "viewer")
	id := scalar[string](e, `SELECT invite_id::text FROM beacon.invites WHERE email = 'rev@example.com'`)
	if a := b.send("DELETE", "/api/projects/"+p+"/invites/"+id, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if a := b.send("DELETE", "/api/projects/"+p+"/invites/"+id, nil); a.status != http.StatusNotFound || errMessage(t, a) != "invitation not found (or no longer pending)" {
		t.Fatalf("revoke twice: %d %s", a.status, a.body)
	}
	expired := invite(t, b, p, "exp@example.com", "viewer")
	e.exec(`UPDATE beacon.invites SET created_at = now() - interval '4 days', expires_at = now() - interval '1 day' WHERE email = 'exp@example.com'`)
	for path, want := range map[string]string{revoked: "invite_revoked", expired: "invite_expired", "/invite/not-a-token": "invite_unknown"} {
		api := "/api" + strings.Replace(path, "/invite/", "/invites/", 1)
		if a := e.browser().do("GET", api, nil); a.code(t) != want {
			t.Errorf("peek %s: %d %s, want %s", want, a.status, a.body, want)
		}
		if a := e.browser().do("POST", api, map[string]string{"password": "a fine password for nobody"}); a.code(t) != want {
			t.Errorf("accept %s: %d %s, want %s", want, a.status, a.body, want)
		}
	}
	for action, want := range map[string]int{"invite_created": 3, "invite_accepted": 1, "invite_revoked": 1, "invite_refused": 4} {
		if n := e.auditCount(action, ""); n != want {
			t.Errorf("%s audited %d times, want %d", action, n, want)
		}
	}
	if n := e.auditCount("invite_created", owner); n != 3 {
		t.Errorf("invite_created by the owner %d times", n)
	}
}

// TestInviteBySSO: an invitation is accepted through single sign-on by the invited (verified)
// email, whatever its domain; another email is refused.
func TestInviteBySSO(t *testing.T) {
	t.Parallel()
	var p string
	e := newSSOEnv(t, func(e *env, _ *api.Config, _ *api.OIDCConfig) {
		p = e.project("sso invites")
		e.account("owner@example.com", ownerPW, true)
	})
	b := e.browser()
	b.mustSignIn("owner@example.com", ownerPW)
	link := invite(t, b, p, "guest@partner.org", "viewer")
	token := strings.TrimPrefix(link, "/invite/")
	if got := refusedWith(e.ssoBrowser().sso(e.idp, user("g-0", "other@partner.org", true), "invite="+token)); got != "invite_email_mismatch" {
		t.Fatalf("another email: refusal %q", got)
	}
	sb := e.ssoBrowser()
	if got := sb.sso(e.idp, &mockoidc.MockUser{Subject: "g-1", Email: "guest@partner.org", EmailVerified: true}, "invite="+token+"&return=/p/"+p); got != "/p/"+p {
		t.Fatalf("invite by SSO went to %q", got)
	}
	if r := scalar[string](e.env, `SELECT m.role FROM beacon.memberships m JOIN beacon.accounts a USING (account_id) WHERE a.email = 'guest@partner.org'`); r != "viewer" {
		t.Fatalf("role %q", r)
	}
	if got := refusedWith(e.ssoBrowser().sso(e.idp, user("g-2", "guest2@partner.org", true), "invite="+token)); got != "invite_used" {
		t.Fatalf("a used invitation by SSO: refusal %q", got)
	}
}
