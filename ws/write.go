package ws

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// write sends replies, acks and flag sets as they come, pings on a ticker, closes a client that
// sent nothing for IdleTimeout, and runs the drain on shutdown. When the connection ends it still
// flushes what is queued (the final ack above all) before returning.
func (c *conn) write() {
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	idle := time.NewTicker(max(c.s.cfg.IdleTimeout/4, 10*time.Millisecond))
	defer idle.Stop()
	drain, drainTick := c.s.drain, (<-chan time.Time)(nil)
	var drainStart time.Time
	for {
		select {
		case <-drain:
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			drain, drainTick, drainStart = nil, t.C, time.Now()
		case <-drainTick:
			if c.drained(drainStart) {
				c.flush() // the final ack
				c.abort(websocket.StatusGoingAway, "relay shutting down")
				return
			}
		case <-idle.C:
			// Not while a frame is being handled: a full buffer holds the reader, not the client.
			if !c.busy.Load() && time.Since(time.Unix(0, c.lastRead.Load())) > c.s.cfg.IdleTimeout {
				c.abort(websocket.StatusPolicyViolation, "idle timeout")
			}
		case <-c.wake:
			if !c.flush() {
				return
			}
		case <-ping.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout) // see read
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil && c.ctx.Err() == nil {
				c.abort(websocket.StatusPolicyViolation, "no pong")
				return
			}
		case <-c.ctx.Done():
			c.flush()
			return
		}
	}
}

// drained runs on the drain ticker: first it stops reading once the client has been quiet for
// DrainIdle (or DrainMax has passed), so what was sent before the signal is read and a client
// that never pauses cannot hold the shutdown; then it reports true once everything read is
// committed or answered.
func (c *conn) drained(start time.Time) bool {
	if !c.stopped.Load() {
		quiet := !c.busy.Load() && time.Since(time.Unix(0, c.lastRead.Load())) > c.s.cfg.DrainIdle
		if quiet || time.Since(start) > c.s.cfg.DrainMax {
			c.stopped.Store(true)
		}
		return false
	}
	return c.acks.idle()
}

// flush writes everything pending; false when a write failed.
func (c *conn) flush() bool {
	c.mu.Lock()
	replies := c.replies
	c.replies = nil
	var set []byte
	if c.flags != nil && !bytes.Equal(c.flags, c.sentFlags) {
		set = c.flags
		c.sentFlags = c.flags
	}
	c.flags = nil
	c.mu.Unlock()
	if set != nil {
		replies = append(replies, append(append([]byte(`{"type":"flags","flags":`), set...), '}'))
		c.s.obs.FlagsSent()
	}
	if ack := c.acks.take(); ack > 0 {
		replies = append(replies, []byte(`{"type":"ack","seq":`+strconv.FormatUint(ack, 10)+`}`))
		c.s.obs.Acked()
	}
	for _, msg := range replies {
		// Writes outlive c.ctx so the final ack still goes out while closing.
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			c.abort(websocket.StatusPolicyViolation, "write timeout")
			return false
		}
	}
	return true
}
