package sql_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// projectFreeViews are the analytics views without a project_id column: a scoped reader sees all
// of their rows, so nothing about a project may be in them.
var projectFreeViews = map[string]bool{"freshness": true}

// login connects as a new LOGIN role in group and returns the connection and the role's name.
func login(t *testing.T, db *testdb.DB, group string) (*pgx.Conn, string) {
	t.Helper()
	u := db.LoginAs(t, group)
	c, err := pgx.Connect(ctx(t), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	parsed, _ := url.Parse(u)
	return c, parsed.User.Username()
}

// seedProject gives project p a row in every analytics view: events and a pageview, a session, an
// identified and an aliased user, a merge, a flag and its audit, then the refreshes.
func seedProject(t *testing.T, db *testdb.DB, p, secret string) {
	t.Helper()
	now := time.Now()
	copyEvents(t, db.Pool,
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", props: map[string]any{"path": "/home", "$browser": "Firefox", "$device": "desktop", "$os": "Linux", "referrer": "https://ref.example/", "secret": secret}, ts: now},
		ev{project: p, session: "s2", anon: "a2", name: "signup", user: ptr("u1"), ts: now})
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1', '{"plan":"pro"}'), beacon.identify($1, 'a3', 'u2')`, p)
	exec(t, db.Pool, `SELECT beacon.merge_users($1, 'u2', 'u1')`, p)
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'f', true)`, p)
}

// viewCounts is, per analytics view with a project_id, how many rows q sees of project p and how
// many of other projects.
func viewCounts(t *testing.T, q querier, views []string, p string) (mine, others map[string]int) {
	t.Helper()
	mine, others = map[string]int{}, map[string]int{}
	for _, v := range views {
		var m, o int
		if err := q.QueryRow(ctx(t), `SELECT count(*) FILTER (WHERE project_id = $1), count(*) FILTER (WHERE project_id IS DISTINCT FROM $1) FROM analytics.`+pgx.Identifier{v}.Sanitize(), p).Scan(&m, &o); err != nil {
			t.Fatalf("count analytics.%s: %v", v, err)
		}
		mine[v], others[v] = m, o
	}
	return mine, others
}

// TestScopedReaderSeesItsProjectsOnly iterates over every analytics view, so a view added later is
// held to it too: a scoped login sees its granted projects' rows and no other; granted nothing, it
// sees nothing; a plain beacon_reader login sees every project.
func TestScopedReaderSeesItsProjectsOnly(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, b := newProject(t, db.Pool), newProject(t, db.Pool)
	seedProject(t, db, a, "1")
	seedProject(t, db, b, "not-a-number")
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	exec(t, db.Pool, `CALL beacon.maintain()`)

	var views []string
	rows, err := db.Pool.Query(ctx(t), `
		SELECT c.relname, EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
		FROM pg_class c WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('v', 'm') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		var hasProject bool
		if err := rows.Scan(&v, &hasProject); err != nil {
			t.Fatal(err)
		}
		switch {
		case hasProject:
			views = append(views, v)
		case !projectFreeViews[v]:
			t.Errorf("analytics.%s has no project_id column, so it cannot be scoped to projects: add project_id, "+
				"or, if it holds nothing about any project, list it in projectFreeViews (sql/access_test.go)", v)
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}

	ownerA, ownerOthers := viewCounts(t, db.Pool, views, a)
	for _, v := range views {
		if ownerA[v] == 0 || ownerOthers[v] == 0 {
			t.Logf("analytics.%s: %d rows of the granted project, %d of others (seedProject gives it none: weaker check)", v, ownerA[v], ownerOthers[v])
		}
	}

	scoped, name := login(t, db, "beacon_scoped_reader")
	_, none := viewCounts(t, scoped, views, a)
	for _, v := range views {
		if none[v] != 0 {
			t.Errorf("scoped login granted nothing sees %d rows of analytics.%s", none[v], v)
		}
	}
	exec(t, db.Pool, `INSERT INTO beacon.project_grants (role_name, project_id) VALUES ($1, $2)`, name, a)
	mine, others := viewCounts(t, scoped, views, a)
	checked := 0
	for _, v := range views {
		if others[v] != 0 {
			t.Errorf("scoped login sees %d rows of other projects in analytics.%s", others[v], v)
		}
		if mine[v] != ownerA[v] {
			t.Errorf("scoped login sees %d rows of its project in analytics.%s, the owner %d", mine[v], v, ownerA[v])
		}
		if ownerA[v] > 0 && ownerOthers[v] > 0 {
			checked++
		}
	}
	if checked < len(views)-2 {
		t.Errorf("only %d views had rows of both projects to tell apart", checked)
	}

	reader, _ := login(t, db, "beacon_reader")
	rA, rOthers := viewCounts(t, reader, views, a)
	for _, v := range views {
		if rA[v] != ownerA[v] || rOthers[v] != ownerOthers[v] {
			t.Errorf("all-projects reader sees %d+%d rows of analytics.%s, the owner %d+%d", rA[v], rOthers[v], v, ownerA[v], ownerOthers[v])
		}
	}

	// Period uniques: the project's own, nothing of another.
	if got := scalar[int](t, scoped, `SELECT visitors FROM analytics.visitors($1, current_date - 1, current_date)`, a); got == 0 {
		t.Errorf("scoped visitors of its project = 0")
	}
	if got := scalar[int](t, scoped, `SELECT visitors + users + sessions FROM analytics.visitors($1, current_date - 1, current_date)`, b); got != 0 {
		t.Errorf("scoped visitors of another project = %d, want 0", got)
	}

	// Its own predicates never see another project's rows (security barrier): b's secret is not
	// a number, a's is.
	if n := scalar[int](t, scoped, `SELECT count(*) FROM analytics.events WHERE (props->>'secret')::int = 1`); n != 1 {
		t.Errorf("events with secret 1 = %d", n)
	}
	exec(t, db.Pool, `DELETE FROM beacon.project_grants WHERE role_name = $1`, name)
	if n := scalar[int](t, scoped, `SELECT count(*) FROM analytics.projects`); n != 0 {
		t.Errorf("after revoke, the scoped login sees %d projects", n)
	}
}

// TestScopedByGroupGrant: a grant to a group role reaches its member logins, and a login that is
// also in beacon_reader is still scoped (membership in beacon_scoped_reader fails closed).
func TestScopedByGroupGrant(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, b := newProject(t, db.Pool), newProject(t, db.Pool)
	group := "analysts_" + randomSuffix(t, db)
	exec(t, db.Pool, `CREATE ROLE `+group+` NOLOGIN IN ROLE beacon_scoped_reader`)
	t.Cleanup(func() { _, _ = db.Pool.Exec(context.Background(), `DROP ROLE IF EXISTS `+group) })
	c, name := login(t, db, group)
	exec(t, db.Pool, `GRANT beacon_reader TO `+pgx.Identifier{name}.Sanitize())
	exec(t, db.Pool, `INSERT INTO beacon.project_grants (role_name, project_id) VALUES ($1, $2)`, group, a)
	got := scalar[[]string](t, c, `SELECT array_agg(project_id::text) FROM analytics.projects`)
	if len(got) != 1 || got[0] != a {
		t.Errorf("member of a group granted %s sees projects %v (b = %s)", a, got, b)
	}
}

func randomSuffix(t *testing.T, db *testdb.DB) string {
	return scalar[string](t, db.Pool, `SELECT substr(md5(random()::text), 1, 8)`)
}
