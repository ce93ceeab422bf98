package ws

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// write sends replies, acks and flag sets as they come, pings on a ticker, and closes a client
// that sent nothing for IdleTimeout. When the connection ends it still flushes what is queued
// (the final ack above all) before returning.
func (c *conn) write() {
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	idle := time.NewTicker(max(c.s.cfg.IdleTimeout/4, 10*time.Millisecond))
	defer idle.Stop()
	for {
		select {
		case <-idle.C:
			if time.Since(time.Unix(0, c.lastRead.Load())) > c.s.cfg.IdleTimeout {
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
