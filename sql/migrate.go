// Package sql holds Beacon's data model, embedded in the binary, and installs it: numbered tern
// migrations for state (NNN_name.sql) and a tern code package for logic (code/: functions,
// procedures, triggers, views, one file per concern). The SQL files are the product; this package
// is only the loader.
package sql

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed [0-9][0-9][0-9]_*.sql
var migrations embed.FS

//go:embed code/*.sql
var code embed.FS

//go:embed upgrade/legacy015.sql
var legacyUpgrade string

// VersionTable records the applied migration version (tern's one integer). It lives in public
// because it must exist before the first migration creates the beacon schema.
const VersionTable = "public.beacon_schema_version"

// LockClass is the first key of every advisory lock Beacon takes (the two-int form
// pg_advisory_xact_lock(LockClass, key)), so Beacon's locks never meet another application's in
// the shared one-bigint space. The keys are listed in docs/sql.md. 1113940323 is 0x42656163,
// "Beac" in ASCII.
const LockClass = 1113940323

// Advisory lock keys within LockClass.
const (
	// LockMaintain is held by each beacon.maintain() step for its transaction.
	LockMaintain = 1
	// LockRefreshDaily serializes beacon.refresh_daily().
	LockRefreshDaily = 2
	// LockMigrate serializes Migrate.
	LockMigrate = 3
	// LockTestTemplate serializes test processes building the test template (internal/testdb).
	LockTestTemplate = 4
)

// legacyVersion is the version at which the pre-baseline chain (001_core … 015_daily_incremental)
// stood; only a database there can be moved onto the baseline.
const legacyVersion = 15

// Files returns the embedded numbered migrations.
func Files() fs.FS { return migrations }

// Code returns the embedded code package (install.sql and the files it includes).
func Code() fs.FS {
	sub, err := fs.Sub(code, "code")
	if err != nil {
		panic(fmt.Sprintf("sql: code package: %v", err)) // embedded: cannot happen
	}
	return sub
}

// Migrate brings the database to this binary's schema in one transaction: it moves a database of
// the pre-baseline chain onto the baseline, applies the numbered migrations not yet applied,
// installs the code package and records what it installed (see CheckSchema). Then, outside that
// transaction, it runs CALL beacon.maintain() so partitions exist before the first event. Safe to
// run again: a second run changes nothing.
func Migrate(ctx context.Context, conn *pgx.Conn) (from, to int32, err error) {
	return migrateFS(ctx, conn, migrations)
}

// migrateFS is Migrate with the numbered migrations taken from migs (tests add one).
func migrateFS(ctx context.Context, conn *pgx.Conn, migs fs.FS) (from, to int32, err error) {
	from, to, err = install(ctx, conn, migs)
	if err != nil {
		return from, to, err
	}
	if _, err := conn.Exec(ctx, "CALL beacon.maintain()"); err != nil {
		return from, to, fmt.Errorf("maintain after migrate: %w", err)
	}
	return from, to, nil
}

