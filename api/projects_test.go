package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pageviews stores $pageview events of a project on a day and brings the rollups up to date.
func (e *env) pageviews(project string, day time.Time, n int, path, referrer string) {
	e.t.Helper()
	e.exec(`INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, name, props, ts, received_at)
		SELECT $1, gen_random_uuid(), 's' || (i % 2), 'a' || (i % 3), '$pageview',
		       jsonb_build_object('path', $4::text, 'url', 'https://shop.test' || $4, 'referrer', $5::text),
		       $2::timestamptz + i * interval '1 second', now()
		FROM generate_series(1, $3) i`, project, day, n, path, referrer)
}

func (e *env) maintain() {
	e.t.Helper()
	e.exec(`UPDATE beacon.settings SET refresh_interval = '0'`)
	e.exec(`CALL beacon.maintain()`)
}

func TestProjectsAndOverview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop, blog := e.project("Shop"), e.project("Blog")
	viewer := e.account("viewer@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, viewer, shop)
	e.account("admin@example.com", pw, true)

	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.AddDate(0, 0, -1)
	e.pageviews(shop, yesterday.Add(time.Hour), 5, "/pricing", "https://news.example/item")
	e.pageviews(shop, today.Add(time.Hour), 3, "/", "")
	e.pageviews(blog, today.Add(time.Hour), 7, "/secret-post", "")
	e.maintain()

	v := e.browser()
	v.mustSignIn("viewer@example.com", pw)
	a := v.do("GET", "/api/projects", nil)
	if a.status != http.StatusOK || string(a.body) != `{"projects": [{"id": "`+shop+`", "name": "Shop", "role": "viewer"}]}` {
		t.Errorf("viewer's projects: %d %s", a.status, a.body)
	}

	q := "/api/projects/" + shop + "/overview?range=custom&from=" + yesterday.Format(time.DateOnly) + "&to=" + today.Format(time.DateOnly)
	a = v.do("GET", q, nil)
	if a.status != http.StatusOK {
		t.Fatalf("overview: %d %s", a.status, a.body)
	}
	var ov struct {
		Series []struct {
			T                             string
			Pageviews, Visitors, Sessions int
		}
		Totals struct{ Pageviews, Visitors, Sessions, Events int }
		Tables map[string]struct {
			Rows []struct {
				Value string
				Count int
			}
		}
	}
	if err := json.Unmarshal(a.body, &ov); err != nil {
		t.Fatal(err)
	}
	if len(ov.Series) != 2 || ov.Series[0].T != yesterday.Format(time.DateOnly) || ov.Series[0].Pageviews != 5 ||
		ov.Series[1].Pageviews != 3 || ov.Series[0].Sessions != 2 || ov.Series[1].Sessions != 0 {
		t.Errorf("series %+v", ov.Series)
	}
	// Visitors are distinct over the range; sessions count once, on the day they started.
	if ov.Totals.Pageviews != 8 || ov.Totals.Events != 8 || ov.Totals.Visitors != 3 || ov.Totals.Sessions != 2 {
		t.Errorf("totals %+v", ov.Totals)
	}
	if p := ov.Tables["pages"].Rows; len(p) != 2 || p[0].Value != "/pricing" || p[0].Count != 5 {
		t.Errorf("top pages %+v", p)
	}
	if r := ov.Tables["sources"].Rows; len(r) != 1 || r[0].Value != "news.example" || r[0].Count != 2 {
		t.Errorf("top sources %+v", r)
	}

	// Another project, a project that does not exist and a malformed id look the same: 404.
	notFound := v.do("GET", "/api/projects/"+blog+"/overview?range=custom&from=2026-01-01&to=2026-01-02", nil)
	if notFound.status != http.StatusNotFound || notFound.code(t) != "not_found" {
		t.Errorf("another project's overview: %d %s", notFound.status, notFound.body)
	}
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-uuid"} {
		if a := v.do("GET", "/api/projects/"+id+"/overview?range=custom&from=2026-01-01&to=2026-01-02", nil); a.status != http.StatusNotFound || string(a.body) != string(notFound.body) {
			t.Errorf("project %s: %d %s", id, a.status, a.body)
		}
	}
	for _, q := range []string{"range=custom&from=2026-01-02&to=2026-01-01", "range=custom&from=2026-01-01", "range=custom&from=yesterday&to=today", "range=custom&from=2020-01-01&to=2026-01-01"} {
		if a := v.do("GET", "/api/projects/"+shop+"/overview?"+q, nil); a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, a.status, a.body)
		}
	}
	if a := e.browser().do("GET", q, nil); a.status != http.StatusUnauthorized {
		t.Errorf("signed out: %d", a.status)
	}

	// An admin account owns every project, those created later too.
	later := e.project("Later")
	adm := e.browser()
	adm.mustSignIn("admin@example.com", pw)
	var list struct{ Projects []struct{ ID, Role string } }
	if err := json.Unmarshal(adm.do("GET", "/api/projects", nil).body, &list); err != nil || len(list.Projects) != 3 {
		t.Fatalf("admin's projects %+v %v", list, err)
	}
	for _, p := range list.Projects {
		if p.Role != "owner" {
			t.Errorf("admin is %s of %s", p.Role, p.ID)
		}
	}
	if a := adm.do("GET", "/api/projects/"+later+"/overview?range=custom&from=2026-01-01&to=2026-01-01", nil); a.status != http.StatusOK {
		t.Errorf("admin, later project: %d %s", a.status, a.body)
	}
	if a := adm.do("PUT", "/api/projects", nil, "X-CSRF-Token", adm.csrf); a.status != http.StatusMethodNotAllowed { // POST creates (settings.go)
		t.Errorf("PUT /api/projects: %d", a.status)
	}
}

func TestMembershipChangesAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	p := e.project("Shop")
	id := e.account("ada@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, id, p)
	e.exec(`SELECT beacon.set_membership($1, $2, 'editor')`, id, p)
	e.exec(`SELECT beacon.set_membership($1, $2, 'editor')`, id, p) // no change, no row
	e.exec(`SELECT beacon.set_membership($1, $2, NULL)`, id, p)
	got := scalar[string](e, `SELECT string_agg(action || ' ' || coalesce(before->>'role', '-') || '→' || coalesce(after->>'role', '-'), ', ' ORDER BY audit_id)
		FROM beacon.audit WHERE target = 'project:' || $1 || '/account:' || $2`, p, id)
	if want := "membership_added -→viewer, membership_changed viewer→editor, membership_removed editor→-"; got != want {
		t.Errorf("membership audit %q, want %q", got, want)
	}
	if after := scalar[string](e, `SELECT after::text FROM beacon.audit WHERE action = 'account_created'`); after != `{"admin": false, "email": "ada@example.com"}` {
		t.Errorf("account_created after = %s (never a hash)", after)
	}
}

// TestSQLRefusesAnotherAccountsProject calls the SQL as the API's role would, without the Go
// handlers: a beacon_api login that sets another account's id (or none) reads nothing of the
// project, and cannot reach the tables or views around the functions.
func TestSQLRefusesAnotherAccountsProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop, blog := e.project("Shop"), e.project("Blog")
	ada := e.account("ada@example.com", pw, false)
	bob := e.account("bob@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner')`, ada, shop)
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, bob, blog)

	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	sqlErr := func(sql string, args ...any) *pgconn.PgError {
		t.Helper()
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.account_id', $1, true)`, bob); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, sql, args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Errorf("%s as bob: err %v, want a refusal", sql, err)
			return &pgconn.PgError{}
		}
		return pe
	}
	if pe := sqlErr(`SELECT beacon.api_overview($1, 'custom', '2026-01-01', '2026-01-02', '{}')`, shop); pe.Code != "P0002" || pe.Message != "project not found" {
		t.Errorf("another account's overview: %s %s", pe.Code, pe.Message)
	}
	for _, q := range []string{
		`SELECT * FROM analytics.daily`,
		`SELECT * FROM beacon.daily_stats`,
		`SELECT * FROM beacon.accounts`,
		`SELECT * FROM beacon.memberships`,
		`INSERT INTO beacon.memberships VALUES ('` + bob + `', '` + shop + `', 'owner')`,
		`SELECT beacon.set_membership('` + bob + `', '` + shop + `', 'owner')`,
		`SELECT beacon.create_account('x@example.com', '$pbkdf2-sha256$i=1000$x$y', true)`,
		`SELECT * FROM beacon.audit`,
		`UPDATE beacon.audit SET action = 'sign_in'`,
		`DELETE FROM beacon.audit`,
		`SELECT * FROM analytics.visitors('` + shop + `', '2026-01-01', '2026-01-02')`,
		`SELECT beacon.write_audit('sign_in', 'x', NULL, NULL)`,
	} {
		if pe := sqlErr(q); pe.Code != "42501" {
			t.Errorf("%s: %s %s, want 42501", q, pe.Code, pe.Message)
		}
	}
	// Bob's own project is readable the same way, so the refusals above are about the account.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var n int
	if err := tx.QueryRow(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.account_id', $1, true)`, bob).Scan(new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT jsonb_array_length(beacon.api_overview($1, 'custom', '2026-01-01', '2026-01-02', '{}')->'series')`, blog).Scan(&n); err != nil || n != 2 {
		t.Errorf("bob's own overview: %d %v", n, err)
	}
	if err := tx.QueryRow(ctx, `SELECT jsonb_array_length(beacon.api_projects()->'projects')`).Scan(&n); err != nil || n != 1 {
		t.Errorf("bob's projects: %d %v", n, err)
	}
}

