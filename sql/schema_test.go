package sql_test

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
	beaconsql "github.com/beacon-analytics/beacon/sql"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fp := beaconsql.Fingerprint()
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(fp) {
		t.Fatalf("Fingerprint() = %q, want 64 hex digits", fp)
	}
	if again := beaconsql.Fingerprint(); again != fp {
		t.Errorf("Fingerprint() = %s, then %s", fp, again)
	}
}

// CheckSchema accepts the database Migrate built — read as beacon_relay, as the relay will — and
// names the difference when the database carries another code package or migration.
func TestCheckSchema(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	relay := conn(t, db)
	exec(t, relay, `SET ROLE beacon_relay`)
	if err := beaconsql.CheckSchema(ctx(t), relay); err != nil {
		t.Fatalf("CheckSchema of a migrated database as beacon_relay: %v", err)
	}
	code := scalar[string](t, db.Pool, `SELECT sha256 FROM beacon.schema_code`)
	n := len(mustMigrations(t))

	exec(t, db.Pool, `UPDATE beacon.schema_code SET sha256 = 'feedfacefeedface'`)
	err := beaconsql.CheckSchema(ctx(t), db.Pool)
	want := fmt.Sprintf("database schema at migration %d, code package feedfacefeed; this binary carries migration %d, code package %s: run `beacon migrate`", n, n, code[:12])
	var mismatch *beaconsql.SchemaMismatchError
	if err == nil || err.Error() != want || !errors.As(err, &mismatch) {
		t.Fatalf("CheckSchema with another code package: %v\nwant %s", err, want)
	}
	exec(t, db.Pool, `UPDATE beacon.schema_code SET sha256 = $1`, code)

	// The 014_reserved class: the database counts the same number of migrations, but one of them
	// is not this binary's.
	exec(t, db.Pool, `UPDATE beacon.schema_migrations SET sha256 = repeat('0', 64) WHERE version = 1`)
	err = beaconsql.CheckSchema(ctx(t), db.Pool)
	if err == nil || !strings.Contains(err.Error(), "migration 1 applied to the database is 001_baseline.sql (sha256 000000000000)") ||
		!strings.Contains(err.Error(), "run `beacon migrate`") {
		t.Fatalf("CheckSchema with a changed migration: %v", err)
	}
	c := conn(t, db)
	if _, _, err := beaconsql.Migrate(ctx(t), c); err == nil || !strings.Contains(err.Error(), "a migration was changed after it ran") {
		t.Fatalf("Migrate over a changed migration: %v, want a refusal", err)
	}
	exec(t, db.Pool, `DELETE FROM beacon.schema_migrations`)
	err = beaconsql.CheckSchema(ctx(t), db.Pool)
	want = fmt.Sprintf("database schema at migration 0, code package %s; this binary carries migration %d", code[:12], n)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("CheckSchema with no migration recorded: %v\nwant %s…", err, want)
	}
}

func TestCheckSchemaEmptyDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.NewEmpty(t)
	err := beaconsql.CheckSchema(ctx(t), db.Pool)
	if err == nil || !strings.Contains(err.Error(), "no beacon.schema_migrations") || !strings.Contains(err.Error(), "run `beacon migrate`") {
		t.Fatalf("CheckSchema of an empty database: %v", err)
	}
}

// Every advisory lock in the code package uses the two-int form with LockClass (the constants in
// Go and the literals in SQL must agree), never the shared one-bigint space.
func TestAdvisoryLocksUseBeaconClass(t *testing.T) {
	t.Parallel()
	call := regexp.MustCompile(`pg_(?:try_)?advisory_(?:xact_)?lock\(([^,()]+)(,)?`)
	n := 0
	err := fs.WalkDir(beaconsql.Code(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(beaconsql.Code(), path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			n++
			if m[2] != "," || strings.TrimSpace(m[1]) != strconv.Itoa(beaconsql.LockClass) {
				t.Errorf("%s: %s…: want the two-int form with class %d", path, m[0], beaconsql.LockClass)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("found %d advisory lock calls in the code package, want at least 4", n)
	}
}
