package sql_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestVerifiedProjectRefusesUnverifiedIdentify is the victim scenario in SQL: an unverified
// identify as the victim writes nothing (no traits, no alias), and the victim keeps the flag.
func TestVerifiedProjectRefusesUnverifiedIdentify(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := scalar[string](t, db.Pool, `SELECT beacon.create_project('shop')::text`)
	exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled, rules, client_visible)
		VALUES ($1, 'big', true, '[{"trait":"plan","op":"eq","value":"enterprise"}]', true)`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'victim-anon', 'victim', '{"plan":"enterprise"}', true)`, p)

	_, err := db.Pool.Exec(ctx(t), `SELECT beacon.identify($1, 'attacker-anon', 'victim', '{"plan":"free"}')`, p)
	wantErr(t, err, "UB001", "this project verifies identities")
	_, err = db.Pool.Exec(ctx(t), `SELECT beacon.identify($1, 'attacker-anon', 'victim', '{"plan":"free"}', false)`, p)
	wantErr(t, err, "UB001", "userHash")

	if got := scalar[string](t, db.Pool, `SELECT traits->>'plan' FROM beacon.users WHERE project_id = $1 AND user_id = 'victim'`, p); got != "enterprise" {
		t.Errorf("victim's plan = %q after a refused identify, want enterprise", got)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*)::int FROM beacon.aliases WHERE project_id = $1 AND anon_id = 'attacker-anon'`, p); n != 0 {
		t.Errorf("attacker's anon id aliased %d times, want 0", n)
	}
	if got := scalar[string](t, db.Pool, `SELECT flags::text FROM beacon.connect($1, 'victim-anon')`, p); got != `{"big": true}` {
		t.Errorf("victim's connect = %s, want the flag on", got)
	}
	if got := scalar[string](t, db.Pool, `SELECT flags::text FROM beacon.connect($1, 'attacker-anon')`, p); got != `{"big": false}` {
		t.Errorf("attacker's connect = %s, want the flag off", got)
	}
}

// TestIdentitySecret: the secret is made once, readable by the owner, handed to the relay only
// while verification is on, and a hash made with it is the documented HMAC.
func TestIdentitySecret(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool) // inserted by hand: pre-004 defaults
	if on := scalar[bool](t, db.Pool, `SELECT verify_identity FROM beacon.projects WHERE project_id = $1`, p); on {
		t.Fatal("a project inserted by hand verifies identities; want the pre-004 behaviour")
	}
	if key := scalar[*string](t, db.Pool, `SELECT beacon.identity_key($1)`, p); key != nil {
		t.Fatalf("identity_key with verification off = %q, want NULL", *key)
	}
	exec(t, db.Pool, `SELECT beacon.set_identity_verification($1, true)`, p)
	secret := scalar[string](t, db.Pool, `SELECT beacon.identity_secret($1)`, p)
	if len(secret) != 64 || strings.Trim(secret, "0123456789abcdef") != "" {
		t.Fatalf("secret = %q, want 64 hex characters", secret)
	}
	if again := scalar[string](t, db.Pool, `SELECT beacon.identity_secret($1)`, p); again != secret {
		t.Fatal("identity_secret changed the secret")
	}
	if key := scalar[string](t, db.Pool, `SELECT beacon.identity_key($1)`, p); key != secret {
		t.Fatalf("identity_key = %q, want the secret", key)
	}
	rotated := scalar[string](t, db.Pool, `SELECT beacon.rotate_identity_secret($1)`, p)
	if rotated == secret || scalar[string](t, db.Pool, `SELECT beacon.identity_key($1)`, p) != rotated {
		t.Fatal("rotate_identity_secret did not replace the secret")
	}
	_, err := db.Pool.Exec(ctx(t), `SELECT beacon.identity_secret(gen_random_uuid())`)
	wantErr(t, err, "P0002", "no project")
	_, err = db.Pool.Exec(ctx(t), `SELECT beacon.set_identity_verification(gen_random_uuid(), true)`)
	wantErr(t, err, "P0002", "no project")

	// Who may read secrets: the relay one project at a time through identity_key; nobody else.
	relay := as(t, db, "beacon_relay")
	if key := scalar[string](t, relay, `SELECT beacon.identity_key($1)`, p); key != rotated {
		t.Fatal("relay cannot read the key through identity_key")
	}
	for _, role := range []string{"beacon_relay", "beacon_dashboard", "beacon_reader"} {
		c := as(t, db, role)
		for _, q := range []string{`SELECT count(*) FROM beacon.project_secrets`, `SELECT beacon.identity_secret('` + p + `')`,
			`SELECT beacon.rotate_identity_secret('` + p + `')`, `SELECT beacon.set_identity_verification('` + p + `', false)`} {
			if _, err := c.Exec(ctx(t), q); err == nil {
				t.Errorf("%s may run %s", role, q)
			} else {
				wantErr(t, err, "42501", "permission denied")
			}
		}
	}
}

// TestClientVisibleFlags: only client_visible flags reach connect and the evaluate functions,
// and a new flag takes its project's default.
func TestClientVisibleFlags(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	legacy := newProject(t, db.Pool)
	secure := scalar[string](t, db.Pool, `SELECT beacon.create_project('secure', '{https://a.test}')::text`)
	for _, p := range []string{legacy, secure} {
		exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'default', true)`, p)
		exec(t, db.Pool, `INSERT INTO beacon.flags (project_id, key, enabled, client_visible) VALUES ($1, 'shown', true, true), ($1, 'server-only', true, false)`, p)
	}
	for _, tc := range []struct{ project, want string }{
		{legacy, `{"shown": true, "default": true}`},
		{secure, `{"shown": true}`},
	} {
		if got := scalar[string](t, db.Pool, `SELECT flags::text FROM beacon.connect($1, 'a')`, tc.project); got != tc.want {
			t.Errorf("connect = %s, want %s", got, tc.want)
		}
		if got := scalar[string](t, db.Pool, `SELECT beacon.evaluate_flags($1, 'a', NULL)::text`, tc.project); got != tc.want {
			t.Errorf("evaluate_flags = %s, want %s", got, tc.want)
		}
		if got := scalar[string](t, db.Pool, `SELECT string_agg(flags::text, '|') FROM beacon.evaluate_flags_many($1, '{a,b}', '{"",u}')`, tc.project); got != tc.want+"|"+tc.want {
			t.Errorf("evaluate_flags_many = %s", got)
		}
	}
	// A server-only flag with rules does not make connect read traits for nothing, and marking
	// a flag visible shows it.
	exec(t, db.Pool, `UPDATE beacon.flags SET client_visible = true WHERE project_id = $1 AND key = 'server-only'`, secure)
	if got := scalar[string](t, db.Pool, `SELECT beacon.evaluate_flags($1, 'a', NULL)::text`, secure); got != `{"shown": true, "server-only": true}` {
		t.Errorf("after marking visible: %s", got)
	}
	_, err := db.Pool.Exec(ctx(t), `UPDATE beacon.flags SET client_visible = NULL WHERE project_id = $1`, secure)
	wantErr(t, err, "23502", "client_visible")
}

