package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// newReplica starts a streaming replica of primary the way `just db-replica-up` does
// (infra/pg.sh replica: pg_basebackup -R, hot standby) and returns its URL for login user:password.
func newReplica(t *testing.T, primary *cluster) *cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "beacon-replica-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres OS user must reach it
		t.Fatal(err)
	}
	port := freePort(t)
	r := &cluster{
		env: append(os.Environ(), "PGPORT="+strconv.Itoa(port), "BEACON_PGDATA="+filepath.Join(dir, "pg15"),
			"BEACON_PRIMARY_PGDATA="+primary.data, "BEACON_PRIMARY_PORT="+strconv.Itoa(primary.port)),
		url:  "postgres://beacon:beacon@localhost:" + strconv.Itoa(port) + "/beacon?sslmode=disable",
		data: filepath.Join(dir, "pg15"),
		port: port,
	}
	r.run(t, "replica")
	t.Cleanup(func() {
		r.run(t, "down")
		os.RemoveAll(dir)
	})
	return r
}

// TestBIReadsFromReplica: BI tools pointed at a replica (docs/bi.md "Read from a replica"). The
// replica made by infra/pg.sh follows the primary: the schema migrated there, a BI login created
// there, and events sent through the relay to the primary all reach it; a beacon_reader login
// reads the analytics views on the replica and they agree with what was sent; the replica
// refuses writes (analytics.refresh() included) and reports its replay lag.
func TestBIReadsFromReplica(t *testing.T) {
	t.Parallel()
	primary := newCluster(t)
	replica := newReplica(t, primary) // before migrating: everything after reaches it by streaming
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	env := []string{"DATABASE_URL=" + primary.url}
	migrate := command(env...)
	migrate.Args = append(migrate.Args, "migrate")
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v: %s", err, out)
	}
	owner := connectPool(t, ctx, primary.url)
	defer owner.Close()
	var project string
	if err := owner.QueryRow(ctx, `INSERT INTO beacon.projects (name) VALUES ('replica') RETURNING project_id::text`).Scan(&project); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `CREATE ROLE bi_replica LOGIN PASSWORD 'bi-replica-secret' IN ROLE beacon_reader`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = owner.Exec(context.Background(), `DROP ROLE IF EXISTS bi_replica`) })

	relay := startRelay(t, freePort(t), env...)
	const n = 3000
	if err := reliableSend(ctx, func() string { return relay.ws + "/ws?project=" + project + "&session=s&anon=a" }, n, func(int) {}); err != nil {
		t.Fatal(err)
	}

	bi, err := pgx.Connect(ctx, strings.Replace(replica.url, "beacon:beacon@", "bi_replica:bi-replica-secret@", 1))
	if err != nil {
		t.Fatalf("BI login on the replica: %v", err)
	}
	defer bi.Close(context.Background())
	count := func(sql string) int {
		var v int
		if err := bi.QueryRow(ctx, sql, project).Scan(&v); err != nil {
			t.Fatalf("%s on the replica: %v", sql, err)
		}
		return v
	}
	// Raw events at once; the hourly rollup once the relay's keep_fresh folded it on the primary.
	waitFor(t, "the events on the replica", func() bool {
		return count(`SELECT count(*) FROM analytics.events WHERE project_id = $1`) == n &&
			count(`SELECT coalesce(sum(events), 0)::int FROM analytics.hourly_events WHERE project_id = $1`) == n
	})

	var inRecovery bool
	var lag *time.Duration
	if err := bi.QueryRow(ctx, `SELECT pg_is_in_recovery(), now() - pg_last_xact_replay_timestamp()`).Scan(&inRecovery, &lag); err != nil || !inRecovery || lag == nil {
		t.Fatalf("replica: in recovery %v, replay lag %v (%v); want a hot standby that replayed", inRecovery, lag, err)
	}
	_, err = bi.Exec(ctx, `SELECT analytics.refresh()`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25006" {
		t.Fatalf("analytics.refresh() on the replica: %v, want 25006 read_only_sql_transaction", err)
	}
}
