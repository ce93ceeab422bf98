package sql_test

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/tern/v2/migrate"

	"github.com/beacon-analytics/beacon/internal/testdb"
	beaconsql "github.com/beacon-analytics/beacon/sql"
)

// legacyFS is the frozen pre-baseline chain 001_core … 015_daily_incremental, kept only as test
// data: what a database built before the baseline ran.
func legacyFS(t testing.TB) fstest.MapFS {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "legacy-015.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		fsys[h.Name] = &fstest.MapFile{Data: b}
	}
	if len(fsys) != 15 {
		t.Fatalf("legacy chain has %d files, want 15", len(fsys))
	}
	return fsys
}

// legacyFile returns one file of the pre-baseline chain.
func legacyFile(t testing.TB, name string) string {
	t.Helper()
	f, ok := legacyFS(t)[name]
	if !ok {
		t.Fatalf("no %s in the legacy chain", name)
	}
	return string(f.Data)
}

// buildLegacy migrates an empty database with the old chain up to version upTo, as the old
// `beacon migrate` did (then SELECT beacon.maintain(), the old function, when it got that far).
func buildLegacy(t testing.TB, upTo int32) *testdb.DB {
	t.Helper()
	return buildLegacyFrom(t, legacyFS(t), upTo)
}

func buildLegacyFrom(t testing.TB, chain fstest.MapFS, upTo int32) *testdb.DB {
	t.Helper()
	db := testdb.NewEmpty(t)
	c := conn(t, db)
	m, err := migrate.NewMigrator(ctx(t), c, beaconsql.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(chain); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx(t), upTo); err != nil {
		t.Fatalf("old chain to %d: %v", upTo, err)
	}
	if upTo >= 2 {
		exec(t, c, `SELECT beacon.maintain()`)
	}
	return db
}

func migrateDB(t testing.TB, db *testdb.DB) (from, to int32) {
	t.Helper()
	c := conn(t, db)
	from, to, err := beaconsql.Migrate(ctx(t), c)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return from, to
}

// schemaDump is pg_dump --schema-only of db: every table, column, constraint, index, function
// body, procedure, trigger, view and materialized view definition, type, sequence, comment, ACL
// and default privilege. Only the dump's \restrict lines, a random key per run, are dropped.
func schemaDump(t testing.TB, db *testdb.DB) string {
	t.Helper()
	bin, err := osexec.LookPath("pg_dump")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		if len(matches) == 0 {
			t.Fatal("pg_dump not found in PATH or /usr/lib/postgresql/*/bin: the schema comparison needs it")
		}
		bin = matches[len(matches)-1]
	}
	out, err := osexec.Command(bin, "--schema-only", "--no-tablespaces", "--dbname="+db.URL).Output()
	if err != nil {
		var ee *osexec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("pg_dump: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("pg_dump: %v", err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, `\restrict `) || strings.HasPrefix(l, `\unrestrict `) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// sameSchema fails t with the first differing lines of two dumps.
func sameSchema(t testing.TB, what string, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		gl, wl := "<end>", "<end>"
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			lo, hi := max(0, i-8), min(len(w), i+8)
			t.Fatalf("%s: schemas differ at line %d:\n got: %s\nwant: %s\nwant context:\n%s", what, i+1, gl, wl, strings.Join(w[lo:hi], "\n"))
		}
	}
}

// A database built by the old chain (at 15, as every database before the baseline) and upgraded
// by Migrate has exactly the schema of a fresh database: same catalog dump, function bodies,
// views, triggers, indexes, comments and ACLs included.
func TestUpgradeFromLegacyEqualsFresh(t *testing.T) {
	t.Parallel()
	fresh, old := testdb.NewEmpty(t), buildLegacy(t, 15)
	if from, to := migrateDB(t, fresh); from != 0 || to < 1 {
		t.Errorf("fresh Migrate: from %d to %d, want from 0", from, to)
	}
	from, to := migrateDB(t, old)
	if from != 15 {
		t.Errorf("legacy Migrate: from %d, want 15", from)
	}
	if want := int32(len(mustMigrations(t))); to != want {
		t.Errorf("legacy Migrate: to %d, want %d", to, want)
	}
	want := schemaDump(t, fresh)
	if !strings.Contains(want, "CREATE PROCEDURE beacon.maintain()") || !strings.Contains(want, "COMMENT ON TRIGGER events_rollup") {
		t.Fatal("the dump lacks the code package: the comparison would prove nothing")
	}
	sameSchema(t, "legacy 15 + Migrate vs fresh", schemaDump(t, old), want)
	if v := scalar[int](t, old.Pool, `SELECT version FROM public.beacon_schema_version`); v != int(to) {
		t.Errorf("upgraded database at version %d, want %d", v, to)
	}
	if err := beaconsql.CheckSchema(ctx(t), old.Pool); err != nil {
		t.Errorf("CheckSchema after upgrade: %v", err)
	}
}

// Migrate run again changes nothing: same schema, same recorded state.
func TestMigrateTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	db := testdb.NewEmpty(t)
	migrateDB(t, db)
	before := schemaDump(t, db)
	installed := scalar[string](t, db.Pool, `SELECT installed_at::text FROM beacon.schema_code`)
	from, to := migrateDB(t, db)
	if from != to {
		t.Errorf("second Migrate: from %d to %d, want no migration", from, to)
	}
	sameSchema(t, "Migrate twice", schemaDump(t, db), before)
	if again := scalar[string](t, db.Pool, `SELECT installed_at::text FROM beacon.schema_code`); again != installed {
		t.Errorf("second Migrate rewrote beacon.schema_code (%s, then %s)", installed, again)
	}
}

