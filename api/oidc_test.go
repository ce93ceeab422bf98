package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/beacon-analytics/beacon/api"
)

// TestSSOSignInProvisions: a verified email of a mapped group signs in through the provider; the
// account is provisioned with the group's role, linked to (issuer, subject), and its session is
// a password sign-in's (GET /api/session; audited sign_in with method oidc and the amr). The link
// is by subject: another subject with the same email is refused, and the account has no password.
func TestSSOSignInProvisions(t *testing.T) {
	t.Parallel()
	var project string
	e := newSSOEnv(t, func(e *env, _ *api.Config, oc *api.OIDCConfig) {
		project = e.project("sso")
		oc.AllowedDomains = nil
		oc.RoleMap = map[string][]api.RoleGrant{"analysts": {{Project: project, Role: "editor"}}}
	})
	e.setTamper(func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
		c["amr"] = []string{"pwd", "hwk"}
		return real
	})
	b := e.ssoBrowser()
	if got := refusedWith(b.sso(e.idp, user("s-0", "bob@example.com", true, "engineering"), "")); got != "not_allowed" {
		t.Fatalf("no allowed domain nor mapped group: refusal %q, want not_allowed", got)
	}
	if got := b.sso(e.idp, user("s-1", "Ada@Example.com", true, "analysts"), "return=/p/"+project); got != "/p/"+project {
		t.Fatalf("sign-in went to %q, want the return path", got)
	}
	s := b.session()
	if s.status != http.StatusOK || s.json(t)["account"].(map[string]any)["email"] != "Ada@Example.com" {
		t.Fatalf("session after SSO: %d %s", s.status, s.body)
	}
	if r := scalar[string](e.env, `SELECT m.role FROM beacon.memberships m JOIN beacon.accounts a USING (account_id) WHERE a.email = 'Ada@Example.com'`); r != "editor" {
		t.Fatalf("mapped role %q, want editor", r)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in' AND after->>'method' = 'oidc' AND after->'amr' = '["pwd","hwk"]'`); n != 1 {
		t.Fatalf("sign_in with method oidc and amr audited %d times, want 1", n)
	}
	if n := e.auditCount("account_provisioned", ""); n != 1 {
		t.Fatalf("account_provisioned audited %d times, want 1", n)
	}
	if a := b.send("GET", "/api/projects/"+project+"/flags", nil); a.status != http.StatusOK {
		t.Fatalf("the provisioned editor reads the project: %d %s", a.status, a.body)
	}
	// The same subject again: the same account.
	if got := e.ssoBrowser().sso(e.idp, user("s-1", "ada@example.com", true, "analysts"), ""); got != "/" {
		t.Fatalf("second sign-in went to %q", got)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.accounts`); n != 1 {
		t.Fatalf("%d accounts after two sign-ins of one subject, want 1", n)
	}
	// Another subject with the same email is not this account.
	if got := refusedWith(e.ssoBrowser().sso(e.idp, user("s-2", "ada@example.com", true, "analysts"), "")); got != "linked_to_another_subject" {
		t.Fatalf("another subject, same email: refusal %q", got)
	}
	// No password: password sign-in refused in SQL (no_password), answered as a wrong password.
	if a := e.browser().signIn("ada@example.com", "any password at all, long enough"); a.status != http.StatusUnauthorized {
		t.Fatalf("password sign-in of an SSO account: %d %s", a.status, a.body)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in_failed' AND after->>'reason' = 'no_password'`); n != 1 {
		t.Fatalf("no_password refusal audited %d times", n)
	}
}

