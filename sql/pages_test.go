package sql_test

import (
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// pageCases are (props.path, props.url) → page.
var pageCases = []struct{ path, url, want string }{
	{"/p/1", "https://a.test/p/1?utm_source=x", "/p/1"},
	{"", "https://a.test/p/1?utm_source=x", "/p/1"},
	{"", "https://a.test/p/1", "/p/1"},
	{"", "https://a.test/p/1#top", "/p/1"},
	{"", "https://a.test/p/1?x=1#top", "/p/1"},
	{"", "https://a.test", "/"},
	{"", "https://a.test?q=/not/path", "/"},
	{"", "https://a.test#/route", "/"},
	{"", "https://u:pw@A.test:8080/Case/Kept/", "/Case/Kept/"},
	{"/p/1?utm_source=x", "", "/p/1"},
	{"/p/1#frag", "", "/p/1"},
	{"", "/relative/p?x=1", "/relative/p"},
	{"", "android-app://com.example/x", "/x"},
	{"", "", "<nil>"},
	{"/a", "https://a.test/b", "/a"}, // props.path wins over the url
}

// Pages are paths without query string or fragment, whichever of props.path and props.url was sent.
func TestPageOf(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	for _, tc := range pageCases {
		got := scalar[*string](t, db.Pool, `SELECT beacon.page_of(nullif($1, ''), nullif($2, ''))`, tc.path, tc.url)
		if deref(got) != tc.want {
			t.Errorf("page_of(%q, %q) = %q, want %q", tc.path, tc.url, deref(got), tc.want)
		}
		// The triggers group by raw_page and normalise per group: the same page.
		again := scalar[*string](t, db.Pool, `SELECT beacon.page_of(beacon.raw_page(nullif($1, ''), nullif($2, '')), NULL)`, tc.path, tc.url)
		if deref(again) != tc.want {
			t.Errorf("page_of(raw_page(%q, %q), NULL) = %q, want %q", tc.path, tc.url, deref(again), tc.want)
		}
	}
	// analytics.events writes page_of out (a reader may not execute it): the same page.
	p := newProject(t, db.Pool)
	for i, tc := range pageCases {
		props := map[string]any{"n": i}
		if tc.path != "" {
			props["path"] = tc.path
		}
		if tc.url != "" {
			props["url"] = tc.url
		}
		copyEvents(t, db.Pool, ev{project: p, session: "s", anon: "a", name: "$pageview", props: props, ts: time.Now()})
		got := scalar[*string](t, db.Pool, `SELECT page FROM analytics.events WHERE project_id = $1 AND (props->>'n')::int = $2`, p, i)
		if deref(got) != tc.want {
			t.Errorf("analytics.events.page for (%q, %q) = %q, want %q", tc.path, tc.url, deref(got), tc.want)
		}
	}
	if n := scalar[int](t, db.Pool, `SELECT length(beacon.page_of('/' || repeat('x', 900), NULL))`); n != 500 {
		t.Errorf("a 901-character path gives a page of %d characters, want 500", n)
	}
}

func TestURLParam(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	const u = "https://a.test/p?utm_source=news%20letter&utm_campaign=spring+sale&utm_medium=&x=1#utm_term=frag"
	for _, tc := range []struct{ url, name, want string }{
		{u, "utm_source", "news letter"},
		{u, "utm_campaign", "spring sale"},
		{u, "utm_medium", "<nil>"}, // empty
		{u, "utm_term", "<nil>"},   // only in the fragment
		{u, "x", "1"},
		{"/p?utm_source=a&utm_source=b", "utm_source", "a"},
		{"/p?xutm_source=a&utm_source=b", "utm_source", "b"},
		{"/p?utm_source=%E2%82%AC", "utm_source", "€"},
		{"/p?utm_source=%zz", "utm_source", "%zz"},   // malformed escape: as sent
		{"/p?utm_source=%C3", "utm_source", "%C3"},   // not UTF-8: as sent
		{"/p?utm_source=a%2Bb", "utm_source", "a+b"}, // %2B is a plus sign
		{"/p", "utm_source", "<nil>"},
		{"", "utm_source", "<nil>"},
	} {
		got := scalar[*string](t, db.Pool, `SELECT beacon.url_param(nullif($1, ''), $2)`, tc.url, tc.name)
		if deref(got) != tc.want {
			t.Errorf("url_param(%q, %q) = %q, want %q", tc.url, tc.name, deref(got), tc.want)
		}
	}
}

// A referrer on the page's own host is internal (NULL); with only a path sent, the project's
// allowed origins name its hosts.
func TestReferrerOf(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.projects SET allowed_origins = '{https://app.test,https://www.app.test:8443}' WHERE project_id = $1`, p)
	open := newProject(t, db.Pool) // no origins: cannot tell
	for _, tc := range []struct {
		project, url, ref, want string
	}{
		{p, "https://app.test/a", "", "(direct)"},
		{p, "https://app.test/a", "https://app.test/b?x=1", "<nil>"},
		{p, "https://app.test/a", "https://APP.test:443/b", "<nil>"}, // host compared, case and port ignored
		{p, "https://other.test/a", "https://other.test/b", "<nil>"}, // the url's host, not only the origins
		{p, "https://app.test/a", "https://www.google.com/search?q=x", "www.google.com"},
		{p, "https://app.test/a", "weird", "weird"},
		{p, "", "https://app.test/b", "<nil>"}, // path only: the project's origins
		{p, "", "https://www.app.test/b", "<nil>"},
		{p, "", "https://news.test/", "news.test"},
		{p, "", "", "(direct)"},
		{p, "/relative?x", "https://app.test/b", "<nil>"}, // a relative url names no site
		{open, "", "https://app.test/b", "app.test"},
	} {
		got := scalar[*string](t, db.Pool, `SELECT beacon.referrer_of(nullif($2, ''), beacon.site_of(nullif($1, '')), $3::uuid)`, tc.url, tc.ref, tc.project)
		if deref(got) != tc.want {
			t.Errorf("referrer_of(%q, site of %q) = %q, want %q", tc.ref, tc.url, deref(got), tc.want)
		}
	}
}

// Through the insert trigger: one page per path whatever the query string, and no same-site
// referrer, for senders of urls only and of paths only.
func TestPagesRollup(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.projects SET allowed_origins = '{https://app.test}' WHERE project_id = $1`, p)
	now := time.Now().UTC()
	pv := func(props map[string]any) ev {
		return ev{project: p, session: "s", anon: "a", name: "$pageview", props: props, ts: now}
	}
	copyEvents(t, db.Pool,
		pv(map[string]any{"url": "https://app.test/p/1?utm_source=news", "referrer": "https://news.test/x"}),
		pv(map[string]any{"url": "https://app.test/p/1", "referrer": "https://app.test/"}),
		pv(map[string]any{"url": "https://app.test/p/1#reviews", "referrer": ""}),
		pv(map[string]any{"path": "/p/1?utm_source=mail", "referrer": "https://app.test/p/2"}),
		pv(map[string]any{"path": "/p/2", "referrer": "https://news.test/y"}),
	)
	exec(t, db.Pool, `SELECT beacon.fold_rollups()`)
	got := map[string]int{}
	rows, err := db.Pool.Query(ctx(t), `SELECT dimension || ' ' || value, pageviews::int FROM analytics.daily_pageviews
		WHERE project_id = $1 AND dimension IN ('page', 'referrer')`, p)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"page /p/1": 4, "page /p/2": 1, "referrer news.test": 2, "referrer (direct)": 1}
	if len(got) != len(want) {
		t.Errorf("daily_pageviews = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("daily_pageviews[%s] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
