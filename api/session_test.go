package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const pw = "correct horse battery staple"

func TestSignInOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	id := e.account("Ada@Example.com", pw, false)
	b := e.browser()

	a := b.signIn("ada@example.COM", pw) // emails compare case-insensitively
	if a.status != http.StatusOK {
		t.Fatalf("sign in: %d %s", a.status, a.body)
	}
	acct := a.json(t)["account"].(map[string]any)
	if acct["id"] != id || acct["email"] != "Ada@Example.com" || len(b.csrf) < 40 {
		t.Errorf("sign-in body %s", a.body)
	}
	if got := a.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	cookie := a.header.Get("Set-Cookie")
	for _, want := range []string{"beacon_session=", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=43200"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") || strings.HasPrefix(cookie, "__Host-") {
		t.Errorf("cookie %q is Secure without TLS", cookie)
	}
	token := strings.TrimPrefix(strings.Split(cookie, ";")[0], "beacon_session=")
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.account_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, token); n != 1 {
		t.Errorf("%d sessions stored under the token's SHA-256", n)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.account_sessions WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'`, token); n != 0 {
		t.Error("the token itself is stored")
	}

	a = b.do("GET", "/api/session", nil)
	if a.status != http.StatusOK || a.json(t)["csrf"] != b.csrf {
		t.Errorf("GET /api/session: %d %s", a.status, a.body)
	}
	if a = b.do("DELETE", "/api/session", nil); a.status != http.StatusForbidden || a.code(t) != "csrf_failed" {
		t.Errorf("sign-out without X-CSRF-Token: %d %s", a.status, a.body)
	}
	if a = b.do("DELETE", "/api/session", nil, "X-CSRF-Token", b.csrf); a.status != http.StatusNoContent {
		t.Fatalf("sign out: %d %s", a.status, a.body)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.account_sessions`); n != 0 {
		t.Errorf("%d sessions left after sign-out", n)
	}
	if a = b.do("GET", "/api/session", nil); a.status != http.StatusUnauthorized || a.code(t) != "signed_out" {
		t.Errorf("after sign-out: %d %s", a.status, a.body)
	}
	// The old cookie, replayed by someone who copied it, is worthless.
	replay := e.browser()
	a = replay.do("GET", "/api/session", nil, "Cookie", "beacon_session="+token)
	if a.status != http.StatusUnauthorized {
		t.Errorf("replayed cookie: %d %s", a.status, a.body)
	}
	for _, action := range []string{"sign_in", "sign_out"} {
		if n := e.auditCount(action, id); n != 1 {
			t.Errorf("%d %s audit rows, want 1", n, action)
		}
	}
	if ip := scalar[string](e, `SELECT host(ip) FROM beacon.audit WHERE action = 'sign_in'`); ip != "127.0.0.1" {
		t.Errorf("audit address %q", ip)
	}
}

func TestWrongPasswordAndUnknownEmailLookTheSame(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.Iterations = 100_000 // enough work to see whether an unknown email skips it
	cfg.LockoutThreshold = 100
	e := newEnv(t, cfg)
	id := e.accountWith("ada@example.com", pw, false, cfg.Iterations)
	b := e.browser()
	b.signIn("nobody@example.com", pw) // the dummy hash is made once, on first use

	var wrong, unknown answer
	var tWrong, tUnknown time.Duration = time.Hour, time.Hour
	for range 3 {
		start := time.Now()
		wrong = b.signIn("ada@example.com", "not the right password")
		tWrong = min(tWrong, time.Since(start))
		start = time.Now()
		unknown = b.signIn("nobody@example.com", "not the right password")
		tUnknown = min(tUnknown, time.Since(start))
	}
	if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status || string(unknown.body) != string(wrong.body) {
		t.Errorf("wrong password: %d %s; unknown email: %d %s", wrong.status, wrong.body, unknown.status, unknown.body)
	}
	if wrong.code(t) != "bad_credentials" {
		t.Errorf("code %q", wrong.code(t))
	}
	// Both check 100,000 iterations (~40 ms); an unknown email that skipped the dummy check
	// would answer in a few milliseconds.
	if tUnknown < tWrong/2 {
		t.Errorf("unknown email answered in %v, wrong password in %v: the difference tells accounts apart", tUnknown, tWrong)
	}
	if n := e.auditCount("sign_in_failed", id); n != 3 {
		t.Errorf("%d sign_in_failed rows for the account, want 3", n)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in_failed' AND target = 'email:nobody@example.com' AND after->>'reason' = 'unknown_email'`); n != 4 {
		t.Errorf("%d sign_in_failed rows for the unknown email, want 4", n)
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	id := e.account("ada@example.com", pw, false)
	b := e.browser()
	var first answer
	for i := range 5 {
		a := b.signIn("ada@example.com", "not the right password")
		if i == 0 {
			first = a
		}
		if a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, a.status)
		}
	}
	if n := e.auditCount("lockout", id); n != 1 {
		t.Errorf("%d lockout audit rows after 5 failures, want 1", n)
	}
	// Locked: the right password gets the same answer as a wrong one.
	a := b.signIn("ada@example.com", pw)
	if a.status != http.StatusUnauthorized || string(a.body) != string(first.body) {
		t.Errorf("locked account, right password: %d %s", a.status, a.body)
	}
	if n := e.auditCount("sign_in_locked", id); n != 1 {
		t.Errorf("%d sign_in_locked rows, want 1", n)
	}
	// Another account is not locked.
	e.account("bob@example.com", pw, false)
	e.browser().mustSignIn("bob@example.com", pw)
	// 15 minutes later (moved in the database, not slept) the lock is over.
	e.exec(`UPDATE beacon.sign_in_failures SET at = at - interval '16 minutes'`)
	b.mustSignIn("ada@example.com", pw)
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.sign_in_failures WHERE account_id = $1`, id); n != 0 {
		t.Errorf("%d failures kept after a success", n)
	}
}

func TestLockoutHoldsAgainstParallelGuesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	e.account("ada@example.com", pw, false)
	done := make(chan int)
	for range 12 {
		go func() {
			a := e.browser().do("POST", "/api/session", map[string]string{"email": "ada@example.com", "password": "wrong guess number x"})
			done <- a.status
		}()
	}
	for range 12 {
		if s := <-done; s != http.StatusUnauthorized {
			t.Errorf("guess: %d", s)
		}
	}
	// Only the first five guesses were checked; the others found the account locked.
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in_failed'`); n != 5 {
		t.Errorf("%d passwords checked of 12 parallel guesses, want 5", n)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in_locked'`); n != 7 {
		t.Errorf("%d guesses refused as locked, want 7", n)
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	id := e.account("ada@example.com", pw, false)
	b := e.browser()

	b.mustSignIn("ada@example.com", pw)
	e.exec(`UPDATE beacon.account_sessions SET last_seen_at = now() - interval '14 minutes'`)
	if a := b.do("GET", "/api/session", nil); a.status != http.StatusOK {
		t.Fatalf("14 minutes idle: %d %s", a.status, a.body)
	}
	if age := scalar[float64](e, `SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM beacon.account_sessions`); age > 60 {
		t.Errorf("last_seen_at not moved by a request: %v s ago", age)
	}
	e.exec(`UPDATE beacon.account_sessions SET last_seen_at = now() - interval '15 minutes 1 second'`)
	a := b.do("GET", "/api/projects", nil)
	if a.status != http.StatusUnauthorized || a.code(t) != "signed_out" {
		t.Errorf("15 minutes idle: %d %s", a.status, a.body)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.account_sessions`); n != 0 {
		t.Errorf("idle session not deleted")
	}

	b.mustSignIn("ada@example.com", pw)
	e.exec(`UPDATE beacon.account_sessions SET created_at = now() - interval '12 hours 1 second', last_seen_at = now()`)
	if a := b.do("GET", "/api/session", nil); a.status != http.StatusUnauthorized {
		t.Errorf("12 hours old, just used: %d %s", a.status, a.body)
	}
	if n := e.auditCount("session_expired", id); n != 2 {
		t.Errorf("%d session_expired audit rows, want 2", n)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	e.account("ada@example.com", pw, false)
	b := e.browser()
	b.mustSignIn("ada@example.com", pw)
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"no token", nil},
		{"wrong token", []string{"X-CSRF-Token", b.csrf + "x"}},
		{"right token, other origin", []string{"X-CSRF-Token", b.csrf, "Origin", "https://evil.example"}},
		{"right token, cross-site fetch", []string{"X-CSRF-Token", b.csrf, "Sec-Fetch-Site", "cross-site"}},
		{"right token, opaque origin", []string{"X-CSRF-Token", b.csrf, "Origin", "null"}},
	} {
		if a := b.do("DELETE", "/api/session", nil, tc.headers...); a.status != http.StatusForbidden || a.code(t) != "csrf_failed" {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.account_sessions`); n != 1 {
		t.Fatal("a refused sign-out ended the session")
	}
	// Sign-in itself refuses other origins (login CSRF) and form posts.
	if a := e.browser().do("POST", "/api/session", map[string]string{"email": "ada@example.com", "password": pw}, "Origin", "https://evil.example"); a.status != http.StatusForbidden {
		t.Errorf("cross-origin sign-in: %d %s", a.status, a.body)
	}
	if a := e.browser().do("POST", "/api/session", map[string]string{"email": "ada@example.com", "password": pw}, "Content-Type", "text/plain"); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain sign-in: %d %s", a.status, a.body)
	}
	// A client that is not a browser (no Origin, no Sec-Fetch-Site) still needs the token.
	if a := b.do("DELETE", "/api/session", nil, "Origin", "", "Sec-Fetch-Site", ""); a.status != http.StatusForbidden {
		t.Errorf("no browser headers, no token: %d", a.status)
	}
	if a := b.do("DELETE", "/api/session", nil, "Origin", "", "Sec-Fetch-Site", "", "X-CSRF-Token", b.csrf); a.status != http.StatusNoContent {
		t.Errorf("no browser headers, right token: %d %s", a.status, a.body)
	}
}