func install(ctx context.Context, conn *pgx.Conn, migs fs.FS) (from, to int32, err error) {
	pkg, err := migrate.LoadCodePackage(Code())
	if err != nil {
		return 0, 0, fmt.Errorf("load code package: %w", err)
	}
	codeSQL, err := pkg.Eval(map[string]any{})
	if err != nil {
		return 0, 0, fmt.Errorf("evaluate code package: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("begin migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1, $2)", LockClass, LockMigrate); err != nil {
		return 0, 0, fmt.Errorf("lock migrate: %w", err)
	}

	// tern runs on the connection inside this transaction: DisableTx keeps it from opening (and
	// committing) one per migration, so migrations and code package commit or fail together.
	m, err := migrate.NewMigratorEx(ctx, conn, VersionTable, &migrate.MigratorOptions{DisableTx: true})
	if err != nil {
		return 0, 0, fmt.Errorf("new migrator: %w", err)
	}
	if err := m.LoadMigrations(migs); err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	from, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	if err := upgradeLegacy(ctx, tx, migs, from); err != nil {
		return from, 0, err
	}
	if err := checkApplied(ctx, tx, migs); err != nil {
		return from, 0, err
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate from version %d: %w", from, err)
	}
	to = int32(len(m.Migrations))
	if err := recordApplied(ctx, tx, migs, to); err != nil {
		return from, to, err
	}
	if _, err := tx.Exec(ctx, codeSQL); err != nil {
		return from, to, fmt.Errorf("install code package: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO beacon.schema_code (sha256) VALUES ($1)
		ON CONFLICT (singleton) DO UPDATE SET sha256 = excluded.sha256, installed_at = now()
		WHERE beacon.schema_code.sha256 IS DISTINCT FROM excluded.sha256`, codeHash()); err != nil {
		return from, to, fmt.Errorf("record code package: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return from, to, fmt.Errorf("commit migrate: %w", err)
	}
	return from, to, nil
}

// upgradeLegacy moves a database of the pre-baseline chain onto the baseline. Such a database has
// a version but no beacon.schema_migrations (the baseline's first table).
func upgradeLegacy(ctx context.Context, tx pgx.Tx, migs fs.FS, version int32) error {
	if version == 0 {
		return nil
	}
	var baselined bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('beacon.schema_migrations') IS NOT NULL").Scan(&baselined); err != nil {
		return fmt.Errorf("look for beacon.schema_migrations: %w", err)
	}
	if baselined {
		return nil
	}
	if version != legacyVersion {
		return fmt.Errorf("database at version %d of the pre-baseline migration chain (001_core … 015_daily_incremental): "+
			"only a database at version %d can be upgraded; migrate it with the binary it was built with first, or start from an empty database", version, legacyVersion)
	}
	if _, err := tx.Exec(ctx, legacyUpgrade); err != nil {
		return fmt.Errorf("upgrade pre-baseline database: %w", err)
	}
	// The baseline's comments (new and reworded ones included) on the state the old chain made.
	for _, c := range baselineComments() {
		if _, err := tx.Exec(ctx, c); err != nil {
			return fmt.Errorf("upgrade pre-baseline database: %s: %w", c, err)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE "+VersionTable+" SET version = 1"); err != nil {
		return fmt.Errorf("mark pre-baseline database at the baseline: %w", err)
	}
	return recordApplied(ctx, tx, migs, 1)
}

var commentStmt = regexp.MustCompile(`(?m)^COMMENT ON .*;$`)

// baselineComments returns the one-line COMMENT statements of 001_baseline.sql.
func baselineComments() []string {
	b, err := fs.ReadFile(migrations, "001_baseline.sql")
	if err != nil {
		panic(fmt.Sprintf("sql: baseline: %v", err)) // embedded: cannot happen
	}
	return commentStmt.FindAllString(string(b), -1)
}

// recordApplied records migrations 1..upTo in beacon.schema_migrations (those not yet recorded).
func recordApplied(ctx context.Context, tx pgx.Tx, migs fs.FS, upTo int32) error {
	files, err := migrationFiles(migs)
	if err != nil {
		return err
	}
	for i, f := range files[:upTo] {
		if _, err := tx.Exec(ctx, `INSERT INTO beacon.schema_migrations (version, name, sha256) VALUES ($1, $2, $3)
			ON CONFLICT (version) DO NOTHING`, i+1, f.name, f.sha256); err != nil {
			return fmt.Errorf("record migration %s: %w", f.name, err)
		}
	}
	return nil
}

// checkApplied refuses a database whose applied migrations are not this binary's: a migration
// edited, renamed or replaced after it ran would otherwise be skipped silently (tern keeps only a
// number).
func checkApplied(ctx context.Context, tx pgx.Tx, migs fs.FS) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('beacon.schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("look for beacon.schema_migrations: %w", err)
	}
	if !exists {
		return nil
	}
	applied, err := appliedMigrations(ctx, tx)
	if err != nil {
		return err
	}
	return compareMigrations(applied, migs)
}

func compareMigrations(applied []migrationFile, migs fs.FS) error {
	files, err := migrationFiles(migs)
	if err != nil {
		return err
	}
	for i, a := range applied {
		if i >= len(files) {
			return fmt.Errorf("database has migration %d (%s), this binary carries only %d: use a newer binary", i+1, a.name, len(files))
		}
		if f := files[i]; a.name != f.name || a.sha256 != f.sha256 {
			return fmt.Errorf("migration %d applied to the database is %s (sha256 %.12s), this binary carries %s (sha256 %.12s): "+
				"a migration was changed after it ran; restore it and put the change in a new migration", i+1, a.name, a.sha256, f.name, f.sha256)
		}
	}
	return nil
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func appliedMigrations(ctx context.Context, q queryer) ([]migrationFile, error) {
	rows, err := q.Query(ctx, "SELECT version, name, sha256 FROM beacon.schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("read beacon.schema_migrations: %w", err)
	}
	var out []migrationFile
	for rows.Next() {
		var f migrationFile
		var v int32
		if err := rows.Scan(&v, &f.name, &f.sha256); err != nil {
			return nil, fmt.Errorf("read beacon.schema_migrations: %w", err)
		}
		if int(v) != len(out)+1 {
			return nil, fmt.Errorf("beacon.schema_migrations: migration %d missing", len(out)+1)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read beacon.schema_migrations: %w", err)
	}
	return out, nil
}

type migrationFile struct {
	name, sha256 string
}

// migrationFiles returns the migrations of migs in order, with their hashes.
func migrationFiles(migs fs.FS) ([]migrationFile, error) {
	names, err := migrate.FindMigrations(migs)
	if err != nil {
		return nil, fmt.Errorf("find migrations: %w", err)
	}
	out := make([]migrationFile, len(names))
	for i, n := range names {
		b, err := fs.ReadFile(migs, n)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", n, err)
		}
		sum := sha256.Sum256(b)
		out[i] = migrationFile{name: n, sha256: hex.EncodeToString(sum[:])}
	}
	return out, nil
}

// codeHash is the hex SHA-256 over the code package's file names and contents, in name order.
func codeHash() string {
	var paths []string
	err := fs.WalkDir(Code(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		panic(fmt.Sprintf("sql: code package: %v", err)) // embedded: cannot happen
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := fs.ReadFile(Code(), p)
		if err != nil {
			panic(fmt.Sprintf("sql: code package: %v", err))
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

var errNoSchema = errors.New("no Beacon schema")
