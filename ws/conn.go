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
)

// maxReplies bounds the answers queued for a client that does not read them; past it the client
// is closed as too slow rather than letting the queue grow.
const maxReplies = 1024

// conn is one WebSocket client. Two goroutines serve it: read (frames off the socket, decoded,
// validated and handed on before the next is read) and write (replies, acks, flag pushes, pings,
// idle and drain checks).
type conn struct {
	s    *Server
	from *sender
	acks *acks
	ws   *websocket.Conn

	limiter  *rate.Limiter // messages per second; used by the serve goroutine only
	strikes  int           // consecutive rate-limited messages
	lastRead atomic.Int64  // unix nanoseconds when the last frame was handled (or connect)
	busy     atomic.Bool   // a frame is being handled
	stopped  atomic.Bool   // a drain has stopped reading

	ctx    context.Context // ends when the connection must stop
	cancel context.CancelFunc

	mu        sync.Mutex
	userID    string   // guarded: the pusher reads it
	replies   [][]byte // queued pongs and errors
	flags     []byte   // latest evaluated set, not yet written
	pushed    bool     // the pusher has set flags at least once
	sentFlags []byte
	closeCode websocket.StatusCode
	closeWhy  string
	wake      chan struct{} // signals the writer
}

func newConn(s *Server, from *sender) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{s: s, from: from, acks: newAcks(), ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		limiter: rate.NewLimiter(limit(s.cfg.Rates.PerConn), s.cfg.Rates.PerConnBurst)}
}

// Identity implements flags.Client.
func (c *conn) Identity() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.from.anon, c.userID
}

// PushFlags implements flags.Client: the newest set wins, nothing blocks.
func (c *conn) PushFlags(set []byte) {
	c.mu.Lock()
	c.flags, c.pushed = set, true
	c.mu.Unlock()
	c.signal()
}

// initialFlags sets the connect-time evaluation unless a push (which is never older) came first.
func (c *conn) initialFlags(set []byte) {
	c.mu.Lock()
	if !c.pushed {
		c.flags = set
	}
	c.mu.Unlock()
	c.signal()
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// reply queues a message for the client; a client that lets maxReplies pile up is closed.
func (c *conn) reply(msg []byte) {
	c.mu.Lock()
	over := len(c.replies) >= maxReplies
	if !over {
		c.replies = append(c.replies, msg)
	}
	c.mu.Unlock()
	if over {
		c.abort(websocket.StatusPolicyViolation, "client does not read its replies")
		return
	}
	c.signal()
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
	c.reply(b.Bytes())
}

// finish marks seq answered and wakes the writer if the ack moved.
func (c *conn) finish(seq uint64) {
	if c.acks.finish(seq) {
		c.signal()
	}
}

// abort ends the connection with code (the first reason given wins).
func (c *conn) abort(code websocket.StatusCode, why string) {
	c.mu.Lock()
	if c.closeCode == 0 {
		c.closeCode, c.closeWhy = code, why
	}
	c.mu.Unlock()
	c.cancel()
}

// serve runs the connection until the client leaves, it is aborted, or the relay drains: read
// (and handle) in one goroutine, write in this one.
func (c *conn) serve(ws *websocket.Conn) {
	c.ws = ws
	c.lastRead.Store(time.Now().UnixNano())
	readerDone := make(chan struct{})
	go func() { c.read(); close(readerDone) }()
	c.write()
	c.mu.Lock()
	code, why := c.closeCode, c.closeWhy
	c.mu.Unlock()
	_ = ws.Close(code, why) // the client may be gone already; this also ends the reader's Read
	<-readerDone
}

// read takes frames off the socket and handles each before reading the next, so while handling
// blocks (the batcher is full) nothing is read: that is the backpressure. Once a drain has
// stopped reading, later frames are left unhandled and unacknowledged for the client to re-send.
func (c *conn) read() {
	for {
		// No context deadline: coder/websocket drops the socket without a close frame when a
		// Read's context ends, and an ending connection must still say goodbye (1001, 1008).
		// serve's Close unblocks this Read; the writer's idle check enforces IdleTimeout.
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.stopped.Load() || c.ctx.Err() != nil {
			return
		}
		c.busy.Store(true)
		if typ != websocket.MessageText {
			c.replyError(0, perr(CodeBinaryFrame, "send messages as text frames"))
		} else {
			c.handle(data)
		}
		c.lastRead.Store(time.Now().UnixNano())
		c.busy.Store(false)
	}
}

// readFailed ends the connection after the client closed it, vanished, or sent a frame over the
// read limit (coder/websocket has then already closed with 1009).
func (c *conn) readFailed(err error) {
	if websocket.CloseStatus(err) == -1 && c.ctx.Err() == nil {
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
		c.reply([]byte(`{"type":"pong"}`))
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
	c.PushFlags(set)
}
