package main

import (
	"context"
	"strings"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// `beacon project create --tz` and `beacon project set-tz` set a project's time zone; an unknown
// zone is refused with the database's message and changes nothing.
func TestProjectTimezoneCommands(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	env := []string{"DATABASE_URL=" + db.URL}
	run := func(args ...string) (string, error) {
		cmd := command(env...)
		cmd.Args = append(cmd.Args, args...)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	zone := func(id string) string {
		var tz string
		if err := db.Pool.QueryRow(context.Background(), `SELECT timezone FROM beacon.projects WHERE project_id = $1`, id).Scan(&tz); err != nil {
			t.Fatal(err)
		}
		return tz
	}
	id, err := run("project", "create", "--name", "Shop", "--tz", "America/Los_Angeles")
	if err != nil || len(id) != 36 {
		t.Fatalf("project create --tz: %v: %q", err, id)
	}
	if tz := zone(id); tz != "America/Los_Angeles" {
		t.Errorf("time zone after create --tz = %q", tz)
	}
	out, err := run("project", "set-tz", id, "europe/paris")
	if err != nil || out != "time zone of project "+id+" set to Europe/Paris; its figures are recounted by the next maintain()" {
		t.Errorf("project set-tz: %v: %q", err, out)
	}
	out, err = run("project", "set-tz", id, "Mars/Olympus_Mons")
	if err == nil || !strings.Contains(out, `unknown time zone 'Mars/Olympus_Mons'`) || strings.Count(out, "\n") != 0 {
		t.Errorf("project set-tz to an unknown zone: %v: %q", err, out)
	}
	if tz := zone(id); tz != "Europe/Paris" {
		t.Errorf("time zone after a refused change = %q, want Europe/Paris", tz)
	}
	if _, err := run("project", "create", "--name", "Bad", "--tz", "Nowhere"); err == nil {
		t.Error("project create with an unknown zone succeeded")
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM beacon.projects WHERE name = 'Bad'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d projects left by a refused create (%v), want 0: create and zone are one transaction", n, err)
	}
}
