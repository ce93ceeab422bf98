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
	batch, err, bugRetries := j.batch, j.err, 0
	for attempt := 1; ; attempt++ {
		if j.shared {
			// A project may have been refused since this batch was taken (or on the last try):
			// its rows go to the quarantine before they can fail this COPY or wait on its locks.
			var held []items
			if batch, held = b.suspects.hold(batch); len(held) > 0 {
				for _, part := range held {
					b.quarantine <- job{batch: part, slow: j.slow}
				}
				j.batch = batch
				if len(batch) == 0 {
					return false
				}
			}
		}
		if attempt > 1 || j.err == nil {
			start := time.Now()
			err = b.copyBatch(ctx, batch, j.slow)
			b.obs.Flushed(len(batch), time.Since(start), err)
		}
		kind := classify(err)
		if (kind == badRow || kind == bug) && j.shared {
			if err = b.splitProjects(ctx, j, err); err == nil {
				return true
			}
			kind = transient // the split's transaction did not commit: nothing was answered
		}
		if kind == bug && bugRetries < b.cfg.RejectRetries {
			bugRetries++
			kind = transient // a migration may fix it: wait and retry the whole batch
		}
		switch kind {
		case ok:
			b.obs.Committed(len(batch))
			finish(batch, nil)
			return refused
		case duplicate:
			if !j.slow {
				j.slow = true // some rows were stored before: let ON CONFLICT skip them
				continue
			}
		case badRow, bug:
			b.suspects.mark(batch[0].ev.ProjectID) // in the quarantine: one project; keep it there
			refused = true
			if err = b.isolate(ctx, batch, j.slow, err); err == nil {
				return true
			}
		}
		wait := backoff(b.cfg.RetryMin, b.cfg.RetryMax, attempt)
		b.obs.Retrying(err, attempt, wait)
		b.logs.retry(len(batch), attempt, wait, err)
		select {
		case <-ctx.Done():
			finish(batch, fmt.Errorf("flush batch: gave up: %w", ctx.Err()))
			return refused
		case <-time.After(wait):
		}
	}
}

// copyBatch writes batch in one transaction: straight COPY into beacon.events, or (slow) through
// the ON CONFLICT path, which drops re-sent events.
func (b *Batcher) copyBatch(ctx context.Context, batch items, slow bool) error {
	tx, err := b.store.Begin(ctx)
	if err != nil {
		return fmt.Errorf("flush batch: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := copyRows(ctx, tx, batch, slow); err != nil {
		return fmt.Errorf("flush batch: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("flush batch: %w", err)
	}
	return nil
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
