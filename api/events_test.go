package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// eventPage is the answer of GET …/events.
type eventPage struct {
	Events []struct {
		ID, Name, Ts string
		UserID       *string `json:"user_id"`
		PersonID     *string `json:"person_id"`
		AnonID       *string `json:"anon_id"`
		Page         *string
		Props        map[string]any
	}
	Next     *string
	Tail     string
	Timezone string
}

func (b *browser) events(t *testing.T, project, query string) eventPage {
	t.Helper()
	a := b.do("GET", "/api/projects/"+project+"/events?"+query, nil)
	if a.status != http.StatusOK {
		t.Fatalf("events?%s: %d %s", query, a.status, a.body)
	}
	var p eventPage
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEventsKeysetPagination pages through 25 events, 10 of which share one timestamp, three at a
// time: every event comes exactly once, newest first by (ts, id), and the last page says so.
func TestEventsKeysetPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop, blog := e.project("Shop"), e.project("Blog")
	viewer := e.account("viewer@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, viewer, shop)
	same := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	e.exec(`INSERT INTO beacon.events (project_id, event_id, anon_id, name, props, ts, received_at)
		SELECT $1, gen_random_uuid(), 'a1', 'tick', jsonb_build_object('i', i),
		       CASE WHEN i <= 10 THEN $2::timestamptz ELSE $2::timestamptz - (i * interval '9 days') END, now()
		FROM generate_series(1, 25) i`, shop, same)
	e.exec(`INSERT INTO beacon.events (project_id, event_id, name, ts, received_at) VALUES ($1, gen_random_uuid(), 'secret', now(), now())`, blog)
	e.maintain() // the rollups tell how far back the project's events go
	want := scalar[[]string](e, `SELECT array_agg(event_id::text ORDER BY ts DESC, event_id DESC) FROM beacon.events WHERE project_id = $1`, shop)

	v := e.browser()
	v.mustSignIn("viewer@example.com", pw)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages of 3")
		}
		p := v.events(t, shop, "limit=3&before="+url.QueryEscape(cursor))
		for _, ev := range p.Events {
			got = append(got, ev.ID)
		}
		if p.Timezone != "UTC" || p.Tail == "" {
			t.Errorf("timezone %q tail %q", p.Timezone, p.Tail)
		}
		if p.Next == nil {
			break
		}
		cursor = *p.Next
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paged ids\n %v\nwant\n %v", got, want)
	}
	// A cursor is opaque and checked; a tail cursor is not a page cursor.
	for _, q := range []string{"before=bm9wZQ", "before=" + url.QueryEscape(v.events(t, shop, "").Tail), "limit=0", "limit=x", "after=", "before=x&after=y"} {
		if a := v.do("GET", "/api/projects/"+shop+"/events?"+q, nil); a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, a.status, a.body)
		}
	}
	// Another project is not found, the same as one that does not exist.
	if a := v.do("GET", "/api/projects/"+blog+"/events", nil); a.status != http.StatusNotFound || a.code(t) != "not_found" {
		t.Errorf("another project's events: %d %s", a.status, a.body)
	}
	if a := v.do("POST", "/api/projects/"+shop+"/events", nil, "X-CSRF-Token", v.csrf); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST events: %d", a.status)
	}
	if a := e.browser().do("GET", "/api/projects/"+shop+"/events", nil); a.status != http.StatusUnauthorized {
		t.Errorf("signed out: %d", a.status)
	}
}

func TestEventsFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop := e.project("Shop")
	e.account("admin@example.com", pw, true)
	e.exec(`INSERT INTO beacon.events (project_id, event_id, anon_id, user_id, name, props, ts, received_at) VALUES
		($1, gen_random_uuid(), 'a1', NULL, '$pageview', '{"path": "/pricing"}', now() - interval '1 minute', now()),
		($1, gen_random_uuid(), 'a1', NULL, 'signup', '{"plan": "pro"}', now() - interval '2 days', now()),
		($1, gen_random_uuid(), 'a2', 'u2', 'signup', '{"plan": "free"}', now() - interval '40 days', now()),
		($1, gen_random_uuid(), 'a3', NULL, 'upgrade', '{"plan": "pro", "seats": 3}', now() - interval '300 days', now())`, shop)
	e.exec(`SELECT beacon.identify($1, 'a1', 'ada', '{"email": "ada@example.com"}')`, shop)
	// No maintain(): the unfolded rollup_pending tells how far back the events go.

	a := e.browser()
	a.mustSignIn("admin@example.com", pw)
	names := func(p eventPage) string {
		var s []string
		for _, ev := range p.Events {
			s = append(s, ev.Name)
		}
		return strings.Join(s, ",")
	}
	// Every event of a filter, paging on through next: a rare filter may answer a short page
	// when its search ran out of the 250 ms a request reads for (a loaded machine), and the
	// dashboard then pages on from the cursor; what the filter finds must not depend on the speed.
	all := func(q string) string {
		var s []string
		p := a.events(t, shop, q)
		for i := 0; ; i++ {
			if n := names(p); n != "" {
				s = append(s, n)
			}
			if p.Next == nil {
				return strings.Join(s, ",")
			}
			if i == 100 {
				t.Fatalf("%q: still a next cursor after 100 pages", q)
			}
			p = a.events(t, shop, q+"&before="+url.QueryEscape(*p.Next))
		}
	}
	for q, want := range map[string]string{
		"":                                "$pageview,signup,signup,upgrade",
		"name=signup":                     "signup,signup",
		"prop=plan&value=pro":             "signup,upgrade",
		"name=signup&prop=plan&value=pro": "signup",
		"prop=seats":                      "upgrade",
		"prop=plan&value=team":            "",
		"name=nothing":                    "",
	} {
		if got := all(q); got != want {
			t.Errorf("%q: %s, want %s", q, got, want)
		}
	}
	p := a.events(t, shop, "limit=1")
	ev := p.Events[0]
	if ev.Page == nil || *ev.Page != "/pricing" || ev.PersonID == nil || *ev.PersonID != "ada" || *ev.AnonID != "a1" || ev.Props["path"] != "/pricing" {
		t.Errorf("first event %+v: want page /pricing, person ada (the anon id identified later)", ev)
	}
	if p.Next == nil {
		t.Error("a full page of 1 has no next cursor")
	}
}

