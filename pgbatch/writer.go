package pgbatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	copyEvents   = copySQL(pgx.Identifier{"beacon", "events"}.Sanitize())
	copyIncoming = copySQL(pgx.Identifier{"pg_temp", "beacon_incoming"}.Sanitize())
)

// write stores batch, whatever it takes: the fast COPY first; on a duplicate the ON CONFLICT path;
// on a row PostgreSQL refuses, halves until the bad rows stand alone; on anything else, backoff
// and retry until ctx ends.
func (b *Batcher) write(ctx context.Context, batch []item) {
	slow := false
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := b.copyBatch(ctx, batch, slow)
		b.obs.Flushed(len(batch), time.Since(start), err)
		switch kind := classify(err); {
		case kind == ok:
			b.obs.Committed(len(batch))
			finish(batch, nil)
			return
		case kind == duplicate && !slow:
			slow = true // some rows were stored before: let ON CONFLICT skip them
		case kind == badRow && len(batch) == 1:
			var pgErr *pgconn.PgError
			errors.As(err, &pgErr)
			b.obs.Rejected(1)
			b.log.Warn("row rejected", "code", pgErr.Code, "error", pgErr.Message)
			finish(batch, &RowError{Code: pgErr.Code, Message: pgErr.Message})
			return
		case kind == badRow:
			half := len(batch) / 2
			b.write(ctx, batch[:half])
			b.write(ctx, batch[half:])
			return
		default:
			wait := backoff(b.cfg.RetryMin, b.cfg.RetryMax, attempt)
			b.obs.Retrying(err, attempt, wait)
			b.log.Warn("flush failed, will retry", "rows", len(batch), "attempt", attempt, "wait", wait, "error", err)
			select {
			case <-ctx.Done():
				finish(batch, fmt.Errorf("flush batch: gave up: %w", ctx.Err()))
				return
			case <-time.After(wait):
			}
		}
	}
}

func finish(batch []item, err error) {
	for i := range batch {
		batch[i].done(err)
	}
}

// copyBatch writes batch in one transaction: straight COPY into beacon.events, or (slow) COPY into
// a temp table and INSERT … ON CONFLICT DO NOTHING, which drops re-sent events.
func (b *Batcher) copyBatch(ctx context.Context, batch []item, slow bool) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	// Rows go in COPY's binary format as appendCopy writes them: what pgx.CopyFrom sent, without
	// its per-value encode plans (~0.5 µs of relay CPU per event) and its per-batch Prepare.
	copyFrom := func(sql string) error {
		_, err := tx.Conn().PgConn().CopyFrom(ctx, newCopyReader(batch), sql)
		return err
	}
	if !slow {
		if err := copyFrom(copyEvents); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
	} else {
		// LIKE the row type, not the table: the relay's role may not SELECT beacon.events.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS beacon_incoming
			(LIKE beacon.event_row) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("create temp table: %w", err)
		}
		if err := copyFrom(copyIncoming); err != nil {
			return fmt.Errorf("copy into temp table: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO beacon.events SELECT * FROM pg_temp.beacon_incoming
			ON CONFLICT DO NOTHING`); err != nil {
			return fmt.Errorf("insert new events: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type errKind int

const (
	ok errKind = iota
	duplicate
	badRow
	transient
)

// classify sorts a write error: unique violation (a re-sent event); data exceptions, integrity
// violations and program limits (one bad row, e.g. "\u0000" in props or an oversized value);
// everything else (connection loss, restart, serialization, missing table) is retried.
func classify(err error) errKind {
	if err == nil {
		return ok
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return transient
	}
	switch {
	case pgErr.Code == "23505":
		return duplicate
	case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23" || pgErr.Code[:2] == "54"):
		return badRow
	default:
		return transient
	}
}

// backoff is exponential from lo to hi with full jitter in its upper half.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo << min(attempt-1, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}
