package sql_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// The insert triggers of 014 (one pass over the batch, grouped before the per-value work) give
// exactly what 011's gave: the same mixed batches are COPYed into a database as migrated and into
// one where 011's trigger functions are put back, and sessions, pending rollups (summed per key)
// and daily ids are compared.
func TestTriggersMatch011(t *testing.T) {
	t.Parallel()
	cur, ref := testdb.New(t), testdb.New(t)
	// 011's functions need 003's event_page, which the code package no longer carries.
	eventPage := regexp.MustCompile(`(?s)CREATE FUNCTION beacon\.event_page\(.*?\$\$;`).FindString(legacyFile(t, "003_sessions.sql"))
	if eventPage == "" {
		t.Fatal("no event_page in 003_sessions.sql")
	}
	exec(t, ref.Pool, eventPage)
	exec(t, ref.Pool, legacyFile(t, "011_cheaper_triggers.sql"))
	// Issue 11 changed what a page (no query string or fragment) and a same-site referrer (same
	// host) are, in code/ingest.sql; 011's per-event functions get those rules, so the comparison
	// still checks what the triggers do with them.
	exec(t, ref.Pool, `
		CREATE OR REPLACE FUNCTION beacon.event_page(p_name text, p_props jsonb) RETURNS text
		LANGUAGE sql IMMUTABLE AS $$
			SELECT CASE WHEN p_name = '$pageview' THEN beacon.page_of(p_props->>'path', p_props->>'url') END
		$$;
		CREATE OR REPLACE FUNCTION beacon.event_referrer(p_name text, p_props jsonb) RETURNS text
		LANGUAGE sql IMMUTABLE AS $$
			SELECT CASE WHEN p_name = '$pageview'
			            THEN beacon.referrer_of(p_props->>'referrer', beacon.site_of(p_props->>'url')) END
		$$`)

	projects := []string{newProject(t, cur.Pool), newProject(t, cur.Pool)}
	rng := rand.New(rand.NewPCG(14, 2026))
	for b := range 12 {
		rows := mixedBatch(rng, projects, b, 400)
		for _, db := range []*testdb.DB{cur, ref} {
			if _, err := db.Pool.CopyFrom(ctx(t), pgx.Identifier{"beacon", "events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
				t.Fatalf("batch %d: %v", b, err)
			}
		}
	}

	for _, q := range []struct{ what, sql string }{
		{"sessions", `
			SELECT project_id, session_id, anon_id, user_id, first_seen, last_seen, event_count, entry_event,
			       exit_event, entry_page, exit_page, entry_page_at, exit_page_at
			FROM beacon.sessions ORDER BY project_id, session_id COLLATE "C"`},
		// (Without 013's 'session' rows: the sessions trigger's queue for the overview, which 011 had not.)
		{"pending rollups", `
			SELECT project_id, kind, bucket, key, sum(n) FROM beacon.rollup_pending WHERE kind <> 'session'
			GROUP BY 1, 2, 3, 4 ORDER BY project_id, kind, bucket, key COLLATE "C"`},
		{"daily ids", `SELECT project_id, day, kind, id FROM beacon.rollup_daily_ids ORDER BY project_id, day, kind, id COLLATE "C"`},
	} {
		got, want := dump(t, cur, q.sql), dump(t, ref, q.sql)
		if len(want) < 20 {
			t.Fatalf("%s: only %d rows: the batches do not exercise the triggers", q.what, len(want))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			for i := range max(len(got), len(want)) {
				g, w := "<none>", "<none>"
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Errorf("%s row %d:\n got %s\nwant %s", q.what, i, g, w)
					break
				}
			}
			t.Errorf("%s: %d rows, want %d (011)", q.what, len(got), len(want))
		}
	}
	// The batches must reach the interesting cases.
	for _, q := range []string{
		`SELECT count(*) FROM beacon.rollup_pending WHERE kind = 'referrer' AND key = '(direct)'`,
		`SELECT count(*) FROM beacon.rollup_pending WHERE kind IN ('browser', 'device', 'os')`,
		`SELECT count(*) FROM beacon.rollup_daily_ids WHERE kind = 'u'`,
		`SELECT count(*) FROM beacon.sessions WHERE entry_page IS NOT NULL AND entry_page <> exit_page`,
		`SELECT count(*) FROM beacon.sessions WHERE first_seen::date <> last_seen::date`,
	} {
		if n := scalar[int](t, cur.Pool, q); n == 0 {
			t.Errorf("no rows for %s", oneLine(q))
		}
	}
}