// TestSSORefusals: each forged or unacceptable sign-in is refused, audited with its reason, and
// makes no session.
func TestSSORefusals(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	forger, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	cases := []struct {
		name   string
		user   *mockoidc.MockUser
		tamper tamper
		want   string
	}{
		{"forged signature (another key, the provider's kid)", user("f-1", "f1@example.com", true),
			func(_ jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
				kid, _ := real.KeyID()
				k := *forger
				k.Kid = kid
				return &k
			}, "token_invalid"},
		{"forged signature (another key, its own kid)", user("f-2", "f2@example.com", true),
			func(_ jwt.MapClaims, _ *mockoidc.Keypair) *mockoidc.Keypair { return forger }, "token_invalid"},
		{"wrong audience", user("a-1", "a1@example.com", true),
			func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
				c["aud"] = []string{"another-client"}
				return real
			}, "token_invalid"},
		{"wrong issuer", user("i-1", "i1@example.com", true),
			func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
				c["iss"] = "https://evil.example.org/oidc"
				return real
			}, "token_invalid"},
		{"expired token", user("x-1", "x1@example.com", true),
			func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
				c["iat"], c["nbf"], c["exp"] = past.Unix(), past.Unix(), past.Add(10*time.Minute).Unix()
				return real
			}, "token_expired"},
		{"wrong nonce", user("n-1", "n1@example.com", true),
			func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
				c["nonce"] = "not-the-flows-nonce"
				return real
			}, "nonce_mismatch"},
		{"domain not allowed", user("d-1", "mallory@elsewhere.org", true), nil, "not_allowed"},
		{"email not verified", user("v-1", "eve@example.com", false), nil, "email_not_verified"},
	}
	for _, c := range cases {
		e.setTamper(c.tamper)
		b := e.ssoBrowser()
		if got := refusedWith(b.sso(e.idp, c.user, "")); got != c.want {
			t.Errorf("%s: refusal %q, want %q", c.name, got, c.want)
		}
		if s := b.session(); s.status != http.StatusUnauthorized {
			t.Errorf("%s: a session after a refusal: %d", c.name, s.status)
		}
		if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sso_refused' AND after->>'reason' = $1`, c.want); n == 0 {
			t.Errorf("%s: refusal %s not audited", c.name, c.want)
		}
		e.exec(`SELECT 1`) // (keeps the order of audit rows per case readable in a failure)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.accounts`); n != 0 {
		t.Fatalf("%d accounts made by refused sign-ins", n)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.account_sessions`); n != 0 {
		t.Fatalf("%d sessions made by refused sign-ins", n)
	}
}

// TestSSOReplayedState: a callback whose state was used already, or never issued, or comes from
// another browser than the one that started the flow, is refused and audited.
func TestSSOReplayedState(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	b := e.ssoBrowser()
	if got := b.sso(e.idp, user("r-1", "r1@example.com", true), ""); got != "/" {
		t.Fatalf("sign-in went to %q", got)
	}
	used := b.callback
	if got := refusedWith(b.follow(used)); got != "unknown_state" {
		t.Fatalf("replayed callback: refusal %q, want unknown_state", got)
	}
	if got := refusedWith(b.follow(e.srv.URL + "/api/oidc/callback?state=never-issued&code=x")); got != "unknown_state" {
		t.Fatalf("forged state: refusal %q, want unknown_state", got)
	}
	// A flow started in one browser, its callback opened in another (no flow cookie).
	first := e.ssoBrowser()
	first.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.idp.QueueUser(user("r-2", "r2@example.com", true))
	authorize := first.follow(e.srv.URL + "/api/oidc/start")
	callback := first.follow(authorize)
	if got := refusedWith(e.ssoBrowser().follow(callback)); got != "cookie_mismatch" {
		t.Fatalf("callback in another browser: refusal %q, want cookie_mismatch", got)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sso_refused' AND after->>'reason' IN ('unknown_state', 'cookie_mismatch')`); n != 3 {
		t.Fatalf("%d state refusals audited, want 3", n)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.account_sessions`); n != 1 {
		t.Fatalf("%d sessions, want the first sign-in's only", n)
	}
}

// TestSSODisabledAccount: a disabled account cannot sign in through SSO either.
func TestSSODisabledAccount(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	if got := e.ssoBrowser().sso(e.idp, user("d-1", "dis@example.com", true), ""); got != "/" {
		t.Fatalf("first sign-in went to %q", got)
	}
	e.exec(`SELECT beacon.set_account_disabled(account_id, true, 'test') FROM beacon.accounts WHERE email = 'dis@example.com'`)
	b := e.ssoBrowser()
	if got := refusedWith(b.sso(e.idp, user("d-1", "dis@example.com", true), "")); got != "disabled" {
		t.Fatalf("disabled account: refusal %q, want disabled", got)
	}
	if s := b.session(); s.status != http.StatusUnauthorized {
		t.Fatalf("a disabled account got a session: %d", s.status)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sso_refused' AND after->>'reason' = 'disabled'`); n != 1 {
		t.Fatalf("disabled refusal audited %d times", n)
	}
}

