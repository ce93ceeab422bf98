package api_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"testing"

	"github.com/beacon-analytics/beacon/api"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mfaConfig() api.Config {
	c := defaultConfig()
	c.WebAuthnRPID, c.WebAuthnOrigins = testRPID, []string{testOrigin}
	return c
}

// enrol adds k to b's account under name (begin, the software key's answer, finish).
func (b *browser) enrol(k *softKey, name string) answer {
	b.e.t.Helper()
	a := b.send("POST", "/api/account/enrol", nil)
	if a.status != http.StatusOK {
		return a
	}
	id, o := parseBegin(b.e.t, a.body)
	return b.send("POST", "/api/account/keys", map[string]any{"ceremony": id, "name": name, "credential": k.create(o)})
}

func (b *browser) mustEnrol(k *softKey, name string) {
	b.e.t.Helper()
	if a := b.enrol(k, name); a.status != http.StatusOK {
		b.e.t.Fatalf("enrol %s: %d %s", name, a.status, a.body)
	}
}

// secondFactor answers the pending session's key step with k.
func (b *browser) secondFactor(k *softKey) answer {
	b.e.t.Helper()
	a := b.send("POST", "/api/session/mfa/key/begin", nil)
	if a.status != http.StatusOK {
		return a
	}
	id, o := parseBegin(b.e.t, a.body)
	return b.send("POST", "/api/session/mfa/key/finish", map[string]any{"ceremony": id, "credential": k.get(o)})
}

// passkey signs in with k alone, keeping the CSRF token of a success.
func (b *browser) passkey(k *softKey) answer {
	b.e.t.Helper()
	a := b.do("POST", "/api/session/passkey/begin", nil)
	if a.status != http.StatusOK {
		return a
	}
	id, o := parseBegin(b.e.t, a.body)
	a = b.do("POST", "/api/session/passkey/finish", map[string]any{"ceremony": id, "credential": k.get(o)})
	if a.status == http.StatusOK {
		b.csrf, _ = a.json(b.e.t)["csrf"].(string)
	}
	return a
}

// twin is another client holding b's cookie: what it is refused says what b's session may do,
// without b's own cookie being cleared by the refusal.
func (b *browser) twin() *browser {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(b.e.srv.URL)
	jar.SetCookies(u, b.c.Jar.Cookies(u))
	return &browser{e: b.e, c: &http.Client{Jar: jar}, csrf: b.csrf}
}

func (b *browser) mustStatus(a answer, want int, what string) {
	b.e.t.Helper()
	if a.status != want {
		b.e.t.Fatalf("%s: %d %s, want %d", what, a.status, a.body, want)
	}
}

func TestKeyIsTheSecondFactorAfterThePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	id := e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	k := newSoftKey(t)
	b.mustEnrol(k, "YubiKey")
	if n := e.auditCount("mfa_key_added", id); n != 1 {
		t.Fatalf("mfa_key_added audited %d times", n)
	}
	b.mustStatus(b.send("DELETE", "/api/session", nil), http.StatusNoContent, "sign out")

	a := b.signIn("ada@example.com", "correct horse")
	if a.status != http.StatusOK || a.json(t)["mfa"] != "second_factor" {
		t.Fatalf("password of an account with a key: %d %s, want mfa second_factor", a.status, a.body)
	}
	// Pending: session_check refuses it, so no other endpoint serves it.
	for _, p := range []string{"/api/session", "/api/projects", "/api/account/keys", "/api/account/sessions"} {
		b.twin().mustStatus(b.twin().do("GET", p, nil), http.StatusUnauthorized, "GET "+p+" pending its key")
	}
	b.mustStatus(b.twin().send("POST", "/api/account/enrol", nil), http.StatusForbidden, "enrol while pending the second factor")

	b.mustStatus(b.secondFactor(k), http.StatusOK, "second factor")
	b.mustStatus(b.do("GET", "/api/projects", nil), http.StatusOK, "projects after the key")
	if n := e.auditCount("mfa_sign_in", id); n != 1 {
		t.Fatalf("mfa_sign_in audited %d times", n)
	}
	if c := scalar[int64](e, `SELECT sign_count FROM beacon.webauthn_credentials`); c != 1 {
		t.Fatalf("sign count %d, want 1", c)
	}
	b.mustStatus(b.secondFactor(k), http.StatusForbidden, "a second factor on a full session")
}

func TestSecondFactorRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	id := e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	k := newSoftKey(t)
	b.mustEnrol(k, "YubiKey")
	b.send("DELETE", "/api/session", nil)
	b.mustSignIn("ada@example.com", "correct horse")

	stranger := newSoftKey(t)
	stranger.handle = k.handle
	if a := b.secondFactor(stranger); a.status != http.StatusUnauthorized || a.code(t) != "mfa_failed" {
		t.Fatalf("a key not enrolled: %d %s", a.status, a.body)
	}
	wrongOrigin := *k
	wrongOrigin.origin = "https://evil.example"
	b.mustStatus(b.secondFactor(&wrongOrigin), http.StatusUnauthorized, "an assertion for another origin (phishing)")
	wrongRP := *k
	wrongRP.rpIDFor = "evil.example"
	b.mustStatus(b.secondFactor(&wrongRP), http.StatusUnauthorized, "an assertion for another RP ID")
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'mfa_failed' AND after ->> 'reason' = 'bad_assertion' AND account_id::text = $1`, id); n != 3 {
		t.Fatalf("bad assertions audited %d times, want 3", n)
	}

	// A ceremony is single use: the same answer replayed is refused.
	a := b.send("POST", "/api/session/mfa/key/begin", nil)
	cer, o := parseBegin(t, a.body)
	answer := k.get(o)
	b.mustStatus(b.send("POST", "/api/session/mfa/key/finish", map[string]any{"ceremony": cer, "credential": answer}), http.StatusOK, "the key")
	b.mustStatus(b.send("POST", "/api/session/mfa/key/finish", map[string]any{"ceremony": cer, "credential": answer}), http.StatusBadRequest, "the same answer again")
}

func TestExpiredCeremonyAndFailureLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	k := newSoftKey(t)
	b.mustEnrol(k, "YubiKey")
	b.send("DELETE", "/api/session", nil)
	b.mustSignIn("ada@example.com", "correct horse")

	a := b.send("POST", "/api/session/mfa/key/begin", nil)
	cer, o := parseBegin(t, a.body)
	e.exec(`UPDATE beacon.webauthn_ceremonies SET expires_at = now() - interval '1 second'`)
	if a := b.send("POST", "/api/session/mfa/key/finish", map[string]any{"ceremony": cer, "credential": k.get(o)}); a.status != http.StatusBadRequest {
		t.Fatalf("an expired ceremony: %d %s", a.status, a.body)
	}
	// Five wrong recovery codes end the pending session: the password is needed again.
	for i := range 5 {
		b.mustStatus(b.send("POST", "/api/session/mfa/recovery", map[string]string{"code": "AAAA-BBBB-CCCC-DDDD"}), http.StatusUnauthorized, "a wrong code")
		_ = i
	}
	b.mustStatus(b.secondFactor(k), http.StatusUnauthorized, "the key after five failures")
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.account_sessions`); n != 0 {
		t.Fatalf("%d sessions left after five failures", n)
	}
}

func TestClonedKeyIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	id := e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	k := newSoftKey(t)
	b.mustEnrol(k, "YubiKey")
	for range 2 {
		b.send("DELETE", "/api/session", nil)
		b.mustSignIn("ada@example.com", "correct horse")
		b.mustStatus(b.secondFactor(k), http.StatusOK, "the key")
	}
	// A copy of the key still at counter 1 signs with 2 while the original reached 2.
	clone := *k
	clone.count = 1
	b.send("DELETE", "/api/session", nil)
	b.mustSignIn("ada@example.com", "correct horse")
	b.mustStatus(b.secondFactor(&clone), http.StatusUnauthorized, "a counter that did not grow")
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'mfa_failed' AND after ->> 'reason' = 'sign_count' AND account_id::text = $1`, id); n != 1 {
		t.Fatalf("clone audited %d times", n)
	}
	if c := scalar[int64](e, `SELECT sign_count FROM beacon.webauthn_credentials`); c != 2 {
		t.Fatalf("sign count %d after the clone, want 2 kept", c)
	}
}

func TestPasskeyAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	id := e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	k := newSoftKey(t)
	b.mustEnrol(k, "Laptop passkey")
	b.send("DELETE", "/api/session", nil)

	p := e.browser()
	b.mustStatus(p.passkey(k), http.StatusOK, "passkey sign-in")
	b.mustStatus(p.do("GET", "/api/projects", nil), http.StatusOK, "projects after a passkey")
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sign_in' AND after ->> 'method' = 'passkey' AND account_id::text = $1`, id); n != 1 {
		t.Fatalf("passkey sign-in audited %d times", n)
	}

	noUV := *k
	noUV.noUV = true
	b.mustStatus(e.browser().passkey(&noUV), http.StatusUnauthorized, "a passkey without user verification")
	unknown := newSoftKey(t)
	unknown.handle = k.handle
	b.mustStatus(e.browser().passkey(unknown), http.StatusUnauthorized, "a passkey not enrolled")

	e.exec(`SELECT beacon.set_account_disabled($1, true, 'test')`, id)
	b.mustStatus(e.browser().passkey(k), http.StatusUnauthorized, "the passkey of a disabled account")
}

