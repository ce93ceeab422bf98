package ws

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/protocol"
)

// maxReplies bounds the answers queued for a client that does not read them; past it the client
// is closed as too slow rather than letting the queue grow.
const maxReplies = 1024

// conn is one WebSocket client on coder/websocket. One goroutine lives as long as the connection:
// the reader (read.go), which reads messages with the library's Reader and handles each before the
// next. A writer goroutine (write.go) runs only while something is queued — a reply, an ack, a flag
// set, the close — and writes it with the library's Write under WriteTimeout; it exits when the
// queue is empty, so an idle connection has no goroutine but its reader, and a slow client holds
// up only its own writer. A timer (heartbeat.go) pings and enforces IdleTimeout.
type conn struct {
	s      *Server
	from   *sender
	addr   netip.Addr // the client's, as counted for MaxConnsAddr
	acks   acks
	ws     *websocket.Conn
	ctx    context.Context // ends when the connection is being closed
	cancel context.CancelFunc
	beat   *time.Timer // heartbeat; made by serve
	slow   *time.Timer // runs while a message's body is read (read.go); made by serve

	limiter  *rate.Limiter // messages per second; used by the reader only
	strikes  int           // consecutive rate-limited messages; reader only
	lastRead atomic.Int64  // unix nanoseconds when the last frame was handled (or connect)
	lastPing atomic.Int64  // unix nanoseconds of the last ping sent (or connect)
	busy     atomic.Bool   // a frame is being handled
	stopped  atomic.Bool   // a drain has stopped reading
	parts    atomic.Int32  // of reader and writer's close, those not finished; the last cleans up

	mu        sync.Mutex
	userID    string     // the pusher reads it
	replies   [][]byte   // queued pongs and errors, as messages
	flags     *flags.Set // newest set, not yet written
	stamp     uint64     // flags.Stamp of the evaluation c.flags or c.sent came from
	sent      *flags.Set // last set written
	closeCode websocket.StatusCode
	closeWhy  string
	started   bool // serve has begun: the writer may run
	running   bool // a writer goroutine runs (or has closed the connection)
}

func newConn(s *Server, from *sender, addr netip.Addr) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, from: from, addr: addr, ctx: ctx, cancel: cancel,
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

// PushFlags implements flags.Client: the set of the latest evaluation wins (connect's, a push's,
// an identify's, whichever finishes first), nothing blocks.
func (c *conn) PushFlags(set *flags.Set, stamp uint64) {
	c.mu.Lock()
	if stamp >= c.stamp {
		c.flags, c.stamp = set, stamp
	}
	c.kickLocked()
	c.mu.Unlock()
}

// kickLocked starts the writer unless it runs (or serve has not begun: it kicks then). c.mu must
// be held: the writer decides to exit under it, so nothing queued is left without a writer.
func (c *conn) kickLocked() {
	if c.started && !c.running {
		c.running = true
		go c.write()
	}
}

// reply queues a message for the client; a client that lets maxReplies pile up is closed.
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

func (c *conn) replyError(seq uint64, e *protocol.Error) {
	c.s.obs.MessageRejected(e.Code)
	c.reply(noteMessage("error", seq, e))
}

// answer replies e (unless nil) to the message with seq and marks it answered, waking the writer
// if the ack moved.
func (c *conn) answer(seq uint64, e *protocol.Error) {
	if e != nil {
		c.replyError(seq, e)
	}
	if c.acks.finish(seq) {
		c.mu.Lock()
		c.kickLocked()
		c.mu.Unlock()
	}
}

// abort ends the connection with code: the writer writes what is queued (the final ack above
// all), then closes. The first reason given wins.
func (c *conn) abort(code websocket.StatusCode, why string) {
	c.mu.Lock()
	first := c.closeCode == 0
	if first {
		c.closeCode, c.closeWhy = code, why
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
// flags) and the heartbeat, then reads.
func (c *conn) serve(ws *websocket.Conn) {
	c.ws = ws
	now := time.Now().UnixNano()
	c.lastRead.Store(now)
	c.lastPing.Store(now)
	c.mu.Lock()
	c.started = true
	c.kickLocked()
	c.mu.Unlock()
	c.slow = time.AfterFunc(time.Hour, c.tooSlow)
	c.slow.Stop()
	c.beat = time.AfterFunc(time.Hour, c.heartbeat)
	c.beat.Reset(c.nextBeat()) // only now: heartbeat uses c.beat
	c.read()
	c.done()
}

// done is called once by the reader when it returns and once by the writer when it has closed the
// socket; the second call removes the connection.
func (c *conn) done() {
	if c.parts.Add(-1) == 0 {
		c.beat.Stop()
		c.slow.Stop()
		c.s.obs.Connected(-1)
		c.s.reg.remove(c)
	}
}
