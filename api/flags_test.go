package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/api"
)

// flagEnv is a project with an owner, an editor, a viewer and an outsider (a member of another
// project only), each signed in.
type flagEnv struct {
	*env
	shop, blog                      string
	editorID, viewerID              string
	owner, editor, viewer, outsider *browser
}

func newFlagEnv(t *testing.T, cfg api.Config) *flagEnv {
	t.Helper()
	e := newEnv(t, cfg)
	f := &flagEnv{env: e, shop: e.project("Shop"), blog: e.project("Blog")}
	ids := map[string]string{}
	for _, m := range []struct{ email, project, role string }{
		{"owner@example.com", f.shop, "owner"}, {"editor@example.com", f.shop, "editor"},
		{"viewer@example.com", f.shop, "viewer"}, {"outsider@example.com", f.blog, "owner"},
	} {
		ids[m.email] = e.account(m.email, pw, false)
		e.exec(`SELECT beacon.set_membership($1, $2, $3)`, ids[m.email], m.project, m.role)
	}
	f.editorID, f.viewerID = ids["editor@example.com"], ids["viewer@example.com"]
	signIn := func(email string) *browser {
		b := e.browser()
		b.mustSignIn(email, pw)
		return b
	}
	f.owner, f.editor, f.viewer, f.outsider = signIn("owner@example.com"), signIn("editor@example.com"),
		signIn("viewer@example.com"), signIn("outsider@example.com")
	return f
}

type flagJSON struct {
	Key           string            `json:"key"`
	Description   string            `json:"description"`
	Enabled       bool              `json:"enabled"`
	Rollout       float64           `json:"rollout"`
	Rules         []json.RawMessage `json:"rules"`
	ClientVisible bool              `json:"client_visible"`
	UpdatedAt     string            `json:"updated_at"`
	UpdatedBy     string            `json:"updated_by"`
	ClientsOn     *int              `json:"clients_on"`
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return v
}

func TestFlagLifecycle(t *testing.T) {
	t.Parallel()
	f := newFlagEnv(t, defaultConfig())
	base := "/api/projects/" + f.shop + "/flags"

	a := f.viewer.do("GET", base, nil)
	if a.status != http.StatusOK || string(a.body) != `{"role":"viewer","flags":[]}` {
		t.Fatalf("empty list: %d %s", a.status, a.body)
	}
	a = f.editor.send("POST", base, map[string]any{"key": "new-checkout", "description": "The new checkout",
		"rollout": 25, "rules": []any{map[string]any{"trait": "plan", "op": "eq", "value": "pro"}}, "client_visible": true})
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	created := decode[flagJSON](t, a)
	if created.Key != "new-checkout" || created.Enabled || created.Rollout != 25 || len(created.Rules) != 1 ||
		!created.ClientVisible || created.UpdatedBy != "editor@example.com" {
		t.Errorf("created %+v", created)
	}

	a = f.editor.send("PATCH", base+"/new-checkout", map[string]any{"enabled": true, "rollout": 50.5})
	if a.status != http.StatusOK {
		t.Fatalf("update: %d %s", a.status, a.body)
	}
	if u := decode[flagJSON](t, a); !u.Enabled || u.Rollout != 50.5 || u.Description != "The new checkout" || len(u.Rules) != 1 {
		t.Errorf("updated %+v", u)
	}
	a = f.owner.send("PATCH", base+"/new-checkout", map[string]any{"rules": []any{}, "description": "all of them"})
	if a.status != http.StatusOK {
		t.Fatalf("owner's update: %d %s", a.status, a.body)
	}

	a = f.viewer.do("GET", base, nil)
	list := decode[struct {
		Role  string
		Flags []flagJSON
	}](t, a)
	if a.status != http.StatusOK || list.Role != "viewer" || len(list.Flags) != 1 || list.Flags[0].UpdatedBy != "owner@example.com" ||
		list.Flags[0].ClientsOn == nil || *list.Flags[0].ClientsOn != 0 || len(list.Flags[0].Rules) != 0 {
		t.Errorf("list: %d %s", a.status, a.body)
	}

	a = f.viewer.do("GET", base+"/new-checkout/history", nil)
	h := decode[struct {
		Key     string
		History []struct {
			Action, At, By string
			Before, After  map[string]any
		}
	}](t, a)
	if a.status != http.StatusOK || len(h.History) != 3 {
		t.Fatalf("history: %d %s", a.status, a.body)
	}
	if e := h.History[1]; e.Action != "UPDATE" || e.By != "editor@example.com" || e.Before["enabled"] != false ||
		e.After["enabled"] != true || e.Before["rollout_percent"] != 25.0 || e.After["rollout_percent"] != 50.5 {
		t.Errorf("history of the editor's change: %+v", e)
	}
	if e := h.History[2]; e.Action != "INSERT" || e.Before != nil || e.After["key"] != "new-checkout" {
		t.Errorf("history of the creation: %+v", e)
	}
	if n := f.auditCount("flag_created", f.editorID); n != 1 {
		t.Errorf("flag_created audited %d times", n)
	}
	if n := f.auditCount("flag_changed", f.editorID); n != 1 {
		t.Errorf("flag_changed audited %d times", n)
	}
	if by := scalar[string](f.env, `SELECT before->>'rollout_percent' || '→' || (after->>'rollout_percent') FROM beacon.audit WHERE action = 'flag_changed' AND account_id = $1`, f.editorID); by != "25.00→50.50" {
		t.Errorf("beacon.audit before → after: %s", by)
	}

	if a = f.editor.send("DELETE", base+"/new-checkout", nil); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if n := f.auditCount("flag_deleted", f.editorID); n != 1 {
		t.Errorf("flag_deleted audited %d times", n)
	}
	a = f.viewer.do("GET", base+"/new-checkout/history", nil)
	if h := decode[struct{ History []struct{ Action string } }](t, a); len(h.History) != 4 || h.History[0].Action != "DELETE" {
		t.Errorf("history after the deletion: %s", a.body)
	}
	if a = f.editor.send("DELETE", base+"/new-checkout", nil); a.status != http.StatusNotFound || a.code(t) != "flag_not_found" {
		t.Errorf("delete again: %d %s", a.status, a.body)
	}
}

