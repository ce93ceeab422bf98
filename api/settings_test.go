package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// team is a project with a (non-admin) owner, an editor and a viewer, each signed in, and an
// outsider who is a member of nothing.
type team struct {
	e                                       *env
	project                                 string
	owner, editor, viewer                   string // account ids
	asOwner, asEditor, asViewer, asOutsider *browser
}

func newTeam(t *testing.T) *team {
	e := newEnv(t, defaultConfig())
	tm := &team{e: e, project: e.project("Shop")}
	tm.owner = e.account("olga@example.com", pw, false)
	tm.editor = e.account("ed@example.com", pw, false)
	tm.viewer = e.account("vic@example.com", pw, false)
	e.account("out@example.com", pw, false)
	for acc, role := range map[string]string{tm.owner: "owner", tm.editor: "editor", tm.viewer: "viewer"} {
		e.exec(`SELECT beacon.set_membership($1, $2, $3)`, acc, tm.project, role)
	}
	sign := func(email string) *browser { b := e.browser(); b.mustSignIn(email, pw); return b }
	tm.asOwner, tm.asEditor, tm.asViewer, tm.asOutsider = sign("olga@example.com"), sign("ed@example.com"), sign("vic@example.com"), sign("out@example.com")
	return tm
}

func errMessage(t *testing.T, a answer) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func TestSettingsReadByMembersChangedByOwners(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	path := "/api/projects/" + tm.project + "/settings"
	for name, b := range map[string]*browser{"owner": tm.asOwner, "editor": tm.asEditor, "viewer": tm.asViewer} {
		a := b.do("GET", path, nil)
		if a.status != http.StatusOK || a.json(t)["name"] != "Shop" || a.json(t)["role"] != name || a.json(t)["timezone"] != "UTC" {
			t.Errorf("GET settings as %s: %d %s", name, a.status, a.body)
		}
	}
	if a := tm.asOutsider.do("GET", path, nil); a.status != http.StatusNotFound || a.code(t) != "not_found" {
		t.Errorf("GET settings as a non-member: %d %s, want 404", a.status, a.body)
	}
	change := map[string]any{"allowed_origins": []string{"https://Shop.example.com/", "http://localhost:5173"}}
	for name, b := range map[string]*browser{"editor": tm.asEditor, "viewer": tm.asViewer} {
		if a := b.send("PATCH", path, change); a.status != http.StatusForbidden || a.code(t) != "forbidden" {
			t.Errorf("PATCH settings as %s: %d %s, want 403", name, a.status, a.body)
		}
	}
	if a := tm.asOutsider.send("PATCH", path, change); a.status != http.StatusNotFound {
		t.Errorf("PATCH settings as a non-member: %d %s, want 404", a.status, a.body)
	}
	if n := tm.e.auditCount("project_changed", ""); n != 0 {
		t.Fatalf("%d project_changed rows after refusals", n)
	}

	a := tm.asOwner.send("PATCH", path, map[string]any{"name": " Shop EU ", "allowed_origins": change["allowed_origins"],
		"timezone": "europe/paris", "retention_days": 90, "verify_identity": false})
	if a.status != http.StatusOK {
		t.Fatalf("PATCH as owner: %d %s", a.status, a.body)
	}
	got := scalar[string](tm.e, `SELECT format('%s|%s|%s|%s|%s', name, allowed_origins, timezone, retention_days, verify_identity) FROM beacon.projects WHERE project_id = $1`, tm.project)
	if want := "Shop EU|{https://shop.example.com,http://localhost:5173}|Europe/Paris|90|f"; got != want {
		t.Errorf("project after PATCH: %s, want %s", got, want)
	}
	if tz := a.json(t)["timezone"]; tz != "Europe/Paris" {
		t.Errorf("answer's timezone %v", tz)
	}
	audit := scalar[string](tm.e, `SELECT format('%s %s %s', account_id, before->'allowed_origins', after->'retention_days') FROM beacon.audit WHERE action = 'project_changed'`)
	if want := tm.owner + ` [] 90`; audit != want {
		t.Errorf("audit %q, want %q", audit, want)
	}
	// Unchanged values audit nothing; null retention is the default again.
	tm.asOwner.send("PATCH", path, map[string]any{"name": "Shop EU"})
	if n := tm.e.auditCount("project_changed", tm.owner); n != 1 {
		t.Errorf("%d project_changed rows after a no-op change, want 1", n)
	}
	if a := tm.asOwner.send("PATCH", path, map[string]any{"retention_days": nil}); a.status != http.StatusOK || a.json(t)["retention_days"] != nil {
		t.Errorf("retention back to default: %d %s", a.status, a.body)
	}
}

