package ws

import (
	"slices"
	"sync"
)

// acks tracks which seqs of one connection are still in flight and yields the cumulative ack:
// the highest N such that every message up to N that carried a seq is committed or answered.
//
// Seqs must rise strictly on a connection (start refuses any other): then the messages in flight
// are in seq order, and the ack is just below the oldest one. Without the rule, 10 then 3 would
// ack 9 while 3 is in flight. A frame too broken to read its seq was answered at once, so it
// holds nothing up. The zero value is ready to use.
type acks struct {
	mu      sync.Mutex
	flight  []uint64 // seqs started and not yet finished, rising
	maxSeen uint64   // highest seq started
	sent    uint64   // last ack handed to the writer
}

// start records seq as in flight and reports false when it does not rise above every seq before
// it (the message must then be refused, not handled). Seq 0 (none sent) is not tracked.
func (a *acks) start(seq uint64) bool {
	if seq == 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq <= a.maxSeen {
		return false
	}
	a.flight = append(a.flight, seq)
	a.maxSeen = seq
	return true
}

// finish marks seq done and reports whether the ack may now be higher than the last one sent.
func (a *acks) finish(seq uint64) bool {
	if seq == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch i, ok := slices.BinarySearch(a.flight, seq); {
	case !ok:
	case len(a.flight) == 1 && cap(a.flight) > 64:
		a.flight = nil // a burst's backing array is not kept by an idle connection
	case len(a.flight) == 1:
		a.flight = a.flight[:0] // kept: a message at a time allocates nothing
	case i == 0: // in order: the front moves, nothing is copied
		a.flight = a.flight[1:]
	default:
		a.flight = slices.Delete(a.flight, i, i+1)
	}
	return a.valueLocked() > a.sent
}

// take returns the ack to send, or 0 when it has not moved since the last take.
func (a *acks) take() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.valueLocked()
	if v <= a.sent {
		return 0
	}
	a.sent = v
	return v
}

// idle reports whether nothing is in flight.
func (a *acks) idle() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.flight) == 0
}

// valueLocked returns the ack: just below the oldest seq in flight, or the highest seen.
func (a *acks) valueLocked() uint64 {
	if len(a.flight) == 0 {
		return a.maxSeen
	}
	return a.flight[0] - 1
}