// The old chain's bug: a database migrated while 014 was the placeholder 014_reserved stands at 15
// without 014_trigger_cost's functions. The upgrade installs the whole code package, so it ends
// exactly like a fresh database all the same.
func TestUpgradeFromLegacyWithout014(t *testing.T) {
	t.Parallel()
	chain := legacyFS(t)
	delete(chain, "014_trigger_cost.sql")
	chain["014_reserved.sql"] = &fstest.MapFile{Data: []byte("-- reserved for the trigger cost work\nSELECT 1;\n")}
	old := buildLegacyFrom(t, chain, 15)
	if exists := scalar[bool](t, old.Pool, `SELECT to_regprocedure('beacon.page_of(text, text)') IS NOT NULL`); exists {
		t.Fatal("the database built with 014_reserved has 014's beacon.page_of: the case is not reproduced")
	}
	fresh := testdb.NewEmpty(t)
	migrateDB(t, fresh)
	migrateDB(t, old)
	sameSchema(t, "legacy 15 without 014 + Migrate vs fresh", schemaDump(t, old), schemaDump(t, fresh))
}

// A database of the old chain below 15 is refused with a message that says what to do, and left
// untouched.
func TestUpgradeRefusesOldLegacyVersion(t *testing.T) {
	t.Parallel()
	db := buildLegacy(t, 14)
	c := conn(t, db)
	_, _, err := beaconsql.Migrate(ctx(t), c)
	if err == nil || !strings.Contains(err.Error(), "database at version 14 of the pre-baseline migration chain") ||
		!strings.Contains(err.Error(), "only a database at version 15 can be upgraded") {
		t.Fatalf("Migrate of a legacy database at 14: %v, want the pre-baseline refusal", err)
	}
	if v := scalar[int](t, db.Pool, `SELECT version FROM public.beacon_schema_version`); v != 14 {
		t.Errorf("refused database now at version %d, want 14", v)
	}
}

func mustMigrations(t testing.TB) []string {
	t.Helper()
	names, err := migrate.FindMigrations(beaconsql.Files())
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// withLater is the binary's migrations plus the next one, as the next state change will be.
func withLater(t testing.TB) fstest.MapFS {
	t.Helper()
	chain := fstest.MapFS{}
	names := mustMigrations(t)
	for _, n := range names {
		b, err := fs.ReadFile(beaconsql.Files(), n)
		if err != nil {
			t.Fatal(err)
		}
		chain[n] = &fstest.MapFile{Data: b}
	}
	chain[laterName(t)] = &fstest.MapFile{Data: []byte(`-- later: a state change after the binary's migrations.
CREATE TABLE beacon.later (id bigint PRIMARY KEY);
COMMENT ON TABLE beacon.later IS 'A table of a later migration.';
COMMENT ON COLUMN beacon.later.id IS 'Id.';
`)}
	return chain
}

// laterName is the file name of the migration after the binary's last.
func laterName(t testing.TB) string {
	return fmt.Sprintf("%03d_later.sql", len(mustMigrations(t))+1)
}

// A later numbered migration reaches every database: a fresh one, one at the binary's migrations
// and one of the old chain at 15 (baseline, the binary's migrations, then the later one), all
// ending with the same schema; a binary without it refuses a database that has it.
func TestLaterMigrationAfterBaseline(t *testing.T) {
	t.Parallel()
	chain := withLater(t)
	now := int32(len(mustMigrations(t)))
	later := now + 1
	migrateWith := func(db *testdb.DB) (int32, int32) {
		from, to, err := beaconsql.MigrateFS(ctx(t), conn(t, db), chain)
		if err != nil {
			t.Fatalf("Migrate with %s: %v", laterName(t), err)
		}
		return from, to
	}
	fresh, atNow, old := testdb.NewEmpty(t), testdb.NewEmpty(t), buildLegacy(t, 15)
	if from, to := migrateWith(fresh); from != 0 || to != later {
		t.Errorf("fresh: from %d to %d, want 0 to %d", from, to, later)
	}
	migrateDB(t, atNow)
	if from, to := migrateWith(atNow); from != now || to != later {
		t.Errorf("at the binary's migrations: from %d to %d, want %d to %d", from, to, now, later)
	}
	if from, to := migrateWith(old); from != 15 || to != later {
		t.Errorf("old chain: from %d to %d, want 15 to %d", from, to, later)
	}
	want := schemaDump(t, fresh)
	if !strings.Contains(want, "CREATE TABLE beacon.later") {
		t.Fatal("the later migration is not in the fresh schema")
	}
	sameSchema(t, "the binary's migrations + the later one vs fresh", schemaDump(t, atNow), want)
	sameSchema(t, "old chain + baseline + the rest vs fresh", schemaDump(t, old), want)
	var recorded []string
	for i, n := range mustMigrations(t) {
		recorded = append(recorded, fmt.Sprintf("%d:%s", i+1, n))
	}
	recorded = append(recorded, fmt.Sprintf("%d:%s", later, laterName(t)))
	for _, db := range []*testdb.DB{fresh, atNow, old} {
		if got := scalar[string](t, db.Pool, `SELECT string_agg(version || ':' || name, ' ' ORDER BY version) FROM beacon.schema_migrations`); got != strings.Join(recorded, " ") {
			t.Errorf("recorded migrations: %s, want %s", got, strings.Join(recorded, " "))
		}
	}
	_, _, err := beaconsql.Migrate(ctx(t), conn(t, fresh))
	wantErr := fmt.Sprintf("database has migration %d (%s), this binary carries only %d: use a newer binary", later, laterName(t), now)
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("Migrate without %s on a database with it: %v", laterName(t), err)
	}
}