func TestFlagRoles(t *testing.T) {
	t.Parallel()
	f := newFlagEnv(t, defaultConfig())
	base := "/api/projects/" + f.shop + "/flags"
	f.exec(`INSERT INTO beacon.flags (project_id, key, enabled, client_visible) VALUES ($1, 'beta', false, true)`, f.shop)
	before := scalar[int](f.env, `SELECT count(*)::int FROM beacon.flag_audit`)

	for _, c := range []struct {
		name, method, path string
		body               any
	}{
		{"create", "POST", base, map[string]any{"key": "x"}},
		{"update", "PATCH", base + "/beta", map[string]any{"enabled": true}},
		{"delete", "DELETE", base + "/beta", nil},
	} {
		if a := f.viewer.send(c.method, c.path, c.body); a.status != http.StatusForbidden || a.code(t) != "forbidden" {
			t.Errorf("viewer %s: %d %s", c.name, a.status, a.body)
		}
		if a := f.outsider.send(c.method, c.path, c.body); a.status != http.StatusNotFound || a.code(t) != "not_found" {
			t.Errorf("outsider %s: %d %s", c.name, a.status, a.body)
		}
		if a := f.editor.do(c.method, c.path, c.body); a.status != http.StatusForbidden || a.code(t) != "csrf_failed" {
			t.Errorf("editor %s without the CSRF token: %d %s", c.name, a.status, a.body)
		}
	}
	for _, p := range []string{base, base + "/beta/history"} {
		if a := f.outsider.do("GET", p, nil); a.status != http.StatusNotFound || a.code(t) != "not_found" {
			t.Errorf("outsider GET %s: %d %s", p, a.status, a.body)
		}
		if a := f.viewer.do("GET", p, nil); a.status != http.StatusOK {
			t.Errorf("viewer GET %s: %d %s", p, a.status, a.body)
		}
	}
	if a := f.viewer.do("GET", "/api/projects/not-a-uuid/flags", nil); a.status != http.StatusNotFound {
		t.Errorf("bad project id: %d", a.status)
	}
	if a := f.viewer.do("PUT", base, nil); a.status != http.StatusMethodNotAllowed || a.code(t) != "method_not_allowed" {
		t.Errorf("PUT: %d %s, want 405 method_not_allowed (JSON)", a.status, a.body)
	}
	if after := scalar[int](f.env, `SELECT count(*)::int FROM beacon.flag_audit`); after != before {
		t.Errorf("refused changes wrote %d flag_audit rows", after-before)
	}
	// Each of the viewer's three refusals is in the audit (AU-2), as the viewer, with what was asked;
	// the outsider's 404s and the missing CSRF token are not authorization refusals of a role.
	denied := scalar[string](f.env, `SELECT coalesce(string_agg(target || ' ' || (after->>'reason' <> '')::text, ', ' ORDER BY audit_id), '')
		FROM beacon.audit WHERE action = 'access_denied' AND account_id = $1`, f.viewerID)
	if want := "request:POST " + base + " true, request:PATCH " + base + "/beta true, request:DELETE " + base + "/beta true"; denied != want {
		t.Errorf("access_denied audit rows %q, want %q", denied, want)
	}
	if n := scalar[int](f.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'access_denied' AND account_id <> $1`, f.viewerID); n != 0 {
		t.Errorf("%d access_denied rows for accounts other than the viewer", n)
	}
	if on := scalar[bool](f.env, `SELECT enabled FROM beacon.flags WHERE key = 'beta'`); on {
		t.Error("a refused change changed the flag")
	}
}

func TestFlagBadInput(t *testing.T) {
	t.Parallel()
	f := newFlagEnv(t, defaultConfig())
	base := "/api/projects/" + f.shop + "/flags"
	if a := f.editor.send("POST", base, map[string]any{"key": "taken"}); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		code, message      string
	}{
		{"rollout above 100", "POST", base, map[string]any{"key": "a", "rollout": 101}, "bad_rollout",
			"rollout must be a number from 0 to 100, with at most 2 decimals (got 101)"},
		{"negative rollout", "PATCH", base + "/taken", map[string]any{"rollout": -1}, "bad_rollout",
			"rollout must be a number from 0 to 100, with at most 2 decimals (got -1)"},
		{"rollout as text", "PATCH", base + "/taken", map[string]any{"rollout": "50"}, "bad_rollout",
			"rollout must be a number from 0 to 100"},
		{"three decimals", "PATCH", base + "/taken", map[string]any{"rollout": 12.345}, "bad_rollout",
			"rollout must be a number from 0 to 100, with at most 2 decimals (got 12.345)"},
		{"rules not an array", "POST", base, map[string]any{"key": "b", "rules": map[string]any{}}, "bad_rules",
			"flag rules must be a JSON array, got object"},
		{"unknown op", "PATCH", base + "/taken", map[string]any{"rules": []any{map[string]any{"trait": "plan", "op": "gt"}}},
			"bad_rules", `flag rule 1: "op" must be one of eq, in, exists, got "gt"`},
		{"in without values", "PATCH", base + "/taken", map[string]any{"rules": []any{
			map[string]any{"trait": "plan", "op": "exists"}, map[string]any{"trait": "country", "op": "in"}}},
			"bad_rules", `flag rule 2: op in needs "values", a JSON array`},
		{"duplicate key", "POST", base, map[string]any{"key": "taken"}, "duplicate_key", "a flag with the key taken exists in this project"},
		{"bad key", "POST", base, map[string]any{"key": "-x y"}, "bad_key",
			"the key must start with a letter or digit, followed by up to 99 letters, digits, _ . : or -"},
		{"no key", "POST", base, map[string]any{"enabled": true}, "bad_key",
			"the key must start with a letter or digit, followed by up to 99 letters, digits, _ . : or -"},
		{"key change", "PATCH", base + "/taken", map[string]any{"key": "other"}, "bad_key",
			"a flag's key cannot change (the SDK asks for it by key): create a new flag instead"},
		{"enabled as text", "PATCH", base + "/taken", map[string]any{"enabled": "yes"}, "bad_enabled", "enabled must be true or false"},
		{"unknown field", "PATCH", base + "/taken", map[string]any{"rollout_percent": 5}, "bad_request",
			`unknown field "rollout_percent": a flag has key, description, enabled, rollout, rules and client_visible`},
		{"not an object", "PATCH", base + "/taken", []int{1}, "bad_request", "the body must be a JSON object"},
		{"unknown flag", "PATCH", base + "/nope", map[string]any{"enabled": true}, "flag_not_found", "flag not found"},
	} {
		a := f.editor.send(c.method, c.path, c.body)
		want := http.StatusBadRequest
		if c.code == "flag_not_found" {
			want = http.StatusNotFound
		}
		m, _ := a.json(t)["error"].(map[string]any)
		if a.status != want || m["code"] != c.code || m["message"] != c.message {
			t.Errorf("%s: %d %s, want %d %s %q", c.name, a.status, a.body, want, c.code, c.message)
		}
	}
	a := f.editor.do("PATCH", base+"/taken", nil, "X-CSRF-Token", f.editor.csrf, "Content-Type", "text/plain")
	if a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d %s", a.status, a.body)
	}
	if n := scalar[int](f.env, `SELECT count(*)::int FROM beacon.flag_audit`); n != 1 {
		t.Errorf("%d flag_audit rows, want only the creation's", n)
	}
}

// TestSQLRefusesAViewersFlagChange calls the flag functions directly as beacon_api with a
// viewer's and an outsider's account id: the SQL refuses, whatever a Go handler would do.
func TestSQLRefusesAViewersFlagChange(t *testing.T) {
	t.Parallel()
	f := newFlagEnv(t, defaultConfig())
	f.exec(`INSERT INTO beacon.flags (project_id, key) VALUES ($1, 'beta')`, f.shop)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, f.db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	outsider := scalar[string](f.env, `SELECT account_id::text FROM beacon.accounts WHERE email = 'outsider@example.com'`)
	as := func(account, sql string, args ...any) *pgconn.PgError {
		t.Helper()
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.account_id', $1, true)`, account); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, sql, args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err %v, want a refusal", sql, err)
			return &pgconn.PgError{}
		}
		return pe
	}
	for _, q := range []string{
		`SELECT beacon.api_flag_create($1, '{"key": "x"}')`,
		`SELECT beacon.api_flag_update($1, 'beta', '{"enabled": true}')`,
		`SELECT beacon.api_flag_delete($1, 'beta')`,
	} {
		if pe := as(f.viewerID, q, f.shop); pe.Code != "42501" || pe.Message != "this needs the editor role in the project (the account is viewer)" {
			t.Errorf("viewer %s: %s %s", q, pe.Code, pe.Message)
		}
		if pe := as(outsider, q, f.shop); pe.Code != "P0002" || pe.Message != "project not found" {
			t.Errorf("outsider %s: %s %s", q, pe.Code, pe.Message)
		}
	}
	for _, q := range []string{`SELECT beacon.api_flags($1)`, `SELECT beacon.api_flag_history($1, 'beta')`} {
		if pe := as(outsider, q, f.shop); pe.Code != "P0002" {
			t.Errorf("outsider %s: %s %s", q, pe.Code, pe.Message)
		}
	}
	for _, q := range []string{
		`UPDATE beacon.flags SET enabled = true`,
		`SELECT * FROM beacon.flags`,
		`SELECT * FROM beacon.flag_audit`,
		`SELECT beacon.api_flag_json(f) FROM beacon.flags f`,
	} {
		if pe := as(f.editorID, q); pe.Code != "42501" {
			t.Errorf("editor %s: %s %s, want 42501", q, pe.Code, pe.Message)
		}
	}
	// The editor may, the same way: the refusals above are about the account.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var on bool
	if err := tx.QueryRow(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.account_id', $1, true)`, f.editorID).Scan(new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT (beacon.api_flag_update($1, 'beta', '{"enabled": true}')->>'enabled')::boolean`, f.shop).Scan(&on); err != nil || !on {
		t.Errorf("editor's update: %v %v", on, err)
	}
}

