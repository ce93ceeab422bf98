package ws

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/protocol"
)

// Close codes the relay gives a connection whose write failed (docs/protocol.md). Both are
// recorded and attempted, but a client whose socket does not drain or has failed seldom receives
// them: coder/websocket closes the socket when a write's context ends.
const (
	closeWriteTimeout = websocket.StatusPolicyViolation // 1008: the client did not read for WriteTimeout
	closeWriteFailed  = websocket.StatusInternalError   // 1011: the socket refused a write
)

// write is the connection's writer goroutine, running while something is queued: it takes
// everything (replies, then the newest flag set if it differs from the last one sent, then the
// ack), writes it, and looks again until nothing is left, then exits. Once the connection is
// aborted it writes what is queued (the final ack above all) and closes the socket with the
// abort's code; no writer starts after that.
func (c *conn) write() {
	var buf [4][]byte // most runs write one or two messages
	failed := false
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
		for i := 0; i < len(batch) && !failed; i++ {
			if err := c.send(batch[i]); err != nil {
				failed = true
				c.writeFailed(err)
			}
		}
		clear(batch)
		if code != 0 {
			if err := c.ws.Close(code, why); err != nil {
				c.s.log.Debug("close", "code", code, "reason", why, "error", err)
			}
			c.done()
			return // running stays true: no writer starts again
		}
	}
}

// send writes one message within WriteTimeout.
func (c *conn) send(msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, msg)
}

// writeFailed closes the connection after a failed write, telling a client that did not read
// from a socket that failed. The client seldom gets the close frame, so the log says which.
func (c *conn) writeFailed(err error) {
	code, why := closeWriteFailed, "write failed"
	if errors.Is(err, context.DeadlineExceeded) {
		code, why = closeWriteTimeout, "write timeout"
	}
	c.s.log.Debug("write", "code", int(code), "reason", why, "error", err)
	c.abort(code, why)
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
			batch = append(batch, set.Frame(flagsMessage))
			c.s.obs.FlagsSent()
		}
	}
	if ack := c.acks.take(); ack > 0 {
		batch = append(batch, ackMessage(ack))
		c.s.obs.Acked()
	}
	return batch
}

// reply is every server → client message (docs/protocol.md).
type reply struct {
	Type    string          `json:"type"`
	Code    string          `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
	Seq     uint64          `json:"seq,omitempty"`
	Flags   json.RawMessage `json:"flags,omitempty"`
}

// marshal encodes a message the relay builds itself; it cannot fail for these types.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ws: marshal " + err.Error())
	}
	return b
}

// pongMessage answers a client's {"type":"ping"}.
var pongMessage = marshal(reply{Type: "pong"})

func ackMessage(seq uint64) []byte { return marshal(reply{Type: "ack", Seq: seq}) }

// noteMessage answers the message with seq: typ "error" refuses it, "warning" notes that it was
// taken, but not quite as sent.
func noteMessage(typ string, seq uint64, e *protocol.Error) []byte {
	return marshal(reply{Type: typ, Code: e.Code, Message: e.Message, Seq: seq})
}

// flagsMessage is the message carrying a flag set; flags.Set.Frame builds it once per distinct
// set, and the same bytes go to every client that has the set.
func flagsMessage(set []byte) []byte { return marshal(reply{Type: "flags", Flags: set}) }

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
