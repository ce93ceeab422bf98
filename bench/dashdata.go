package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The dashboard benchmark's data set is kept between runs: loading 30M events through the
// triggers takes many minutes, measuring them a few. It lives in its own database of the bench
// cluster, named after its size (so a quick 1M run does not replace the 30M one), outside the
// beacon_bench_* names that every run drops.

// dashDays is the span of the synthetic history: the dashboard's default window (view_days).
const dashDays = 90

// dataset is a loaded (or loading) synthetic history and where it lives.
type dataset struct {
	db       *db
	events   int64     // the generated events, top-ups included
	start    time.Time // event number i is stamped start + i·step
	step     int64     // µs between two events
	reused   bool      // found complete from an earlier run
	loaded   time.Duration
	toppedUp int64 // events added at this run to bring the history up to now
	// The schema versions the data was loaded at and is measured at: when they differ, the
	// rollups were written by older triggers (the report says so; -dash-reload loads anew).
	loadedAt, version  int
	chunks, chunksDone int   // the load's chunks (days), and those committed
	inProject          int64 // events in the project now, counted in the hourly rollup
}

// markerSQL keeps the data set's parameters and its progress in the database itself: a load
// that was interrupted resumes with the chunks not yet committed (each chunk commits with its
// row in bench_chunks), and a complete one is reused.
const markerSQL = `
CREATE TABLE IF NOT EXISTS public.bench_dataset (
    project_id uuid PRIMARY KEY, events bigint NOT NULL, start timestamptz NOT NULL, step_us bigint NOT NULL,
    chunks int NOT NULL, schema_version int NOT NULL, next_event bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), complete_at timestamptz);
CREATE TABLE IF NOT EXISTS public.bench_chunks (chunk int PRIMARY KEY, done_at timestamptz NOT NULL DEFAULT now());
COMMENT ON TABLE public.bench_dataset IS 'The dashboard benchmark''s synthetic data set (bench/dashdata.go): its parameters; complete_at is set once every chunk was loaded and the aggregates refreshed.';
COMMENT ON TABLE public.bench_chunks IS 'Chunks of the synthetic data set already committed (each in the transaction of its INSERT), so an interrupted load resumes.';`

// openDataset makes sure the database dashDB(n) holds the n-event data set through the current
// schema, loading what is missing, and tops it up to now.
func (e *env) openDataset(ctx context.Context) (*dataset, error) {
	n := int64(e.o.dashEvents)
	name := dashDBName(n)
	var exists bool
	if err := e.admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return nil, err
	}
	if exists && e.o.dashReload {
		e.logf("dashboard: -dash-reload: dropping %s", name)
		if _, err := e.admin.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			return nil, fmt.Errorf("drop %s: %w", name, err)
		}
		exists = false
	}
	if !exists {
		if _, err := e.admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+template); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
	} else if err := e.migrate(ctx, e.dbURL(name)); err != nil { // the tree's code, new migrations
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(e.dbURL(name))
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	ds := &dataset{db: &db{name: name, url: e.dbURL(name), pool: pool}}
	if err := ds.load(ctx, e, n); err != nil {
		pool.Close()
		return nil, err
	}
	return ds, nil
}

// migrate runs `beacon migrate` of the built binary on a database.
func (e *env) migrate(ctx context.Context, url string) error {
	cmd := exec.CommandContext(ctx, e.binary, "migrate")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + url}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	return nil
}

