package ws

import (
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// writeSome is a writer pool worker's turn for c: it takes everything queued (replies, then the
// newest flag set if it differs from the last one sent, then the ack) and writes it without
// waiting, until nothing is left. When the socket is full, a write failed or the connection is
// closing, it hands c to a goroutine of its own (write) and returns.
func (c *conn) writeSome() {
	var buf [4][]byte // most turns write one or two messages
	for {
		c.mu.Lock()
		if c.closeCode != 0 {
			c.mu.Unlock()
			go c.write()
			return
		}
		batch := c.takeLocked(buf[:0])
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		done, err := c.fw.tryFrames(batch)
		if err != nil {
			c.abort(websocket.StatusPolicyViolation, "write timeout")
		}
		if err != nil || !done {
			go c.write()
			return
		}
	}
}

// write is the connection's own writer goroutine: it first writes what the pool left (waiting
// for the client), then everything queued, looking again until nothing is left, and exits. Once
// the connection is aborted it writes what is queued (the final ack above all) and closes the
// socket with the abort's code; no writing starts after that.
func (c *conn) write() {
	var buf [4][]byte // most runs write one or two messages
	failed := !c.send(nil)
	if failed {
		c.abort(websocket.StatusPolicyViolation, "write timeout")
	}
	for {
		c.mu.Lock()
		batch := c.takeLocked(buf[:0])
		code, why := c.closeCode, c.closeWhy
		if len(batch) == 0 && code == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !failed && !c.send(batch) {
			failed = true
			c.abort(websocket.StatusPolicyViolation, "write timeout")
			continue // closes with the first reason given
		}
		if code != 0 {
			_ = c.ws.Close(code, why) // the client may be gone already; this also ends the reader's Read
			c.done()
			return // running stays true: no writer starts again
		}
	}
}

// takeLocked appends everything to write to batch; c.mu must be held. Taking the ack under c.mu
// keeps errors before the ack that covers them: a reply is queued before its seq is finished.
func (c *conn) takeLocked(batch [][]byte) [][]byte {
	batch = append(batch, c.replies...)
	c.replies = nil
	if set := c.flags; set != nil {
		c.flags = nil
		if !set.Same(c.sent) {
			c.sent = set
			batch = append(batch, set.Frame(flagsFrame))
			c.s.obs.FlagsSent()
		}
	}
	if ack := c.acks.take(); ack > 0 {
		batch = append(batch, ackFrame(ack))
		c.s.obs.Acked()
	}
	return batch
}

// flagsFrame is the whole WebSocket frame carrying a flag set; built once per distinct set
// (flags.Set.Frame) and written as is to every client that has the set.
func flagsFrame(set []byte) []byte {
	const pre, post = `{"type":"flags","flags":`, `}`
	n := len(pre) + len(set) + len(post)
	b := textHeader(make([]byte, 0, n+10), n)
	return append(append(append(b, pre...), set...), post...)
}

// ackFrame is the frame acknowledging everything up to seq.
func ackFrame(seq uint64) []byte {
	b := append(make([]byte, 2, 48), `{"type":"ack","seq":`...)
	b = append(strconv.AppendUint(b, seq, 10), '}')
	b[0], b[1] = 0x81, byte(len(b)-2) // < 126
	return b
}

// pongFrame answers a client's {"type":"ping"}.
var pongFrame = textFrame([]byte(`{"type":"pong"}`))

// send writes what the pool left, then frames (several in one writev); false when that failed.
// No context, timer or coder/websocket call per write: the frames go to the socket through
// frameWriter, and a write blocked longer than WriteTimeout is ended by the sweeper, which
// watches c.writing.
func (c *conn) send(frames [][]byte) bool {
	c.writing.Store(time.Now().UnixNano())
	err := c.fw.writeFrames(frames)
	c.writing.Store(0)
	return err == nil
}

// drained runs on the drain loop: first it stops reading once the client has been quiet for
// DrainIdle (or DrainMax has passed since start), so what was sent before the signal is read and a
// client that never pauses cannot hold the shutdown; then it reports true once everything read is
// committed or answered.
func (c *conn) drained(start, now time.Time) bool {
	if !c.stopped.Load() {
		quiet := !c.busy.Load() && now.Sub(time.Unix(0, c.lastRead.Load())) > c.s.cfg.DrainIdle
		if quiet || now.Sub(start) > c.s.cfg.DrainMax {
			c.stopped.Store(true)
		}
		return false
	}
	return c.acks.idle()
}