func TestSettingsRefuseBadValuesWithAMessage(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	path := "/api/projects/" + tm.project + "/settings"
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"allowed_origins": []string{"https://ok.example", "shop.example.com"}}, "origin 'shop.example.com' must be scheme://host[:port]"},
		{map[string]any{"allowed_origins": []string{"https://shop.example.com/path"}}, "must be scheme://host[:port]"},
		{map[string]any{"allowed_origins": []string{"https://u@shop.example.com"}}, "must be scheme://host[:port]"},
		{map[string]any{"allowed_origins": "https://shop.example.com"}, "allowed_origins must be a list"},
		{map[string]any{"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"},
		{map[string]any{"retention_days": 1}, "retention must be a whole number of days from 2"},
		{map[string]any{"retention_days": 7.5}, "retention must be a whole number"},
		{map[string]any{"name": ""}, "a project name has 1 to 200 characters"},
		{map[string]any{"verify_identity": "yes"}, "verify_identity must be true or false"},
		{map[string]any{"owner": "me"}, "unknown setting 'owner'"},
		// All or nothing: the good name is not kept when the time zone is bad.
		{map[string]any{"name": "Renamed", "timezone": "Nowhere"}, "unknown time zone"},
	} {
		a := tm.asOwner.send("PATCH", path, tc.body)
		if a.status != http.StatusBadRequest || a.code(t) != "bad_request" || !strings.Contains(errMessage(t, a), tc.want) {
			t.Errorf("PATCH %v: %d %s, want 400 %q", tc.body, a.status, a.body, tc.want)
		}
	}
	if name := scalar[string](tm.e, `SELECT name FROM beacon.projects WHERE project_id = $1`, tm.project); name != "Shop" {
		t.Errorf("name %q after refused changes", name)
	}
	if a := tm.asOwner.do("PATCH", path, map[string]any{"name": "x"}); a.status != http.StatusForbidden || a.code(t) != "csrf_failed" {
		t.Errorf("PATCH without CSRF token: %d %s", a.status, a.body)
	}
}

func TestMembersAddChangeRemove(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	e := tm.e
	newbie := e.account("New@Example.com", pw, false)
	path := "/api/projects/" + tm.project + "/members"
	if a := tm.asViewer.do("GET", path, nil); a.status != http.StatusOK || len(a.json(t)["members"].([]any)) != 3 {
		t.Errorf("members as viewer: %d %s", a.status, a.body)
	}
	if a := tm.asOutsider.do("GET", path, nil); a.status != http.StatusNotFound {
		t.Errorf("members as non-member: %d %s", a.status, a.body)
	}
	add := map[string]string{"email": "new@example.com", "role": "viewer"}
	for name, b := range map[string]*browser{"editor": tm.asEditor, "viewer": tm.asViewer} {
		if a := b.send("POST", path, add); a.status != http.StatusForbidden {
			t.Errorf("add member as %s: %d %s, want 403", name, a.status, a.body)
		}
		if a := b.send("PATCH", path+"/"+tm.editor, map[string]string{"role": "owner"}); a.status != http.StatusForbidden {
			t.Errorf("change role as %s: %d %s, want 403", name, a.status, a.body)
		}
		if a := b.send("DELETE", path+"/"+tm.editor, nil); a.status != http.StatusForbidden {
			t.Errorf("remove member as %s: %d %s, want 403", name, a.status, a.body)
		}
	}
	if a := tm.asOwner.send("POST", path, add); a.status != http.StatusCreated || len(a.json(t)["members"].([]any)) != 4 {
		t.Fatalf("add member: %d %s", a.status, a.body)
	}
	for _, tc := range []struct {
		body map[string]string
		want string
	}{
		{add, "is a member already"},
		{map[string]string{"email": "nobody@example.com", "role": "viewer"}, "no account has the email 'nobody@example.com'"},
		{map[string]string{"email": "out@example.com", "role": "admin"}, "role must be owner, editor or viewer"},
	} {
		if a := tm.asOwner.send("POST", path, tc.body); a.status != http.StatusBadRequest || !strings.Contains(errMessage(t, a), tc.want) {
			t.Errorf("add %v: %d %s, want 400 %q", tc.body, a.status, a.body, tc.want)
		}
	}
	if a := tm.asOwner.send("PATCH", path+"/"+newbie, map[string]string{"role": "editor"}); a.status != http.StatusOK {
		t.Errorf("change role: %d %s", a.status, a.body)
	}
	if a := tm.asOwner.send("DELETE", path+"/"+newbie, nil); a.status != http.StatusNoContent {
		t.Errorf("remove: %d %s", a.status, a.body)
	}
	if a := tm.asOwner.send("DELETE", path+"/"+newbie, nil); a.status != http.StatusNotFound || errMessage(t, a) != "member not found" {
		t.Errorf("remove a non-member: %d %s, want 404 member not found", a.status, a.body)
	}
	got := scalar[string](e, `SELECT string_agg(action || ' ' || coalesce(before->>'role', '-') || '→' || coalesce(after->>'role', '-') || ' by ' || account_id, ', ' ORDER BY audit_id)
		FROM beacon.audit WHERE target = 'project:' || $1 || '/account:' || $2`, tm.project, newbie)
	by := " by " + tm.owner
	if want := "membership_added -→viewer" + by + ", membership_changed viewer→editor" + by + ", membership_removed editor→-" + by; got != want {
		t.Errorf("audit %q, want %q", got, want)
	}

	// The last owner can neither leave nor step down; with a second owner, it can.
	for _, a := range []answer{
		tm.asOwner.send("DELETE", path+"/"+tm.owner, nil),
		tm.asOwner.send("PATCH", path+"/"+tm.owner, map[string]string{"role": "viewer"}),
	} {
		if a.status != http.StatusBadRequest || !strings.Contains(errMessage(t, a), "last owner") {
			t.Errorf("last owner: %d %s, want 400", a.status, a.body)
		}
	}
	tm.asOwner.send("PATCH", path+"/"+tm.editor, map[string]string{"role": "owner"})
	if a := tm.asOwner.send("DELETE", path+"/"+tm.owner, nil); a.status != http.StatusNoContent {
		t.Errorf("owner leaves after making another owner: %d %s", a.status, a.body)
	}
	if a := tm.asOwner.do("GET", path, nil); a.status != http.StatusNotFound {
		t.Errorf("the former owner still sees the project: %d", a.status)
	}
}