func TestRehashOnSignIn(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.Iterations = 2 * testIterations
	e := newEnv(t, cfg)
	id := e.account("ada@example.com", pw, false)
	e.browser().mustSignIn("ada@example.com", pw)
	if h := scalar[string](e, `SELECT password_hash FROM beacon.accounts`); !strings.HasPrefix(h, "$pbkdf2-sha256$i=2000$") {
		t.Errorf("hash after sign-in %q, want 2,000 iterations", h)
	}
	if n := e.auditCount("password_rehashed", id); n != 1 {
		t.Errorf("%d password_rehashed rows", n)
	}
	e.browser().mustSignIn("ada@example.com", pw) // the new hash checks
}

func TestCookieUnderTLS(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.TLS = true
	e := newEnv(t, cfg)
	e.account("ada@example.com", pw, false)
	a := e.browser().signIn("ada@example.com", pw)
	cookie := a.header.Get("Set-Cookie")
	for _, want := range []string{"__Host-beacon_session=", "Path=/", "HttpOnly", "SameSite=Strict", "Secure"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("TLS cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Domain=") {
		t.Errorf("TLS cookie %q names a domain (__Host- forbids it)", cookie)
	}
}

func TestDisabledAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	id := e.account("ada@example.com", pw, false)
	b := e.browser()
	b.mustSignIn("ada@example.com", pw)
	e.exec(`UPDATE beacon.accounts SET disabled_at = now()`)
	if a := b.do("GET", "/api/session", nil); a.status != http.StatusUnauthorized {
		t.Errorf("session of a disabled account: %d %s", a.status, a.body)
	}
	if a := e.browser().signIn("ada@example.com", pw); a.status != http.StatusUnauthorized || a.code(t) != "bad_credentials" {
		t.Errorf("sign-in of a disabled account: %d %s", a.status, a.body)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in_failed' AND account_id = $1 AND after->>'reason' = 'disabled'`, id); n != 1 {
		t.Errorf("%d sign_in_failed (disabled) rows", n)
	}
}
