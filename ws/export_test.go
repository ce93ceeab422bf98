package ws

import (
	"bytes"
	"net/http"
	"net/netip"
	"runtime"

	"github.com/google/uuid"
)

// WritersRunning counts the connections with a writer goroutine, closed ones excluded.
func (s *Server) WritersRunning() int {
	n := 0
	for _, c := range s.reg.all() {
		c.mu.Lock()
		if c.running && c.closeCode == 0 {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// SentFlagFrames returns, for every connection of project, the message of the flag set it was
// last written (nil before the first).
func (s *Server) SentFlagFrames(project uuid.UUID) [][]byte {
	var out [][]byte
	for _, c := range s.reg.all() {
		if c.from.project != project {
			continue
		}
		c.mu.Lock()
		if c.sent != nil {
			out = append(out, c.sent.Frame(flagsMessage))
		} else {
			out = append(out, nil)
		}
		c.mu.Unlock()
	}
	return out
}

// Goroutines counts the goroutines running the named functions of this package (for example
// "(*conn).write"), from a dump of every goroutine's stack.
func Goroutines(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Count(buf, []byte("beacon/ws."+fn+"("))
}

// Closing counts the connections being closed but not gone yet (a writer still writing).
func (s *Server) Closing() int {
	n := 0
	for _, c := range s.reg.all() {
		if c.closing() {
			n++
		}
	}
	return n
}

// ClientAddr is the address s counts r against.
func (s *Server) ClientAddr(r *http.Request) netip.Addr { return s.clientAddr(r) }

// SetRefuseCap lowers how many refused upgrades may be closing at once (maxRefusing).
func (s *Server) SetRefuseCap(n int32) { s.refuseCap = n }
