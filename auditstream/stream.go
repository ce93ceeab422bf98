// Package auditstream writes beacon.audit, as it grows, to standard output or a file as JSON lines
// for a SIEM (AUDIT_STREAM; docs/fedramp.md, AU-6/AU-9/AU-12). The rows are written by SQL, in the
// transactions of the actions they record, so the stream follows the table: one relay at a time
// (the database's session advisory lock) reads the rows after a cursor kept in the database
// (beacon.audit_stream_cursor), writes and flushes them, then moves the cursor. A NOTIFY on
// beacon_audit wakes it; a poll every second is the backstop. Which rows are safe to read, in which
// order, is the database's decision (beacon.audit_stream_read): no row is skipped because its id
// was taken before a row already streamed but committed after it.
package auditstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the NOTIFY channel beacon.audit_notify() sends on (≤ 63 bytes).
const Channel = "beacon_audit"

// Config tunes a Streamer; zero values take the defaults.
type Config struct {
	Target    string        // "stdout" or a file path (AUDIT_STREAM)
	Batch     int           // rows per read, write and cursor move (default 1000)
	Poll      time.Duration // longest wait without a notification (default 1s)
	LockRetry time.Duration // how often a relay without the stream lock asks again (default 10s)
}

// Streamer streams the audit. Make it with New, run it with Run.
type Streamer struct {
	cfg       Config
	connect   func(context.Context) (*pgx.Conn, error)
	log       *slog.Logger
	out       *output
	streaming atomic.Bool
}

// New opens the output (so a bad path stops start-up) and returns a Streamer that reads through
// connections from connect (one dedicated connection at a time, outside any pool: it holds the
// stream lock for its life).
func New(cfg Config, connect func(context.Context) (*pgx.Conn, error), log *slog.Logger) (*Streamer, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.LockRetry <= 0 {
		cfg.LockRetry = 10 * time.Second
	}
	out, err := openOutput(cfg.Target)
	if err != nil {
		return nil, err
	}
	return &Streamer{cfg: cfg, connect: connect, log: log.With("work", "audit_stream"), out: out}, nil
}

// Streaming reports whether this relay holds the stream lock and is streaming.
func (s *Streamer) Streaming() bool { return s.streaming.Load() }

// Reopen reopens the output file by its path (logrotate's postrotate sends SIGHUP, which Run
// turns into this).
func (s *Streamer) Reopen() error { return s.out.reopen() }

// Run streams until ctx ends, reconnecting after errors, then closes the output. A batch being
// written when ctx ends is finished and its cursor moved, so a clean stop repeats nothing.
func (s *Streamer) Run(ctx context.Context) {
	defer s.out.close()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := s.Reopen(); err != nil {
					s.log.Error("reopen on SIGHUP failed: lines still go to the previous file", "error", err)
				} else {
					s.log.Info("reopened the audit stream file on SIGHUP")
				}
			}
		}
	}()
	for ctx.Err() == nil {
		err := s.session(ctx)
		s.streaming.Store(false)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("audit stream interrupted; retrying", "error", err, "in", s.cfg.LockRetry)
		sleep(ctx, s.cfg.LockRetry)
	}
}

// session is one connection's life: wait for the lock, then stream until an error or ctx ends.
func (s *Streamer) session(ctx context.Context) error {
	conn, err := s.connect(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closing) // releases the stream lock
	}()
	for waited := false; ; waited = true {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT beacon.audit_stream_lock()").Scan(&ok); err != nil {
			return fmt.Errorf("take the stream lock: %w", err)
		}
		if ok {
			break
		}
		if !waited {
			s.log.Info("another relay streams the audit; this one waits its turn")
		}
		if !sleep(ctx, s.cfg.LockRetry) {
			return ctx.Err()
		}
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return fmt.Errorf("listen %q: %w", Channel, err)
	}
	s.streaming.Store(true)
	s.log.Info("streaming the audit", "to", s.cfg.Target)
	for {
		if err := s.drain(ctx, conn); err != nil {
			return err
		}
		wait, cancel := context.WithTimeout(ctx, s.cfg.Poll)
		_, err := conn.WaitForNotification(wait)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("wait for %q: %w", Channel, err)
		}
	}
}

// drain writes every row there is to read, a batch at a time.
func (s *Streamer) drain(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := s.batch(ctx, conn)
		if err != nil || n < s.cfg.Batch {
			return err
		}
	}
}

// batch reads, writes and flushes one batch, then moves the cursor past it. Once the read is done
// the rest runs to its end even if ctx ends, so a stop between the write and the cursor's move
// cannot repeat the batch. A crash there does: the lines carry "id" for the SIEM to drop a repeat.
func (s *Streamer) batch(ctx context.Context, conn *pgx.Conn) (int, error) {
	rows, err := conn.Query(ctx, "SELECT xact::text, audit_id, entry::text FROM beacon.audit_stream_read($1)", s.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("read the audit: %w", err)
	}
	defer rows.Close()
	var lines [][]byte
	var xact string
	var id int64
	for rows.Next() {
		var entry []byte
		if err := rows.Scan(&xact, &id, &entry); err != nil {
			return 0, fmt.Errorf("read the audit: %w", err)
		}
		var line bytes.Buffer
		if err := json.Compact(&line, entry); err != nil {
			return 0, fmt.Errorf("audit row %d: %w", id, err)
		}
		lines = append(lines, line.Bytes())
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read the audit: %w", err)
	}
	if len(lines) == 0 {
		return 0, nil
	}
	if err := s.out.write(lines); err != nil {
		return 0, err
	}
	done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(done, "SELECT beacon.audit_stream_advance($1::text::xid8, $2)", xact, id); err != nil {
		return 0, fmt.Errorf("move the stream cursor to audit row %d: %w", id, err)
	}
	return len(lines), nil
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
