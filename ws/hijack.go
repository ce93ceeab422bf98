package ws

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// smallHijack is the http.ResponseWriter handed to websocket.Accept. Its Hijack gives
// coder/websocket, instead of net/http's 4 KiB bufio.Writer that every idle connection would
// keep, a 64-byte one over the connection's frameWriter, which it keeps for the connection's own
// writes. The 4 KiB bufio.Reader stays: reads under load want it.
type smallHijack struct {
	http.ResponseWriter
	fw *frameWriter // set by Hijack
}

// Hijack implements http.Hijacker.
func (h *smallHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// net/http's writer is empty here: the 101 response was flushed by the hijack.
	h.fw = newFrameWriter(nc)
	return nc, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.fw, smallWriteBuf)), nil
}

// Unwrap lets http.ResponseController reach the real writer.
func (h *smallHijack) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// smallWriteBuf is the size of the bufio.Writer coder/websocket writes its frames into: a frame
// header (≤ 10 bytes) and a ping, pong or short close fit and reach the socket in one write.
const smallWriteBuf = 64

// frameWriter is the only way bytes reach a connection's socket, and it only ever writes whole
// WebSocket frames (each Write of the socket is atomic against the others), so two sources can
// share the socket without interleaving:
//
//   - coder/websocket's control frames (pings, pongs, close), through the small bufio.Writer:
//     coder/websocket writes a frame's header and payload into it and flushes after the frame,
//     so a frame larger than the buffer arrives in pieces; they are gathered in a pooled buffer
//     until the frame is whole. An idle connection holds 64 bytes instead of 4 KiB.
//   - the connection's writer (write.go): replies, acks and flag sets as prebuilt text frames, so
//     a flag set's frame, header included, is built once per distinct set and the same bytes go
//     to every client that has it, with no per-write work in coder/websocket. The server's writer
//     pool first tries them without waiting (tryFrames); what the socket does not take then is
//     kept in pending and written, before anything else, by a goroutine that may wait.
//
// Once a close frame has gone out, the writer's frames are refused: nothing may follow it
// (RFC 6455 §5.5.1).
type frameWriter struct {
	mu        sync.Mutex
	w         io.Writer
	raw       syscall.RawConn // nil (TLS, or not a plain socket): no attempts without waiting
	buf       *[]byte         // pooled; non-nil only while coder/websocket's frame is incomplete
	pending   net.Buffers     // frames (or their rests) tryFrames could not write; never modified
	closeSent bool

	// tryWrite's argument and results (under mu), so that raw.Write takes a method value made
	// once rather than a closure allocated per write.
	tryFn  func(fd uintptr) bool
	tryBuf []byte
	tryN   int
	tryErr error
}

func newFrameWriter(nc net.Conn) *frameWriter {
	f := &frameWriter{w: nc}
	var sc syscall.Conn
	switch nc := nc.(type) { // the plain sockets only: a wrapper's own Write must not be bypassed
	case *net.TCPConn:
		sc = nc
	case *net.UnixConn:
		sc = nc
	}
	if sc != nil {
		if raw, err := sc.SyscallConn(); err == nil {
			f.raw = raw
			f.tryFn = f.tryWrite
		}
	}
	return f
}

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooled bounds the buffers returned to framePool (a rare huge frame's buffer is dropped).
const maxPooled = 64 << 10

// Write implements io.Writer for coder/websocket's bufio.Writer.
func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.flushPendingLocked(); err != nil {
		return 0, err
	}
	if f.buf == nil {
		if whole, closes := wholeFrames(p); whole {
			f.closeSent = f.closeSent || closes
			return f.w.Write(p)
		}
		f.buf = framePool.Get().(*[]byte)
	}
	*f.buf = append(*f.buf, p...)
	whole, closes := wholeFrames(*f.buf)
	if !whole {
		return len(p), nil
	}
	b := f.buf
	f.buf = nil
	f.closeSent = f.closeSent || closes
	_, err := f.w.Write(*b)
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		framePool.Put(b)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// flushPendingLocked writes what tryFrames left, waiting as long as it takes.
func (f *frameWriter) flushPendingLocked() error {
	if len(f.pending) == 0 {
		return nil
	}
	_, err := f.pending.WriteTo(f.w) // consumes f.pending
	f.pending = nil
	return err
}

// writeFrames writes pending, then frames (whole frames, as textFrame makes them), waiting as
// long as it takes: one writev for several on a TCP socket.
func (f *frameWriter) writeFrames(frames [][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closeSent {
		return net.ErrClosed
	}
	if err := f.flushPendingLocked(); err != nil {
		return err
	}
	switch len(frames) {
	case 0:
		return nil
	case 1:
		_, err := f.w.Write(frames[0])
		return err
	}
	bufs := make(net.Buffers, len(frames))
	copy(bufs, frames)
	_, err := bufs.WriteTo(f.w)
	return err
}

// tryFrames writes frames as far as the socket takes them without waiting, and reports whether
// all went out. If not, the rest is kept in pending (frames are never modified, so it keeps
// references) for writeFrames to write first.
func (f *frameWriter) tryFrames(frames [][]byte) (done bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closeSent {
		return false, net.ErrClosed
	}
	for i, fr := range frames {
		n := 0
		if f.raw != nil && len(f.pending) == 0 {
			f.tryBuf, f.tryN = fr, 0
			err := f.raw.Write(f.tryFn)
			n, err = f.tryN, cmp.Or(err, f.tryErr)
			f.tryBuf, f.tryErr = nil, nil
			if err != nil && err != syscall.EAGAIN {
				return false, err
			}
		}
		if n < len(fr) {
			f.pending = append(append(f.pending, fr[n:]), frames[i+1:]...)
			return false, nil
		}
	}
	return true, nil
}

// tryWrite is one write(2) of tryBuf on the non-blocking socket, through raw.Write (which holds
// the socket's write lock); returning true keeps raw.Write from waiting.
func (f *frameWriter) tryWrite(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), f.tryBuf)
		if err == syscall.EINTR {
			continue
		}
		f.tryN, f.tryErr = max(n, 0), err
		return true
	}
}

// wholeFrames reports whether b is a sequence of complete WebSocket frames (RFC 6455 §5.2), and
// whether one of them is a close frame.
func wholeFrames(b []byte) (whole, closes bool) {
	for len(b) > 0 {
		if len(b) < 2 {
			return false, false
		}
		n, size := uint64(b[1]&0x7f), uint64(2)
		switch n {
		case 126:
			if len(b) < 4 {
				return false, false
			}
			n, size = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return false, false
			}
			n, size = binary.BigEndian.Uint64(b[2:]), 10
		}
		if b[1]&0x80 != 0 { // masked (a server never masks; kept for completeness)
			size += 4
		}
		if uint64(len(b)) < size || uint64(len(b))-size < n {
			return false, false
		}
		closes = closes || b[0]&0x0f == 0x8
		b = b[size+n:]
	}
	return true, closes
}

// textHeader appends to dst the header of an unfragmented, unmasked text frame of n payload bytes.
func textHeader(dst []byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, 0x81, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, 0x81, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0x81, 127), uint64(n))
	}
}

// textFrame is payload as a whole text frame.
func textFrame(payload []byte) []byte {
	return append(textHeader(make([]byte, 0, len(payload)+10), len(payload)), payload...)
}
