package sql_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

var grantRolesOnce sync.Once

// as opens a connection of the test's owner role switched to role with SET ROLE, as a LOGIN role
// granted into role would act. The owner is made a member of the group roles once (cluster-wide).
func as(t *testing.T, db *testdb.DB, role string) *pgx.Conn {
	t.Helper()
	grantRolesOnce.Do(func() {
		exec(t, db.Pool, `GRANT beacon_relay, beacon_dashboard, beacon_reader TO CURRENT_USER`)
	})
	c := conn(t, db)
	exec(t, c, `SET ROLE `+pgx.Identifier{role}.Sanitize())
	return c
}

func TestRolesAreNologinGroups(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	n := scalar[int](t, db.Pool, `
		SELECT count(*) FROM pg_roles
		WHERE rolname IN ('beacon_relay', 'beacon_dashboard', 'beacon_reader') AND NOT rolcanlogin AND NOT rolsuper`)
	if n != 3 {
		t.Errorf("%d of 3 NOLOGIN group roles", n)
	}
}

func TestRelayPrivileges(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.projects SET allowed_origins = '{https://app.test}' WHERE project_id = $1`, p)
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'f', true)`, p)
	relay := as(t, db, "beacon_relay")
	now := time.Now()

	// What the relay does.
	e := ev{project: p, session: "s", anon: "a", name: "e", ts: now, id: newUUID()}
	copyEvents(t, relay, e, ev{project: p, session: "s", anon: "a", name: "e", ts: now.Add(-400 * 24 * time.Hour)})
	if got := scalar[[]string](t, relay, `SELECT allowed_origins FROM beacon.projects WHERE project_id = $1`, p); len(got) != 1 || got[0] != "https://app.test" {
		t.Errorf("allowed_origins = %v", got)
	}
	exec(t, relay, `SELECT beacon.identify($1, 'a', 'u1', '{"plan":"pro"}')`, p)
	if got := scalar[string](t, relay, `SELECT beacon.evaluate_flags($1, 'a', NULL)::text`, p); got != `{"f": true}` {
		t.Errorf("evaluate_flags = %s", got)
	}
	if got := scalar[int](t, relay, `SELECT count(*) FROM beacon.evaluate_flags_many($1, '{a,b}', '{NULL,NULL}')`, p); got != 2 {
		t.Errorf("evaluate_flags_many rows = %d", got)
	}
	// maintain() creates partitions as the owner: drop the furthest one and let the relay remake it.
	last := scalar[string](t, db.Pool, `
		SELECT max(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'beacon.events'::regclass AND c.relname ~ '^events_[0-9]{8}$'`)
	exec(t, db.Pool, `DROP TABLE beacon.`+pgx.Identifier{last}.Sanitize())
	exec(t, relay, `CALL beacon.maintain()`)
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM pg_class WHERE relname = $1 AND relnamespace = 'beacon'::regnamespace`, last); n != 1 {
		t.Errorf("maintain() as beacon_relay did not recreate partition %s", last)
	}
	exec(t, relay, `LISTEN beacon_flags`)

	// The dedup retry path, with the row type instead of LIKE beacon.events.
	tx, err := relay.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, `CREATE TEMP TABLE retry (LIKE beacon.event_row) ON COMMIT DROP`)
	if _, err := tx.CopyFrom(ctx(t), pgx.Identifier{"retry"}, eventColumns, pgx.CopyFromRows([][]any{e.row(), ev{project: p, anon: "a", name: "new", ts: now}.row()})); err != nil {
		t.Fatal(err)
	}
	if tag, err := tx.Exec(ctx(t), `INSERT INTO beacon.events SELECT * FROM retry ON CONFLICT DO NOTHING`); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("retry insert: %v, %v rows (want 1: the duplicate dropped)", err, tag)
	}
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}

	// What it must not do.
	for _, tc := range []struct{ sql, msg string }{
		{`SELECT count(*) FROM beacon.events`, "permission denied for table events"},
		{`SELECT count(*) FROM beacon.events_default`, "permission denied for table events_default"},
		{`SELECT count(*) FROM beacon.sessions`, "permission denied for table sessions"},
		{`SELECT count(*) FROM beacon.users`, "permission denied for table users"},
		{`SELECT count(*) FROM beacon.flags`, "permission denied for table flags"},
		{`DELETE FROM beacon.events`, "permission denied for table events"},
		{`UPDATE beacon.projects SET name = 'x'`, "permission denied for table projects"},
		{`CREATE TEMP TABLE t (LIKE beacon.events)`, "permission denied for table events"},
		{`SELECT beacon.merge_users(gen_random_uuid(), 'u1', 'u2')`, "permission denied for function merge_users"},
		{`SELECT count(*) FROM analytics.events`, "permission denied for schema analytics"},
	} {
		_, err := relay.Exec(ctx(t), tc.sql)
		wantErr(t, err, "42501", tc.msg)
	}
}

func TestReaderIsReadOnlyOnAnalytics(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	copyEvents(t, db.Pool, ev{project: p, session: "s", anon: "a", name: "$pageview", props: map[string]any{"path": "/"}, ts: time.Now()})
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'f', true)`, p)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	reader := as(t, db, "beacon_reader")

	views := scalar[[]string](t, db.Pool, `SELECT array_agg(viewname::text ORDER BY viewname) FROM pg_views WHERE schemaname = 'analytics'`)
	if len(views) < 15 {
		t.Fatalf("only %d analytics views: %v", len(views), views)
	}
	for _, v := range views {
		if _, err := reader.Exec(ctx(t), `SELECT * FROM analytics.`+pgx.Identifier{v}.Sanitize()+` LIMIT 1`); err != nil {
			t.Errorf("reader SELECT analytics.%s: %v", v, err)
		}
	}
	for _, tc := range []struct{ sql, msg string }{
		{`SELECT count(*) FROM beacon.events`, "permission denied for schema beacon"},
		{`SELECT count(*) FROM beacon.users`, "permission denied for schema beacon"},
		{`CALL beacon.maintain()`, "permission denied for schema beacon"},
		{`UPDATE analytics.flags SET enabled = false`, "cannot update view \"flags\""},
		{`INSERT INTO analytics.users (project_id, user_id) VALUES (gen_random_uuid(), 'x')`, "cannot insert into view \"users\""},
		{`DELETE FROM analytics.flag_audit`, "cannot delete from view \"flag_audit\""},
		{`CREATE VIEW analytics.mine AS SELECT 1`, "permission denied for schema analytics"},
	} {
		_, err := reader.Exec(ctx(t), tc.sql)
		wantErr(t, err, wantCode(tc.msg), tc.msg)
	}
}