func TestCreateProjectByAdminOnly(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	e := tm.e
	admin := e.account("root@example.com", pw, true)
	asAdmin := e.browser()
	asAdmin.mustSignIn("root@example.com", pw)
	if a := tm.asOwner.send("POST", "/api/projects", map[string]any{"name": "Mine"}); a.status != http.StatusForbidden || !strings.Contains(errMessage(t, a), "only an admin account") {
		t.Errorf("non-admin creates a project: %d %s", a.status, a.body)
	}
	if a := asAdmin.send("POST", "/api/projects", map[string]any{"name": "Blog", "allowed_origins": []string{"ftp://blog"}}); a.status != http.StatusBadRequest {
		t.Errorf("bad origin at creation: %d %s", a.status, a.body)
	}
	a := asAdmin.send("POST", "/api/projects", map[string]any{"name": "Blog", "allowed_origins": []string{"https://blog.example"}})
	if a.status != http.StatusCreated || a.json(t)["role"] != "owner" {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	id, _ := a.json(t)["id"].(string)
	got := scalar[string](e, `SELECT format('%s %s %s', p.allowed_origins, p.verify_identity, m.role) FROM beacon.projects p
		JOIN beacon.memberships m ON m.project_id = p.project_id AND m.account_id = $2 WHERE p.project_id = $1`, id, admin)
	if got != "{https://blog.example} t owner" {
		t.Errorf("created project: %s", got)
	}
	if n := e.auditCount("project_created", admin); n != 1 {
		t.Errorf("%d project_created rows", n)
	}
}

// TestSettingsSQLRefusesViewers calls the functions as the API's role would, without the Go
// handlers: a viewer's or an outsider's account id changes nothing.
func TestSettingsSQLRefusesViewers(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, tm.e.db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	outsider := scalar[string](tm.e, `SELECT account_id::text FROM beacon.accounts WHERE email = 'out@example.com'`)
	refusal := func(account, sql string, args ...any) string {
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
			return "no error"
		}
		return pe.Code + " " + pe.Message
	}
	for _, q := range []string{
		`SELECT beacon.api_update_project_settings($1, '{"allowed_origins": ["*"]}')`,
		`SELECT beacon.api_add_member($1, 'out@example.com', 'owner')`,
		`SELECT beacon.api_set_member_role($1, '` + tm.viewer + `', 'owner')`,
		`SELECT beacon.api_remove_member($1, '` + tm.owner + `')`,
	} {
		if got := refusal(tm.viewer, q, tm.project); got != "42501 this needs the owner role in the project (the account is viewer)" {
			t.Errorf("%s as viewer: %s", q, got)
		}
		if got := refusal(outsider, q, tm.project); got != "P0002 project not found" {
			t.Errorf("%s as outsider: %s", q, got)
		}
	}
	for _, q := range []string{`SELECT beacon.api_project_settings($1)`, `SELECT beacon.api_members($1)`, `SELECT beacon.api_live($1)`} {
		if got := refusal(outsider, q, tm.project); got != "P0002 project not found" {
			t.Errorf("%s as outsider: %s", q, got)
		}
	}
	if got := refusal(tm.owner, `SELECT beacon.change_member($1, $2, 'owner')`, tm.project, tm.viewer); !strings.HasPrefix(got, "42501 permission denied") {
		t.Errorf("beacon_api calls change_member: %s", got)
	}
	if got := refusal(tm.viewer, `SELECT beacon.api_create_project('Mine')`); !strings.HasPrefix(got, "42501 only an admin account") {
		t.Errorf("viewer creates a project: %s", got)
	}
}
