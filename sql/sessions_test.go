package sql_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

type session struct {
	Anon, EntryEvent, ExitEvent string
	User, EntryPage, ExitPage   *string
	First, Last                 time.Time
	Count                       int64
	Duration                    time.Duration
}

func getSession(t *testing.T, q querier, project, id string) session {
	t.Helper()
	var s session
	err := q.QueryRow(ctx(t), `
		SELECT anon_id, user_id, first_seen, last_seen, event_count, entry_event, exit_event,
		       entry_page, exit_page, duration
		FROM beacon.sessions WHERE project_id = $1 AND session_id = $2`, project, id).
		Scan(&s.Anon, &s.User, &s.First, &s.Last, &s.Count, &s.EntryEvent, &s.ExitEvent, &s.EntryPage, &s.ExitPage, &s.Duration)
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return s
}

func TestSessionsFromBatches(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	pv := func(path string) map[string]any { return map[string]any{"path": path, "url": "https://x.test" + path} }

	copyEvents(t, db.Pool,
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", props: pv("/b"), ts: at(10)},
		ev{project: p, session: "s1", anon: "a1", name: "click", ts: at(20)},
		ev{project: p, session: "s2", anon: "a2", name: "click", ts: at(5)},
		ev{project: p, session: "", anon: "a3", name: "server", ts: at(5)},
	)
	// A later batch carries an earlier event (a late client) and a later one.
	copyEvents(t, db.Pool,
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", props: pv("/a"), ts: at(0)},
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", props: pv("/c"), ts: at(30)},
		ev{project: p, session: "s1", anon: "a1", user: ptr("u1"), name: "leave", ts: at(40)},
	)
	got := getSession(t, db.Pool, p, "s1")
	if got.Anon != "a1" || got.User == nil || *got.User != "u1" || !got.First.Equal(at(0)) || !got.Last.Equal(at(40)) ||
		got.Count != 5 || got.EntryEvent != "$pageview" || got.ExitEvent != "leave" ||
		got.EntryPage == nil || *got.EntryPage != "/a" || got.ExitPage == nil || *got.ExitPage != "/c" ||
		got.Duration != 40*time.Second {
		t.Errorf("session s1 = %+v (pages %v %v)", got, deref(got.EntryPage), deref(got.ExitPage))
	}
	if s2 := getSession(t, db.Pool, p, "s2"); s2.Count != 1 || s2.EntryPage != nil || s2.Duration != 0 {
		t.Errorf("session s2 = %+v", s2)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.sessions`); n != 2 {
		t.Errorf("%d sessions, want 2 (events without a session id make none)", n)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// The relay's slow path for a batch holding a duplicate: COPY fails with 23505 (and its trigger
// work is rolled back with it), then the batch goes through a temp table and ON CONFLICT DO
// NOTHING. Sessions count only the rows that were really inserted.
func TestSessionsDedupSlowPath(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now().UTC()
	first := ev{project: p, session: "s", anon: "a", name: "one", ts: now, id: newUUID()}
	copyEvents(t, db.Pool, first)

	batch := [][]any{first.row(), ev{project: p, session: "s", anon: "a", name: "two", ts: now.Add(time.Second)}.row()}
	_, err := db.Pool.CopyFrom(ctx(t), pgx.Identifier{"beacon", "events"}, eventColumns, pgx.CopyFromRows(batch))
	wantErr(t, err, "23505", `duplicate key value violates unique constraint`)

	c := conn(t, db)
	tx, err := c.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, `CREATE TEMP TABLE retry (LIKE beacon.events) ON COMMIT DROP`)
	if _, err := tx.CopyFrom(ctx(t), pgx.Identifier{"retry"}, eventColumns, pgx.CopyFromRows(batch)); err != nil {
		t.Fatal(err)
	}
	exec(t, tx, `INSERT INTO beacon.events SELECT * FROM retry ON CONFLICT DO NOTHING`)
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if s := getSession(t, db.Pool, p, "s"); s.Count != 2 || s.ExitEvent != "two" {
		t.Errorf("session = %+v, want 2 events ending with two", s)
	}
}
