package api_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// tokenClient sends requests as a script would: Authorization: Bearer, no cookie, no Origin,
// no CSRF token.
type tokenClient struct {
	e     *env
	token string
}

func (c tokenClient) do(method, path string, body any) answer {
	c.e.t.Helper()
	b := &browser{e: c.e, c: http.DefaultClient}
	return b.do(method, path, body, "Origin", "", "Sec-Fetch-Site", "", "Authorization", "Bearer "+c.token)
}

// tokenFixture: an owner of project A (and of B), signed in, and a flag in A.
type tokenFixture struct {
	e       *env
	owner   *browser
	ownerID string
	a, b    string
}

func newTokenFixture(t *testing.T) *tokenFixture {
	e := newEnv(t, defaultConfig())
	f := &tokenFixture{e: e, a: e.project("A"), b: e.project("B")}
	f.ownerID = e.account("owner@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner'), beacon.set_membership($1, $3, 'owner')`, f.ownerID, f.a, f.b)
	e.exec(`INSERT INTO beacon.flags (project_id, key) VALUES ($1, 'checkout'), ($2, 'checkout')`, f.a, f.b)
	f.owner = e.browser()
	f.owner.mustSignIn("owner@example.com", pw)
	return f
}

// create makes a token of project A through the API and returns the client and the token's id.
func (f *tokenFixture) create(scope string) (tokenClient, string) {
	f.e.t.Helper()
	a := f.owner.send("POST", "/api/projects/"+f.a+"/tokens", map[string]any{"name": "ci " + scope, "scope": scope, "expires_days": 30})
	if a.status != http.StatusCreated {
		f.e.t.Fatalf("create %s token: %d %s", scope, a.status, a.body)
	}
	m := a.json(f.e.t)
	tok, _ := m["token"].(string)
	return tokenClient{f.e, tok}, m["id"].(string)
}

func TestTokenScopes(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	e := f.e
	read, _ := f.create("read")
	flags, flagsID := f.create("flags")
	write, writeID := f.create("write")

	// Stored as its SHA-256 only.
	sum := sha256.Sum256([]byte(read.token))
	if !strings.HasPrefix(read.token, "bct_") || scalar[int](e, `SELECT count(*)::int FROM beacon.api_tokens WHERE token_hash = $1`, sum[:]) != 1 {
		t.Errorf("token %q not stored under its SHA-256", read.token)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.api_tokens t WHERE strpos(t::text, $1) > 0`, read.token[4:20]); n != 0 {
		t.Error("the token itself is stored")
	}
	if a := f.owner.do("GET", "/api/projects/"+f.a+"/tokens", nil); a.status != http.StatusOK || strings.Contains(string(a.body), read.token) || !strings.Contains(string(a.body), `"scope": "write"`) {
		t.Errorf("token list: %d %s", a.status, a.body)
	}

	flagPath := "/api/projects/" + f.a + "/flags/checkout"
	for _, c := range []struct {
		name         string
		c            tokenClient
		method, path string
		body         any
		status       int
		code         string
	}{
		{"read reads", read, "GET", "/api/projects/" + f.a + "/flags", nil, 200, ""},
		{"read cannot change a flag", read, "PATCH", flagPath, map[string]any{"enabled": true}, 403, "forbidden"},
		{"read sees nothing of B", read, "GET", "/api/projects/" + f.b + "/flags", nil, 404, "not_found"},
		{"flags changes a flag", flags, "PATCH", flagPath, map[string]any{"enabled": true}, 200, ""},
		{"flags creates a flag", flags, "POST", "/api/projects/" + f.a + "/flags", map[string]any{"key": "by-ci"}, 201, ""},
		{"flags cannot change settings", flags, "PATCH", "/api/projects/" + f.a + "/settings", map[string]any{"name": "X"}, 403, "forbidden"},
		{"flags cannot touch B", flags, "PATCH", "/api/projects/" + f.b + "/flags/checkout", map[string]any{"enabled": true}, 404, "not_found"},
		{"write changes settings", write, "PATCH", "/api/projects/" + f.a + "/settings", map[string]any{"name": "A2"}, 200, ""},
		{"write cannot add members", write, "POST", "/api/projects/" + f.a + "/members", map[string]any{"email": "owner@example.com", "role": "viewer"}, 403, "forbidden"},
		{"write cannot remove members", write, "DELETE", "/api/projects/" + f.a + "/members/" + f.ownerID, nil, 403, "forbidden"},
		{"write cannot make tokens", write, "POST", "/api/projects/" + f.a + "/tokens", map[string]any{"name": "x", "scope": "read"}, 403, "forbidden"},
		{"write cannot list tokens", write, "GET", "/api/projects/" + f.a + "/tokens", nil, 403, "forbidden"},
		{"write cannot delete people", write, "DELETE", "/api/projects/" + f.a + "/people/u1", nil, 403, "forbidden"},
		{"write cannot create projects", write, "POST", "/api/projects", map[string]any{"name": "C"}, 403, "forbidden"},
		{"write cannot read the audit", write, "GET", "/api/projects/" + f.a + "/audit", nil, 403, "forbidden"},
		{"no session for a token", write, "GET", "/api/session", nil, 403, "forbidden"},
		{"garbage", tokenClient{e, "bct_nope"}, "GET", "/api/projects", nil, 401, "bad_token"},
	} {
		a := c.c.do(c.method, c.path, c.body)
		if a.status != c.status || (c.code != "" && a.code(t) != c.code) {
			t.Errorf("%s: %s %s: %d %s, want %d %s", c.name, c.method, c.path, a.status, a.body, c.status, c.code)
		}
	}
	// GET /api/projects lists the token's project alone.
	if a := read.do("GET", "/api/projects", nil); a.status != 200 || strings.Contains(string(a.body), f.b) || !strings.Contains(string(a.body), f.a) {
		t.Errorf("projects for a token: %d %s", a.status, a.body)
	}
	// Every use of a flags or write token is audited, with the token; a read token's are not.
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'token_used' AND token_id = $1`, flagsID); n != 4 {
		t.Errorf("%d token_used rows for the flags token's 4 requests", n)
	}
	// Two of the write token's 9 are reads refused on the replica path and answered by the primary:
	// still one use each.
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'token_used' AND token_id = $1`, writeID); n != 9 {
		t.Errorf("%d token_used rows for the write token's 9 requests", n)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit a JOIN beacon.api_tokens t USING (token_id) WHERE a.action = 'token_used' AND t.scope = 'read'`); n != 0 {
		t.Errorf("%d token_used rows for the read token", n)
	}
	// The change the token made is audited with it.
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'flag_changed' AND token_id = $1 AND account_id = $2`, flagsID, f.ownerID); n != 1 {
		t.Errorf("%d flag_changed rows naming the token and its creator", n)
	}
	if scalar[bool](e, `SELECT last_used_at IS NULL FROM beacon.api_tokens WHERE token_id = $1`, flagsID) {
		t.Error("last use not recorded")
	}
}

func TestTokenStops(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	e := f.e
	path := "/api/projects/" + f.a + "/flags"
	ok := func(c tokenClient, want int, why string) {
		t.Helper()
		if a := c.do("GET", path, nil); a.status != want {
			t.Errorf("%s: %d %s, want %d", why, a.status, a.body, want)
		}
	}

	expired, expiredID := f.create("read")
	e.exec(`UPDATE beacon.api_tokens SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE token_id = $1`, expiredID)
	ok(expired, 401, "expired")
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'token_refused' AND target LIKE '%' || $1 AND after ->> 'reason' = 'expired'`, expiredID); n != 1 {
		t.Errorf("%d token_refused (expired) rows", n)
	}

	revoked, revokedID := f.create("read")
	ok(revoked, 200, "before revocation")
	if a := f.owner.send("DELETE", "/api/projects/"+f.b+"/tokens/"+revokedID, nil); a.status != 404 || errMessage(t, a) != "token not found" {
		t.Errorf("revoke through another project: %d %s", a.status, a.body)
	}
	if a := f.owner.send("DELETE", "/api/projects/"+f.a+"/tokens/"+revokedID, nil); a.status != 204 {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	ok(revoked, 401, "revoked")
	if e.auditCount("token_revoked", f.ownerID) != 1 {
		t.Error("revocation not audited")
	}

	// The creator's role caps the token: demoted to viewer, a flags token reads only.
	flags, _ := f.create("flags")
	e.exec(`UPDATE beacon.memberships SET role = 'viewer' WHERE account_id = $1 AND project_id = $2`, f.ownerID, f.a)
	if a := flags.do("PATCH", path+"/checkout", map[string]any{"enabled": true}); a.status != 403 {
		t.Errorf("flags token of a viewer: %d %s", a.status, a.body)
	}
	ok(flags, 200, "flags token of a viewer reads")
	// Disabled, every token of the account stops at once.
	e.exec(`SELECT beacon.set_account_disabled($1, true, 'test')`, f.ownerID)
	ok(flags, 401, "token of a disabled account")

	// A token made with the CLI (no account): its scope alone decides.
	cli := tokenClient{e, "bct_" + strings.Repeat("x", 43)}
	h := sha256.Sum256([]byte(cli.token))
	e.exec(`SELECT beacon.create_token($1, 'flags', 'cli', interval '1 day', $2, NULL)`, f.a, h[:])
	if a := cli.do("PATCH", path+"/checkout", map[string]any{"enabled": true}); a.status != 200 {
		t.Errorf("CLI flags token: %d %s", a.status, a.body)
	}
	if a := cli.do("GET", "/api/projects/"+f.b+"/flags", nil); a.status != 404 {
		t.Errorf("CLI token on B: %d %s", a.status, a.body)
	}
}