// TestFlagActorRecorded: flag_audit names the account (app_user) and beacon_api (db_role).
func TestFlagActorRecorded(t *testing.T) {
	t.Parallel()
	f := newFlagEnv(t, defaultConfig())
	if a := f.editor.send("POST", "/api/projects/"+f.shop+"/flags", map[string]any{"key": "k"}); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var appUser, role string
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT app_user, db_role FROM beacon.flag_audit WHERE flag_key = 'k'`).Scan(&appUser, &role); err != nil {
		t.Fatal(err)
	}
	if appUser != f.editorID || role != "beacon_api" {
		t.Errorf("flag_audit actor: app_user %q db_role %q, want %q beacon_api", appUser, role, f.editorID)
	}
	// A DBA's change shows as its role in updated_by.
	f.exec(`UPDATE beacon.flags SET enabled = true WHERE key = 'k'`)
	a := f.viewer.do("GET", "/api/projects/"+f.shop+"/flags", nil)
	list := decode[struct{ Flags []flagJSON }](t, a)
	owner := scalar[string](f.env, `SELECT current_user::text`)
	if len(list.Flags) != 1 || list.Flags[0].UpdatedBy != owner {
		t.Errorf("updated_by after a DBA's change: %s (want %s)", a.body, owner)
	}
}

// fixedOn is a ClientsOn with fixed counts for one project.
type fixedOn struct {
	project uuid.UUID
	on      map[string]int
}

func (f fixedOn) FlagsOn(p uuid.UUID) map[string]int {
	if p != f.project {
		return nil
	}
	return f.on
}

func TestFlagClientsOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop := e.project("Shop")
	e.account("admin@example.com", pw, true)
	e.exec(`INSERT INTO beacon.flags (project_id, key) VALUES ($1, 'a'), ($1, 'b')`, shop)
	pool, err := pgxpool.New(context.Background(), e.db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := defaultConfig()
	cfg.ClientsOn = fixedOn{uuid.MustParse(shop), map[string]int{"a": 3, "gone": 9}}
	srv := httptest.NewServer(api.New(pool, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	e2 := &env{t: t, db: e.db, srv: srv}
	b := e2.browser()
	b.mustSignIn("admin@example.com", pw)
	list := decode[struct{ Flags []flagJSON }](t, b.do("GET", "/api/projects/"+shop+"/flags", nil))
	if len(list.Flags) != 2 || *list.Flags[0].ClientsOn != 3 || *list.Flags[1].ClientsOn != 0 {
		t.Errorf("clients_on: %+v", list.Flags)
	}
}
