package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

var (
	copyEvents      = copySQL(pgx.Identifier{"beacon", "events"}.Sanitize())
	copyIncoming    = copySQL(pgx.Identifier{"pg_temp", "beacon_incoming"}.Sanitize())
	rejectedTable   = pgx.Identifier{"beacon", "events_rejected"}
	rejectedColumns = append(slices.Clip(columns), "error_code", "error_message")
)

// Batch is one ingest transaction on a COPY connection (Write), or a savepoint inside one
// (Savepoint): rows are acknowledged only after the outermost commit.
type Batch struct{ tx pgx.Tx }

// Write runs f in one ingest transaction and commits it; when f or the commit fails, nothing f
// did is stored.
func (s *Ingest) Write(ctx context.Context, f func(*Batch) error) error {
	return run(ctx, s.pool.Begin, f)
}

// Savepoint runs f under a savepoint of b: when f fails, only what f did is undone, so one
// failing part of a batch can be retried or set aside while the rest commits.
func (b *Batch) Savepoint(ctx context.Context, f func(*Batch) error) error {
	return run(ctx, b.tx.Begin, f)
}

// run runs f in the transaction (or savepoint) begin starts, committing (releasing) it when f
// succeeds and rolling it back otherwise.
func run(ctx context.Context, begin func(context.Context) (pgx.Tx, error), f func(*Batch) error) error {
	tx, err := begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A no-op after Commit. Its error is the connection's: the next use reports it.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := f(&Batch{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Copy stores rows in beacon.events with COPY, in the binary format appendCopy writes: what
// pgx.CopyFrom sent, without its per-value encode plans (~0.5 µs of relay CPU per event) and its
// per-batch Prepare. The ids of rows keyed by id (KeyedByID) go to beacon.event_ids first, in the
// same transaction. One row PostgreSQL refuses, or one already stored (23505), fails it all.
func (b *Batch) Copy(ctx context.Context, rows Rows) error {
	if idx := keyed(rows); len(idx) > 0 {
		if err := b.copyIDs(ctx, rows, idx); err != nil {
			return err
		}
	}
	if _, err := b.tx.Conn().PgConn().CopyFrom(ctx, newCopyReader(rows, (*Event).appendCopy), copyEvents); err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	return nil
}

// CopyDedup stores rows skipping those already stored: rows keyed by id whose id beacon.event_ids
// already holds are dropped (claim), the rest go through a temp table and INSERT … ON CONFLICT DO
// NOTHING. It is 25–35% slower than Copy, so only a batch Copy found a duplicate in goes this way.
func (b *Batch) CopyDedup(ctx context.Context, rows Rows) error {
	if idx := keyed(rows); len(idx) > 0 {
		var err error
		if rows, err = b.claim(ctx, rows, idx); err != nil {
			return err
		}
		if rows.Len() == 0 {
			return nil
		}
	}
	// LIKE the row type, not the table: the relay's role may not SELECT beacon.events.
	if _, err := b.tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS beacon_incoming
		(LIKE beacon.event_row) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("create temp table: %w", err)
	}
	if _, err := b.tx.Conn().PgConn().CopyFrom(ctx, newCopyReader(rows, (*Event).appendCopy), copyIncoming); err != nil {
		return fmt.Errorf("copy into temp table: %w", err)
	}
	// TRUNCATE as well as ON COMMIT: a batch being isolated runs this more than once per transaction.
	if _, err := b.tx.Exec(ctx, `INSERT INTO beacon.events SELECT * FROM pg_temp.beacon_incoming
		ON CONFLICT DO NOTHING; TRUNCATE pg_temp.beacon_incoming`); err != nil {
		return fmt.Errorf("insert new events: %w", err)
	}
	return nil
}

// Reject keeps rows in beacon.events_rejected with the error that refused them, so the batch
// holding them can commit and its senders be acknowledged without losing them. It is pgx's
// COPY: dead letters are few, and props go in as text (they may not be valid jsonb).
func (b *Batch) Reject(ctx context.Context, rows Rows, code, message string) error {
	_, err := b.tx.CopyFrom(ctx, rejectedTable, rejectedColumns, pgx.CopyFromSlice(rows.Len(), func(i int) ([]any, error) {
		e := rows.Row(i)
		var user, sent any // NULL unless set
		if e.UserID != "" {
			user = e.UserID
		}
		if !e.SentTS.IsZero() {
			sent = e.SentTS
		}
		return []any{e.ProjectID, e.EventID, e.SessionID, e.AnonID, user, e.Name, string(e.Props), e.TS, e.ReceivedAt, sent, code, message}, nil
	}))
	if err != nil {
		return fmt.Errorf("keep %d rejected rows: %w", rows.Len(), err)
	}
	return nil
}
