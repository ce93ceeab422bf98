package ws

import (
	"sort"
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
	flight  []inFlight // seqs started and not yet popped, rising
	maxSeen uint64     // highest seq started
	sent    uint64     // last ack handed to the writer
}

type inFlight struct {
	seq  uint64
	done bool
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
	a.flight = append(a.flight, inFlight{seq: seq})
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
	i := sort.Search(len(a.flight), func(i int) bool { return a.flight[i].seq >= seq })
	if i < len(a.flight) && a.flight[i].seq == seq {
		a.flight[i].done = true
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
	a.valueLocked()
	return len(a.flight) == 0
}

// valueLocked pops the finished front of flight and returns the ack.
func (a *acks) valueLocked() uint64 {
	n := 0
	for n < len(a.flight) && a.flight[n].done {
		n++
	}
	switch {
	case n < len(a.flight):
		a.flight = a.flight[n:]
	case cap(a.flight) > 64:
		a.flight = nil // a burst's backing array is not kept by an idle connection
	default:
		a.flight = a.flight[:0]
	}
	if len(a.flight) == 0 {
		return a.maxSeen
	}
	return a.flight[0].seq - 1
}
