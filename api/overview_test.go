package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// ovEvent is an event the overview test inserts; the test counts the expected figures from these
// in Go, independently of the SQL.
type ovEvent struct {
	session, anon, name, page, referrer, browser string
	ts                                           time.Time
}

// ovSession is what the test knows of a session: its events in order.
type ovSession struct{ events []ovEvent }

func (s ovSession) first() ovEvent { return s.events[0] } // every session starts with a $pageview

func (s ovSession) source() string {
	if r := s.first().referrer; r != "" {
		u, _ := url.Parse(r)
		return u.Hostname()
	}
	return "(direct)"
}

// ovData makes sessions over the last 380 days (denser in the last two), deterministic.
func ovData(now time.Time) []ovSession {
	r := rand.New(rand.NewPCG(12, 34))
	pages := []string{"/", "/pricing", "/blog/a", "=cmd()", "/docs, \"quoted\""}
	refs := []string{"", "https://news.example/item?id=1", "https://search.example/?q=x"}
	browsers := []string{"Firefox", "Chrome", "Safari"}
	var out []ovSession
	for i := range 420 {
		var ago time.Duration
		switch {
		case i < 120:
			ago = time.Hour + time.Duration(r.Int64N(int64(47*time.Hour)))
		case i < 300:
			ago = time.Duration(r.Int64N(int64(60 * 24 * time.Hour)))
		default:
			ago = time.Duration(r.Int64N(int64(380 * 24 * time.Hour)))
		}
		start := now.Add(-ago - time.Hour).Truncate(time.Second)
		s := ovSession{}
		sid, anon := fmt.Sprintf("s%d", i), fmt.Sprintf("a%d", r.IntN(90))
		ref, br := refs[r.IntN(len(refs))], browsers[r.IntN(len(browsers))]
		n := 1 + r.IntN(5)
		ts := start
		for j := range n {
			ev := ovEvent{session: sid, anon: anon, name: "$pageview", page: pages[r.IntN(len(pages))], browser: br, ts: ts}
			if j == 0 {
				ev.referrer = ref
			} else if r.IntN(3) == 0 {
				ev = ovEvent{session: sid, anon: anon, name: "signup", ts: ts}
			}
			s.events = append(s.events, ev)
			ts = ts.Add(time.Duration(1+r.IntN(600)) * time.Second)
		}
		out = append(out, s)
	}
	return out
}

// insert stores the events as the relay's COPY would (the insert triggers run).
func (e *env) insertOverviewEvents(project string, sessions []ovSession) {
	e.t.Helper()
	var rows []map[string]any
	for _, s := range sessions {
		for _, ev := range s.events {
			props := map[string]any{}
			if ev.name == "$pageview" {
				props = map[string]any{"path": ev.page, "url": "https://shop.test" + ev.page, "referrer": ev.referrer, "$browser": ev.browser}
			}
			rows = append(rows, map[string]any{"session": ev.session, "anon": ev.anon, "name": ev.name, "props": props, "ts": ev.ts})
		}
	}
	j, _ := json.Marshal(rows)
	e.exec(`INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, name, props, ts, received_at)
		SELECT $1, gen_random_uuid(), r->>'session', r->>'anon', r->>'name', r->'props', (r->>'ts')::timestamptz, now()
		FROM jsonb_array_elements($2::jsonb) r`, project, string(j))
}

// ovFilter is a filter the test applies in Go: page per event, source, browser and entry page per
// session.
type ovFilter struct{ page, source, browser, entryPage string }

func (f ovFilter) session(s ovSession) bool {
	return (f.source == "" || s.source() == f.source) && (f.browser == "" || s.first().browser == f.browser) &&
		(f.entryPage == "" || s.first().page == f.entryPage)
}

type ovTotals struct {
	Visitors, Pageviews, Sessions, Events int
	ViewsPerSession                       *float64 `json:"views_per_session"`
	BounceRate                            *float64 `json:"bounce_rate"`
	AvgDuration                           *float64 `json:"avg_duration_seconds"`
}

type ovRow struct {
	Value string
	Count int
}

