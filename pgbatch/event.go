// Package pgbatch buffers events from every connection in one bounded buffer and writes them to
// beacon.events with COPY, in batches flushed by size or age. Each event's done callback runs
// once: after the transaction holding it commits, or with a *RowError when PostgreSQL rejects
// that one row. A failing row never takes its batch down, a re-sent event is stored once, and
// transient errors are retried with backoff while the buffer's byte limit holds memory bounded.
package pgbatch

import (
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// Event is one row of beacon.events.
type Event struct {
	ProjectID  uuid.UUID
	EventID    uuid.UUID
	SessionID  string
	AnonID     string
	UserID     string // "" stores NULL: not identified yet
	Name       string
	Props      []byte // a JSON object, already validated
	TS         time.Time
	ReceivedAt time.Time
}

// eventOverhead is the memory one buffered event holds beyond its strings and props: its slot in
// a batch (an item, ~176 bytes), the batcher's and the connection's done closures, the
// connection's ack bookkeeping and allocator rounding. The outage benchmark (docs/benchmarks.md)
// measured ~430 live bytes for an event of ~190 bytes of strings and props; 160 here let the
// live buffer grow to ~1.3× BUFFER_LIMIT_BYTES.
const eventOverhead = int(unsafe.Sizeof(item{})) + 96

// size is the event's weight against the buffer limit.
func (e *Event) size() int64 {
	return int64(eventOverhead + len(e.SessionID) + len(e.AnonID) + len(e.UserID) + len(e.Name) + len(e.Props))
}

// columns are beacon.events' columns in the order row() gives them.
var columns = []string{"project_id", "event_id", "session_id", "anon_id", "user_id", "name", "props", "ts", "received_at"}

// row gives the values as pointer-shaped valuers of e's own fields: pgx encodes each through its
// codec's valuer plan (UUIDValuer, TextValuer, TimestamptzValuer) and, unlike a uuid.UUID, string
// or time.Time, putting one in an interface allocates nothing — 7 fewer allocations per row. Ids
// must not go as uuid.UUID: that type is a driver.Valuer, which pgx encodes through its text form
// and a failed plan per value — two thirds of COPY's client CPU before pgtype (docs/benchmarks.md).
func (e *Event) row() []any {
	var user any
	if e.UserID != "" {
		user = textRef{&e.UserID}
	}
	return []any{uuidRef{&e.ProjectID}, uuidRef{&e.EventID}, textRef{&e.SessionID}, textRef{&e.AnonID}, user,
		textRef{&e.Name}, e.Props, timeRef{&e.TS}, timeRef{&e.ReceivedAt}}
}

type (
	uuidRef struct{ p *uuid.UUID }
	textRef struct{ p *string }
	timeRef struct{ p *time.Time }
)

func (r uuidRef) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: *r.p, Valid: true}, nil }
func (r textRef) TextValue() (pgtype.Text, error) { return pgtype.Text{String: *r.p, Valid: true}, nil }
func (r timeRef) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: *r.p, Valid: true}, nil
}

// RowError is passed to an event's done callback when PostgreSQL rejected that row itself (bad
// encoding, a value a column refuses). Re-sending the same event cannot succeed.
type RowError struct {
	Code    string // SQLSTATE
	Message string
}

func (e *RowError) Error() string { return "row rejected by PostgreSQL (" + e.Code + "): " + e.Message }
