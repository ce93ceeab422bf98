package sql

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Fingerprint is a hash of everything this binary installs: the numbered migrations (names and
// contents) and the code package. Two binaries with the same fingerprint build the same schema.
func Fingerprint() string {
	files, err := migrationFiles(migrations)
	if err != nil {
		panic(fmt.Sprintf("sql: fingerprint: %v", err)) // embedded: cannot happen
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "migration %s %s\n", f.name, f.sha256)
	}
	fmt.Fprintf(h, "code %s\n", codeHash())
	return hex.EncodeToString(h.Sum(nil))
}

// Querier is what CheckSchema reads with: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// SchemaMismatchError says how the database's schema differs from this binary's.
type SchemaMismatchError struct {
	// DBMigration and DBCode are what the database carries: its last migration and the hash of
	// its code package (empty when none was installed).
	DBMigration int
	DBCode      string
	// Migration and Code are what this binary carries.
	Migration int
	Code      string
	// Detail names a changed migration, when that is the difference.
	Detail string
}

func (e *SchemaMismatchError) Error() string {
	msg := fmt.Sprintf("database schema at migration %d, code package %s; this binary carries migration %d, code package %s: run `beacon migrate`",
		e.DBMigration, short(e.DBCode), e.Migration, short(e.Code))
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func short(h string) string {
	if h == "" {
		return "(none)"
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// CheckSchema returns nil when the database carries exactly this binary's migrations and code
// package, as recorded by Migrate, and otherwise an error naming the difference (a
// *SchemaMismatchError, or the reason it could not tell). beacon serve calls it at start-up so a
// relay never runs against a schema it was not built for. It needs SELECT on
// beacon.schema_migrations and beacon.schema_code (granted to beacon_relay and beacon_dashboard).
func CheckSchema(ctx context.Context, q Querier) error {
	files, err := migrationFiles(migrations)
	if err != nil {
		return err
	}
	want := &SchemaMismatchError{Migration: len(files), Code: codeHash()}
	var present bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('beacon.schema_migrations') IS NOT NULL AND to_regclass('beacon.schema_code') IS NOT NULL").Scan(&present); err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	if !present {
		return fmt.Errorf("check schema: %w: the database has no beacon.schema_migrations (empty, or built before the baseline): run `beacon migrate`", errNoSchema)
	}
	applied, err := appliedMigrations(ctx, q)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	err = q.QueryRow(ctx, "SELECT sha256 FROM beacon.schema_code").Scan(&want.DBCode)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("check schema: read beacon.schema_code: %w", err)
	}
	want.DBMigration = len(applied)
	if cerr := compareMigrations(applied, migrations); cerr != nil {
		want.Detail = cerr.Error()
		return want
	}
	if want.DBMigration != want.Migration || want.DBCode != want.Code {
		return want
	}
	return nil
}