// expect counts the figures of [t0, t1) from the sessions.
func expect(sessions []ovSession, t0, t1 time.Time, f ovFilter) (ovTotals, map[string][]ovRow) {
	in := func(t time.Time) bool { return !t.Before(t0) && t.Before(t1) }
	var tot ovTotals
	visitors := map[string]bool{}
	counts := map[string]map[string]int{}
	add := func(tbl, v string) {
		if counts[tbl] == nil {
			counts[tbl] = map[string]int{}
		}
		counts[tbl][v]++
	}
	var swp, spv, bounces int
	var dur float64
	for _, s := range sessions {
		if !f.session(s) {
			continue
		}
		matched := false
		for _, ev := range s.events {
			if !in(ev.ts) || (f.page != "" && ev.page != f.page) {
				continue
			}
			matched = true
			tot.Events++
			visitors[ev.anon] = true
			add("events", ev.name)
			if ev.name == "$pageview" {
				tot.Pageviews++
				add("pages", ev.page)
				add("browsers", ev.browser)
			}
		}
		if !in(s.first().ts) || (f.page != "" && !matched) {
			continue
		}
		tot.Sessions++
		add("entry_pages", s.first().page)
		add("sources", s.source())
		pv := 0
		for _, ev := range s.events {
			if ev.name == "$pageview" {
				pv++
			}
		}
		swp++
		spv += pv
		if len(s.events) == 1 {
			bounces++
		}
		dur += s.events[len(s.events)-1].ts.Sub(s.first().ts).Seconds()
	}
	tot.Visitors = len(visitors)
	if swp > 0 {
		v, b := float64(spv)/float64(swp), float64(bounces)/float64(swp)
		tot.ViewsPerSession, tot.BounceRate = &v, &b
	}
	if tot.Sessions > 0 {
		d := dur / float64(tot.Sessions)
		tot.AvgDuration = &d
	}
	tables := map[string][]ovRow{}
	for tbl, m := range counts {
		for v, n := range m {
			tables[tbl] = append(tables[tbl], ovRow{v, n})
		}
		sort.Slice(tables[tbl], func(i, j int) bool {
			a, b := tables[tbl][i], tables[tbl][j]
			return a.Count > b.Count || a.Count == b.Count && a.Value < b.Value
		})
		if len(tables[tbl]) > 10 {
			tables[tbl] = tables[tbl][:10]
		}
	}
	return tot, tables
}

type overviewAnswer struct {
	Range struct {
		Key, From, To, Interval, Start, End, Timezone string
	}
	Previous       struct{ From, To, Start, End string }
	Filters        map[string]string
	Totals         ovTotals
	PreviousTotals ovTotals `json:"previous_totals"`
	Series         []struct {
		T                             string
		Visitors, Pageviews, Sessions int
	}
	Tables map[string]struct {
		Metric string
		Rows   []ovRow
	}
	AsOf string `json:"as_of"`
}

func near(a, b *float64, tol float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= tol
}

func checkTotals(t *testing.T, what string, got, want ovTotals) {
	t.Helper()
	if got.Visitors != want.Visitors || got.Pageviews != want.Pageviews || got.Sessions != want.Sessions || got.Events != want.Events ||
		!near(got.ViewsPerSession, want.ViewsPerSession, 0.006) || !near(got.BounceRate, want.BounceRate, 0.0001) ||
		!near(got.AvgDuration, want.AvgDuration, 0.06) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s totals\n got %s\nwant %s", what, g, w)
	}
}