func TestAuditIsAppendOnlyForTheOwnerToo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	e.account("ada@example.com", pw, false)
	ctx := context.Background()
	for _, q := range []string{`UPDATE beacon.audit SET ip = NULL`, `DELETE FROM beacon.audit`, `TRUNCATE beacon.audit`} {
		_, err := e.db.Pool.Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" || !strings.HasPrefix(pe.Message, "beacon.audit is append-only: ") {
			t.Errorf("%s as the owner: %v", q, err)
		}
	}
	// No application role holds any right on the account tables.
	if got := scalar[string](e, `SELECT coalesce(string_agg(r || ' ' || t || ' ' || p, ', '), '')
		FROM unnest('{beacon_api,beacon_relay,beacon_dashboard,beacon_reader}'::text[]) r,
		     unnest('{beacon.audit,beacon.accounts,beacon.memberships,beacon.account_sessions,beacon.sign_in_failures}'::text[]) t,
		     unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE}'::text[]) p
		WHERE has_table_privilege(r, t, p)`); got != "" {
		t.Errorf("application roles' rights on account tables: %s", got)
	}
	// Only beacon_api may call the API's functions; the other roles none of the account functions.
	if got := scalar[string](e, `SELECT coalesce(string_agg(r || ' ' || p.oid::regprocedure::text, ', '), '')
		FROM unnest('{beacon_relay,beacon_dashboard,beacon_reader}'::text[]) r, pg_proc p
		WHERE p.pronamespace = 'beacon'::regnamespace
		  AND (p.proname LIKE 'api\_%' OR p.proname IN ('sign_in_begin', 'sign_in_finish', 'session_check', 'sign_out',
		       'create_account', 'set_membership', 'write_audit', 'require_role', 'account_role'))
		  AND has_function_privilege(r, p.oid, 'EXECUTE')`); got != "" {
		t.Errorf("other roles may call: %s", got)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.audit`); n != 1 {
		t.Errorf("%d audit rows, want the one account_created", n)
	}
}
