package ws

import (
	"runtime"
	"sync"
)

// writerPool writes for connections whose writer is not running: a kick queues the connection
// and a few workers (one per CPU at most, existing only while the queue is not empty) take
// turns. A flag push to 10,000 clients is then 10,000 turns of two or so goroutines, not 10,000
// goroutines started (each growing its stack) and scheduled. A worker never waits on a client:
// it writes only what the socket takes at once (frameWriter.tryFrames), and a connection whose
// socket is full — a slow or deaf client — or that is closing gets a goroutine of its own
// (conn.write), so it holds back no one else.
type writerPool struct {
	mu      sync.Mutex
	queue   []*conn
	head    int
	workers int
	max     int
}

func newWriterPool() *writerPool { return &writerPool{max: max(2, runtime.GOMAXPROCS(0))} }

// submit queues c, whose running flag the caller has set.
func (p *writerPool) submit(c *conn) {
	p.mu.Lock()
	p.queue = append(p.queue, c)
	start := p.workers < p.max
	if start {
		p.workers++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

func (p *writerPool) work() {
	for {
		p.mu.Lock()
		if p.head == len(p.queue) {
			p.workers--
			if cap(p.queue) > 4096 {
				p.queue = nil // a fan-out's queue is not kept between pushes
			} else {
				p.queue = p.queue[:0]
			}
			p.head = 0
			p.mu.Unlock()
			return
		}
		c := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		p.mu.Unlock()
		c.writeSome()
	}
}
