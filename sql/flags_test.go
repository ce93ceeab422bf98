package sql_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

func flagsOf(t *testing.T, q querier, project, anon string, user *string) map[string]bool {
	t.Helper()
	var m map[string]bool
	if err := q.QueryRow(ctx(t), `SELECT beacon.evaluate_flags($1, $2, $3)`, project, anon, user).Scan(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFlagDefaultsApplyToEveryone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	if got := scalar[string](t, db.Pool, `SELECT beacon.evaluate_flags($1, 'a', NULL)::text`, p); got != "{}" {
		t.Errorf("no flags: %s, want {}", got)
	}
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'on', true), ($1, 'off', false)`, p)
	for i := range 50 {
		got := flagsOf(t, db.Pool, p, fmt.Sprintf("anon-%d", i), nil)
		if !got["on"] || got["off"] || len(got) != 2 {
			t.Fatalf("anon-%d: %v, want on everywhere and off nowhere", i, got)
		}
	}
}

// flagBucket is beacon.flag_bucket written from its documentation, as an SDK would.
func flagBucket(key, id string) int {
	sum := sha256.Sum256([]byte(key + ":" + id))
	return int(binary.BigEndian.Uint32(sum[:4]) % 10000)
}

func TestRolloutKeepsEarlierIds(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled, rollout_percent) VALUES ($1, 'new-ui', true, 10)`, p)
	const n = 2000
	anons := make([]string, n)
	users := make([]*string, n)
	for i := range anons {
		anons[i] = fmt.Sprintf("anon-%d", i)
	}
	onAt := func() map[int]bool {
		rows, err := db.Pool.Query(ctx(t), `SELECT idx, (flags->>'new-ui')::boolean FROM beacon.evaluate_flags_many($1, $2, $3)`, p, anons, users)
		if err != nil {
			t.Fatal(err)
		}
		on := map[int]bool{}
		count := 0
		for rows.Next() {
			var idx int
			var v bool
			if err := rows.Scan(&idx, &v); err != nil {
				t.Fatal(err)
			}
			count++
			if v {
				on[idx] = true
			}
		}
		if count != n {
			t.Fatalf("%d rows, want %d", count, n)
		}
		return on
	}
	ten := onAt()
	exec(t, db.Pool, `UPDATE beacon.flags SET rollout_percent = 20 WHERE project_id = $1`, p)
	twenty := onAt()
	for idx := range ten {
		if !twenty[idx] {
			t.Errorf("anon-%d was in at 10%% and out at 20%%", idx-1)
		}
	}
	if len(ten) < 150 || len(ten) > 250 || len(twenty) < 330 || len(twenty) > 470 {
		t.Errorf("on for %d at 10%% and %d at 20%% of %d ids", len(ten), len(twenty), n)
	}
	// The documented bucketing reproduces the database's decision for every id.
	for i, a := range anons {
		if want := flagBucket("new-ui", a) < 2000; want != twenty[i+1] {
			t.Fatalf("%s: documented bucket says %v, database says %v", a, want, twenty[i+1])
		}
	}
}

func TestFlagTargeting(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a-pro', 'pro', '{"plan":"pro","country":"US","beta":null}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a-free', 'free', '{"plan":"free","country":"FR"}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a-other', 'other', '{"country":"CA"}')`, p)
	exec(t, db.Pool, `
		INSERT INTO beacon.flags (project_id, key, enabled, rules) VALUES
		    ($1, 'pro-only', true, '[{"trait":"plan","op":"eq","value":"pro"}]'),
		    ($1, 'americas', true, '[{"trait":"country","op":"in","values":["US","CA"]}]'),
		    ($1, 'beta',     true, '[{"trait":"beta","op":"exists"}]'),
		    ($1, 'both',     true, '[{"trait":"plan","op":"eq","value":"pro"},{"trait":"country","op":"in","values":["FR"]}]')`, p)
	for _, tc := range []struct {
		anon string
		user *string
		want string
	}{
		{"a-pro", ptr("pro"), "americas beta pro-only"},
		{"a-pro", nil, "americas beta pro-only"}, // anon id aliased to the user
		{"a-free", ptr("free"), ""},
		{"x", ptr("other"), "americas"},
		{"nobody", nil, ""}, // anonymous: no traits
	} {
		if got := onKeys(flagsOf(t, db.Pool, p, tc.anon, tc.user)); got != tc.want {
			t.Errorf("%s/%v: on = %q, want %q", tc.anon, deref(tc.user), got, tc.want)
		}
	}
	// Merged people are evaluated with their merged traits: free's plan, other's (newer) country.
	exec(t, db.Pool, `SELECT beacon.merge_users($1, 'free', 'other')`, p)
	if got := onKeys(flagsOf(t, db.Pool, p, "a-free", nil)); got != "americas" {
		t.Errorf("merged free+other: on = %q, want americas", got)
	}
}

