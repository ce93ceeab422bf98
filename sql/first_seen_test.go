package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// firstSeen returns analytics.first_seen of a project as "visitor_id person_id time page source
// campaign" lines, sorted.
func firstSeen(t *testing.T, q querier, project string, t0 time.Time) string {
	t.Helper()
	rows, err := q.Query(ctx(t), `
		SELECT visitor_id, coalesce(person_id, '-'), first_seen, coalesce(first_page, '-'),
		       coalesce(first_source, '-'), coalesce(first_utm_campaign, '-')
		FROM analytics.first_seen WHERE project_id = $1 ORDER BY visitor_id`, project)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var visitor, person, page, source, campaign string
		var at time.Time
		if err := rows.Scan(&visitor, &person, &at, &page, &source, &campaign); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %dh %s %s %s", visitor, person, int(at.Sub(t0).Hours()), page, source, campaign))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

// First seen per person follows identifies, merges and unmerges as they happen, and late events;
// still-anonymous visitors have a row of their own; a privacy delete takes the rows with it.
func TestFirstSeenAfterMerge(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-100 * time.Hour)
	visit := func(session, anon string, hour int, url string) ev {
		return ev{project: p, session: session, anon: anon, name: "$pageview", ts: t0.Add(time.Duration(hour) * time.Hour),
			props: map[string]any{"url": url, "referrer": "https://ref-" + session + ".test/"}}
	}
	copyEvents(t, db.Pool,
		visit("s1", "a1", 10, "https://app.test/a?utm_campaign=c1"),
		visit("s2", "a1", 20, "https://app.test/later"), // a1's second session
		visit("s3", "a2", 5, "https://app.test/b?utm_campaign=c2"),
		visit("s4", "a3", 30, "https://app.test/c"), // stays anonymous
	)
	if got, want := firstSeen(t, db.Pool, p, t0), strings.Join([]string{
		"a1 - 10h /a ref-s1.test c1",
		"a2 - 5h /b ref-s3.test c2",
		"a3 - 30h /c ref-s4.test -",
	}, "\n"); got != want {
		t.Errorf("anonymous:\n%s\nwant\n%s", got, want)
	}

	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a2', 'u2')`, p)
	// u3 comes from a server: events with a user id and no anon id.
	copyEvents(t, db.Pool, ev{project: p, session: "s5", user: ptr("u3"), name: "$pageview", ts: t0.Add(2 * time.Hour),
		props: map[string]any{"path": "/server"}})
	exec(t, db.Pool, `SELECT beacon.identify($1, '', 'u3')`, p)
	identified := strings.Join([]string{
		"a3 - 30h /c ref-s4.test -",
		"u1 u1 10h /a ref-s1.test c1",
		"u2 u2 5h /b ref-s3.test c2",
		"u3 u3 2h /server (direct) -",
	}, "\n")
	if got := firstSeen(t, db.Pool, p, t0); got != identified {
		t.Errorf("identified:\n%s\nwant\n%s", got, identified)
	}

	// u1 and u2 are one person: its first visit is u2's (a2, hour 5).
	merge := scalar[int64](t, db.Pool, `SELECT beacon.merge_users($1, 'u2', 'u1')`, p)
	if got, want := firstSeen(t, db.Pool, p, t0), strings.Join([]string{
		"a3 - 30h /c ref-s4.test -",
		"u1 u1 5h /b ref-s3.test c2",
		"u3 u3 2h /server (direct) -",
	}, "\n"); got != want {
		t.Errorf("after merge:\n%s\nwant\n%s", got, want)
	}
	// A late event of an earlier session of a1 moves the person's first visit.
	copyEvents(t, db.Pool, visit("s0", "a1", 1, "https://app.test/first?utm_campaign=c0"))
	if got, want := firstSeen(t, db.Pool, p, t0), strings.Join([]string{
		"a3 - 30h /c ref-s4.test -",
		"u1 u1 1h /first ref-s0.test c0",
		"u3 u3 2h /server (direct) -",
	}, "\n"); got != want {
		t.Errorf("after a late earlier session:\n%s\nwant\n%s", got, want)
	}
	exec(t, db.Pool, `SELECT beacon.unmerge_users($1, $2)`, p, merge)
	if got, want := firstSeen(t, db.Pool, p, t0), strings.Join([]string{
		"a3 - 30h /c ref-s4.test -",
		"u1 u1 1h /first ref-s0.test c0",
		"u2 u2 5h /b ref-s3.test c2",
		"u3 u3 2h /server (direct) -",
	}, "\n"); got != want {
		t.Errorf("after unmerge:\n%s\nwant\n%s", got, want)
	}

	// Only sessions a batch starts reach first_seen_ids: an ongoing session's events do not even
	// lock its ids' rows (an upsert would, leaving its transaction id in xmax), and a new session
	// of a known id locks but does not change it.
	const a3 = `SELECT xmin::text || ' ' || xmax::text FROM beacon.first_seen_ids WHERE project_id = $1 AND kind = 'a' AND id = 'a3'`
	before := scalar[string](t, db.Pool, a3, p)
	copyEvents(t, db.Pool, visit("s4", "a3", 31, "https://app.test/d"))
	if got := scalar[string](t, db.Pool, a3, p); got != before {
		t.Errorf("a3's first_seen_ids row (xmin, xmax) = %s after an ongoing session's event, was %s", got, before)
	}
	copyEvents(t, db.Pool, visit("s6", "a3", 40, "https://app.test/e"))
	if got := firstSeen(t, db.Pool, p, t0); !strings.HasPrefix(got, "a3 - 30h /c ") {
		t.Errorf("after a3's second session:\n%s\nwant a3 first seen at 30h still", got)
	}

	exec(t, db.Pool, `SELECT beacon.delete_person($1, 'u1')`, p)
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.first_seen_ids WHERE project_id = $1 AND id IN ('a1', 'u1')`, p); n != 0 {
		t.Errorf("%d first_seen_ids rows of a deleted person, want 0", n)
	}
}
