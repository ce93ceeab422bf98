package sql_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// overview is a session as analytics.sessions shows it, the columns of issue 11 item 5 as text.
type overview struct {
	entry, exit, source, utmSource, utmMedium, utmCampaign, bounce string
	pageviews                                                      string
	duration                                                       float64
	day                                                            string
}

func getOverview(t *testing.T, q querier, project, id string) overview {
	t.Helper()
	var o overview
	err := q.QueryRow(ctx(t), `
		SELECT coalesce(entry_page, '<nil>'), coalesce(exit_page, '<nil>'), coalesce(source, '<nil>'),
		       coalesce(utm_source, '<nil>'), coalesce(utm_medium, '<nil>'), coalesce(utm_campaign, '<nil>'),
		       coalesce(bounce::text, '<nil>'), coalesce(pageviews::text, '<nil>'), duration_seconds::float8, day::text
		FROM analytics.sessions WHERE project_id = $1 AND session_id = $2`, project, id).
		Scan(&o.entry, &o.exit, &o.source, &o.utmSource, &o.utmMedium, &o.utmCampaign, &o.bounce, &o.pageviews, &o.duration, &o.day)
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return o
}

// Entry and exit page, source, UTM, bounce, pageviews and duration equal what was sent, across
// batches, with a late landing page and the senders of urls only and paths only.
func TestSessionOverview(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.projects SET allowed_origins = '{https://app.test}' WHERE project_id = $1`, p)
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	e := func(session string, s int, name string, props map[string]any) ev {
		return ev{project: p, session: session, anon: "a-" + session, name: name, props: props, ts: at(s)}
	}
	pv := func(url, ref string) map[string]any { return map[string]any{"url": url, "referrer": ref} }

	copyEvents(t, db.Pool,
		// s1: lands from a newsletter, reads two more pages, clicks; the landing pageview of the
		// first batch is replaced by an earlier one that arrives late.
		e("s1", 100, "$pageview", pv("https://app.test/p/2?utm_source=wrong", "https://app.test/p/1")),
		e("s1", 160, "$pageview", pv("https://app.test/p/3", "https://app.test/p/2")),
		// s2: one pageview, nothing else: a bounce, direct.
		e("s2", 50, "$pageview", pv("https://app.test/?x=1", "")),
		// s3: a path-only sender; the referrer is the site itself (allowed origin): direct, not app.test.
		e("s3", 10, "$pageview", map[string]any{"path": "/docs?utm_medium=cpc&utm_campaign=q4%20launch", "referrer": "https://app.test/"}),
		e("s3", 20, "$pageview", map[string]any{"path": "/docs/intro"}),
		// s4: no pageviews at all.
		e("s4", 5, "server-event", nil),
		// s5: one pageview and a click: not a bounce.
		e("s5", 30, "$pageview", pv("https://app.test/pricing", "https://www.google.com/search?q=x")),
		e("s5", 45, "click", nil),
	)
	copyEvents(t, db.Pool,
		e("s1", 40, "$pageview", pv("https://app.test/p/1?utm_source=newsletter&utm_medium=email&utm_campaign=spring+sale#top",
			"https://Mail.Example/inbox")),
		e("s1", 200, "click", nil),
	)

	for _, tc := range []struct {
		id   string
		want overview
	}{
		{"s1", overview{entry: "/p/1", exit: "/p/3", source: "mail.example", utmSource: "newsletter", utmMedium: "email",
			utmCampaign: "spring sale", bounce: "false", pageviews: "3", duration: 160}},
		{"s2", overview{entry: "/", exit: "/", source: "(direct)", utmSource: "<nil>", utmMedium: "<nil>", utmCampaign: "<nil>",
			bounce: "true", pageviews: "1", duration: 0}},
		{"s3", overview{entry: "/docs", exit: "/docs/intro", source: "(direct)", utmSource: "<nil>", utmMedium: "cpc",
			utmCampaign: "q4 launch", bounce: "false", pageviews: "2", duration: 10}},
		{"s4", overview{entry: "<nil>", exit: "<nil>", source: "<nil>", utmSource: "<nil>", utmMedium: "<nil>", utmCampaign: "<nil>",
			bounce: "<nil>", pageviews: "0", duration: 0}},
		{"s5", overview{entry: "/pricing", exit: "/pricing", source: "www.google.com", utmSource: "<nil>", utmMedium: "<nil>",
			utmCampaign: "<nil>", bounce: "false", pageviews: "1", duration: 15}},
	} {
		tc.want.day = t0.Format(time.DateOnly)
		if got := getOverview(t, db.Pool, p, tc.id); got != tc.want {
			t.Errorf("session %s:\n got %+v\nwant %+v", tc.id, got, tc.want)
		}
	}
}

// A session belongs to the day it started: one that crosses midnight counts once in the sessions
// of a period, where analytics.daily (sessions active each day) counts it on both days.
func TestSessionCrossingMidnightCountsOnce(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	midnight := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	before, after := midnight.Add(-10*time.Minute), midnight.Add(10*time.Minute)
	pv := map[string]any{"path": "/"}
	copyEvents(t, db.Pool,
		ev{project: p, session: "night", anon: "a", name: "$pageview", props: pv, ts: before},
		ev{project: p, session: "day1", anon: "b", name: "$pageview", props: pv, ts: before.Add(-time.Hour)},
	)
	copyEvents(t, db.Pool,
		ev{project: p, session: "night", anon: "a", name: "$pageview", props: pv, ts: after},
		ev{project: p, session: "day2", anon: "c", name: "$pageview", props: pv, ts: after.Add(time.Hour)},
	)
	day1, day2 := before.Format(time.DateOnly), after.Format(time.DateOnly)
	got := map[string]string{}
	rows, err := db.Pool.Query(ctx(t), `SELECT day::text, sessions || ' ' || bounces || ' ' || pageviews || ' ' || duration_seconds::int
		FROM analytics.daily_sessions WHERE project_id = $1`, p)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d, v string
		if err := rows.Scan(&d, &v); err != nil {
			t.Fatal(err)
		}
		got[d] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// day1: night (2 pageviews, 20 min) and day1 (a bounce); day2: day2 only.
	want := map[string]string{day1: "2 1 3 1200", day2: "1 1 1 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("daily_sessions = %v, want %v", got, want)
	}
	if n := scalar[int](t, db.Pool, `SELECT sum(sessions)::int FROM analytics.daily_sessions WHERE project_id = $1 AND day BETWEEN $2 AND $3`,
		p, day1, day2); n != 3 {
		t.Errorf("sessions over both days = %d, want 3 (night counted once)", n)
	}
	if d := scalar[string](t, db.Pool, `SELECT day::text FROM analytics.sessions WHERE project_id = $1 AND session_id = 'night'`, p); d != day1 {
		t.Errorf("night's day = %s, want %s (the day it started)", d, day1)
	}
}

// Sessions written before migration 006 (NULL pageviews) are filled from their events by
// beacon.backfill_sessions; ongoing sessions and sessions before p_since are left alone.
func TestBackfillSessions(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	t0 := time.Now().UTC().Add(-5 * time.Hour)
	pv := func(session string, minutes int, url, ref string) ev {
		return ev{project: p, session: session, anon: "a", name: "$pageview", ts: t0.Add(time.Duration(minutes) * time.Minute),
			props: map[string]any{"url": url, "referrer": ref}}
	}
	copyEvents(t, db.Pool,
		pv("old", 0, "https://app.test/in?utm_source=news&utm_campaign=c+1", "https://news.test/"),
		pv("old", 5, "https://app.test/out?x=1", "https://app.test/in"),
		pv("before", -60, "https://app.test/x", ""),
		pv("live", 290, "https://app.test/live", ""),
	)
	want := map[string]string{}
	for _, id := range []string{"old", "before", "live"} {
		want[id] = fmt.Sprintf("%+v", getOverview(t, db.Pool, p, id))
	}
	// As a session row before migration 006 looked: no pageviews, source or UTM; a URL as page.
	exec(t, db.Pool, `UPDATE beacon.sessions SET pageviews = NULL, source = NULL, utm_source = NULL, utm_campaign = NULL,
		entry_page = 'https://app.test/in?utm_source=news', exit_page = 'https://app.test/out?x=1' WHERE project_id = $1`, p)
	stale := map[string]string{}
	for _, id := range []string{"before", "live"} {
		stale[id] = fmt.Sprintf("%+v", getOverview(t, db.Pool, p, id))
	}
	if n := scalar[int64](t, db.Pool, `SELECT beacon.backfill_sessions($1, $2)`, p, t0.Add(-time.Minute)); n != 1 {
		t.Errorf("backfill_sessions filled %d sessions, want 1 (old)", n)
	}
	if got := fmt.Sprintf("%+v", getOverview(t, db.Pool, p, "old")); got != want["old"] {
		t.Errorf("old after backfill:\n got %s\nwant %s", got, want["old"])
	}
	for id, w := range stale {
		if got := fmt.Sprintf("%+v", getOverview(t, db.Pool, p, id)); got != w {
			t.Errorf("%s changed by the backfill:\n got %s\nwant %s (untouched)", id, got, w)
		}
	}
	if n := scalar[int64](t, db.Pool, `SELECT beacon.backfill_sessions($1, $2)`, p, t0.Add(-time.Minute)); n != 0 {
		t.Errorf("a second backfill filled %d sessions, want 0", n)
	}
}
