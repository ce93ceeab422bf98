// Package pgbatch buffers events from every connection in one bounded buffer and writes them to
// beacon.events through the store, in COPY batches flushed by size or age. Each event's done
// callback runs once, after the transaction holding it commits. A failing row never takes its
// batch down, nor holds back another project: the batch is split by project, the passing projects
// commit at once, and the failing project's rows go to one quarantine goroutine (as do that
// project's next rows for a while), where they are isolated by halving and the refused ones kept
// in beacon.events_rejected (dead letters); their callback gets a *RowError that says so. A
// re-sent event is stored once, and transient errors are retried with backoff while the buffer's
// byte limit holds memory bounded.
package pgbatch

import (
	"unsafe"

	"github.com/beacon-analytics/beacon/store"
)

// Event is one row of beacon.events; the store defines it with the COPY encoding that must match
// its column list.
type Event = store.Event

// eventOverhead is the memory one buffered event holds beyond its strings and props: its slot in
// a batch (an item, ~176 bytes), the batcher's and the connection's done closures, the
// connection's ack bookkeeping and allocator rounding. The outage benchmark (docs/benchmarks.md)
// measured ~430 live bytes for an event of ~190 bytes of strings and props; 160 here let the
// live buffer grow to ~1.3× BUFFER_LIMIT_BYTES.
const eventOverhead = int(unsafe.Sizeof(item{})) + 96

// weight is an event's weight against the buffer limit.
func weight(e *Event) int64 {
	return int64(eventOverhead + len(e.SessionID) + len(e.AnonID) + len(e.UserID) + len(e.Name) + len(e.Props))
}

type item struct {
	ev   Event
	done func(error)
}

// items is a batch, read in place by the store's COPY.
type items []item

func (s items) Len() int               { return len(s) }
func (s items) Row(i int) *store.Event { return &s[i].ev }

// finish answers every event of batch with err.
func finish(batch items, err error) {
	for i := range batch {
		batch[i].done(err)
	}
}

// RowError is passed to an event's done callback when PostgreSQL refused that row itself (bad
// data, or a trigger bug) even alone. Kept says the row is durably in beacon.events_rejected,
// committed with the rest of its batch: the sender may drop it (it is acknowledged) and is told
// why. Without Kept the row is nowhere; re-sending the same event cannot succeed either.
type RowError struct {
	Code    string // SQLSTATE
	Message string
	Kept    bool // stored in beacon.events_rejected
}

func (e *RowError) Error() string {
	if e.Kept {
		return "row rejected by PostgreSQL (" + e.Code + "), kept in beacon.events_rejected: " + e.Message
	}
	return "row rejected by PostgreSQL (" + e.Code + "): " + e.Message
}