// TestSSOOnlyRefusesPassword: under SSO_ONLY a password sign-in is refused by the relay (403
// sso_only) and by PostgreSQL itself (beacon.settings.sso_only: a relay that forgot the check
// still gets bad_credentials), audited; SSO still signs in.
func TestSSOOnlyRefusesPassword(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, func(e *env, cfg *api.Config, _ *api.OIDCConfig) {
		cfg.SSOOnly = true
		e.account("pw@example.com", "correct horse battery staple", true)
		e.exec(`SELECT beacon.set_sso_only(true)`)
	})
	if a := e.browser().signIn("pw@example.com", "correct horse battery staple"); a.status != http.StatusForbidden || a.code(t) != "sso_only" {
		t.Fatalf("password under SSO_ONLY: %d %s", a.status, a.body)
	}
	if a := e.browser().do("GET", "/api/sso", nil); a.status != http.StatusOK || a.json(t)["sso_only"] != true || a.json(t)["enabled"] != true {
		t.Fatalf("GET /api/sso: %d %s", a.status, a.body)
	}
	// The SQL refuses on its own: a relay without the Go check.
	plain := newEnv(t, defaultConfig())
	plain.account("pw@example.com", "correct horse battery staple", false)
	plain.exec(`SELECT beacon.set_sso_only(true)`)
	if a := plain.browser().signIn("pw@example.com", "correct horse battery staple"); a.status != http.StatusUnauthorized {
		t.Fatalf("password with sso_only in the database: %d %s", a.status, a.body)
	}
	for _, x := range []*env{e.env, plain} {
		if n := scalar[int](x, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in_failed' AND after->>'reason' = 'sso_only'`); n != 1 {
			t.Fatalf("sso_only refusal audited %d times, want 1", n)
		}
	}
	if n := scalar[int](plain, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sso_only_changed'`); n != 1 {
		t.Fatalf("sso_only_changed audited %d times, want 1", n)
	}
	if got := e.ssoBrowser().sso(e.idp, user("o-1", "sso@example.com", true), ""); got != "/" {
		t.Fatalf("SSO under SSO_ONLY went to %q", got)
	}
}

// TestSSOReturnPathIsLocal: the path a sign-in returns to is a local one, never another site
// (an open redirect), however it is spelled.
func TestSSOReturnPathIsLocal(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	for ret, want := range map[string]string{
		"/p/1?range=7d":  "/p/1?range=7d",
		"//evil.example": "/", "/\\evil.example": "/", "/\t/evil.example": "/",
		"https://evil.example": "/", "evil.example": "/",
	} {
		q := url.Values{"return": {ret}}.Encode()
		if got := e.ssoBrowser().sso(e.idp, user("l-1", "l1@example.com", true), q); got != want {
			t.Errorf("return %q: went to %q, want %q", ret, got, want)
		}
	}
}

