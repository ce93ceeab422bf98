package ws

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/protocol"
)

// read takes messages off the socket and handles each before reading the next, so while handling
// blocks (the batcher is full) nothing is read: that is the backpressure. Once a drain has
// stopped reading, later messages are left unhandled and unacknowledged for the client to re-send.
func (c *conn) read() {
	for {
		// No deadline: coder/websocket drops the socket without a close frame when a Read's
		// context ends, and an ending connection must still say goodbye (1001, 1008). The writer's
		// Close ends this Read; the heartbeat enforces IdleTimeout.
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.readFailed(err)
			return
		}
		buf := readBuffers.Get().(*bytes.Buffer)
		c.slow.Reset(c.s.cfg.MessageTimeout)
		_, err = buf.ReadFrom(r)
		c.slow.Stop()
		if err == nil && !c.stopped.Load() && !c.closing() {
			c.handleFrame(typ, buf.Bytes())
		}
		if buf.Cap() <= maxPooledRead {
			buf.Reset()
			readBuffers.Put(buf)
		}
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.stopped.Load() || c.closing() {
			return // the writer's Close reads the client's close frame
		}
	}
}

// tooSlow closes a connection whose message has not arrived whole within MessageTimeout of its
// first frame header. coder/websocket enforces SetReadLimit on the bytes it has read, not on the
// length a frame header announces (and its API does not expose that length), so a header
// announcing 2^62 bytes followed by silence would otherwise hold the reader — and keep the pong
// from being read — until the heartbeat gives up (PingInterval + WriteTimeout, ~40 s). A frame
// that does send its bytes is cut with 1009 by the library at MaxFrameBytes.
func (c *conn) tooSlow() {
	c.abort(websocket.StatusPolicyViolation, "message not received in time")
}

// readBuffers hold messages while they are handled: protocol.Decode copies what it keeps, so a
// buffer goes back to the pool at once, and only connections reading a message hold one. The
// library's Read allocates one per message: about a tenth of the relay's CPU under ingest.
var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRead bounds the buffers kept: a rare large message's is left to the collector.
const maxPooledRead = 64 << 10

// handleFrame handles one message of type typ.
func (c *conn) handleFrame(typ websocket.MessageType, data []byte) {
	c.busy.Store(true)
	if typ != websocket.MessageText {
		c.replyError(0, protocol.NewError(protocol.CodeBinaryFrame, "send messages as text frames"))
	} else {
		c.handle(data)
	}
	c.lastRead.Store(time.Now().UnixNano())
	c.busy.Store(false)
}

// readFailed ends the connection after the client closed it, vanished, or sent a frame over the
// read limit (coder/websocket has then already closed with 1009).
func (c *conn) readFailed(err error) {
	if websocket.CloseStatus(err) == -1 && !c.closing() {
		c.s.log.Debug("read", "error", err)
	}
	c.abort(websocket.StatusNormalClosure, "")
}

// handle decodes and routes one message.
func (c *conn) handle(data []byte) {
	m, e := protocol.Decode(data)
	if !c.acks.start(m.Seq) {
		c.s.obs.Message("invalid")
		c.replyError(m.Seq, protocol.NewError(protocol.CodeBadSeq, "seq must be higher than every seq before it on this connection"))
		return
	}
	if e == nil {
		e = c.rateLimit(&m)
	}
	switch e = c.s.count(&m, e); {
	case e != nil:
		c.answer(m.Seq, e)
	case m.Type == protocol.TypeEvent:
		c.event(&m)
	case m.Type == protocol.TypeIdentify:
		c.identify(&m)
	default:
		c.reply(pongMessage)
		c.answer(m.Seq, nil)
	}
}

// rateLimit answers a message over the connection's rate or (projectAllows) the project's; a
// client that goes on sending through Strikes answers in a row is closed with 1008.
func (c *conn) rateLimit(m *protocol.Message) *protocol.Error {
	if c.limiter.Allow() && c.s.projectAllows(c.from.project, m.Type) {
		c.strikes = 0
		return nil
	}
	c.strikes++
	if c.strikes >= c.s.cfg.Rates.Strikes {
		c.abort(websocket.StatusPolicyViolation, "rate limit exceeded")
	}
	return protocol.NewError(protocol.CodeRateLimited, "rate limit exceeded; slow down and re-send this message")
}

func (c *conn) event(m *protocol.Message) {
	c.mu.Lock()
	from := *c.from
	from.user = c.userID
	c.mu.Unlock()
	ev, w, e := c.s.toEvent(m, &from, time.Now())
	if e != nil {
		c.answer(m.Seq, e)
		return
	}
	if w != nil {
		c.reply(noteMessage("warning", m.Seq, w)) // now: it is about the value, not its storage; the ack follows the commit
	}
	seq := m.Seq
	err := c.s.batcher.Add(c.ctx, ev, func(err error) {
		if e := rowError(err); err == nil || e != nil {
			c.answer(seq, e)
		}
		// Otherwise the batcher gave up at shutdown: no ack, the client re-sends.
	})
	if err != nil && c.ctx.Err() == nil {
		c.s.log.Warn("buffer event", "error", err)
		c.abort(websocket.StatusTryAgainLater, "relay cannot buffer events now")
	}
}

func (c *conn) identify(m *protocol.Message) {
	from := *c.from // c.from never changes; the user is c.userID
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	e, err := c.s.identify(ctx, m, &from)
	if err != nil {
		// Not acked: the client re-sends after reconnecting.
		c.s.log.Warn("identify", "error", err)
		c.abort(websocket.StatusTryAgainLater, "database unavailable")
		return
	}
	if e != nil {
		c.answer(m.Seq, e)
		return
	}
	c.mu.Lock()
	c.userID = from.user
	c.mu.Unlock()
	c.answer(m.Seq, nil)
	stamp := flags.Stamp()
	set, err := c.s.flags.Evaluate(ctx, from.project, from.anon, from.user)
	if err != nil {
		c.s.log.Warn("evaluate flags after identify", "error", err)
		return
	}
	c.PushFlags(c.s.reg.intern(from.project, set), stamp)
}
