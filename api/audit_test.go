package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAuditRetention: maintain() deletes audit rows past audit_retention_days (at least 90),
// and only those, and says so in the audit; nothing else may delete them.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	e.exec(`INSERT INTO beacon.audit (at, db_role, action, target) VALUES
	        (now() - interval '400 days', 'x', 'sign_out', 'old1'), (now() - interval '366 days', 'x', 'sign_out', 'old2'),
	        (now() - interval '364 days', 'x', 'sign_out', 'kept'), (now() - interval '1 day', 'x', 'sign_out', 'recent')`)
	ctx := context.Background()
	for _, q := range []string{
		`DELETE FROM beacon.audit WHERE target = 'old1'`,
		`UPDATE beacon.audit SET target = 'x' WHERE target = 'old1'`,
		`TRUNCATE beacon.audit`,
		`UPDATE beacon.settings SET audit_retention_days = 89`,
	} {
		if _, err := e.db.Pool.Exec(ctx, q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	// Even with the purge switch on, a row within retention stays.
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('beacon.audit_purge', 'on', true)`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM beacon.audit WHERE target = 'recent'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete of a recent row with the switch on: %v", err)
	}
	_ = tx.Rollback(ctx)

	e.maintain()
	got := scalar[string](e, `SELECT string_agg(target, ',' ORDER BY target) FROM beacon.audit WHERE db_role = 'x'`)
	if got != "kept,recent" {
		t.Errorf("after maintain: %s, want kept,recent", got)
	}
	if n := scalar[int](e, `SELECT (after ->> 'rows')::int FROM beacon.audit WHERE action = 'audit_purged'`); n != 2 {
		t.Errorf("audit_purged says %d rows", n)
	}
	e.exec(`UPDATE beacon.settings SET audit_retention_days = 90`)
	e.maintain()
	if got := scalar[string](e, `SELECT string_agg(target, ',' ORDER BY target) FROM beacon.audit WHERE db_role = 'x'`); got != "recent" {
		t.Errorf("after maintain at 90 days: %s", got)
	}
}

// TestAuditAPI: admins read the whole audit, owners their project's, by action, actor and time,
// a page at a time.
func TestAuditAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	a, b := e.project("A"), e.project("B")
	admin := e.account("admin@example.com", pw, true)
	owner := e.account("owner@example.com", pw, false)
	viewer := e.account("viewer@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner'), beacon.set_membership($3, $2, 'viewer')`, owner, a, viewer)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner')`, admin, b) // audited against project B
	ab, ob, vb := e.browser(), e.browser(), e.browser()
	ab.mustSignIn("admin@example.com", pw)
	ob.mustSignIn("owner@example.com", pw)
	vb.mustSignIn("viewer@example.com", pw)
	for i := range 3 {
		ob.send("PATCH", "/api/projects/"+a+"/settings", map[string]any{"name": fmt.Sprint("A", i)})
	}

	r := ab.do("GET", "/api/audit?action=sign_in", nil)
	entries, _ := r.json(t)["entries"].([]any)
	if r.status != 200 || len(entries) != 3 {
		t.Fatalf("admin, sign_in: %d %s", r.status, r.body)
	}
	first := entries[0].(map[string]any)
	for _, k := range []string{"id", "at", "action", "target", "account_id", "email", "ip", "db_role"} {
		if _, ok := first[k]; !ok {
			t.Errorf("entry lacks %s: %v", k, first)
		}
	}
	if r := ab.do("GET", "/api/audit?actor="+owner+"&action=sign_in", nil); len(r.json(t)["entries"].([]any)) != 1 {
		t.Errorf("by actor: %s", r.body)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if r := ab.do("GET", "/api/audit?from="+future, nil); len(r.json(t)["entries"].([]any)) != 0 {
		t.Errorf("from the future: %s", r.body)
	}
	// Keyset pages of 2 through the owner's project audit: its 3 changes, 1 membership, nothing of B.
	var seen []string
	next := ""
	for page := 0; page < 5; page++ {
		r := ob.do("GET", "/api/projects/"+a+"/audit?limit=2"+next, nil)
		if r.status != 200 {
			t.Fatalf("owner page: %d %s", r.status, r.body)
		}
		m := r.json(t)
		for _, x := range m["entries"].([]any) {
			seen = append(seen, x.(map[string]any)["action"].(string))
			if !strings.HasPrefix(x.(map[string]any)["target"].(string), "project:"+a) {
				t.Errorf("owner of A sees %v", x)
			}
		}
		if m["next"] == nil {
			break
		}
		next = fmt.Sprintf("&before=%v", m["next"])
	}
	if got := strings.Join(seen, ","); got != "project_changed,project_changed,project_changed,membership_added,membership_added" {
		t.Errorf("owner's project audit: %s", got)
	}
	for _, c := range []struct {
		b      *browser
		path   string
		status int
	}{
		{ob, "/api/audit", 403},
		{vb, "/api/projects/" + a + "/audit", 403},
		{vb, "/api/projects/" + b + "/audit", 404},
		{ab, "/api/audit?from=yesterday", 400},
		{ab, "/api/audit?limit=501", 400},
		{ab, "/api/audit?actor=bob", 400},
	} {
		if r := c.b.do("GET", c.path, nil); r.status != c.status {
			t.Errorf("GET %s: %d %s, want %d", c.path, r.status, r.body, c.status)
		}
	}
}

// TestAuditActionsSuggested keeps the dashboard's action filter suggestions (ACTIONS in
// dashboard/src/lib/components/audit/audit.ts) the same set as beacon.audit_actions, so a
// migration that adds an action cannot leave it out of the audit pages' list.
func TestAuditActionsSuggested(t *testing.T) {
	e := newEnv(t, defaultConfig())
	src, err := os.ReadFile("../dashboard/src/lib/components/audit/audit.ts")
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile(`(?s)export const ACTIONS = \[(.*?)\];`).FindSubmatch(src)
	if list == nil {
		t.Fatal("no ACTIONS list in audit.ts")
	}
	var suggested []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllSubmatch(list[1], -1) {
		suggested = append(suggested, string(m[1]))
	}
	slices.Sort(suggested)
	allowed := strings.Split(scalar[string](e, `SELECT string_agg(action, ' ' ORDER BY action) FROM beacon.audit_actions`), " ")
	if len(allowed) < 50 {
		t.Fatalf("beacon.audit_actions holds %d actions", len(allowed))
	}
	if !slices.Equal(suggested, allowed) {
		t.Errorf("the dashboard suggests %v\nbeacon.audit_actions holds %v", suggested, allowed)
	}
	// The foreign key refuses an action that is not listed.
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO beacon.audit (action, target, db_role) VALUES ('made_up', 'x', current_user)`); err == nil || !strings.Contains(err.Error(), "audit_action_fkey") {
		t.Errorf("an unlisted action: %v, want the foreign key's refusal", err)
	}
}
