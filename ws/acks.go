package ws

import "sync"

// acks tracks which seqs of one connection are still in flight and yields the cumulative ack:
// the highest N such that every message up to N that carried a seq is committed or answered with
// an error. A frame too broken to read its seq was answered at once, so it holds nothing up.
// The zero value is ready to use (a connection embeds one; an idle connection has no map).
type acks struct {
	mu      sync.Mutex
	queue   []uint64        // seqs started, in arrival order
	done    map[uint64]bool // finished seqs still in queue; made at the first finish
	maxSeen uint64
	sent    uint64 // last ack handed to the writer
}

// start records seq as in flight. Seq 0 (none sent) is not tracked.
func (a *acks) start(seq uint64) {
	if seq == 0 {
		return
	}
	a.mu.Lock()
	a.queue = append(a.queue, seq)
	a.maxSeen = max(a.maxSeen, seq)
	a.mu.Unlock()
}

// finish marks seq done and reports whether the ack may now be higher than the last one sent.
func (a *acks) finish(seq uint64) bool {
	if seq == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done == nil {
		a.done = map[uint64]bool{}
	}
	a.done[seq] = true
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
	return len(a.queue) == 0
}

func (a *acks) valueLocked() uint64 {
	for len(a.queue) > 0 && a.done[a.queue[0]] {
		delete(a.done, a.queue[0])
		a.queue = a.queue[1:]
	}
	if len(a.queue) == 0 {
		return a.maxSeen
	}
	return min(a.queue[0]-1, a.maxSeen)
}
