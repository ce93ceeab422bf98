package main

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestProjectGrantCommand: `beacon project grant` scopes a BI login to one project, a second grant
// says so, `revoke` leaves it seeing nothing, and a bad role is refused with the database's words.
func TestProjectGrantCommand(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var a, b string
	if err := db.Pool.QueryRow(ctx, `
		WITH p AS (INSERT INTO beacon.projects (name) VALUES ('a'), ('b') RETURNING project_id::text, name)
		SELECT (SELECT project_id FROM p WHERE name = 'a'), (SELECT project_id FROM p WHERE name = 'b')`).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	loginURL := db.LoginAs(t, "beacon_reader")
	u, _ := url.Parse(loginURL)
	role := u.User.Username()
	run := func(args ...string) (string, error) {
		cmd := command("DATABASE_URL=" + db.URL)
		cmd.Args = append(cmd.Args, args...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	projects := func() []string {
		t.Helper()
		c, err := pgx.Connect(ctx, loginURL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var ids []string
		if err := c.QueryRow(ctx, `SELECT coalesce(array_agg(project_id::text ORDER BY project_id), '{}') FROM analytics.projects`).Scan(&ids); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := projects(); len(got) != 2 {
		t.Fatalf("all-projects reader sees %v", got)
	}

	for i, want := range []string{"may now see project " + a, "could already see project " + a} {
		out, err := run("project", "grant", "--role", role, "--project", a)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("grant #%d: %v: %q, want %q", i+1, err, out, want)
		}
	}
	if got := projects(); len(got) != 1 || got[0] != a {
		t.Errorf("after grant the login sees %v, want only %s", got, a)
	}
	if out, err := run("project", "revoke", "--role", role, "--project", a); err != nil || !strings.Contains(out, "no longer sees project "+a) {
		t.Fatalf("revoke: %v: %q", err, out)
	}
	if got := projects(); len(got) != 0 {
		t.Errorf("after revoke the scoped login sees %v, want nothing", got)
	}
	if out, err := run("project", "grant", "--role", "no_such_role_x", "--project", a); err == nil || !strings.Contains(out, "role no_such_role_x does not exist") {
		t.Errorf("grant to a missing role: %v: %q", err, out)
	}
	if out, err := run("project", "grant", "--role", role); err == nil || !strings.Contains(out, "usage: beacon project") {
		t.Errorf("grant without --project: %v: %q", err, out)
	}
}