func TestOverview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultConfig())
	shop := e.project("Shop")
	viewer := e.account("viewer@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, viewer, shop)
	e.account("stranger@example.com", pw, false)
	now := time.Now().UTC()
	data := ovData(now)
	e.insertOverviewEvents(shop, data)
	e.maintain()

	v := e.browser()
	v.mustSignIn("viewer@example.com", pw)
	get := func(q string) overviewAnswer {
		t.Helper()
		a := v.do("GET", "/api/projects/"+shop+"/overview?"+q, nil)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, a.status, a.body)
		}
		var ov overviewAnswer
		if err := json.Unmarshal(a.body, &ov); err != nil {
			t.Fatal(err)
		}
		return ov
	}
	day := func(t time.Time) time.Time { return t.Truncate(24 * time.Hour) }
	today := day(now)
	hour := now.Truncate(time.Hour)
	month := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		q              string
		t0, t1, p0, p1 time.Time
		interval       string
		buckets        int
		f              ovFilter
	}{
		{"range=today", today, today.AddDate(0, 0, 1), today.AddDate(0, 0, -1), today, "hour", 24, ovFilter{}},
		{"range=24h", hour.Add(-23 * time.Hour), hour.Add(time.Hour), hour.Add(-47 * time.Hour), hour.Add(-23 * time.Hour), "hour", 24, ovFilter{}},
		{"", today.AddDate(0, 0, -6), today.AddDate(0, 0, 1), today.AddDate(0, 0, -13), today.AddDate(0, 0, -6), "day", 7, ovFilter{}},
		{"range=30d", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1), today.AddDate(0, 0, -59), today.AddDate(0, 0, -29), "day", 30, ovFilter{}},
		{"range=12mo", month.AddDate(0, -11, 0), today.AddDate(0, 0, 1), month.AddDate(0, -23, 0), today.AddDate(-1, 0, 1), "month", 12, ovFilter{}},
		{"range=custom&from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, -1).Format(time.DateOnly),
			today.AddDate(0, 0, -1), today, today.AddDate(0, 0, -2), today.AddDate(0, 0, -1), "hour", 24, ovFilter{}},
		{"range=custom&from=" + today.AddDate(0, 0, -20).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, -11).Format(time.DateOnly),
			today.AddDate(0, 0, -20), today.AddDate(0, 0, -10), today.AddDate(0, 0, -30), today.AddDate(0, 0, -20), "day", 10, ovFilter{}},
		{"range=30d&source=news.example&browser=Firefox&ignored=x", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1), today.AddDate(0, 0, -59), today.AddDate(0, 0, -29), "day", 30,
			ovFilter{source: "news.example", browser: "Firefox"}},
		{"range=30d&page=%2Fpricing", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1), today.AddDate(0, 0, -59), today.AddDate(0, 0, -29), "day", 30, ovFilter{page: "/pricing"}},
		{"range=12mo&source=(direct)", month.AddDate(0, -11, 0), today.AddDate(0, 0, 1), month.AddDate(0, -23, 0), today.AddDate(-1, 0, 1), "month", 12, ovFilter{source: "(direct)"}},
		// One session filter over days or months: read from the stored per-dimension figures (migration 018).
		{"range=30d&browser=Firefox", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1), today.AddDate(0, 0, -59), today.AddDate(0, 0, -29), "day", 30, ovFilter{browser: "Firefox"}},
		{"range=7d&source=news.example", today.AddDate(0, 0, -6), today.AddDate(0, 0, 1), today.AddDate(0, 0, -13), today.AddDate(0, 0, -6), "day", 7, ovFilter{source: "news.example"}},
		{"range=30d&entry_page=%2Fpricing", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1), today.AddDate(0, 0, -59), today.AddDate(0, 0, -29), "day", 30, ovFilter{entryPage: "/pricing"}},
		{"range=12mo&browser=Safari", month.AddDate(0, -11, 0), today.AddDate(0, 0, 1), month.AddDate(0, -23, 0), today.AddDate(-1, 0, 1), "month", 12, ovFilter{browser: "Safari"}},
		{"range=custom&browser=Chrome&from=" + today.AddDate(0, 0, -20).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, -11).Format(time.DateOnly),
			today.AddDate(0, 0, -20), today.AddDate(0, 0, -10), today.AddDate(0, 0, -30), today.AddDate(0, 0, -20), "day", 10, ovFilter{browser: "Chrome"}},
		// Filtered hourly ranges are counted live.
		{"range=today&browser=Firefox", today, today.AddDate(0, 0, 1), today.AddDate(0, 0, -1), today, "hour", 24, ovFilter{browser: "Firefox"}},
	}
	for _, c := range cases {
		ov := get(c.q)
		want, tables := expect(data, c.t0, c.t1, c.f)
		checkTotals(t, c.q, ov.Totals, want)
		prev, _ := expect(data, c.p0, c.p1, c.f)
		checkTotals(t, c.q+" previous", ov.PreviousTotals, prev)
		if ov.Range.Interval != c.interval || len(ov.Series) != c.buckets || ov.Range.Timezone != "UTC" || ov.AsOf == "" {
			t.Errorf("%s: range %+v, %d buckets, as_of %q", c.q, ov.Range, len(ov.Series), ov.AsOf)
		}
		st, _ := time.Parse(time.RFC3339, ov.Range.Start)
		en, _ := time.Parse(time.RFC3339, ov.Range.End)
		ps, _ := time.Parse(time.RFC3339, ov.Previous.Start)
		if !st.Equal(c.t0) || !en.Equal(c.t1) || !ps.Equal(c.p0) {
			t.Errorf("%s: start %s end %s previous start %s, want %s %s %s", c.q, ov.Range.Start, ov.Range.End, ov.Previous.Start, c.t0, c.t1, c.p0)
		}
		var pv, ss int
		for _, b := range ov.Series {
			pv += b.Pageviews
			ss += b.Sessions
		}
		if pv != want.Pageviews || ss != want.Sessions {
			t.Errorf("%s: series sums %d pageviews %d sessions, want %d %d", c.q, pv, ss, want.Pageviews, want.Sessions)
		}
		for _, tbl := range []string{"pages", "entry_pages", "sources", "events", "browsers"} {
			got, _ := json.Marshal(ov.Tables[tbl].Rows)
			w, _ := json.Marshal(tables[tbl])
			if string(got) != string(w) && !(len(tables[tbl]) == 0 && string(got) == "[]") {
				t.Errorf("%s: table %s\n got %s\nwant %s", c.q, tbl, got, w)
			}
		}
		if m := ov.Tables["sources"].Metric + ov.Tables["pages"].Metric + ov.Tables["events"].Metric; m != "sessionspageviewsevents" {
			t.Errorf("%s: metrics %s", c.q, m)
		}
	}
	// A day bucket's visitors are that day's distinct visitors.
	ov := get("range=7d")
	for i, b := range ov.Series {
		d := today.AddDate(0, 0, i-6)
		w, _ := expect(data, d, d.AddDate(0, 0, 1), ovFilter{})
		if b.T != d.Format(time.DateOnly) || b.Visitors != w.Visitors || b.Pageviews != w.Pageviews || b.Sessions != w.Sessions {
			t.Errorf("bucket %d: %+v, want %s %+v", i, b, d.Format(time.DateOnly), w)
		}
	}
	// And with a session filter (stored per dimension): each day's distinct visitors of the matching sessions.
	for i, b := range get("range=7d&browser=Firefox").Series {
		d := today.AddDate(0, 0, i-6)
		w, _ := expect(data, d, d.AddDate(0, 0, 1), ovFilter{browser: "Firefox"})
		if b.T != d.Format(time.DateOnly) || b.Visitors != w.Visitors || b.Pageviews != w.Pageviews || b.Sessions != w.Sessions {
			t.Errorf("browser=Firefox bucket %d: %+v, want %s %+v", i, b, d.Format(time.DateOnly), w)
		}
	}
	// An hour bucket's too, for today (stored totals, hourly series) and 24h (counted live).
	for q, t0 := range map[string]time.Time{"range=today": today, "range=24h": hour.Add(-23 * time.Hour)} {
		for i, b := range get(q).Series {
			h := t0.Add(time.Duration(i) * time.Hour)
			w, _ := expect(data, h, h.Add(time.Hour), ovFilter{})
			if b.T != h.Format("2006-01-02T15:04:05+00:00") || b.Visitors != w.Visitors || b.Pageviews != w.Pageviews || b.Sessions != w.Sessions {
				t.Errorf("%s bucket %d: %+v, want %s %+v", q, i, b, h.Format(time.RFC3339), w)
			}
		}
	}
	if ov.Range.From != today.AddDate(0, 0, -6).Format(time.DateOnly) || ov.Range.To != today.Format(time.DateOnly) || ov.Range.Key != "7d" {
		t.Errorf("range %+v", ov.Range)
	}

	// CSV of a table: header, quoting, the formula prefix, the file name.
	a := v.do("GET", "/api/projects/"+shop+"/overview/pages.csv?range=30d", nil)
	want, tables := expect(data, today.AddDate(0, 0, -29), today.AddDate(0, 0, 1), ovFilter{})
	_ = want
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		a.header.Get("Content-Disposition") != `attachment; filename="pages-`+today.AddDate(0, 0, -29).Format(time.DateOnly)+"-"+today.Format(time.DateOnly)+`.csv"` {
		t.Fatalf("csv: %d %v %s", a.status, a.header, a.body)
	}
	if got := scalar[string](e, `SELECT target FROM beacon.audit WHERE action = 'data_exported' ORDER BY audit_id DESC LIMIT 1`); got !=
		"project:"+shop+"/export:pages "+today.AddDate(0, 0, -29).Format(time.DateOnly)+".."+today.Format(time.DateOnly)+".csv" {
		t.Errorf("the CSV download's audit row: target %q", got)
	}
	lines := strings.Split(strings.TrimSuffix(string(a.body), "\r\n"), "\r\n")
	if lines[0] != "value,pageviews" || len(lines) != len(tables["pages"])+1 {
		t.Errorf("csv lines %q", lines)
	}
	for _, r := range tables["pages"] {
		cell := r.Value
		if strings.HasPrefix(cell, "=") {
			cell = "'" + cell
		}
		if strings.ContainsAny(cell, ",\"") {
			cell = `"` + strings.ReplaceAll(cell, `"`, `""`) + `"`
		}
		if !strings.Contains(string(a.body), "\r\n"+cell+","+fmt.Sprint(r.Count)+"\r\n") {
			t.Errorf("csv lacks %s,%d: %s", cell, r.Count, a.body)
		}
	}
	if a := v.do("GET", "/api/projects/"+shop+"/overview/sources.csv?range=7d&browser=Chrome", nil); a.status != http.StatusOK ||
		!strings.HasPrefix(string(a.body), "value,sessions\r\n") {
		t.Errorf("sources csv: %d %s", a.status, a.body)
	}
	for _, p := range []string{"nope.csv", "pages.json", "pages"} {
		if a := v.do("GET", "/api/projects/"+shop+"/overview/"+p, nil); a.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}

	// Bad parameters: 400 naming the parameter.
	for q, name := range map[string]string{
		"range=1y": "range", "range=custom": "from", "range=custom&from=2026-01-01": "to",
		"range=custom&from=2026-01-02&to=2026-01-01": "from", "range=custom&from=2020-01-01&to=2026-01-01": "731",
		"source=" + strings.Repeat("x", 501): "source",
	} {
		a := v.do("GET", "/api/projects/"+shop+"/overview?"+q, nil)
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), name) {
			t.Errorf("%s: %d %s", q[:min(len(q), 60)], a.status, a.body)
		}
	}

	// Current visitors: distinct anon ids with an event in the last 5 minutes.
	e.exec(`INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, name, ts, received_at)
		SELECT $1, gen_random_uuid(), 'live', 'live' || (i % 3), 'tick', now() - i * interval '1 minute', now()
		FROM generate_series(0, 8) i`, shop) // i 0..4: live0, live1, live2 within 5 minutes
	var cur struct {
		Visitors      int
		WindowSeconds int    `json:"window_seconds"`
		AsOf          string `json:"as_of"`
	}
	if a := v.do("GET", "/api/projects/"+shop+"/current", nil); a.status != http.StatusOK || json.Unmarshal(a.body, &cur) != nil ||
		cur.Visitors != 3 || cur.WindowSeconds != 300 || cur.AsOf == "" {
		t.Errorf("current: %d %s", a.status, a.body)
	}

	// A non-member gets 404 on every endpoint, as for a project that does not exist.
	s := e.browser()
	s.mustSignIn("stranger@example.com", pw)
	for _, p := range []string{"overview", "overview?range=today", "overview/pages.csv", "current"} {
		if a := s.do("GET", "/api/projects/"+shop+"/"+p, nil); a.status != http.StatusNotFound || a.code(t) != "not_found" {
			t.Errorf("non-member %s: %d %s", p, a.status, a.body)
		}
	}
}

