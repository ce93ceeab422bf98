package sql_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/beacon-analytics/beacon/internal/testdb"
	beaconsql "github.com/beacon-analytics/beacon/sql"
)

// chainBefore is the binary's migrations before the one whose name starts with stop.
func chainBefore(t testing.TB, stop string) fstest.MapFS {
	t.Helper()
	chain := fstest.MapFS{}
	for _, n := range mustMigrations(t) {
		if n >= stop {
			break
		}
		b, err := fs.ReadFile(beaconsql.Files(), n)
		if err != nil {
			t.Fatal(err)
		}
		chain[n] = &fstest.MapFile{Data: b}
	}
	return chain
}

// Migration 023 marks SSO-managed exactly the memberships SSO provisioning made and nobody changed
// since (account_provisioned's after.roles, no later membership_* row); every other membership
// stays hand-managed, which single sign-on leaves alone.
func TestSSOMembershipsBackfill(t *testing.T) {
	t.Parallel()
	db := testdb.NewEmpty(t)
	c := conn(t, db)
	if _, _, err := beaconsql.MigrateFS(ctx(t), c, chainBefore(t, "023_")); err != nil {
		t.Fatalf("migrate to 022: %v", err)
	}
	p1, p2, p3 := newProject(t, c), newProject(t, c), newProject(t, c)
	ada := scalar[string](t, c, `INSERT INTO beacon.accounts (email) VALUES ('ada@example.com') RETURNING account_id::text`)
	bob := scalar[string](t, c, `INSERT INTO beacon.accounts (email) VALUES ('bob@example.com') RETURNING account_id::text`)
	target := func(p, a string) string { return "project:" + p + "/account:" + a }
	// Ada's provisioning, in one transaction as beacon.oidc_sign_in made it: P1 editor, P2 viewer.
	exec(t, c, `INSERT INTO beacon.audit (account_id, db_role, action, target, after) VALUES
		($1::uuid, 'beacon_api', 'account_provisioned', 'account:' || $1::text, jsonb_build_object('roles', jsonb_build_object($2::text, 'editor', $3::text, 'viewer'))),
		(NULL, 'beacon_api', 'membership_added', $4, '{"role": "editor"}'),
		(NULL, 'beacon_api', 'membership_added', $5, '{"role": "viewer"}')`,
		ada, p1, p2, target(p1, ada), target(p2, ada))
	// An owner changed P2 by hand later, and back: the role is the provisioned one, the hand the owner's.
	exec(t, c, `INSERT INTO beacon.audit (account_id, db_role, action, target, before, after) VALUES
		(NULL, 'beacon_api', 'membership_changed', $1, '{"role": "viewer"}', '{"role": "editor"}'),
		(NULL, 'beacon_api', 'membership_changed', $1, '{"role": "editor"}', '{"role": "viewer"}')`, target(p2, ada))
	// P3 granted by hand to Ada; P1 to Bob, a CLI account.
	exec(t, c, `INSERT INTO beacon.memberships (account_id, project_id, role) VALUES
		($1, $3, 'editor'), ($1, $4, 'viewer'), ($1, $5, 'owner'), ($2, $3, 'viewer')`, ada, bob, p1, p2, p3)

	migrateDB(t, db)
	got := scalar[string](t, c, `SELECT string_agg(x, ', ' ORDER BY x) FROM (
		SELECT a.email || ' ' || (CASE m.project_id::text WHEN $1 THEN 'P1' WHEN $2 THEN 'P2' ELSE 'P3' END)
			|| ' ' || coalesce(m.managed_by, 'hand') AS x
		FROM beacon.memberships m JOIN beacon.accounts a USING (account_id)) r`, p1, p2)
	if want := "ada@example.com P1 sso, ada@example.com P2 hand, ada@example.com P3 hand, bob@example.com P1 hand"; got != want {
		t.Fatalf("after 023:\n got %s\nwant %s", got, want)
	}
	if scalar[bool](t, c, `SELECT to_regprocedure('beacon.set_membership(uuid, uuid, text)') IS NOT NULL`) {
		t.Fatal("the three-argument set_membership survived 023")
	}
}