// TestTraitsBounded: 300 identifies with a new 30 KB key each no longer store 9 MB on one user;
// the limits are settings a DBA changes, and a user over a lowered limit may still identify
// without growing.
func TestTraitsBounded(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	big := strings.Repeat("x", 30<<10)
	var refused int
	for i := range 300 {
		_, err := db.Pool.Exec(ctx(t), `SELECT beacon.identify($1, 'a', 'u', jsonb_build_object($2::text, $3::text))`, p, fmt.Sprintf("k%d", i), big)
		if err != nil {
			wantErr(t, err, "UB002", "a user's traits may hold at most 200 keys and 65536 bytes")
			refused++
		}
	}
	if refused != 298 {
		t.Errorf("refused %d of 300 identifies, want 298 (two 30 KB keys fit in 64 KB)", refused)
	}
	if n := scalar[int](t, db.Pool, `SELECT octet_length(traits::text) FROM beacon.users WHERE project_id = $1 AND user_id = 'u'`, p); n > 65536 {
		t.Errorf("stored traits = %d bytes, over the limit", n)
	}

	// Keys: lower the limit below what a user has; replacing a value is still fine, a new key is not.
	exec(t, db.Pool, `UPDATE beacon.settings SET max_trait_keys = 3, max_traits_bytes = 1024`)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'b', 'v', '{"a":1,"b":2,"c":3}')`, p)
	_, err := db.Pool.Exec(ctx(t), `SELECT beacon.identify($1, 'b', 'v', '{"d":4}')`, p)
	wantErr(t, err, "UB002", "at most 3 keys and 1024 bytes; this identify would store 4 keys")
	exec(t, db.Pool, `SELECT beacon.identify($1, 'b', 'v', '{"a":10}')`, p)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a', 'u', '{"k0":"small"}')`, p) // over the byte limit, shrinking
	_, err = db.Pool.Exec(ctx(t), `SELECT beacon.identify($1, 'a', 'u', '{"k0":"small, but larger"}')`, p)
	wantErr(t, err, "UB002", "bytes")
	if got := scalar[string](t, db.Pool, `SELECT traits::text FROM beacon.users WHERE project_id = $1 AND user_id = 'v'`, p); got != `{"a": 10, "b": 2, "c": 3}` {
		t.Errorf("traits = %s", got)
	}
	_, err = db.Pool.Exec(ctx(t), `UPDATE beacon.settings SET max_traits_bytes = 10`)
	wantErr(t, err, "23514", "max_traits_bytes")
}

