package sql

// MigrateFS is Migrate with the numbered migrations taken from an fs.FS, so tests can add a
// migration after the baseline.
var MigrateFS = migrateFS
