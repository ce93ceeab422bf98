package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

// TestIdentifyVerifiedAsRelay runs identify with and without a userHash as beacon_relay against a
// project that verifies identities: the relay may read the key it needs and nothing more.
func TestIdentifyVerifiedAsRelay(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := store.New(relayPool(t, db.LoginAs(t, "beacon_relay")))
	var project, secret string
	if err := db.Pool.QueryRow(ctx, `SELECT p::text, beacon.identity_secret(p) FROM beacon.create_project('v') p`).Scan(&project, &secret); err != nil {
		t.Fatal(err)
	}
	wantCode := func(err error, code string) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != code {
			t.Fatalf("error = %v, want SQLSTATE %s", err, code)
		}
	}
	wantCode(st.Identify(ctx, project, "a", "u1", "", []byte(`{"plan":"pro"}`)), store.SQLStateIdentityUnverified)
	wantCode(st.Identify(ctx, project, "a", "u1", store.UserHash(secret, "u2"), []byte(`{}`)), store.SQLStateIdentityUnverified)
	wantCode(st.Identify(ctx, project, "a", "u1", "not hex", []byte(`{}`)), store.SQLStateIdentityUnverified)
	if err := st.Identify(ctx, project, "a", "u1", store.UserHash(secret, "u1"), []byte(`{"plan":"pro"}`)); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.users WHERE user_id = 'u1' AND traits->>'plan' = 'pro'`); n != 1 {
		t.Fatalf("users = %d, want 1", n)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE beacon.settings SET max_trait_keys = 1`); err != nil {
		t.Fatal(err)
	}
	wantCode(st.Identify(ctx, project, "a", "u1", store.UserHash(secret, "u1"), []byte(`{"x":1}`)), store.SQLStateTraitsTooLarge)
}

// TestVerifyUserHash pins the hash to its documented definition (docs/protocol.md): hex
// HMAC-SHA-256 keyed with the secret's text, from RFC 4231 test case 1 (a 20-byte key: test case
// 2's 4-byte key is refused by FIPS 140-3, and Go panics on it in fips140=only mode).
func TestVerifyUserHash(t *testing.T) {
	const want = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
	key := strings.Repeat("\x0b", 20)
	if got := store.UserHash(key, "Hi There"); got != want {
		t.Fatalf("UserHash = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		hash string
		ok   bool
	}{{want, true}, {"B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7", true},
		{want[:62], false}, {want + "00", false}, {"", false}, {"zz", false}} {
		if got := store.VerifyUserHash(key, "Hi There", tc.hash); got != tc.ok {
			t.Errorf("VerifyUserHash(%q) = %v, want %v", tc.hash, got, tc.ok)
		}
	}
}

// TestVerifyUserHashShortSecret: a secret FIPS 140-3 refuses never verifies (and never panics).
func TestVerifyUserHashShortSecret(t *testing.T) {
	if store.VerifyUserHash("Jefe", "u", strings.Repeat("00", 32)) {
		t.Fatal("a 4-byte secret verified a hash")
	}
}
