// Package sql holds Beacon's data model as tern migrations (NNN_name.sql), embedded in the binary,
// and applies them. The SQL files are the product; this file is only the loader.
package sql

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var files embed.FS

// VersionTable records the applied migration version. It lives in public because it must exist
// before the first migration creates the beacon schema.
const VersionTable = "public.beacon_schema_version"

// Files returns the embedded migrations, so tests can fingerprint them.
func Files() fs.FS { return files }

// Migrate applies every migration not yet applied, under tern's advisory lock, then runs
// beacon.maintain() so partitions exist before the first event. Safe to run again.
func Migrate(ctx context.Context, conn *pgx.Conn) (from, to int32, err error) {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return 0, 0, fmt.Errorf("new migrator: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	from, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate from version %d: %w", from, err)
	}
	if _, err := conn.Exec(ctx, "SELECT beacon.maintain()"); err != nil {
		return from, 0, fmt.Errorf("maintain after migrate: %w", err)
	}
	return from, int32(len(m.Migrations)), nil
}
