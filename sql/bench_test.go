package sql_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// BenchmarkCopy measures the relay's ingest path — pgx.CopyFrom of 5,000-row batches with
// 100–200-byte props into beacon.events — with the session and rollup triggers (as migrated) and
// without them (dropped), in one run, with 1 and 2 concurrent writers; also with only one of the two triggers. Run:
//
//	TEST_DATABASE_URL=… go test ./sql -run '^$' -bench Copy -benchtime 40x -count 3
//
// Metrics: rows/s, and WAL bytes per row (cluster-wide: run it alone).
func BenchmarkCopy(b *testing.B) {
	variants := []struct {
		name string
		drop string // triggers dropped
	}{
		{"triggers", ""},
		{"sessions-only", "events_rollup"},
		{"rollup-only", "events_sessions"},
		{"no-triggers", "events_sessions, events_rollup"},
		{"empty-trigger", "events_sessions, events_rollup"},
	}
	dbs := make([]*testdb.DB, len(variants))
	projects := make([]string, len(variants))
	for i, v := range variants {
		dbs[i] = testdb.New(b)
		for _, trg := range strings.Split(v.drop, ", ") {
			if trg != "" {
				exec(b, dbs[i].Pool, `DROP TRIGGER `+trg+` ON beacon.events`)
			}
		}
		if v.name == "empty-trigger" {
			// The cost of the transition table alone: COPY inserting row by row.
			exec(b, dbs[i].Pool, `
				CREATE FUNCTION beacon.bench_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
				CREATE TRIGGER events_noop AFTER INSERT ON beacon.events REFERENCING NEW TABLE AS new_events
				    FOR EACH STATEMENT EXECUTE FUNCTION beacon.bench_noop()`)
		}
		projects[i] = newProject(b, dbs[i].Pool)
	}
	for _, writers := range []int{1, 2} {
		for i, v := range variants {
			b.Run(fmt.Sprintf("%s/writers=%d", v.name, writers), func(b *testing.B) {
				benchCopy(b, dbs[i], projects[i], writers)
			})
		}
	}
}

const benchBatch = 5000

func benchCopy(b *testing.B, db *testdb.DB, project string, writers int) {
	rng := rand.New(rand.NewPCG(uint64(writers), uint64(b.N)))
	batches := make([][][]any, b.N*writers)
	names := []string{"$pageview", "$pageview", "$pageview", "click", "signup", "search", "add_to_cart", "play", "scroll", "error"}
	now := time.Now()
	for i := range batches {
		rows := make([][]any, benchBatch)
		for j := range rows {
			s := rng.IntN(1000)
			name := names[rng.IntN(len(names))]
			path := fmt.Sprintf("/p/%d", rng.IntN(200))
			props := map[string]any{"path": path, "url": "https://app.example.com" + path,
				"referrer": "https://www.example.org/", "title": "Product page",
				"$browser": []string{"Firefox", "Chrome", "Safari"}[rng.IntN(3)]}
			if rng.IntN(2) == 0 {
				props["campaign"] = "spring-sale-2025"
			}
			rows[j] = ev{project: project, session: fmt.Sprintf("s%d", s), anon: fmt.Sprintf("a%d", s), name: name,
				props: props, ts: now.Add(-time.Duration(rng.IntN(3600)) * time.Second), received: now}.row()
		}
		batches[i] = rows
	}
	conns := make([]*pgx.Conn, writers)
	for i := range conns {
		conns[i] = conn(b, db)
	}
	pids := make([]int, writers)
	for i, c := range conns {
		pids[i] = scalar[int](b, c, `SELECT pg_backend_pid()`)
	}
	cpuStart := backendCPU(pids)
	walStart := scalar[string](b, db.Pool, `SELECT pg_current_wal_lsn()::text`)
	b.ResetTimer()
	for i := range b.N {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := conns[w].CopyFrom(ctx(b), pgx.Identifier{"beacon", "events"}, eventColumns,
					pgx.CopyFromRows(batches[i*writers+w])); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	rows := float64(b.N * writers * benchBatch)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	wal := scalar[float64](b, db.Pool, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)`, walStart)
	b.ReportMetric(wal/rows, "WAL-B/row")
	// Server CPU per row, read from /proc for the writers' backends (a local cluster): steadier
	// than rows/s on a shared machine.
	if cpuStart >= 0 {
		if cpu := backendCPU(pids); cpu >= 0 {
			b.ReportMetric((cpu-cpuStart).Seconds()*1e6/rows, "backend-µs/row")
		}
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkFold measures beacon.fold_rollups() per 5,000 events COPYed before it.
func BenchmarkFold(b *testing.B) {
	db := testdb.New(b)
	p := newProject(b, db.Pool)
	for range b.N {
		b.StopTimer()
		evs := make([]ev, benchBatch)
		now := time.Now()
		for j := range evs {
			evs[j] = ev{project: p, session: fmt.Sprintf("s%d", j%1000), anon: fmt.Sprintf("a%d", j%1000), name: "$pageview",
				props: map[string]any{"path": fmt.Sprintf("/p/%d", j%200), "url": "https://app.example.com/", "referrer": ""}, ts: now}
		}
		copyEvents(b, db.Pool, evs...)
		b.StartTimer()
		exec(b, db.Pool, `SELECT beacon.fold_rollups()`)
	}
}

// backendCPU sums user+system CPU time of the server processes pids, or returns -1 when /proc does
// not have them (a remote cluster).
func backendCPU(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// Fields after the command name (which may hold spaces) start after the last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += ut + st
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
