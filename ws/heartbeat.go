package ws

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// heartbeat runs on the connection's timer (a timer, not a goroutine, while nothing is due): it
// closes a client silent for IdleTimeout (1008) and pings one due a ping, waiting for the pong
// within WriteTimeout; a client that does not answer is closed (1008). Only the reader reads the
// pong, so a reader held by backpressure (a full buffer during a database outage) or still
// working through frames that came before the pong proves the client alive: the connection is
// closed only when nothing was read since the ping and the reader is free. The ping's round trip
// runs in the timer's own goroutine: a slow client delays no other connection.
func (c *conn) heartbeat() {
	if c.closing() {
		return
	}
	cfg := &c.s.cfg
	now := time.Now().UnixNano()
	free := !c.busy.Load() // a full buffer holds the reader, not the client
	if free && now-c.lastRead.Load() >= int64(cfg.IdleTimeout) {
		c.abort(websocket.StatusPolicyViolation, "idle timeout")
		return
	}
	if free && now-c.lastPing.Load() >= int64(cfg.PingInterval) {
		c.lastPing.Store(now)
		// Not under c.ctx: a ping write cut short by an abort would make coder/websocket drop the
		// socket before the final ack and close frame.
		ctx, cancel := context.WithTimeout(context.Background(), cfg.WriteTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil && !c.closing() && !c.busy.Load() && c.lastRead.Load() <= now {
			c.abort(websocket.StatusPolicyViolation, "no pong")
			return
		}
	}
	c.beat.Reset(c.nextBeat())
}

// nextBeat is how long until a ping or the idle timeout is due. While the reader is held (both
// overdue, skipped) it is a quarter of the shorter period: a held connection costs a few wakeups,
// not a spin.
func (c *conn) nextBeat() time.Duration {
	cfg := &c.s.cfg
	due := min(c.lastPing.Load()+int64(cfg.PingInterval), c.lastRead.Load()+int64(cfg.IdleTimeout))
	if wait := time.Duration(due - time.Now().UnixNano()); wait > 0 {
		return wait
	}
	return max(min(cfg.PingInterval, cfg.IdleTimeout)/4, 5*time.Millisecond)
}

// drainLoop runs the shutdown drain of every connection (conn.drained) every 5 ms, closing each
// with 1001 once it has stopped reading and everything read is answered, until all are gone.
func (s *Server) drainLoop() {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for start := time.Now(); ; <-t.C {
		conns := s.reg.all()
		if len(conns) == 0 {
			close(s.gone)
			return
		}
		now := time.Now()
		for _, c := range conns {
			if !c.closing() && c.drained(start, now) {
				c.abort(websocket.StatusGoingAway, "relay shutting down")
			}
		}
	}
}
