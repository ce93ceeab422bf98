package ws

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// The server's one sweeper replaces a ticker (and a goroutine) per connection: every sweepEvery
// it walks the registry and pings connections due a ping, closes idle ones (1008) and ends writes
// blocked longer than WriteTimeout. It runs while the registry holds connections.

// sweepEvery is the sweeper's period: a quarter of the shortest timeout it enforces, within
// [10 ms, 1 s]. Walking 10,000 connections takes well under a millisecond.
func (s *Server) sweepEvery() time.Duration {
	d := min(s.cfg.IdleTimeout, s.cfg.PingInterval, s.cfg.WriteTimeout) / 4
	return min(max(d, 10*time.Millisecond), time.Second)
}

// startSweeper runs the sweeper unless it runs; called after every registration.
func (s *Server) startSweeper() {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if !s.sweeping {
		s.sweeping = true
		go s.sweep()
	}
}

// unregister removes c from the registry and wakes the sweeper when that was the last one, so it
// exits now rather than a period later.
func (s *Server) unregister(c *conn) {
	if s.reg.remove(c) {
		select {
		case s.sweepWake <- struct{}{}:
		default:
		}
	}
}

func (s *Server) sweep() {
	t := time.NewTicker(s.sweepEvery())
	defer t.Stop()
	var buf []*conn
	for {
		select {
		case <-t.C:
		case <-s.sweepWake:
		}
		buf = s.reg.appendAll(buf[:0])
		if len(buf) == 0 {
			// Registration happens before startSweeper, so under sweepMu an empty registry means
			// any later registration will find sweeping false and start a new sweeper.
			s.sweepMu.Lock()
			if s.reg.Len() == 0 {
				s.sweeping = false
				s.sweepMu.Unlock()
				return
			}
			s.sweepMu.Unlock()
			continue
		}
		now := time.Now().UnixNano()
		for i, c := range buf {
			c.sweep(now)
			buf[i] = nil // let closed connections go
		}
	}
}

// sweep checks one connection at time now (unix nanoseconds).
func (c *conn) sweep(now int64) {
	cfg := &c.s.cfg
	if w := c.writing.Load(); w != 0 && now-w > int64(cfg.WriteTimeout) && c.cutOnce.CompareAndSwap(false, true) {
		// The client does not read: end the blocked write (its error closes the connection; a
		// close frame could not get through anyway). Also when the connection is already being
		// closed: its writer, blocked, would never get to the close.
		c.abort(websocket.StatusPolicyViolation, "write timeout")
		go func() { _ = c.ws.CloseNow() }()
		return
	}
	if !c.live.Load() {
		return
	}
	// Not while a frame is being handled: a full buffer holds the reader, not the client.
	if !c.busy.Load() && now-c.lastRead.Load() > int64(cfg.IdleTimeout) {
		c.abort(websocket.StatusPolicyViolation, "idle timeout")
		return
	}
	// Not while a full buffer holds the reader either: it could not read the pong.
	if !c.busy.Load() && now-c.lastPing.Load() >= int64(cfg.PingInterval) && c.pinging.CompareAndSwap(false, true) {
		c.lastPing.Store(now)
		go c.ping(now)
	}
}

// ping sends a ping and waits for the pong (the reader reads it); none within WriteTimeout
// closes the connection (1008). It runs in a goroutine of its own that lives for a round trip.
// Only the reader sees the pong, so a reader held by backpressure (a full buffer during a
// database outage) or still working through frames queued before the pong proves the client
// alive: the connection is closed only when nothing was read since the ping and the reader is
// free.
func (c *conn) ping(sent int64) {
	defer c.pinging.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout) // see read
	defer cancel()
	err := c.ws.Ping(ctx)
	if err != nil && !c.closing() && !c.busy.Load() && c.lastRead.Load() <= sent {
		c.abort(websocket.StatusPolicyViolation, "no pong")
	}
}

// drainLoop runs the shutdown drain of every connection (conn.drained) every 5 ms until all are
// gone, closing each with 1001 once it has stopped reading and everything read is answered.
func (s *Server) drainLoop(gone <-chan struct{}) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	var buf []*conn
	for {
		select {
		case <-gone:
			return
		case <-t.C:
		}
		now := time.Now()
		buf = s.reg.appendAll(buf[:0])
		for i, c := range buf {
			if !c.closing() && c.drained(start, now) {
				c.abort(websocket.StatusGoingAway, "relay shutting down")
			}
			buf[i] = nil
		}
	}
}