// load creates the marker and the project when new, loads the chunks not yet committed, then
// tops the history up to now and brings the aggregates up to date.
func (ds *dataset) load(ctx context.Context, e *env, n int64) error {
	d := ds.db
	if _, err := d.pool.Exec(ctx, markerSQL); err != nil {
		return fmt.Errorf("marker: %w", err)
	}
	var version int
	if err := d.pool.QueryRow(ctx, `SELECT version FROM public.beacon_schema_version`).Scan(&version); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	var mVersion, chunks int
	var complete *time.Time
	err := d.pool.QueryRow(ctx, `SELECT events, start, step_us, chunks, schema_version, next_event, complete_at FROM public.bench_dataset`).
		Scan(&n, &ds.start, &ds.step, &chunks, &mVersion, &ds.events, &complete)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		ds.start = time.Now().Add(-dashDays * 24 * time.Hour).Truncate(time.Hour)
		ds.step = int64(time.Since(ds.start)/time.Microsecond) / n
		chunks, mVersion, ds.events = dashDays, version, n
		if _, err := d.pool.Exec(ctx, `INSERT INTO beacon.projects (project_id, name, allowed_origins) VALUES ($1, 'dashboard bench', '{*}')
			ON CONFLICT DO NOTHING`, dashProject); err != nil {
			return fmt.Errorf("project: %w", err)
		}
		if _, err := d.pool.Exec(ctx, `INSERT INTO public.bench_dataset (project_id, events, start, step_us, chunks, schema_version, next_event)
			VALUES ($1, $2, $3, $4, $5, $6, $2)`, dashProject, n, ds.start, ds.step, chunks, version); err != nil {
			return fmt.Errorf("marker: %w", err)
		}
	case err != nil:
		return fmt.Errorf("marker: %w", err)
	}
	ds.loadedAt, ds.version = mVersion, version
	t0 := time.Now()
	switch {
	case complete != nil:
		ds.reused = true
		e.logf("dashboard: reusing %s (%d events loaded %s)", d.name, n, complete.Format(time.DateTime))
	case e.o.dashNoLoad:
		e.logf("dashboard: -dash-no-load: measuring %s as it is (incomplete)", d.name)
	default:
		if err := ds.loadChunks(ctx, e, n, chunks); err != nil {
			return err
		}
	}
	if err := ds.topUp(ctx, e); err != nil {
		return err
	}
	if err := ds.refresh(ctx); err != nil {
		return err
	}
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM public.bench_chunks`).Scan(&ds.chunksDone); err != nil {
		return err
	}
	ds.chunks = chunks
	if err := d.pool.QueryRow(ctx, `SELECT coalesce(sum(events), 0) FROM analytics.hourly_events WHERE project_id = $1`, dashProject).Scan(&ds.inProject); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	if complete == nil && ds.chunksDone == chunks {
		if _, err := d.pool.Exec(ctx, `UPDATE public.bench_dataset SET complete_at = now()`); err != nil {
			return err
		}
	}
	ds.loaded = time.Since(t0)
	return nil
}

// loadChunks inserts the chunks (a day's worth of event numbers each) not yet committed, with
// -dash-workers statements at a time; each chunk commits together with its bench_chunks row.
func (ds *dataset) loadChunks(ctx context.Context, e *env, n int64, chunks int) error {
	rows, err := ds.db.pool.Query(ctx, `SELECT c FROM generate_series(0, $1 - 1) c
		WHERE c NOT IN (SELECT chunk FROM public.bench_chunks) ORDER BY c DESC`, chunks)
	if err != nil {
		return err
	}
	todo, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		return nil
	}
	if _, err := ds.db.pool.Exec(ctx, `SELECT beacon.ensure_partitions($1, 2)`, dashDays+1); err != nil {
		return fmt.Errorf("partitions: %w", err)
	}
	e.logf("dashboard: loading %d of %d chunks (%d events each) into %s", len(todo), chunks, n/int64(chunks), ds.db.name)
	per := n / int64(chunks)
	work := make(chan int32)
	var mu sync.Mutex
	var first error
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil || ctx.Err() != nil }
	var wg sync.WaitGroup
	for range max(e.o.dashWorkers, 1) {
		wg.Go(func() {
			for c := range work { // drained to the end, so the sender never blocks on a worker that gave up
				lo, hi := int64(c)*per, int64(c+1)*per
				if int(c) == chunks-1 {
					hi = n
				}
				if failed() {
					continue
				}
				if err := ds.insertChunk(ctx, c, lo, hi); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i, c := range todo {
		if failed() {
			break
		}
		work <- c
		if (i+1)%10 == 0 {
			e.logf("dashboard: %d/%d chunks started", i+1, len(todo))
		}
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// insertChunk generates events lo..hi-1 and records the chunk, in one transaction.
func (ds *dataset) insertChunk(ctx context.Context, c int32, lo, hi int64) error {
	return pgx.BeginFunc(ctx, ds.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, generateSQL, dashProject, lo, hi, ds.step, ds.start); err != nil {
			return fmt.Errorf("generate chunk %d: %w", c, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO public.bench_chunks (chunk) VALUES ($1)`, c)
		return err
	})
}

// topUp continues the numbering at the same rate up to now, so "today" and "the last 24 hours"
// hold as many events on a reused data set as on a fresh one.
func (ds *dataset) topUp(ctx context.Context, e *env) error {
	upTo := int64(time.Since(ds.start)/time.Microsecond) / ds.step
	if upTo <= ds.events {
		return nil
	}
	if _, err := ds.db.pool.Exec(ctx, `SELECT beacon.ensure_partitions(1, 2)`); err != nil {
		return fmt.Errorf("partitions: %w", err)
	}
	e.logf("dashboard: topping up %d events, to now", upTo-ds.events)
	err := pgx.BeginFunc(ctx, ds.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, generateSQL, dashProject, ds.events, upTo, ds.step, ds.start); err != nil {
			return fmt.Errorf("top up: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE public.bench_dataset SET next_event = $1`, upTo)
		return err
	})
	if err != nil {
		return err
	}
	ds.toppedUp = upTo - ds.events
	ds.events = upTo
	return nil
}

// refresh runs what the relay runs on its tickers — beacon.maintain() (partitions, rollups,
// refreshes) and, after asking for it with analytics.refresh(), beacon.refresh_analytics() —
// so the aggregates count every event before anything is timed. ANALYZE first: a bulk load
// leaves the planner's statistics of the events, sessions and rollups behind (autovacuum gets to
// them a minute later), and the first full recount planned on them ran for over an hour instead
// of minutes; a database that grew by traffic has its statistics.
func (ds *dataset) refresh(ctx context.Context) error {
	for _, q := range []string{`ANALYZE`, `CALL beacon.maintain()`, `SELECT analytics.refresh()`, `SELECT beacon.refresh_analytics()`} {
		if _, err := ds.db.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (ds *dataset) close() { ds.db.pool.Close() }