// mixedBatch makes n events of two projects: sessions that come back in later batches (late
// events included), ties in ts (broken by event id), a day boundary, identified and anonymous
// events, $pageviews with every props shape the rollups read, and the odd values the triggers must
// leave out (infinite ts, ids over 1,000 bytes, long names, props that are not objects).
func mixedBatch(rng *rand.Rand, projects []string, batch, n int) [][]any {
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	long := strings.Repeat("x", 1001)
	rows := make([][]any, n)
	for i := range rows {
		s := rng.IntN(40)
		session := fmt.Sprintf("s%02d", s)
		anon := fmt.Sprintf("a%02d", s)
		var user *string
		switch r := rng.IntN(20); {
		case r < 4:
			user = ptr(fmt.Sprintf("u%d", s%5))
		case r == 4:
			anon = ""
		case r == 5:
			anon = fmt.Sprintf("a%02d-other", s)
		case r == 6:
			session = ""
		}
		// Few distinct times per session and batch: many ties. Batches go forward around midnight,
		// with some events late (an earlier batch's times).
		minute := (batch-3)*10 + rng.IntN(4)*5 - rng.IntN(2)*rng.IntN(30)
		ts := pgtype.Timestamptz{Time: midnight.Add(time.Duration(minute) * time.Minute), Valid: true}
		name := pick("$pageview", "$pageview", "$pageview", "click", "signup", "Émoji ✓")
		var props any = map[string]any{}
		if name == "$pageview" {
			p := map[string]any{}
			path := pick("/", "/pricing", "/docs", "/Docs", "")
			if path != "" || rng.IntN(2) == 0 {
				p["path"] = path
			}
			host := pick("app.test", "App.Test", "shop.test")
			if rng.IntN(5) > 0 {
				p["url"] = "https://" + host + "/p" + path
			}
			if r := pick("", "same", "ext", "ext2", "weird", "none"); r != "none" {
				p["referrer"] = map[string]string{"": "", "same": "https://app.test/prev", "ext": "https://www.Google.com/search?q=1",
					"ext2": "http://user:pw@news.test:8080/x#y", "weird": "not a url"}[r]
			}
			for _, k := range []string{"browser", "device", "os"} {
				switch rng.IntN(4) {
				case 0:
					p["$"+k] = pick("A", "B")
				case 1:
					p[k] = pick("A", "C")
				case 2:
					p["$"+k], p[k] = "D", "E"
				}
			}
			props = p
		}
		switch rng.IntN(60) {
		case 0:
			ts = pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
		case 1:
			ts = pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
		case 2:
			session = long
		case 3:
			anon, user = long, nil
		case 4:
			user = ptr(long)
		case 5:
			name = strings.Repeat("n", 250)
		case 6:
			props = []byte(`[1, 2]`)
		case 7:
			props = []byte(`"a string"`)
		}
		rows[i] = []any{mustUUID(projects[rng.IntN(len(projects))]), newUUID(), session, anon, user, name, props, ts, time.Now()}
	}
	return rows
}

// dump returns each row of a query as text.
func dump(t *testing.T, db *testdb.DB, q string) []string {
	t.Helper()
	rows, err := db.Pool.Query(ctx(t), q)
	if err != nil {
		t.Fatalf("%s: %v", oneLine(q), err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Concurrent writers COPY batches touching the same sessions and ids in opposite orders: the
// triggers take their row locks in key order, so none deadlocks, and every event is counted once.
func TestConcurrentCopiesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now().UTC()
	const writers, rounds, sessions = 4, 5, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := conn(t, db)
			for r := range rounds {
				rows := make([][]any, sessions)
				for i := range rows {
					s := i
					if (w+r)%2 == 1 {
						s = sessions - 1 - i // the other order
					}
					rows[i] = ev{project: p, session: fmt.Sprintf("s%03d", s), anon: fmt.Sprintf("a%03d", s), name: "$pageview",
						props: map[string]any{"path": "/"}, ts: now.Add(time.Duration(r) * time.Second)}.row()
				}
				if _, err := c.CopyFrom(ctx(t), pgx.Identifier{"beacon", "events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent COPY: %v", err)
	}
	if got := scalar[string](t, db.Pool, `SELECT count(*) || ' ' || sum(event_count) FROM beacon.sessions WHERE project_id = $1`, p); got != fmt.Sprintf("%d %d", sessions, writers*rounds*sessions) {
		t.Errorf("sessions, events counted = %s, want %d %d", got, sessions, writers*rounds*sessions)
	}
	if got := scalar[bool](t, db.Pool, `
		SELECT count(*) = 2 * $2 * (SELECT count(DISTINCT (ts AT TIME ZONE 'UTC')::date) FROM beacon.events WHERE project_id = $1)
		FROM beacon.rollup_daily_ids WHERE project_id = $1`, p, sessions); !got {
		t.Errorf("daily ids: want one anon and one session id per session and day")
	}
}
