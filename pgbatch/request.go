package pgbatch

import (
	"context"
	"errors"
	"fmt"
)

// Request is the events one HTTP request queues, for a door that answers only after all of them
// are committed (POST /v1/events, the Segment API). Its answers wait on a channel with room for
// every event, so a batcher callback never blocks, even after the request stopped waiting.
type Request struct {
	b       *Batcher
	answers chan answer
	pending int
}

type answer struct {
	err      error
	answered func(*RowError)
}

// NewRequest makes a Request that queues at most n events to b.
func NewRequest(b *Batcher, n int) *Request {
	return &Request{b: b, answers: make(chan answer, n)}
}

// Add queues ev (see Batcher.Add). answered runs in Wait, with nil once ev is committed or with
// the *RowError PostgreSQL refused it with.
func (r *Request) Add(ctx context.Context, ev Event, answered func(*RowError)) error {
	if err := r.b.Add(ctx, ev, func(err error) { r.answers <- answer{err, answered} }); err != nil {
		return fmt.Errorf("buffer event: %w", err)
	}
	r.pending++
	return nil
}

// Wait waits, within ctx, for every queued event's answer. An error means an event was not
// stored: the request is to be re-sent (a re-sent event is stored once).
func (r *Request) Wait(ctx context.Context) error {
	for ; r.pending > 0; r.pending-- {
		select {
		case a := <-r.answers:
			var rowErr *RowError
			if a.err != nil && !errors.As(a.err, &rowErr) {
				return fmt.Errorf("store event: %w", a.err)
			}
			a.answered(rowErr)
		case <-ctx.Done():
			return fmt.Errorf("events not committed within the commit timeout: %w", ctx.Err())
		}
	}
	return nil
}
