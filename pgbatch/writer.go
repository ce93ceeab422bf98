package pgbatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/store"
)

// write stores j's batch, whatever it takes: the fast COPY first; on a duplicate the ON CONFLICT
// path; on an error a row caused in a shared batch, the projects are split apart and only the
// failing ones go on, in the quarantine (splitProjects); there, their rows are isolated (isolate)
// and the ones PostgreSQL still refuses are kept as dead letters, on a trigger-bug error after
// RejectRetries retries; on anything else (connection loss, restart) backoff and retry until ctx
// ends. A job that comes with an error starts from it instead of copying again. It reports
// whether PostgreSQL refused a row of the batch (the quarantine rests after such a job).
func (b *Batcher) write(ctx context.Context, j job) (refused bool) {
	bugRetries := 0
	for attempt := 1; ; attempt++ {
		if j.shared {
			// A project may have been refused since this batch was taken (or on the last try):
			// its rows go to the quarantine before they can fail this COPY or wait on its locks.
			var held []items
			j.batch, held = b.suspects.hold(j.batch)
			for _, part := range held {
				b.quarantine <- job{batch: part, slow: j.slow}
			}
			if len(j.batch) == 0 {
				return false
			}
		}
		if attempt > 1 || j.err == nil {
			start := time.Now()
			j.err = b.transact(ctx, "flush batch", j.slow, func(t *txn) error { return copyRows(ctx, t.tx, j.batch, j.slow) })
			b.obs.Flushed(len(j.batch), time.Since(start), j.err)
		}
		switch kind := classify(j.err); {
		case kind == ok:
			b.obs.Committed(len(j.batch))
			finish(j.batch, nil)
			return refused
		case kind == duplicate && !j.slow:
			j.slow = true // some rows were stored before: let ON CONFLICT skip them
			continue
		case (kind == badRow || kind == bug) && j.shared:
			if j.err = b.splitProjects(ctx, j); j.err == nil {
				return true
			}
		case kind == bug && bugRetries < b.cfg.RejectRetries:
			bugRetries++ // a migration may fix it: wait and retry the whole batch
		case kind == badRow || kind == bug:
			b.suspects.mark(j.batch[0].ev.ProjectID) // in the quarantine: one project; keep it there
			refused = true
			if j.err = b.isolate(ctx, j); j.err == nil {
				return true
			}
		}
		wait := backoff(b.cfg.RetryMin, b.cfg.RetryMax, attempt)
		b.obs.Retrying(j.err, attempt, wait)
		b.logs.retry(len(j.batch), attempt, wait, j.err)
		select {
		case <-ctx.Done():
			finish(j.batch, fmt.Errorf("flush batch: gave up: %w", ctx.Err()))
			return refused
		case <-time.After(wait):
		}
	}
}

// copyRows is one COPY of rows into tx, the fast way or the ON CONFLICT way.
func copyRows(ctx context.Context, tx *store.Batch, rows items, slow bool) error {
	if slow {
		return tx.CopyDedup(ctx, rows)
	}
	return tx.Copy(ctx, rows)
}

type errKind int

const (
	ok        errKind = iota
	duplicate         // 23505: a re-sent event
	badRow            // a row's data: isolate at once
	bug               // the schema's fault (a trigger, a grant): retry a little, then isolate
	transient         // the connection's or the server's state: retry until it passes
)

// classify sorts a write error by SQLSTATE class. Connection loss (no SQLSTATE), 08 connection,
// 25 transaction state, 40 rollback (serialization, deadlock), 53 resources, 55 object state
// (lock not available), 57 operator intervention (shutdown, cancel) and 58/XX system errors pass
// with time, as does a missing table (42P01); 22 data, 23 integrity and 54 program limits are the row's; anything else (42883
// undefined function, 42501 privilege, P0001 raised, 21000 cardinality …) is a bug in the schema
// that would stop ingest forever if retried without end.
func classify(err error) errKind {
	if err == nil {
		return ok
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return transient
	}
	switch pgErr.Code {
	case "23505":
		return duplicate
	case "42P01": // no beacon.events at all (mid-migration): no row to isolate, wait for it
		return transient
	}
	switch pgErr.Code[:2] {
	case "22", "23", "54":
		return badRow
	case "08", "25", "40", "53", "55", "57", "58", "XX":
		return transient
	}
	return bug
}

// backoff is exponential from lo to hi with full jitter in its upper half.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo << min(attempt-1, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}
