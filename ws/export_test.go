package ws

import (
	"bytes"
	"runtime"

	"github.com/google/uuid"
)

// WritersRunning counts the connections being written for — queued in the writer pool, in a
// worker's turn or in a writer goroutine of their own — closed ones excluded.
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

// SentFlagFrames returns, for every connection of project, the frame of the flag set it was last
// written (nil before the first).
func (s *Server) SentFlagFrames(project uuid.UUID) [][]byte {
	var out [][]byte
	for _, c := range s.reg.all() {
		if c.from.project != project {
			continue
		}
		c.mu.Lock()
		if c.sent != nil {
			out = append(out, c.sent.Frame(flagsFrame))
		} else {
			out = append(out, nil)
		}
		c.mu.Unlock()
	}
	return out
}

// Sweeping reports whether the sweeper goroutine runs.
func (s *Server) Sweeping() bool {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	return s.sweeping
}

// WriterGoroutines counts the goroutines running the writer pool or a connection's own writer.
func WriterGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Count(buf, []byte("ws.(*writerPool).work(")) + bytes.Count(buf, []byte("ws.(*conn).write("))
}
