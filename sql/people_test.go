package sql_test

import (
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// forest is the merge forest of a project: each user with its merged_into, then the merges in
// force as from>into.
func forest(t *testing.T, db *testdb.DB, p string) string {
	t.Helper()
	return scalar[string](t, db.Pool, `
		SELECT coalesce((SELECT string_agg(user_id || '>' || coalesce(merged_into, '-'), ',' ORDER BY user_id)
		                 FROM beacon.users WHERE project_id = $1), '') || ' | ' ||
		       coalesce((SELECT string_agg(from_user || '>' || into_user, ',' ORDER BY from_user)
		                 FROM beacon.user_merges WHERE project_id = $1), '')`, p)
}

// Deleting a user keeps the rest of its person together and the forest consistent, whatever its
// place in it; merging and unmerging work afterwards.
func TestDeleteUserKeepsMergeForest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		merges [][2]string // merge_users(from, into), in order
		del    string
		want   string
		after  string // a merge_users(from, into) that must work afterwards, as "from>into"
	}{
		// The reported case: B into A, A into R, delete R: A becomes the root again, B stays with
		// A, and merging B into A is a no-op, not a 23505.
		{"root of a chain", [][2]string{{"B", "A"}, {"A", "R"}}, "R", "A>-,B>A | B>A", "B>A"},
		{"middle of a chain", [][2]string{{"B", "A"}, {"A", "R"}}, "A", "B>R,R>- | B>R", "B>R"},
		{"leaf", [][2]string{{"B", "A"}, {"A", "R"}}, "B", "A>R,R>- | A>R", "A>R"},
		// A root with two merges into it: the older one's user becomes the root.
		{"root of two", [][2]string{{"C", "R"}, {"D", "R"}}, "R", "C>-,D>C | D>C", "D>C"},
		{"root of a tree", [][2]string{{"B", "A"}, {"C", "R"}, {"A", "R"}}, "R", "A>C,B>C,C>- | A>C,B>A", "B>C"},
		{"unmerged user", [][2]string{{"B", "A"}}, "R", "A>-,B>A | B>A", "B>A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			p := newProject(t, db.Pool)
			users := map[string]bool{tc.del: true}
			for _, m := range tc.merges {
				users[m[0]], users[m[1]] = true, true
			}
			for u := range users {
				exec(t, db.Pool, `SELECT beacon.identify($1, 'anon-' || $2, $2)`, p, u)
			}
			merged := false
			for _, m := range tc.merges {
				exec(t, db.Pool, `SELECT beacon.merge_users($1, $2, $3)`, p, m[0], m[1])
				merged = merged || m[0] == tc.del || m[1] == tc.del
			}
			exec(t, db.Pool, `DELETE FROM beacon.users WHERE project_id = $1 AND user_id = $2`, p, tc.del)
			if got := forest(t, db, p); got != tc.want {
				t.Fatalf("after deleting %s: %s, want %s", tc.del, got, tc.want)
			}
			// Every non-root's merged_into is the end of its chain of merges: the invariant merges
			// and unmerges rely on.
			if bad := scalar[int](t, db.Pool, `
				WITH RECURSIVE walk (user_id, cur, depth) AS (
				    SELECT u.user_id, u.user_id, 0 FROM beacon.users u WHERE u.project_id = $1
				    UNION ALL
				    SELECT w.user_id, m.into_user, w.depth + 1 FROM walk w
				    JOIN beacon.user_merges m ON m.project_id = $1 AND m.from_user = w.cur
				), roots AS (
				    SELECT DISTINCT ON (w.user_id) w.user_id, w.cur FROM walk w ORDER BY w.user_id, w.depth DESC
				)
				SELECT count(*) FROM roots r JOIN beacon.users u ON u.project_id = $1 AND u.user_id = r.user_id
				WHERE u.merged_into IS DISTINCT FROM nullif(r.cur, r.user_id)`, p); bad != 0 {
				t.Errorf("%d users whose merged_into is not the root of their merges", bad)
			}
			var from, into string
			for i, c := range tc.after {
				if c == '>' {
					from, into = tc.after[:i], tc.after[i+1:]
				}
			}
			if id := scalar[*int64](t, db.Pool, `SELECT beacon.merge_users($1, $2, $3)`, p, from, into); id != nil {
				t.Errorf("merge_users(%s, %s) after the delete made merge %d, want NULL (already one person)", from, into, *id)
			}
			// Unmerging every merge left splits everyone again.
			exec(t, db.Pool, `SELECT beacon.unmerge_users($1, m.merge_id) FROM (SELECT merge_id FROM beacon.user_merges WHERE project_id = $1 ORDER BY merge_id DESC) m`, p)
			if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.users WHERE project_id = $1 AND merged_into IS NOT NULL`, p); n != 0 {
				t.Errorf("%d users still merged after unmerging every merge", n)
			}
			wantAudit := 0
			if merged {
				wantAudit = 1
			}
			if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.identity_audit WHERE project_id = $1 AND action = 'delete' AND user_id = $2`, p, tc.del); n != wantAudit {
				t.Errorf("%d delete audit rows for %s, want %d", n, tc.del, wantAudit)
			}
			// The deleted user's anonymous id went to the user that took its place.
			if merged {
				if got := scalar[string](t, db.Pool, `SELECT user_id FROM beacon.aliases WHERE project_id = $1 AND anon_id = 'anon-' || $2`, p, tc.del); got == tc.del {
					t.Errorf("alias of the deleted user %s still points at it", tc.del)
				}
			}
		})
	}
}

