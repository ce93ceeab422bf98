package api_test

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
)

// TestWriteKeys: a project's owner lists, creates (with a fresh password: shown once, stored as
// its SHA-256) and revokes (without one) the write keys of the Segment-compatible API, audited under their
// account; editors and other projects' owners may not; a key of another project is not found.
func TestWriteKeys(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	e := f.e
	path := "/api/projects/" + f.a + "/write-keys"
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '6 minutes'`)
	if a := f.owner.send("POST", path, map[string]any{"name": "backend"}); a.status != 403 || a.code(t) != "reauth_required" {
		t.Fatalf("create with an old password: %d %s", a.status, a.body)
	}
	if a := f.owner.send("POST", "/api/session/reauth", map[string]any{"password": pw}); a.status != 204 {
		t.Fatalf("reauth: %d %s", a.status, a.body)
	}
	a := f.owner.send("POST", path, map[string]any{"name": "backend"})
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	m := a.json(t)
	key, id := m["key"].(string), m["id"].(string)
	sum := sha256.Sum256([]byte(key))
	if !strings.HasPrefix(key, "bwk_") || scalar[int](e, `SELECT count(*)::int FROM beacon.write_keys WHERE key_hash = $1 AND project_id = $2`, sum[:], f.a) != 1 {
		t.Errorf("key %q not stored under its SHA-256 in project A", key)
	}
	if a := f.owner.send("POST", path, map[string]any{"name": ""}); a.status != 400 {
		t.Errorf("create without a name: %d %s", a.status, a.body)
	}
	if a := f.owner.do("GET", path, nil); a.status != 200 || strings.Contains(string(a.body), key) || !strings.Contains(string(a.body), `"name": "backend"`) {
		t.Errorf("list: %d %s", a.status, a.body)
	}
	if a := f.owner.send("DELETE", "/api/projects/"+f.b+"/write-keys/"+id, nil); a.status != 404 || errMessage(t, a) != "write key not found" {
		t.Errorf("revoke through another project: %d %s", a.status, a.body)
	}
	ed := e.account("ed@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'editor')`, ed, f.a)
	b := e.browser()
	b.mustSignIn("ed@example.com", pw)
	for _, c := range []struct{ method, path string }{{"GET", path}, {"POST", path}, {"DELETE", path + "/" + id}} {
		if a := b.send(c.method, c.path, map[string]any{"name": "x"}); a.status != 403 {
			t.Errorf("editor %s %s: %d %s", c.method, c.path, a.status, a.body)
		}
	}
	// Revoking needs no fresh password: a leaked key is stopped at once.
	e.exec(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '6 minutes'`)
	if a := f.owner.send("DELETE", path+"/"+id, nil); a.status != 204 {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.write_keys WHERE key_id = $1 AND revoked_at IS NOT NULL`, id); n != 1 {
		t.Error("not revoked")
	}
	if e.auditCount("writekey_created", f.ownerID) != 1 || e.auditCount("writekey_revoked", f.ownerID) != 1 {
		t.Error("create and revoke not audited under the owner's account")
	}
}