func TestTokenCreateNeedsRecentPassword(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	e := f.e
	body := map[string]any{"name": "ci", "scope": "read"}
	path := "/api/projects/" + f.a + "/tokens"
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '6 minutes'`)
	if a := f.owner.send("POST", path, body); a.status != 403 || a.code(t) != "reauth_required" {
		t.Fatalf("create with an old password: %d %s", a.status, a.body)
	}
	if a := f.owner.send("POST", "/api/session/reauth", map[string]any{"password": "wrong wrong wrong"}); a.status != 401 {
		t.Errorf("reauth with a wrong password: %d %s", a.status, a.body)
	}
	if e.auditCount("reauth_failed", f.ownerID) != 1 || scalar[int](e, `SELECT count(*)::int FROM beacon.sign_in_failures`) != 1 {
		t.Error("a failed re-authentication is not audited and counted")
	}
	if a := f.owner.send("POST", "/api/session/reauth", map[string]any{"password": pw}); a.status != 204 {
		t.Fatalf("reauth: %d %s", a.status, a.body)
	}
	if a := f.owner.send("POST", path, body); a.status != 201 {
		t.Errorf("create after reauth: %d %s", a.status, a.body)
	}
	// Bad values, each refused with its reason.
	for _, c := range []map[string]any{
		{"name": "x", "scope": "admin"},
		{"name": "x", "scope": "read", "expires_days": 400},
		{"name": "", "scope": "read"},
	} {
		if a := f.owner.send("POST", path, c); a.status != 400 {
			t.Errorf("create %v: %d %s", c, a.status, a.body)
		}
	}
	// Editors may not make tokens.
	ed := e.account("ed@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'editor')`, ed, f.a)
	b := e.browser()
	b.mustSignIn("ed@example.com", pw)
	if a := b.send("POST", path, body); a.status != 403 {
		t.Errorf("editor creates a token: %d %s", a.status, a.body)
	}
	if n := e.auditCount("token_created", f.ownerID); n != 1 {
		t.Errorf("%d token_created rows", n)
	}
	_ = fmt.Sprint()
}