// TestEventsTail: the tail cursor of a page finds an event committed afterwards, with the filters,
// and the cursor it answers moves on.
func TestEventsTail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop := e.project("Shop")
	e.account("admin@example.com", pw, true)
	e.exec(`INSERT INTO beacon.events (project_id, event_id, name, ts, received_at) VALUES ($1, gen_random_uuid(), 'old', now() - interval '1 hour', now() - interval '1 hour')`, shop)
	a := e.browser()
	a.mustSignIn("admin@example.com", pw)
	first := a.events(t, shop, "")
	if len(first.Events) != 1 {
		t.Fatalf("events %+v", first.Events)
	}
	empty := a.events(t, shop, "after="+url.QueryEscape(first.Tail))
	if len(empty.Events) != 0 || empty.Tail == "" {
		t.Errorf("tail before anything new: %+v", empty)
	}
	e.exec(`INSERT INTO beacon.events (project_id, event_id, name, props, ts, received_at) VALUES
		($1, gen_random_uuid(), 'new', '{"plan": "pro"}', now(), now()),
		($1, gen_random_uuid(), 'other', '{}', now(), now())`, shop)
	got := a.events(t, shop, "after="+url.QueryEscape(empty.Tail)+"&prop=plan&value=pro")
	if len(got.Events) != 1 || got.Events[0].Name != "new" {
		t.Errorf("tail after an insert: %+v", got.Events)
	}
	both := a.events(t, shop, "after="+url.QueryEscape(empty.Tail))
	if len(both.Events) != 2 || both.Tail == empty.Tail {
		t.Errorf("unfiltered tail: %+v", both)
	}
}

// TestEventPageResumesAtAWindowEdge: a page that ran out of time answers fewer events and a
// cursor without an event id, meaning "before this time"; paging on from it misses nothing.
func TestEventPageResumesAtAWindowEdge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop := e.project("Shop")
	e.exec(`INSERT INTO beacon.events (project_id, event_id, name, ts, received_at)
		SELECT $1, gen_random_uuid(), 'e', now() - interval '1 day' - i * interval '1 second', now() FROM generate_series(0, 4) i`, shop)
	e.maintain()
	// Events strictly before the second one's ts: the three older ones.
	got := scalar[int](e, `SELECT jsonb_array_length((beacon.api_event_page($1, '-infinity',
		(SELECT ts FROM beacon.events WHERE project_id = $1 ORDER BY ts DESC OFFSET 1 LIMIT 1), NULL, NULL, NULL, NULL, NULL, 10)).events)`, shop)
	if got != 3 {
		t.Errorf("%d events before a time-only cursor, want 3", got)
	}
	c := scalar[string](e, `SELECT beacon.api_cursor('b', now(), NULL)`)
	if n := scalar[int](e, `SELECT jsonb_array_length((beacon.api_event_page($1, '-infinity', (beacon.api_cursor_read($2, 'b')).at, NULL, NULL, NULL, NULL, NULL, 10)).events)`, shop, c); n != 5 {
		t.Errorf("%d events before now, want 5", n)
	}
}

// TestEventsTailSameMillisecond: two events received in the same millisecond, the second
// committed after a tail answer already moved the cursor to that millisecond, both reach the
// tail (the cursor re-reads before itself; the page drops the ids it shows).
func TestEventsTailSameMillisecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop := e.project("Shop")
	e.account("admin@example.com", pw, true)
	a := e.browser()
	a.mustSignIn("admin@example.com", pw)
	start := a.events(t, shop, "")
	at := time.Now().UTC().Truncate(time.Millisecond)
	insert := func(name string) {
		e.exec(`INSERT INTO beacon.events (project_id, event_id, name, ts, received_at) VALUES ($1, gen_random_uuid(), $2, $3, $3)`, shop, name, at)
	}
	insert("first")
	one := a.events(t, shop, "after="+url.QueryEscape(start.Tail))
	if len(one.Events) != 1 || one.Events[0].Name != "first" {
		t.Fatalf("tail after the first: %+v", one.Events)
	}
	insert("second")
	two := a.events(t, shop, "after="+url.QueryEscape(one.Tail))
	var names []string
	for _, ev := range two.Events {
		names = append(names, ev.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "second") {
		t.Errorf("tail after the second, same millisecond: %v", names)
	}
}

// TestEventsFunctionsRunWithoutJIT: the events functions carry jit=off. Their plans are costed
// over every partition (pruned at run time), so PostgreSQL's JIT spent 1.5–3.5 s compiling a
// query that runs in milliseconds on 30M events, and the live tail missed its 2 s.
func TestEventsFunctionsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	for _, fn := range []string{
		"beacon.api_events(uuid, text, text, text, text, int)",
		"beacon.api_events_after(uuid, text, text, text, text, int)",
		"beacon.api_event_page(uuid, timestamptz, timestamptz, uuid, text, text, text, text, int)",
	} {
		if !scalar[bool](e, `SELECT coalesce('jit=off' = ANY (proconfig), false) FROM pg_proc WHERE oid = $1::regprocedure`, fn) {
			t.Errorf("%s runs with JIT", fn)
		}
	}
}
