package pgbatch

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/store"
)

// isolation is one batch's search for the rows PostgreSQL refuses, inside one transaction: each
// half of a failing part is tried under a savepoint; a half that fails is halved again, down to
// one row or maxDepth; what still fails is kept in beacon.events_rejected. Each level re-copies
// at most the batch once, so the work is bounded by depth × batch rows, and copies (the
// statements) by the budget, 16 per level: one bad row in 5,000 costs 2 × 13 COPYs of shrinking
// halves, so about eight are isolated exactly; a trigger that refuses every row stops at the
// budget and sets the failing parts aside whole (good rows among them are kept there too).
type isolation struct {
	b        *Batcher
	tx       *store.Batch
	slow     bool
	maxDepth int
	budget   int // sub-COPYs left
	aside    []aside
	stored   int
	refused  map[refusal]int // rows set aside per project and code, for the log
}

// aside is a part of the batch set aside, with the answer its events get after the commit.
type aside struct {
	part items
	err  *RowError
}

// isolate writes batch in one transaction, isolating the rows that fail with first. It returns
// nil once that transaction committed and every event was answered; an error (transient) leaves
// the batch unanswered for write to retry.
func (b *Batcher) isolate(ctx context.Context, batch items, slow bool, first error) error {
	start := time.Now()
	tx, err := b.store.Begin(ctx)
	if err != nil {
		return fmt.Errorf("isolate bad rows: %w", err)
	}
	defer tx.Rollback(ctx)
	depth := bits.Len(uint(len(batch)))
	iso := &isolation{b: b, tx: tx, slow: slow, maxDepth: depth, budget: 16 * depth, refused: map[refusal]int{}}
	if err := iso.split(ctx, batch, first, 0); err != nil {
		return fmt.Errorf("isolate bad rows: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("isolate bad rows: %w", err)
	}
	b.logs.isolated(len(batch), time.Since(start), iso.refused)
	iso.answer(batch)
	return nil
}

// split stores part, which failed with err, as two halves; a failing half is split again.
func (iso *isolation) split(ctx context.Context, part items, err error, depth int) error {
	if len(part) == 1 || depth >= iso.maxDepth {
		return iso.reject(ctx, part, err)
	}
	half := len(part) / 2
	for _, h := range []items{part[:half], part[half:]} {
		if iso.budget <= 0 {
			if err := iso.reject(ctx, h, err); err != nil {
				return err
			}
			continue
		}
		iso.budget--
		err := iso.try(ctx, h)
		switch classify(err) {
		case ok:
			iso.stored += len(h)
		case badRow, bug:
			if err := iso.split(ctx, h, err, depth+1); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
}

// try copies part under a savepoint, the ON CONFLICT way once a duplicate was seen.
func (iso *isolation) try(ctx context.Context, part items) error {
	start := time.Now()
	err := iso.savepoint(ctx, func(sp *store.Batch) error { return copyRows(ctx, sp, part, iso.slow) })
	if classify(err) == duplicate && !iso.slow {
		iso.slow = true
		err = iso.savepoint(ctx, func(sp *store.Batch) error { return copyRows(ctx, sp, part, true) })
	}
	iso.b.obs.Flushed(len(part), time.Since(start), err)
	return err
}

// reject keeps part in beacon.events_rejected with err's code and message; its events will be
// answered with a *RowError saying so (Kept), or not when PostgreSQL refused even that.
func (iso *isolation) reject(ctx context.Context, part items, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	keepErr := iso.savepoint(ctx, func(sp *store.Batch) error { return sp.Reject(ctx, part, pgErr.Code, pgErr.Message) })
	rowErr := &RowError{Code: pgErr.Code, Message: pgErr.Message, Kept: keepErr == nil}
	switch classify(keepErr) {
	case ok, badRow, bug: // logged once per isolation, with counts (batchLog)
	default:
		return keepErr
	}
	for i := range part {
		iso.refused[refusal{project: part[i].ev.ProjectID, code: pgErr.Code, kept: rowErr.Kept}]++
	}
	iso.aside = append(iso.aside, aside{part: part, err: rowErr})
	return nil
}

// savepoint runs f under a savepoint of the isolation's transaction, released on success.
func (iso *isolation) savepoint(ctx context.Context, f func(*store.Batch) error) error {
	sp, err := iso.tx.Savepoint(ctx)
	if err != nil {
		return err
	}
	defer sp.Rollback(ctx)
	if err := f(sp); err != nil {
		return err
	}
	return sp.Commit(ctx)
}

// answer runs after the commit: parts set aside get their *RowError, the rest nil.
func (iso *isolation) answer(batch items) {
	for _, a := range iso.aside {
		iso.b.obs.Rejected(a.err.Code, len(a.part))
		iso.b.status.add(a.err.Code, len(a.part))
		finish(a.part, a.err)
		for j := range a.part {
			a.part[j].done = nil
		}
	}
	iso.b.obs.Committed(iso.stored)
	finish(batch, nil)
}

// rejections counts the rows set aside since start, for /readyz.
type rejections struct {
	mu   sync.Mutex
	rows int64
	last string
}

func (r *rejections) add(code string, rows int) {
	r.mu.Lock()
	r.rows += int64(rows)
	r.last = code
	r.mu.Unlock()
}

// Rejected reports how many rows PostgreSQL refused since start (kept in beacon.events_rejected,
// or answered with a *RowError when even that failed) and the SQLSTATE of the last one.
func (b *Batcher) Rejected() (rows int64, lastCode string) {
	b.status.mu.Lock()
	defer b.status.mu.Unlock()
	return b.status.rows, b.status.last
}
