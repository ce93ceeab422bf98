package sql_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

func TestIdentifyMergesTraitsAndAliases(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'anon-1', 'u1', '{"plan":"free","name":"Ann"}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'anon-2', 'u1', '{"plan":"pro"}')`, p)
	if got := scalar[string](t, db.Pool, `SELECT traits::text FROM beacon.users WHERE project_id = $1 AND user_id = 'u1'`, p); got != `{"name": "Ann", "plan": "pro"}` {
		t.Errorf("traits = %s, want newer plan and kept name", got)
	}
	// Two anon histories are one person; a second user on the same device does not take the
	// first one's anonymous history.
	exec(t, db.Pool, `SELECT beacon.identify($1, 'anon-1', 'u2', NULL)`, p)
	if got := scalar[string](t, db.Pool, `SELECT string_agg(anon_id || '=' || user_id, ',' ORDER BY anon_id) FROM beacon.aliases WHERE project_id = $1`, p); got != "anon-1=u1,anon-2=u1" {
		t.Errorf("aliases = %s", got)
	}
	if got := scalar[string](t, db.Pool, `SELECT string_agg(action || ':' || anon_id || '=' || user_id || ':' || db_role, ',' ORDER BY audit_id) FROM beacon.identity_audit WHERE project_id = $1`, p); got != "alias:anon-1=u1:beacon,alias:anon-2=u1:beacon" {
		t.Errorf("audit = %s", got)
	}
}

func TestIdentifyErrors(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	long := make([]byte, 201)
	for i := range long {
		long[i] = 'x'
	}
	for _, tc := range []struct {
		user, traits, msg string
	}{
		{"", `{}`, "identify: user id must not be empty"},
		{string(long), `{}`, "identify: user id must be at most 200 characters, got 201"},
		{"u", `[1]`, "identify: traits must be a JSON object, got array"},
		{"u", `"x"`, "identify: traits must be a JSON object, got string"},
	} {
		_, err := db.Pool.Exec(ctx(t), `SELECT beacon.identify($1, 'a', $2, $3::jsonb)`, p, tc.user, tc.traits)
		wantErr(t, err, "22023", tc.msg)
	}
}