// TestOverviewTooSlow: a view that counts past OVERVIEW_TIMEOUT is cancelled by PostgreSQL and
// answered 503 too_slow, with a message a person can act on; the next request is answered.
// The request is made to wait deterministically: another transaction holds a lock on
// beacon.events, which a filtered 24-hour view reads.
func TestOverviewTooSlow(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.OverviewTimeout = 300 * time.Millisecond
	e := newEnv(t, cfg)
	shop := e.project("Shop")
	viewer := e.account("viewer@example.com", pw, false)
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, viewer, shop)
	v := e.browser()
	v.mustSignIn("viewer@example.com", pw)
	path := "/api/projects/" + shop + "/overview?range=24h&source=example.com"

	ctx := context.Background()
	lock, err := e.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(ctx) }()
	if _, err := lock.Exec(ctx, `LOCK TABLE beacon.events IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, "/api/projects/" + shop + "/overview/pages.csv?range=24h&source=example.com"} {
		a := v.do("GET", p, nil)
		if a.status != http.StatusServiceUnavailable || a.code(t) != "too_slow" {
			t.Fatalf("%s while events are locked: %d %s, want 503 too_slow", p, a.status, a.body)
		}
		if msg := a.json(t)["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "shorter range") {
			t.Errorf("too_slow message %q does not say what to do", msg)
		}
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if a := v.do("GET", path, nil); a.status != http.StatusOK {
		t.Fatalf("after the lock: %d %s", a.status, a.body)
	}
}