func onKeys(m map[string]bool) string {
	var keys []string
	for k, v := range m {
		if v {
			keys = append(keys, k)
		}
	}
	sortStrings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += k
	}
	return s
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestFlagRuleErrors(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	for _, tc := range []struct{ rules, msg string }{
		{`{}`, "flag rules must be a JSON array, got object"},
		{`[1]`, "flag rule 1: must be a JSON object, got number"},
		{`[{"op":"eq","value":1}]`, `flag rule 1: "trait" must be a non-empty string`},
		{`[{"trait":"a","op":"exists"},{"trait":"a","op":"gt"}]`, `flag rule 2: "op" must be one of eq, in, exists, got "gt"`},
		{`[{"trait":"a","op":"eq"}]`, `flag rule 1: op eq needs a "value"`},
		{`[{"trait":"a","op":"in","values":"x"}]`, `flag rule 1: op in needs "values", a JSON array`},
	} {
		_, err := db.Pool.Exec(ctx(t), `INSERT INTO beacon.flags (project_id, key, enabled, rules) VALUES ($1, 'f', true, $2)`, p, tc.rules)
		wantErr(t, err, "23514", tc.msg)
	}
}

func TestFlagAudit(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'f', false)`, p)
	tx, err := db.Pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, `SET LOCAL beacon.app_user = 'alice@example.com'`)
	exec(t, tx, `UPDATE beacon.flags SET enabled = true, rollout_percent = 25 WHERE project_id = $1`, p)
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	exec(t, db.Pool, `DELETE FROM beacon.flags WHERE project_id = $1`, p)
	got := scalar[string](t, db.Pool, `
		SELECT string_agg(concat_ws(' ', action, flag_key, old_row->>'enabled', new_row->>'enabled', new_row->>'rollout_percent', db_role, login_role, coalesce(app_user, '-')), '; ' ORDER BY audit_id)
		FROM beacon.flag_audit WHERE project_id = $1`, p)
	want := "INSERT f false 100.00 beacon beacon -; UPDATE f false true 25.00 beacon beacon alice@example.com; DELETE f true beacon beacon -"
	if got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
	_, err = db.Pool.Exec(ctx(t), `DELETE FROM beacon.flag_audit`)
	wantErr(t, err, "42501", "beacon.flag_audit is append-only: DELETE is not allowed")
	_, err = db.Pool.Exec(ctx(t), `UPDATE beacon.flag_audit SET app_user = 'mallory'`)
	wantErr(t, err, "42501", "beacon.flag_audit is append-only: UPDATE is not allowed")
}

// Any change, here a DBA's plain UPDATE, still notifies the relays.
func TestFlagChangeNotifies(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	l := conn(t, db)
	exec(t, l, `LISTEN beacon_flags`)
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled, rules) VALUES ($1, 'f', true, '[{"trait":"x","op":"exists"}]')`, p)
	wctx, cancel := context.WithTimeout(ctx(t), 5*time.Second)
	defer cancel()
	n, err := l.WaitForNotification(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Payload != p {
		t.Errorf("payload %q, want project id %s", n.Payload, p)
	}
}