// Two connections race identifies of the same people (same users, overlapping anon ids) and
// merges of the same two users in opposite directions: no deadlock, no lost trait, one merge.
func TestConcurrentIdentifiesAndMerges(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.identify($1, '', 'u0', '{}'), beacon.identify($1, '', 'u1', '{}')`, p)
	const n = 150
	c := [2]querier{conn(t, db), conn(t, db)}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n+2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				user := fmt.Sprintf("u%d", j%2)
				anon := fmt.Sprintf("anon-%d", j%7) // both connections alias the same anon ids
				traits := fmt.Sprintf(`{"w%d_%d": %d, "last": %d}`, w, j, j, w)
				if _, err := c[w].Exec(ctx(t), `SELECT beacon.identify($1, $2, $3, $4)`, p, anon, user, traits); err != nil {
					errs <- err
					return
				}
				if j == n/2 {
					from, into := "u0", "u1"
					if w == 1 {
						from, into = into, from
					}
					if _, err := c[w].Exec(ctx(t), `SELECT beacon.merge_users($1, $2, $3)`, p, from, into); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent identify/merge: %v", err)
	}
	for u := range 2 {
		keys := scalar[int](t, db.Pool, `
			SELECT count(*) FROM beacon.users, jsonb_object_keys(traits) k
			WHERE project_id = $1 AND user_id = $2 AND k LIKE 'w%'`, p, fmt.Sprintf("u%d", u))
		if keys != n {
			t.Errorf("user u%d has %d of %d trait keys", u, keys, n)
		}
	}
	if m := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.user_merges WHERE project_id = $1`, p); m != 1 {
		t.Errorf("%d merges in force, want 1 (the second saw one person)", m)
	}
	if roots := scalar[int](t, db.Pool, `SELECT count(DISTINCT coalesce(merged_into, user_id)) FROM beacon.users WHERE project_id = $1`, p); roots != 1 {
		t.Errorf("%d people, want 1", roots)
	}
	if a := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.aliases WHERE project_id = $1`, p); a != 7 {
		t.Errorf("%d aliases, want 7", a)
	}
}

func TestMergeAndUnmerge(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1', '{"x":1,"plan":"free"}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a2', 'u2', '{"y":2}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a3', 'u3', '{"plan":"pro"}')`, p)
	people := func() string {
		return scalar[string](t, db.Pool, `
			SELECT string_agg(user_id || '>' || coalesce(merged_into, '-'), ',' ORDER BY user_id)
			FROM beacon.users WHERE project_id = $1`, p)
	}
	m1 := scalar[int64](t, db.Pool, `SELECT beacon.merge_users($1, 'u1', 'u2')`, p)
	m2 := scalar[int64](t, db.Pool, `SELECT beacon.merge_users($1, 'u2', 'u3')`, p)
	if got := people(); got != "u1>u3,u2>u3,u3>-" {
		t.Fatalf("after merges: %s", got)
	}
	if got := scalar[string](t, db.Pool, `SELECT beacon.person_traits($1, 'u3')::text`, p); got != `{"x": 1, "y": 2, "plan": "pro"}` {
		t.Errorf("person traits = %s", got)
	}
	if id := scalar[*int64](t, db.Pool, `SELECT beacon.merge_users($1, 'u1', 'u3')`, p); id != nil {
		t.Errorf("merging one person with itself returned %d, want NULL", *id)
	}
	exec(t, db.Pool, `SELECT beacon.unmerge_users($1, $2)`, p, m1)
	if got := people(); got != "u1>-,u2>u3,u3>-" {
		t.Errorf("after unmerge of the first merge: %s", got)
	}
	exec(t, db.Pool, `SELECT beacon.unmerge_users($1, $2)`, p, m2)
	if got := people(); got != "u1>-,u2>-,u3>-" {
		t.Errorf("after unmerging both: %s", got)
	}
	if got := scalar[string](t, db.Pool, `
		SELECT string_agg(action || ':' || user_id || '>' || other_user, ',' ORDER BY audit_id)
		FROM beacon.identity_audit WHERE project_id = $1 AND action IN ('merge', 'unmerge')`, p); got != "merge:u1>u2,merge:u2>u3,unmerge:u1>u2,unmerge:u2>u3" {
		t.Errorf("audit = %s", got)
	}

	_, err := db.Pool.Exec(ctx(t), `SELECT beacon.merge_users($1, 'u1', 'u1')`, p)
	wantErr(t, err, "22023", "merge_users: cannot merge user u1 into itself")
	_, err = db.Pool.Exec(ctx(t), `SELECT beacon.merge_users($1, 'nobody', 'u1')`, p)
	wantErr(t, err, "P0002", "merge_users: no user nobody in project "+p)
	_, err = db.Pool.Exec(ctx(t), `SELECT beacon.unmerge_users($1, $2)`, p, m1)
	wantErr(t, err, "P0002", fmt.Sprintf("unmerge_users: no merge %d in force in project %s", m1, p))

	// unalias is audited too.
	if !scalar[bool](t, db.Pool, `SELECT beacon.unalias($1, 'a1')`, p) {
		t.Error("unalias a1 = false")
	}
}

func TestIdentityAuditIsAppendOnly(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a1', 'u1')`, p)
	_, err := db.Pool.Exec(ctx(t), `UPDATE beacon.identity_audit SET user_id = 'forged'`)
	wantErr(t, err, "42501", "beacon.identity_audit is append-only: UPDATE is not allowed")
	_, err = db.Pool.Exec(ctx(t), `DELETE FROM beacon.identity_audit`)
	wantErr(t, err, "42501", "beacon.identity_audit is append-only: DELETE is not allowed")
	_, err = db.Pool.Exec(ctx(t), `TRUNCATE beacon.identity_audit`)
	wantErr(t, err, "42501", "beacon.identity_audit is append-only: TRUNCATE is not allowed")
}