func TestPasskeyNeedsTheBanner(t *testing.T) {
	t.Parallel()
	cfg := mfaConfig()
	cfg.Banner = "U.S. Government system"
	e := newEnv(t, cfg)
	e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	if a := b.do("POST", "/api/session", map[string]any{"email": "ada@example.com", "password": "correct horse", "accept_banner": true}); a.status != http.StatusOK {
		t.Fatal(a.status, string(a.body))
	} else {
		b.csrf, _ = a.json(t)["csrf"].(string)
	}
	k := newSoftKey(t)
	b.mustEnrol(k, "Laptop")
	p := e.browser()
	a := p.do("POST", "/api/session/passkey/begin", nil)
	cer, o := parseBegin(t, a.body)
	if a := p.do("POST", "/api/session/passkey/finish", map[string]any{"ceremony": cer, "credential": k.get(o)}); a.status != http.StatusBadRequest || a.code(t) != "banner_not_accepted" {
		t.Fatalf("passkey without accepting the banner: %d %s", a.status, a.body)
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	id := e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	b.mustStatus(b.send("POST", "/api/account/recovery-codes", nil), http.StatusBadRequest, "codes without a key")
	k := newSoftKey(t)
	b.mustEnrol(k, "YubiKey")
	a := b.send("POST", "/api/account/recovery-codes", nil)
	b.mustStatus(a, http.StatusCreated, "generate codes")
	raw, _ := a.json(t)["codes"].([]any)
	if len(raw) != 10 {
		t.Fatalf("%d codes, want 10", len(raw))
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.recovery_codes WHERE code_hash = sha256(convert_to(replace($1, '-', ''), 'UTF8'))`, raw[0]); n != 1 {
		t.Fatal("the stored hash is not the SHA-256 of the code")
	}
	for i, c := range raw {
		b.send("DELETE", "/api/session", nil)
		b.mustSignIn("ada@example.com", "correct horse")
		if i == 0 {
			b.mustStatus(b.send("POST", "/api/session/mfa/recovery", map[string]string{"code": "AAAA-BBBB-CCCC-DDDD"}), http.StatusUnauthorized, "a wrong code")
			b.mustStatus(b.twin().do("GET", "/api/projects", nil), http.StatusUnauthorized, "projects after a wrong code")
		}
		code := c.(string)
		if i == 1 {
			code = " " + string([]byte(code)[:4]) + string([]byte(code)[5:]) + " " // typed without a dash
		}
		b.mustStatus(b.send("POST", "/api/session/mfa/recovery", map[string]string{"code": code}), http.StatusOK, "a code")
		b.mustStatus(b.do("GET", "/api/projects", nil), http.StatusOK, "projects after a code")
	}
	b.send("DELETE", "/api/session", nil)
	b.mustSignIn("ada@example.com", "correct horse")
	b.mustStatus(b.send("POST", "/api/session/mfa/recovery", map[string]string{"code": raw[0].(string)}), http.StatusUnauthorized, "a used code")
	for action, want := range map[string]int{"recovery_codes_generated": 1, "recovery_code_used": 10, "recovery_codes_exhausted": 1} {
		if n := e.auditCount(action, id); n != want {
			t.Errorf("%s audited %d times, want %d", action, n, want)
		}
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = 'mfa_failed' AND after ->> 'reason' = 'bad_recovery_code'`); n != 2 {
		t.Errorf("bad codes audited %d times, want 2", n)
	}
}

func TestMFARequiredSendsToEnrolment(t *testing.T) {
	t.Parallel()
	cfg := mfaConfig()
	cfg.MFARequired = true
	e := newEnv(t, cfg)
	id := e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	a := b.signIn("ada@example.com", "correct horse")
	if a.status != http.StatusOK || a.json(t)["mfa"] != "enrol" {
		t.Fatalf("MFA_REQUIRED, no key: %d %s, want mfa enrol", a.status, a.body)
	}
	for _, p := range []string{"/api/session", "/api/projects", "/api/account/keys"} {
		b.twin().mustStatus(b.twin().do("GET", p, nil), http.StatusUnauthorized, "GET "+p+" pending enrolment")
	}
	b.mustStatus(b.twin().send("POST", "/api/account/recovery-codes", nil), http.StatusUnauthorized, "recovery codes pending enrolment")
	b.mustStatus(b.send("POST", "/api/session/mfa/key/begin", nil), http.StatusForbidden, "a second factor with no key")
	if st := b.do("GET", "/api/session/mfa", nil).json(t); st["pending"] != "enrol" {
		t.Fatalf("status %v", st)
	}
	k := newSoftKey(t)
	b.mustEnrol(k, "First key")
	b.mustStatus(b.do("GET", "/api/projects", nil), http.StatusOK, "projects once enrolled")
	if n := e.auditCount("mfa_enrolment_required", id); n != 1 {
		t.Fatalf("mfa_enrolment_required audited %d times", n)
	}
	// The last key stays while MFA is required.
	kid := scalar[int64](e, `SELECT key_id FROM beacon.webauthn_credentials`)
	if a := b.send("DELETE", "/api/account/keys/"+itoa(kid), nil); a.status != http.StatusBadRequest {
		t.Fatalf("removing the last key under MFA_REQUIRED: %d %s", a.status, a.body)
	}
	b.send("DELETE", "/api/session", nil)
	if a := b.signIn("ada@example.com", "correct horse"); a.json(t)["mfa"] != "second_factor" {
		t.Fatalf("with a key: %s", a.body)
	}
}

func TestKeysRenameAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	id := e.account("ada@example.com", "correct horse", false)
	e.account("bob@example.com", "battery staple", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	k1, k2 := newSoftKey(t), newSoftKey(t)
	b.mustEnrol(k1, "YubiKey")
	b.mustEnrol(k2, "Phone")
	b.mustStatus(b.enrol(k1, "YubiKey again"), http.StatusBadRequest, "the same key twice")
	b.mustStatus(b.enrol(newSoftKey(t), " "), http.StatusBadRequest, "a key without a name")
	list := b.do("GET", "/api/account/keys", nil).json(t)
	keys, _ := list["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("keys %v", list)
	}
	first := itoa(int64(keys[0].(map[string]any)["id"].(float64)))
	b.mustStatus(b.send("PATCH", "/api/account/keys/"+first, map[string]string{"name": "Blue YubiKey"}), http.StatusOK, "rename")
	if n := e.auditCount("mfa_key_renamed", id); n != 1 {
		t.Fatalf("rename audited %d times", n)
	}

	other := e.browser()
	other.mustSignIn("bob@example.com", "battery staple")
	other.mustStatus(other.send("PATCH", "/api/account/keys/"+first, map[string]string{"name": "mine"}), http.StatusNotFound, "renaming another account's key")
	other.mustStatus(other.send("DELETE", "/api/account/keys/"+first, nil), http.StatusNotFound, "removing another account's key")

	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour'`)
	if a := b.send("DELETE", "/api/account/keys/"+first, nil); a.status != http.StatusForbidden || a.code(t) != "reauth_required" {
		t.Fatalf("remove without a recent password: %d %s", a.status, a.body)
	}
	b.mustStatus(b.send("POST", "/api/session/reauth", map[string]string{"password": "correct horse"}), http.StatusNoContent, "reauth")
	b.mustStatus(b.send("DELETE", "/api/account/keys/"+first, nil), http.StatusNoContent, "remove")
	if n := e.auditCount("mfa_key_removed", id); n != 1 {
		t.Fatalf("remove audited %d times", n)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.webauthn_credentials`); n != 1 {
		t.Fatalf("%d keys left", n)
	}
}

func TestEnrolNeedsRecentPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mfaConfig())
	e.account("ada@example.com", "correct horse", false)
	b := e.browser()
	b.mustSignIn("ada@example.com", "correct horse")
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour'`)
	if a := b.enrol(newSoftKey(t), "Late key"); a.status != http.StatusForbidden || a.code(t) != "reauth_required" {
		t.Fatalf("enrol without a recent password: %d %s", a.status, a.body)
	}
}
