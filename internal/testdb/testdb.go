// Package testdb gives each test its own PostgreSQL database, cloned from a template that
// sql.Migrate built (every migration and the code package), so tests run in parallel against the real schema without seeing each other.
//
// The cluster is TEST_DATABASE_URL when set (any database on it where the role may CREATE
// DATABASE); otherwise a throwaway cluster started once per machine by infra/pg.sh on port 54329.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	beaconsql "github.com/beacon-analytics/beacon/sql"
)

// DB is one test's database.
type DB struct {
	// URL connects as the owning role to this test's database.
	URL string
	// Pool is a pool on URL, closed when the test ends.
	Pool *pgxpool.Pool
}

var (
	setupOnce sync.Once
	adminURL  string
	template  string
	setupErr  error
)

// New creates a database for t from the migrated template and drops it when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	setupOnce.Do(func() { adminURL, template, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("testdb: %v", setupErr)
	}
	return create(t, "TEMPLATE "+template, true)
}

// NewEmpty creates an empty database for t (from template0: no schema, no migration) and drops
// it when t ends, for tests of the migrations themselves. Its search_path is the default.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	setupOnce.Do(func() { adminURL, template, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("testdb: %v", setupErr)
	}
	return create(t, "TEMPLATE template0", false)
}

func create(t testing.TB, from string, emptyPath bool) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := "beacon_test_" + randomHex(6)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testdb: connect admin: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s %s", name, from)); err != nil {
		t.Fatalf("testdb: create database %s: %v", from, err)
	}
	// An empty search_path makes every unqualified name in the SQL under test fail loudly.
	if emptyPath {
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET search_path TO ''", name)); err != nil {
			t.Fatalf("testdb: set search_path: %v", err)
		}
	}
	db := &DB{URL: WithDatabase(adminURL, name)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if db.Pool != nil {
			db.Pool.Close()
		}
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("testdb: connect admin for drop: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", name)); err != nil {
			t.Errorf("testdb: drop %s: %v", name, err)
		}
	})
	db.Pool, err = pgxpool.New(ctx, db.URL)
	if err != nil {
		t.Fatalf("testdb: pool: %v", err)
	}
	return db
}

// WithDatabase returns connection URL u pointing at database name instead.
func WithDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		panic(fmt.Sprintf("testdb: bad URL: %v", err))
	}
	parsed.Path = "/" + name
	return parsed.String()
}

func setup() (admin, tpl string, err error) {
	admin = os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		if admin, err = startCluster(); err != nil {
			return "", "", err
		}
	}
	sum, err := fingerprint()
	if err != nil {
		return "", "", err
	}
	// A template per day as well: migrating makes the daily partitions from that day on, and
	// tests that count the partitions maintain() makes assume it made today's.
	tpl = "beacon_tpl_" + sum + "_" + time.Now().UTC().Format("20060102")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return admin, tpl, ensureTemplate(ctx, admin, tpl)
}

// ensureTemplate creates and migrates the template database once per migration set; the
// advisory lock serializes test processes (one per package) that race to build it.
func ensureTemplate(ctx context.Context, admin, tpl string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", beaconsql.LockClass, beaconsql.LockTestTemplate); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", tpl).Scan(&exists); err != nil {
		return fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+tpl); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	if err := migrateTemplate(ctx, WithDatabase(admin, tpl)); err != nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+tpl+" WITH (FORCE)")
		return err
	}
	return nil
}

func migrateTemplate(ctx context.Context, u string) error {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connect template: %w", err)
	}
	defer conn.Close(ctx)
	if _, _, err := beaconsql.Migrate(ctx, conn); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	return nil
}

// fingerprint names the template after what it holds (beaconsql.Fingerprint: the numbered
// migrations and the code package), so a changed migration or function gets a fresh template
// instead of a stale one.
func fingerprint() (string, error) {
	return beaconsql.Fingerprint()[:12], nil
}

func startCluster() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "infra", "pg.sh")
	cmd := exec.Command("bash", script, "up")
	cmd.Env = append(os.Environ(), "PGPORT=54329", "BEACON_PGDATA="+filepath.Join(os.TempDir(), "beacon-test", "pg15"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("start test cluster: %v: %s", err, out)
	}
	return "postgres://beacon:beacon@localhost:54329/beacon?sslmode=disable", nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}

// CAFile is the CA certificate of the test cluster's TLS (written by infra/pg.sh), for
// sslmode=verify-full tests: TEST_DATABASE_CA when TEST_DATABASE_URL names the cluster, else the
// throwaway cluster's. It may not exist (a cluster without TLS).
func CAFile() string {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return os.Getenv("TEST_DATABASE_CA")
	}
	return filepath.Join(os.TempDir(), "beacon-test", "ca.crt")
}

// HoldEvents locks beacon.events in ACCESS EXCLUSIVE mode until the returned function runs (or
// the test ends), so no COPY can commit: a database that is down, as the writers see it, without
// stopping the cluster other tests share.
func (db *DB) HoldEvents(t testing.TB) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatalf("testdb: hold events: %v", err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE beacon.events IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("testdb: hold events: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	return func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Fatalf("testdb: release events: %v", err)
		}
	}
}

// LoginAs returns db's URL for a new LOGIN role in group (beacon_relay, beacon_reader …), dropped
// when the test ends: what a role may do is tested with production's grants, not the owner's.
func (db *DB) LoginAs(t testing.TB, group string) string {
	t.Helper()
	ctx := context.Background()
	role := "login_" + randomHex(4)
	if _, err := db.Pool.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'login' IN ROLE %s`, role, pgx.Identifier{group}.Sanitize())); err != nil {
		t.Fatalf("testdb: create login in %s: %v", group, err)
	}
	t.Cleanup(func() { _, _ = db.Pool.Exec(context.Background(), "DROP ROLE IF EXISTS "+role) })
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	u.User = url.UserPassword(role, "login")
	return u.String()
}
