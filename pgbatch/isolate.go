package pgbatch

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/store"
)

// txn is one transaction in which parts of a batch are copied under savepoints (try), so a part
// PostgreSQL refuses rolls back alone and the others commit. What becomes of each part once the
// transaction committed is in done (settle).
type txn struct {
	b      *Batcher
	tx     *store.Batch
	slow   bool // a duplicate was seen: take the ON CONFLICT path
	done   []outcome
	budget int // sub-COPYs left to isolate
}

// outcome is a part of a batch and its answer after the commit: nil (stored), a *RowError (set
// aside), or the error PostgreSQL refused it with in a shared batch (for the quarantine).
type outcome struct {
	part items
	err  error
}

// transact runs f in one transaction and settles what it did once it committed. An error (what:
// …) leaves every event unanswered, for write to retry.
func (b *Batcher) transact(ctx context.Context, what string, slow bool, f func(*txn) error) error {
	t := &txn{b: b, slow: slow}
	if err := b.store.Write(ctx, func(tx *store.Batch) error { t.tx = tx; return f(t) }); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	t.settle()
	return nil
}

// settle answers the parts stored and set aside, and hands the parts refused in a shared batch to
// the quarantine, suspecting their project.
func (t *txn) settle() {
	for _, o := range t.done {
		var rowErr *RowError
		switch {
		case o.err == nil:
			t.b.obs.Committed(len(o.part))
			finish(o.part, nil)
		case errors.As(o.err, &rowErr):
			t.b.obs.Rejected(rowErr.Code, len(o.part))
			t.b.logs.rejected(o.part, rowErr)
			finish(o.part, rowErr)
		default:
			t.b.suspects.mark(o.part[0].ev.ProjectID)
			t.b.quarantine <- job{batch: o.part, err: o.err, slow: t.slow}
		}
	}
}

// try copies part under a savepoint, the ON CONFLICT way once a duplicate was seen.
func (t *txn) try(ctx context.Context, part items) error {
	start := time.Now()
	err := t.tx.Savepoint(ctx, func(sp *store.Batch) error { return copyRows(ctx, sp, part, t.slow) })
	if classify(err) == duplicate && !t.slow {
		t.slow = true
		err = t.tx.Savepoint(ctx, func(sp *store.Batch) error { return copyRows(ctx, sp, part, true) })
	}
	t.b.obs.Flushed(len(part), time.Since(start), err)
	return err
}

// isolate writes j's batch, which failed with j.err, in one transaction, isolating the rows
// PostgreSQL refuses: each half of a failing part is tried under a savepoint, and a half that
// fails is halved again, down to one row or as many levels as the batch has bits; what still
// fails is kept in beacon.events_rejected. Each level re-copies at most the batch once, so the
// work is bounded by levels × batch rows, and copies (the statements) by the budget, 16 per
// level: one bad row in 5,000 costs 2 × 13 COPYs of shrinking halves, so about eight are isolated
// exactly; a trigger that refuses every row stops at the budget and sets the failing parts aside
// whole (good rows among them are kept there too). It returns nil once the transaction committed
// and every event was answered; an error (transient) leaves the batch for write to retry.
func (b *Batcher) isolate(ctx context.Context, j job) error {
	start, levels := time.Now(), bits.Len(uint(len(j.batch)))
	err := b.transact(ctx, "isolate bad rows", j.slow, func(t *txn) error {
		t.budget = 16 * levels
		return t.halve(ctx, j.batch, j.err, levels)
	})
	if err == nil {
		b.logs.isolated(len(j.batch), time.Since(start))
	}
	return err
}

// halve stores part, which failed with err, as two halves; a failing half is halved again. Out
// of levels or budget, a part is set aside whole with the error its parent failed with.
func (t *txn) halve(ctx context.Context, part items, err error, levels int) error {
	if len(part) == 1 || levels == 0 || t.budget == 0 {
		return t.reject(ctx, part, err)
	}
	half := len(part) / 2
	for _, h := range []items{part[:half], part[half:]} {
		hErr := err
		if t.budget > 0 {
			t.budget--
			hErr = t.try(ctx, h)
		}
		switch classify(hErr) {
		case ok:
			t.done = append(t.done, outcome{part: h})
		case badRow, bug:
			if err := t.halve(ctx, h, hErr, levels-1); err != nil {
				return err
			}
		default:
			return hErr
		}
	}
	return nil
}

// reject keeps part in beacon.events_rejected with err's code and message; its events will be
// answered with a *RowError saying so (Kept), or not when PostgreSQL refused even that.
func (t *txn) reject(ctx context.Context, part items, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	keepErr := t.tx.Savepoint(ctx, func(sp *store.Batch) error { return sp.Reject(ctx, part, pgErr.Code, pgErr.Message) })
	if kind := classify(keepErr); kind != ok && kind != badRow && kind != bug {
		return keepErr
	}
	t.done = append(t.done, outcome{part, &RowError{Code: pgErr.Code, Message: pgErr.Message, Kept: keepErr == nil}})
	return nil
}
