package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// peopleEnv: a project with Ada (user ada, merged with ada-old; two anonymous ids, events and a
// session) and Bob, and an owner, an editor, a viewer and an outsider.
func peopleEnv(t *testing.T) (e *env, shop string, ids map[string]string) {
	e = newEnv(t, defaultConfig())
	shop, other := e.project("Shop"), e.project("Other")
	ids = map[string]string{}
	for _, role := range []string{"owner", "editor", "viewer"} {
		ids[role] = e.account(role+"@example.com", pw, false)
		e.exec(`SELECT beacon.set_membership($1, $2, $3)`, ids[role], shop, role)
	}
	ids["outsider"] = e.account("outsider@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'owner')`, ids["outsider"], other)
	e.exec(`INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, name, props, ts, received_at)
		SELECT $1, gen_random_uuid(), 's-' || a, a, '$pageview', jsonb_build_object('path', '/p' || i), now() - i * interval '1 hour', now()
		FROM unnest('{anon-ada-1,anon-ada-2,anon-bob}'::text[]) a, generate_series(1, 4) i`, shop)
	e.exec(`SELECT beacon.identify($1, 'anon-ada-1', 'ada', '{"email": "ada@example.com", "plan": "pro"}')`, shop)
	e.exec(`SELECT beacon.identify($1, 'anon-ada-2', 'ada-old', '{"name": "Ada Lovelace", "plan": "free"}')`, shop)
	e.exec(`SELECT beacon.merge_users($1, 'ada-old', 'ada')`, shop)
	e.exec(`SELECT beacon.identify($1, 'anon-bob', 'Bob', '{"email": "bob@example.com", "plan": "free"}')`, shop)
	return e, shop, ids
}

func (b *browser) signedIn(email string) *browser {
	b.mustSignIn(email, pw)
	return b
}

func peopleIDs(t *testing.T, a answer) string {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("people: %d %s", a.status, a.body)
	}
	var r struct {
		People []struct {
			PersonID string `json:"person_id"`
		}
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range r.People {
		s = append(s, p.PersonID)
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func TestPeopleSearchAndPerson(t *testing.T) {
	t.Parallel()
	e, shop, _ := peopleEnv(t)
	v := e.browser().signedIn("viewer@example.com")
	base := "/api/projects/" + shop + "/people"
	for q, want := range map[string]string{
		"":                         "Bob,ada",
		"ada":                      "ada",     // ada and ada-old by id: one person
		"ADA-O":                    "ada",     // an id's beginning, any case
		"bob":                      "Bob",     // Bob by id and by trait
		"lovelace":                 "ada",     // a trait value containing it
		"plan=free":                "Bob,ada", // ada-old's own trait counts for the search
		"email=bob@example.com":    "Bob",
		"email=nobody@example.com": "",
		"zzz":                      "",
	} {
		if got := peopleIDs(t, v.do("GET", base+"?q="+url.QueryEscape(q), nil)); got != want {
			t.Errorf("q=%q: %s, want %s", q, got, want)
		}
	}

	a := v.do("GET", base+"/ada-old?limit=5", nil) // any user id of the person opens it
	if a.status != http.StatusOK {
		t.Fatalf("person: %d %s", a.status, a.body)
	}
	var p struct {
		PersonID string `json:"person_id"`
		Traits   map[string]string
		Users    []struct {
			UserID string `json:"user_id"`
			Merged bool
		}
		Aliases []struct {
			AnonID string `json:"anon_id"`
		}
		Sessions []struct {
			SessionID string `json:"session_id"`
			Events    int
		}
		Events []struct{ ID, Ts string }
		Next   *string
	}
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.PersonID != "ada" || p.Traits["name"] != "Ada Lovelace" || p.Traits["email"] != "ada@example.com" || len(p.Users) != 2 || p.Users[1].Merged != true {
		t.Errorf("person %+v", p)
	}
	if len(p.Aliases) != 2 || len(p.Sessions) != 2 || p.Sessions[0].Events != 4 {
		t.Errorf("aliases %+v sessions %+v", p.Aliases, p.Sessions)
	}
	// The timeline: 8 events of two anonymous ids, 5 then 3, none of Bob's, no repeats.
	seen := map[string]bool{}
	for _, ev := range p.Events {
		seen[ev.ID] = true
	}
	if len(p.Events) != 5 || p.Next == nil {
		t.Fatalf("first page %d events, next %v", len(p.Events), p.Next)
	}
	var p2 struct {
		Events []struct{ ID string }
		Next   *string
	}
	if err := json.Unmarshal(v.do("GET", base+"/ada?limit=5&before="+url.QueryEscape(*p.Next), nil).body, &p2); err != nil {
		t.Fatal(err)
	}
	for _, ev := range p2.Events {
		if seen[ev.ID] {
			t.Errorf("event %s on both pages", ev.ID)
		}
	}
	if len(p2.Events) != 3 || p2.Next != nil {
		t.Errorf("second page %d events, next %v", len(p2.Events), p2.Next)
	}
	if a := v.do("GET", base+"/nobody", nil); a.status != http.StatusNotFound {
		t.Errorf("unknown person: %d %s", a.status, a.body)
	}
	if a := v.do("GET", base+"?q="+strings.Repeat("x", 201), nil); a.status != http.StatusBadRequest {
		t.Errorf("long query: %d", a.status)
	}
	o := e.browser().signedIn("outsider@example.com")
	for _, path := range []string{base, base + "/ada"} {
		if a := o.do("GET", path, nil); a.status != http.StatusNotFound || a.code(t) != "not_found" {
			t.Errorf("outsider %s: %d %s", path, a.status, a.body)
		}
	}
}

func TestDeletePersonIsOwnersAndAudited(t *testing.T) {
	t.Parallel()
	e, shop, ids := peopleEnv(t)
	path := "/api/projects/" + shop + "/people/ada"
	for _, who := range []string{"viewer", "editor"} {
		b := e.browser().signedIn(who + "@example.com")
		if a := b.do("DELETE", path, nil, "X-CSRF-Token", b.csrf); a.status != http.StatusForbidden || a.code(t) != "forbidden" {
			t.Errorf("%s deletes: %d %s", who, a.status, a.body)
		}
	}
	o := e.browser().signedIn("outsider@example.com")
	if a := o.do("DELETE", path, nil, "X-CSRF-Token", o.csrf); a.status != http.StatusNotFound {
		t.Errorf("outsider deletes: %d %s", a.status, a.body)
	}
	own := e.browser().signedIn("owner@example.com")
	if a := own.do("DELETE", path, nil); a.status != http.StatusForbidden || a.code(t) != "csrf_failed" {
		t.Errorf("delete without the CSRF token: %d %s", a.status, a.body)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.events WHERE project_id = $1`, shop); n != 12 {
		t.Fatalf("%d events before the owner's delete, want all 12", n)
	}

	a := own.do("DELETE", "/api/projects/"+shop+"/people/ada-old", nil, "X-CSRF-Token", own.csrf)
	if a.status != http.StatusOK {
		t.Fatalf("owner deletes: %d %s", a.status, a.body)
	}
	var r struct {
		PersonID string         `json:"person_id"`
		Deleted  map[string]int `json:"deleted"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil || r.PersonID != "ada" || r.Deleted["events"] != 8 || r.Deleted["users"] != 2 {
		t.Errorf("answer %s (%v)", a.body, err)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.events WHERE project_id = $1`, shop); n != 4 {
		t.Errorf("%d events left, want Bob's 4", n)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.users WHERE project_id = $1`, shop); n != 1 {
		t.Errorf("%d users left, want Bob", n)
	}
	audit := scalar[string](e, `SELECT account_id || ' ' || target || ' ' || (after - 'daily_ids')::text || ' ' || (after ? 'daily_ids') || ' ' || (ip IS NOT NULL) || ' ' || (before IS NULL)
		FROM beacon.audit WHERE action = 'person_deleted'`)
	// daily_ids (ids in the daily rollups) depends on how many days the 4 hours cross.
	want := ids["owner"] + " project:" + shop + `/person:ada {"users": 2, "events": 8, "anon_ids": 2, "sessions": 2} true true true`
	if audit != want {
		t.Errorf("audit %s\nwant  %s", audit, want)
	}
	if n := e.auditCount("person_deleted", ""); n != 1 {
		t.Errorf("%d person_deleted rows: the refusals wrote some", n)
	}
	if a := own.do("DELETE", path, nil, "X-CSRF-Token", own.csrf); a.status != http.StatusNotFound {
		t.Errorf("delete again: %d %s", a.status, a.body)
	}
}

// TestSQLRefusesDeleteBelowOwner calls beacon.api_delete_person as a beacon_api login with the
// viewer's and the editor's account ids: the SQL refuses without the Go handler.
func TestSQLRefusesDeleteBelowOwner(t *testing.T) {
	t.Parallel()
	e, shop, ids := peopleEnv(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for who, code := range map[string]string{"viewer": "42501", "editor": "42501", "outsider": "P0002"} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.account_id', $1, true)`, ids[who]); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, `SELECT beacon.api_delete_person($1, 'ada')`, shop)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != code {
			t.Errorf("%s: %v, want %s", who, err, code)
		}
		_ = tx.Rollback(ctx)
	}
	for _, q := range []string{`SELECT beacon.delete_person('` + shop + `', 'ada')`, `SELECT * FROM analytics.events`, `SELECT * FROM beacon.users`,
		`SELECT beacon.api_event_page('` + shop + `', '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, 10)`} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tx.Exec(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.account_id', $1, true)`, ids["owner"])
		_, err = tx.Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("%s as the owner's beacon_api: %v, want 42501", q, err)
		}
		_ = tx.Rollback(ctx)
	}
	if n := scalar[int](e, `SELECT count(*)::int FROM beacon.events WHERE project_id = $1`, shop); n != 12 {
		t.Errorf("%d events, want 12: something was deleted", n)
	}
}
