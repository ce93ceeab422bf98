package ws

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/beacon-analytics/beacon/flags"
)

// maxReplies bounds the answers queued for a client that does not read them; past it the client
// is closed as too slow rather than letting the queue grow.
const maxReplies = 1024

// conn is one WebSocket client. One goroutine lives as long as the connection: read (frames off
// the socket, decoded, validated and handed on before the next is read). Writing happens only
// while something is queued — a reply, an ack, a flag set, the close: the server's writer pool
// (pool.go) writes what the socket takes at once, and a goroutine of the connection's own
// (write.go) is started only to wait for a full socket or to close. An idle connection has no
// goroutine but its reader. Pings and the idle and write-timeout checks come from the server's
// one sweeper (sweep.go), the shutdown drain from its drain loop.
type conn struct {
	s    *Server
	from *sender
	acks acks
	ws   *websocket.Conn
	fw   *frameWriter // the socket's writes: the writer's frames go straight to it

	limiter  *rate.Limiter // messages per second; used by the reader only
	strikes  int           // consecutive rate-limited messages
	lastRead atomic.Int64  // unix nanoseconds when the last frame was handled (or connect)
	lastPing atomic.Int64  // unix nanoseconds of the last ping sent (or connect)
	writing  atomic.Int64  // unix nanoseconds a write began, 0 while none is under way
	busy     atomic.Bool   // a frame is being handled
	stopped  atomic.Bool   // a drain has stopped reading
	pinging  atomic.Bool   // a ping waits for its pong
	cutOnce  atomic.Bool   // the sweeper has closed the socket under a blocked write
	parts    atomic.Int32  // of reader and closer, those not finished; the last one cleans up
	live     atomic.Bool   // serve has begun and no abort yet (the sweeper's test, without c.mu)
	ctx      context.Context
	cancel   context.CancelFunc

	mu        sync.Mutex
	userID    string     // guarded: the pusher reads it
	replies   [][]byte   // queued pongs and errors, as frames
	flags     *flags.Set // newest set, not yet written
	pushed    bool       // the pusher has set flags at least once
	sent      *flags.Set // last set written
	closeCode websocket.StatusCode
	closeWhy  string
	started   bool // serve has begun: the writer may run
	running   bool // queued in or served by the writer pool, or a writer goroutine runs (or closed)
}

func newConn(s *Server, from *sender) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, from: from, ctx: ctx, cancel: cancel,
		limiter: rate.NewLimiter(limit(s.cfg.Rates.PerConn), s.cfg.Rates.PerConnBurst)}
	c.parts.Store(2)
	return c
}

// Identity implements flags.Client.
func (c *conn) Identity() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.from.anon, c.userID
}

// PushFlags implements flags.Client: the newest set wins, nothing blocks.
func (c *conn) PushFlags(set *flags.Set) {
	c.mu.Lock()
	c.flags, c.pushed = set, true
	c.kickLocked()
	c.mu.Unlock()
}

// initialFlags sets the connect-time evaluation unless a push (which is never older) came first.
func (c *conn) initialFlags(set *flags.Set) {
	c.mu.Lock()
	if !c.pushed {
		c.flags = set
	}
	c.kickLocked()
	c.mu.Unlock()
}

// kickLocked gets the writing going unless it is (or serve has not begun: it kicks then): the
// server's writer pool takes the connection. c.mu must be held: whoever writes decides to stop
// under it, so nothing queued is left without a writer.
func (c *conn) kickLocked() {
	if c.started && !c.running {
		c.running = true
		c.s.writers.submit(c)
	}
}

func (c *conn) kick() {
	c.mu.Lock()
	c.kickLocked()
	c.mu.Unlock()
}

// reply queues a frame for the client; a client that lets maxReplies pile up is closed.
func (c *conn) reply(msg []byte) {
	c.mu.Lock()
	over := len(c.replies) >= maxReplies
	if !over {
		c.replies = append(c.replies, msg)
		c.kickLocked()
	}
	c.mu.Unlock()
	if over {
		c.abort(websocket.StatusPolicyViolation, "client does not read its replies")
	}
}

func (c *conn) replyError(seq uint64, e *ProtocolError) {
	c.s.obs.MessageRejected(e.Code)
	var b bytes.Buffer
	b.WriteString(`{"type":"error","code":`)
	b.WriteString(strconv.Quote(e.Code))
	b.WriteString(`,"message":`)
	b.WriteString(strconv.Quote(e.Message))
	if seq > 0 {
		b.WriteString(`,"seq":`)
		b.WriteString(strconv.FormatUint(seq, 10))
	}
	b.WriteString("}")
	c.reply(textFrame(b.Bytes()))
}

// finish marks seq answered and wakes the writer if the ack moved.
func (c *conn) finish(seq uint64) {
	if c.acks.finish(seq) {
		c.kick()
	}
}

// abort ends the connection with code: the writer writes what is queued (the final ack above
// all), then closes. The first reason given wins.
func (c *conn) abort(code websocket.StatusCode, why string) {
	c.mu.Lock()
	first := c.closeCode == 0
	if first {
		c.closeCode, c.closeWhy = code, why
		c.live.Store(false)
		c.kickLocked()
	}
	c.mu.Unlock()
	if first {
		c.cancel()
	}
}