// A privacy delete of a person removes every user of the person, their aliases, events, sessions
// and daily ids, recounts the days, and leaves other people alone.
func TestDeletePerson(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	now := time.Now()
	copyEvents(t, db.Pool,
		ev{project: p, session: "s1", anon: "a1", name: "$pageview", ts: now},
		ev{project: p, session: "s2", anon: "a2", user: ptr("u2"), name: "click", ts: now},
		ev{project: p, session: "s3", anon: "a3", user: ptr("keep"), name: "click", ts: now},
		ev{project: p, session: "s4", anon: "a4", name: "anon", ts: now},
	)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1'), beacon.identify($1, 'a2', 'u2'), beacon.identify($1, 'a3', 'keep')`, p)
	exec(t, db.Pool, `SELECT beacon.merge_users($1, 'u2', 'u1')`, p)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	exec(t, db.Pool, `UPDATE beacon.rollup_state SET refreshed_at = '-infinity'`)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	if got := scalar[int](t, db.Pool, `SELECT visitors FROM analytics.daily WHERE project_id = $1`, p); got != 3 {
		t.Fatalf("visitors before = %d, want 3 (u1 merged with u2, keep, a4)", got)
	}

	got := scalar[string](t, db.Pool, `SELECT beacon.delete_person($1, 'u2')::text`, p)
	if want := `{"users": 2, "events": 2, "anon_ids": 2, "sessions": 2, "daily_ids": 4}`; got != want {
		t.Errorf("delete_person = %s, want %s", got, want)
	}
	for _, q := range []string{
		`SELECT count(*) FROM beacon.users WHERE project_id = $1 AND user_id <> 'keep'`,
		`SELECT count(*) FROM beacon.aliases WHERE project_id = $1 AND user_id <> 'keep'`,
		`SELECT count(*) FROM beacon.user_merges WHERE project_id = $1`,
		`SELECT count(*) FROM beacon.events WHERE project_id = $1 AND anon_id IN ('a1', 'a2')`,
		`SELECT count(*) FROM beacon.sessions WHERE project_id = $1 AND session_id IN ('s1', 's2')`,
		`SELECT count(*) FROM beacon.rollup_daily_ids WHERE project_id = $1 AND id IN ('u1', 'u2', 'a1', 'a2')`,
	} {
		if n := scalar[int](t, db.Pool, q, p); n != 0 {
			t.Errorf("%d rows left: %s", n, oneLine(q))
		}
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p); n != 2 {
		t.Errorf("%d events left, want the other two", n)
	}
	if got := scalar[string](t, db.Pool, `SELECT user_id || ':' || (detail->>'person') FROM beacon.identity_audit WHERE project_id = $1 AND action = 'delete'`, p); got != "u1:true" {
		t.Errorf("audit = %s, want the root u1", got)
	}
	exec(t, db.Pool, `UPDATE beacon.rollup_state SET refreshed_at = '-infinity'`)
	exec(t, db.Pool, `CALL beacon.maintain()`)
	if got := scalar[int](t, db.Pool, `SELECT visitors FROM analytics.daily WHERE project_id = $1`, p); got != 2 {
		t.Errorf("visitors after = %d, want 2", got)
	}
	_, err := db.Pool.Exec(ctx(t), `SELECT beacon.delete_person($1, 'u1')`, p)
	wantErr(t, err, "P0002", "delete_person: no user u1 in project "+p)
}

// Deleting a project with merged people takes them all, without the per-user re-pointing.
func TestDeleteProjectWithMerges(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a' || u, u) FROM unnest('{A,B,R}'::text[]) u`, p)
	exec(t, db.Pool, `SELECT beacon.merge_users($1, 'B', 'A'), beacon.merge_users($1, 'A', 'R')`, p)
	exec(t, db.Pool, `DELETE FROM beacon.projects WHERE project_id = $1`, p)
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.users WHERE project_id = $1`, p); n != 0 {
		t.Errorf("%d users left", n)
	}
}
