package ws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/ws"
)

// While the database cannot take events, the buffer fills and holds every reader: that is the
// backpressure. The clients are alive all along and must keep their connections, although only
// the held reader could read their pongs. (bench-outage found every connection closed with
// "no pong" 30–40 s into a 60 s PostgreSQL outage.)
func TestBackpressureOutlivesPingsAndIdleTimeout(t *testing.T) {
	t.Parallel()
	s := newStackWith(t,
		ws.Config{PingInterval: 20 * time.Millisecond, WriteTimeout: 50 * time.Millisecond, IdleTimeout: 100 * time.Millisecond},
		pgbatch.Config{BatchSize: 50, FlushInterval: 5 * time.Millisecond, BufferBytes: 16 << 10})
	p := s.project(t)
	c := s.dial(t, p, "held")
	c.next("flags")

	// Hold every COPY: the writers wait for this lock as they would for a database that is down.
	release := s.db.HoldEvents(t)
	const n = 500
	pad := strings.Repeat("x", 150)
	for i := 1; i <= n; i++ {
		c.send(map[string]any{"type": "event", "event": "held", "props": map[string]any{"pad": pad}, "seq": i})
	}
	waitFor(t, "the buffer to fill and hold the reader", func() bool {
		return s.count(t, `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'beacon.events'::regclass`) > 0
	})
	time.Sleep(time.Second) // 50 ping intervals, 20 write timeouts, 10 idle timeouts
	release()
	c.waitAck(n)
	if got := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p); got != n {
		t.Errorf("%d rows stored, want %d", got, n)
	}
}