func TestDashboardManagesFlagsAndProjects(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	dash := as(t, db, "beacon_dashboard")
	p := scalar[string](t, dash, `INSERT INTO beacon.projects (name, allowed_origins) VALUES ('shop', '{https://shop.test}') RETURNING project_id::text`)
	tx, err := dash.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, `SET LOCAL beacon.app_user = 'bob@example.com'`)
	exec(t, tx, `INSERT INTO beacon.flags (project_id, key, enabled, rollout_percent, rules) VALUES ($1, 'f', true, 50, '[{"trait":"plan","op":"exists"}]')`, p)
	exec(t, tx, `UPDATE beacon.flags SET rollout_percent = 60 WHERE project_id = $1`, p)
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got := scalar[string](t, dash, `
		SELECT string_agg(concat_ws(' ', action, db_role, login_role, app_user), '; ' ORDER BY audit_id)
		FROM analytics.flag_audit WHERE project_id = $1`, p)
	if want := "INSERT beacon_dashboard beacon bob@example.com; UPDATE beacon_dashboard beacon bob@example.com"; got != want {
		t.Errorf("audit as seen by the dashboard: %s, want %s", got, want)
	}
	_, err = dash.Exec(ctx(t), `INSERT INTO beacon.flags (project_id, key, rules) VALUES ($1, 'g', '[{"op":"eq"}]')`, p)
	wantErr(t, err, "23514", `flag rule 1: "trait" must be a non-empty string`)
	exec(t, dash, `SELECT beacon.evaluate_flags($1, 'a', NULL)`, p)
	exec(t, dash, `SELECT count(*) FROM analytics.daily`)

	for _, tc := range []struct{ sql, msg string }{
		{`UPDATE beacon.flag_audit SET app_user = 'x'`, "permission denied for table flag_audit"},
		{`DELETE FROM beacon.flag_audit`, "permission denied for table flag_audit"},
		{`INSERT INTO beacon.flag_audit (project_id, flag_key, action) VALUES (gen_random_uuid(), 'f', 'INSERT')`, "permission denied for table flag_audit"},
		{`DELETE FROM beacon.identity_audit`, "permission denied for table identity_audit"},
		{`DELETE FROM analytics.flag_audit`, "cannot delete from view \"flag_audit\""},
		{`SELECT count(*) FROM beacon.events`, "permission denied for table events"},
		{`UPDATE beacon.settings SET retention_days = 1`, "permission denied for table settings"},
	} {
		_, err := dash.Exec(ctx(t), tc.sql)
		wantErr(t, err, wantCode(tc.msg), tc.msg)
	}
	exec(t, dash, `DELETE FROM beacon.projects WHERE project_id = $1`, p)
}

// beacon.event_row must stay the column list of beacon.events, in order.
func TestEventRowMatchesEvents(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	cols := func(rel string) string {
		return scalar[string](t, db.Pool, `
			SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
			FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, rel)
	}
	if e, r := cols("beacon.events"), cols("beacon.event_row"); e != r {
		t.Errorf("beacon.events (%s) and beacon.event_row (%s) differ", e, r)
	}
}

// wantCode is the SQLSTATE of a refused statement: analytics views are security-barrier wrappers
// (code/access.sql), not updatable, so a write to one is refused (55000) before privileges are
// checked; everything else is a privilege error (42501).
func wantCode(msg string) string {
	if strings.HasPrefix(msg, "cannot ") {
		return "55000"
	}
	return "42501"
}