// TestTrustAudit: every change of a project's trust settings, from the functions or a DBA's
// plain UPDATE, and every showing of a secret, is in the append-only beacon.trust_audit.
func TestTrustAudit(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := scalar[string](t, db.Pool, `SELECT beacon.create_project('audited')::text`)
	exec(t, db.Pool, `SELECT beacon.identity_secret($1)`, p)
	exec(t, db.Pool, `SELECT beacon.rotate_identity_secret($1)`, p)
	exec(t, db.Pool, `SELECT beacon.set_identity_verification($1, false)`, p)
	exec(t, db.Pool, `UPDATE beacon.projects SET name = 'renamed' WHERE project_id = $1`, p) // not a trust change
	exec(t, db.Pool, `BEGIN; SET LOCAL beacon.app_user = 'alice@example.com';
		UPDATE beacon.projects SET verify_identity = true WHERE project_id = '`+p+`'; COMMIT`)
	got := scalar[string](t, db.Pool, `SELECT string_agg(action || ':' || db_role || ':' || coalesce(app_user, '-'), ',' ORDER BY audit_id)
		FROM beacon.trust_audit WHERE project_id = $1`, p)
	if want := "verify_on:beacon:-,secret_made:beacon:-,secret_shown:beacon:-,secret_rotated:beacon:-,verify_off:beacon:-,verify_on:beacon:alice@example.com"; got != want {
		t.Fatalf("trust audit = %s\nwant %s", got, want)
	}
	_, err := db.Pool.Exec(ctx(t), `DELETE FROM beacon.trust_audit`)
	wantErr(t, err, "42501", "beacon.trust_audit is append-only: DELETE is not allowed")
	_, err = db.Pool.Exec(ctx(t), `TRUNCATE beacon.trust_audit`)
	wantErr(t, err, "42501", "append-only")
	for _, role := range []string{"beacon_relay", "beacon_dashboard", "beacon_reader"} {
		_, err := as(t, db, role).Exec(ctx(t), `SELECT count(*) FROM beacon.trust_audit`)
		wantErr(t, err, "42501", "permission denied")
	}
}