// closing reports whether the connection is being closed.
func (c *conn) closing() bool { return c.ctx.Err() != nil }

// serve runs the connection (in the goroutine ServeHTTP started) until the client leaves, it is
// aborted, or the relay drains: it starts the writer for what was queued before (the initial
// flags) and then reads.
func (c *conn) serve(ws *websocket.Conn, fw *frameWriter) {
	c.ws, c.fw = ws, fw
	now := time.Now().UnixNano()
	c.lastRead.Store(now)
	c.lastPing.Store(now)
	c.mu.Lock()
	c.started = true
	c.live.Store(c.closeCode == 0)
	c.kickLocked()
	c.mu.Unlock()
	c.read()
	c.done()
}

// done is called once by the reader when it returns and once by the writer when it has closed the
// socket; the second call removes the connection.
func (c *conn) done() {
	if c.parts.Add(-1) == 0 {
		c.s.obs.Connected(-1)
		c.s.unregister(c)
		c.s.conns.Done()
	}
}

// read takes frames off the socket and handles each before reading the next, so while handling
// blocks (the batcher is full) nothing is read: that is the backpressure. Once a drain has
// stopped reading, later frames are left unhandled and unacknowledged for the client to re-send.
func (c *conn) read() {
	for {
		// No context deadline: coder/websocket drops the socket without a close frame when a
		// Read's context ends, and an ending connection must still say goodbye (1001, 1008).
		// The writer's Close unblocks this Read; the sweeper enforces IdleTimeout.
		msg, err := readMessage(context.Background(), c.ws)
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.stopped.Load() || c.closing() {
			// Returning leaves the socket to the writer's Close, which reads the client's close.
			msg.release()
			return
		}
		c.busy.Store(true)
		if msg.typ != websocket.MessageText {
			c.replyError(0, perr(CodeBinaryFrame, "send messages as text frames"))
		} else {
			c.handle(msg.data) // handle keeps nothing of the frame: events copy what they keep
		}
		msg.release()
		c.lastRead.Store(time.Now().UnixNano())
		c.busy.Store(false)
	}
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
	m, pe := Decode(data)
	c.acks.start(m.Seq)
	if pe == nil {
		pe = c.rateLimit(&m)
	}
	if pe != nil {
		c.s.obs.Message("invalid")
		c.replyError(m.Seq, pe)
		c.finish(m.Seq)
		return
	}
	c.s.obs.Message(messageType(m.Type))
	switch m.Type {
	case "event":
		c.event(&m)
	case "identify":
		c.identify(&m)
	case "ping":
		c.reply(pongFrame)
		c.finish(m.Seq)
	default:
		c.replyError(m.Seq, perr(CodeUnknownType, "type must be event, identify or ping"))
		c.finish(m.Seq)
	}
}

// rateLimit answers a message over the connection's or the project's rate; a client that goes
// on sending through Strikes answers in a row is closed with 1008.
func (c *conn) rateLimit(m *Message) *ProtocolError {
	if c.limiter.Allow() && (m.Type != "event" || c.s.perProj.allow(c.from.project)) {
		c.strikes = 0
		return nil
	}
	c.strikes++
	if c.strikes >= c.s.cfg.Rates.Strikes {
		c.abort(websocket.StatusPolicyViolation, "rate limit exceeded")
	}
	return perr(CodeRateLimited, "rate limit exceeded; slow down and re-send this message")
}

func (c *conn) event(m *Message) {
	c.mu.Lock()
	from := *c.from
	from.user = c.userID
	c.mu.Unlock()
	ev, pe := c.s.toEvent(m, &from, time.Now())
	if pe != nil {
		c.replyError(m.Seq, pe)
		c.finish(m.Seq)
		return
	}
	seq := m.Seq
	err := c.s.batcher.Add(c.ctx, ev, func(err error) {
		if err == nil {
			c.finish(seq)
		} else if pe := rowError(err); pe != nil {
			c.replyError(seq, pe)
			c.finish(seq)
		}
		// Otherwise the batcher gave up at shutdown: no ack, the client re-sends.
	})
	if err != nil && c.ctx.Err() == nil {
		c.s.log.Warn("buffer event", "error", err)
		c.abort(websocket.StatusTryAgainLater, "relay cannot buffer events now")
	}
}

func (c *conn) identify(m *Message) {
	c.mu.Lock()
	from := *c.from
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	pe, err := c.s.identify(ctx, m, &from)
	if err != nil {
		// Not acked: the client re-sends after reconnecting.
		c.s.log.Warn("identify", "error", err)
		c.abort(websocket.StatusTryAgainLater, "database unavailable")
		return
	}
	if pe != nil {
		c.replyError(m.Seq, pe)
		c.finish(m.Seq)
		return
	}
	c.mu.Lock()
	c.userID = from.user
	c.mu.Unlock()
	c.finish(m.Seq)
	set, err := c.s.flags.Evaluate(ctx, from.project, from.anon, from.user)
	if err != nil {
		c.s.log.Warn("evaluate flags after identify", "error", err)
		return
	}
	c.PushFlags(c.s.reg.intern(from.project, set))
}
