package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var eventColumns = []string{"project_id", "event_id", "session_id", "anon_id", "user_id", "name", "props", "ts", "received_at"}

// rowSource makes the rows a relay would write for `clients` clients sending the same samples as
// the load generator: client k%clients's k-th sample, a fresh UUIDv7, the current time.
type rowSource struct {
	project         uuid.UUID
	clients         int
	rings           [][]sample
	sessions, anons []string
	ids             *idGen
	next            atomic.Int64
}

func newRowSource(project uuid.UUID, clients int) *rowSource {
	s := &rowSource{project: project, clients: clients, ids: newIDGen()}
	for i := range clients {
		s.rings = append(s.rings, samples(uint64(i), ringSize))
		s.sessions, s.anons = append(s.sessions, "s-"+itoa(i)), append(s.anons, "a-"+itoa(i))
	}
	return s
}

const ringSize = 64

// batch returns n rows ready for CopyFrom.
func (s *rowSource) batch(n int) [][]any {
	rows := make([][]any, n)
	now := time.Now()
	base := s.next.Add(int64(n)) - int64(n)
	for i := range rows {
		k := base + int64(i)
		c := int(k % int64(s.clients))
		smp := &s.rings[c][(k/int64(s.clients))%ringSize]
		rows[i] = []any{pgtype.UUID{Bytes: s.project, Valid: true}, pgtype.UUID{Bytes: s.ids.next(now), Valid: true},
			s.sessions[c], s.anons[c], nil, smp.name, smp.props, now, now}
	}
	return rows
}

// copyResult is one baseline run.
type copyResult struct {
	rows int64
	secs float64
	cpu  cpuShare
}

func (r copyResult) rate() float64 { return float64(r.rows) / r.secs }

// cost is the CPU time all parts spent per row, in µs: unlike throughput, it barely moves when
// other work on the machine takes cores away.
func (r copyResult) cost() float64 { return r.cpu.busy() * 1e6 / r.rate() }

// copyFor COPYs 5,000-row batches into table with `writers` concurrent transactions, for dur.
func (e *env) copyFor(ctx context.Context, d *db, table pgx.Identifier, src *rowSource, writers, batch int, dur time.Duration) (copyResult, error) {
	res, err := e.timedWriters(ctx, writers, dur, func(ctx context.Context) (int, error) {
		b := src.batch(batch)
		tx, err := d.pool.Begin(ctx)
		if err != nil {
			return 0, err
		}
		_, err = tx.CopyFrom(ctx, table, eventColumns, pgx.CopyFromRows(b))
		if err == nil {
			err = tx.Commit(ctx)
		}
		if err != nil {
			_ = tx.Rollback(context.Background())
			return 0, err
		}
		return len(b), nil
	})
	if err != nil {
		return res, fmt.Errorf("copy into %s: %w", table.Sanitize(), err)
	}
	return res, nil
}

// insertFor INSERTs one row per statement in autocommit, with `writers` connections, for dur:
// what row-at-a-time analytics pipelines do.
func (e *env) insertFor(ctx context.Context, d *db, src *rowSource, writers int, dur time.Duration) (copyResult, error) {
	res, err := e.timedWriters(ctx, writers, dur, func(ctx context.Context) (int, error) {
		n := 0
		for _, r := range src.batch(100) {
			_, err := d.pool.Exec(ctx, `INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, user_id, name, props, ts, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r...)
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	if err != nil {
		return res, fmt.Errorf("insert: %w", err)
	}
	return res, nil
}

// timedWriters runs step in `writers` goroutines until dur has passed and reports the rows they
// wrote, the rate and the CPU spent. An error other than the run ending stops that writer and is
// returned.
func (e *env) timedWriters(ctx context.Context, writers int, dur time.Duration, step func(context.Context) (int, error)) (copyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var rows atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	pm := postmasterPID(e.o.pgdata)
	c0, t0 := takeCPU(0, pm), time.Now()
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := step(ctx)
				rows.Add(int64(n))
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	res := copyResult{rows: rows.Load(), secs: secs, cpu: cpuBetween(c0, takeCPU(0, pm), secs)}
	select {
	case err := <-errs:
		return res, err
	default:
	}
	return res, nil
}

// makeBare creates bare.events: beacon.events' columns and daily partitions, with no index, no
// trigger, no dedup — what COPY costs before the design's own work.
func makeBare(ctx context.Context, d *db) error {
	_, err := d.pool.Exec(ctx, `
CREATE SCHEMA bare;
CREATE TABLE bare.events (LIKE beacon.events INCLUDING DEFAULTS) PARTITION BY RANGE (ts);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'beacon.events'::regclass
    LOOP
        EXECUTE format('CREATE TABLE bare.%I PARTITION OF bare.events %s', r.relname, r.bound);
    END LOOP;
END $$`)
	if err != nil {
		return fmt.Errorf("make bare.events: %w", err)
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