// TestSSOReauth: an account provisioned by SSO has no password (GET /api/session says so), so
// past SESSION_REAUTH_WINDOW it confirms at the provider: /api/oidc/start?reauth=1 asks for
// prompt=login and max_age=0, and the callback accepts only an ID token whose auth_time is
// recent (refused and audited otherwise, back on the return path with the reason, the old session
// unchanged); then the fresh session creates the token the old one could not, and the browser is
// back on the return path.
func TestSSOReauth(t *testing.T) {
	t.Parallel()
	var project string
	e := newSSOEnv(t, func(e *env, _ *api.Config, oc *api.OIDCConfig) {
		project = e.project("sso")
		oc.RoleMap = map[string][]api.RoleGrant{"owners": {{Project: project, Role: "owner"}}}
	})
	ada := func() *mockoidc.MockUser { return user("r-1", "ada@example.com", true, "owners") }
	b := e.ssoBrowser()
	if got := b.sso(e.idp, ada(), "return=/p/"+project); got != "/p/"+project {
		t.Fatalf("sign-in went to %q", got)
	}
	if s := b.session(); s.status != http.StatusOK || s.json(t)["has_password"] != false {
		t.Fatalf("session of an SSO account: %d %s, want has_password false", s.status, s.body)
	}

	// The authorization request: prompt=login and max_age=0 with reauth=1 only.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for query, want := range map[string]string{"reauth=1": "login/0", "": "/"} {
		resp, err := noFollow.Get(e.srv.URL + "/api/oidc/start?" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if got := loc.Query().Get("prompt") + "/" + loc.Query().Get("max_age"); got != want {
			t.Errorf("start?%s: prompt/max_age %q, want %q (%s)", query, got, want, loc)
		}
	}

	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour', created_at = now() - interval '1 hour'`)
	tokens, body := "/api/projects/"+project+"/tokens", map[string]any{"name": "ci", "scope": "read"}
	if a := b.send("POST", tokens, body); a.status != http.StatusForbidden || a.code(t) != "reauth_required" {
		t.Fatalf("token past the window: %d %s, want 403 reauth_required", a.status, a.body)
	}

	// A provider that ignores prompt=login: no auth_time, an old one (or one from a wrong clock) is refused.
	back := "reauth=1&return=" + url.QueryEscape("/p/"+project+"/account?tab=tokens")
	for name, at := range map[string]any{
		"no auth_time": nil, "auth_time an hour ago": time.Now().Add(-time.Hour).Unix(), "auth_time an hour ahead": time.Now().Add(time.Hour).Unix(),
	} {
		e.setTamper(func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
			if at != nil {
				c["auth_time"] = at
			}
			return real
		})
		// Back to the page it started from (signed in still), with the reason.
		loc, _ := url.Parse(b.sso(e.idp, ada(), back))
		if loc.Path != "/p/"+project+"/account" || loc.Query().Get("tab") != "tokens" || loc.Query().Get("sso_error") != "reauth_not_recent" {
			t.Errorf("%s: refused to %q, want the return path with sso_error=reauth_not_recent", name, loc)
		}
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sso_refused' AND after->>'reason' = 'reauth_not_recent'`); n != 3 {
		t.Errorf("reauth_not_recent audited %d times, want 3", n)
	}
	b.session()
	if a := b.send("POST", tokens, body); a.status != http.StatusForbidden || a.code(t) != "reauth_required" {
		t.Fatalf("token after refused re-authentications: %d %s, want 403 reauth_required", a.status, a.body)
	}

	// The provider authenticated the person just now: a fresh session, back where it started.
	e.setTamper(func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair {
		c["auth_time"] = time.Now().Unix()
		return real
	})
	if got := b.sso(e.idp, ada(), back); got != "/p/"+project+"/account?tab=tokens" {
		t.Fatalf("re-authentication went to %q, want the return path", got)
	}
	if s := b.session(); s.status != http.StatusOK {
		t.Fatalf("session after re-authentication: %d %s", s.status, s.body)
	}
	if a := b.send("POST", tokens, body); a.status != http.StatusCreated {
		t.Fatalf("token after re-authentication: %d %s, want 201", a.status, a.body)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'reauth' AND after->>'method' = 'oidc' AND after->>'auth_time' IS NOT NULL`); n != 1 {
		t.Errorf("the re-authentication audited %d times, want 1 (reauth, method oidc, auth_time)", n)
	}
}
