package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestDatabaseVerifyFull: the relay migrates and serves over DATABASE_URL with
// sslmode=verify-full, and its connections (pool and listener) are TLS.
func TestDatabaseVerifyFull(t *testing.T) {
	t.Parallel()
	ca := testdb.CAFile()
	if _, err := os.Stat(ca); err != nil {
		t.Skipf("the test cluster's CA (%q) is not known: set TEST_DATABASE_CA with TEST_DATABASE_URL (%v)", ca, err)
	}
	db := testdb.New(t)
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", ca)
	u.RawQuery = q.Encode()
	env := "DATABASE_URL=" + u.String()

	mig := command(env)
	mig.Args = append(mig.Args, "migrate")
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate over verify-full: %v\n%s", err, out)
	}
	r := startRelay(t, freePort(t), env)
	waitHTTP(t, r.base+"/readyz", http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var plain int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
		WHERE a.datname = current_database() AND a.application_name = 'beacon_listener' AND NOT s.ssl`).Scan(&plain)
	if err != nil {
		t.Fatal(err)
	}
	var tlsConns int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
		WHERE a.datname = current_database() AND a.application_name = 'beacon_listener' AND s.ssl`).Scan(&tlsConns)
	if err != nil {
		t.Fatal(err)
	}
	if plain != 0 || tlsConns != 1 {
		t.Fatalf("listener connections: %d with TLS, %d without; want 1 and 0", tlsConns, plain)
	}
}
