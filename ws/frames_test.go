package ws

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// recorder records each Write it gets.
type recorder struct{ writes [][]byte }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

// coderWrite writes a frame as coder/websocket's writeFrame does: header, payload, then a flush.
func coderWrite(t *testing.T, bw *bufio.Writer, frame []byte) {
	t.Helper()
	hdr := 2
	switch frame[1] & 0x7f {
	case 126:
		hdr = 4
	case 127:
		hdr = 10
	}
	if _, err := bw.Write(frame[:hdr]); err != nil {
		t.Fatal(err)
	}
	if _, err := bw.Write(frame[hdr:]); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Every frame coder/websocket writes through the 64-byte buffer reaches the socket in exactly one
// write, whatever its size.
func TestFrameWriterWritesWholeFrames(t *testing.T) {
	for _, n := range []int{0, 1, 40, 54, 62, 63, 125, 126, 127, 1000, 4096, 65535, 65536, 70000, 200000} {
		rec := &recorder{}
		fw := &frameWriter{w: rec}
		bw := bufio.NewWriterSize(fw, smallWriteBuf)
		frame := textFrame([]byte(strings.Repeat("x", n)))
		coderWrite(t, bw, frame)
		coderWrite(t, bw, frame)
		if len(rec.writes) != 2 || !bytes.Equal(rec.writes[0], frame) || !bytes.Equal(rec.writes[1], frame) {
			t.Fatalf("payload %d: %d writes, want 2 whole frames", n, len(rec.writes))
		}
		if fw.buf != nil {
			t.Fatalf("payload %d: a buffer is still held", n)
		}
	}
}

// The writer's own frames go out as they are, several in one call, and nothing follows a close.
func TestFrameWriterOwnFramesAndClose(t *testing.T) {
	rec := &recorder{}
	fw := &frameWriter{w: rec}
	a, b := textFrame([]byte(`{"type":"pong"}`)), ackFrame(12345)
	if err := fw.writeFrames([][]byte{a}); err != nil {
		t.Fatal(err)
	}
	if err := fw.writeFrames([][]byte{a, b}); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(rec.writes, nil); !bytes.Equal(got, append(append(append([]byte(nil), a...), a...), b...)) {
		t.Fatalf("wrote %q", got)
	}
	if whole, _ := wholeFrames(b); !whole || string(b[2:]) != `{"type":"ack","seq":12345}` {
		t.Fatalf("ack frame %q", b)
	}
	// Without raw access to a socket (TLS), nothing is tried: all is kept for writeFrames.
	before := len(rec.writes)
	if done, err := fw.tryFrames([][]byte{b, a}); done || err != nil || len(rec.writes) != before {
		t.Fatalf("try without raw access: %v %v, %d writes", done, err, len(rec.writes)-before)
	}
	if err := fw.writeFrames(nil); err != nil || !bytes.Equal(bytes.Join(rec.writes[before:], nil), append(append([]byte(nil), b...), a...)) {
		t.Fatalf("pending not written in order: %v", err)
	}
	// coder/websocket's close frame (code 1001 and a reason), split by the small buffer.
	bw := bufio.NewWriterSize(fw, smallWriteBuf)
	reason := strings.Repeat("r", 100)
	closeFrame := append([]byte{0x88, byte(2 + len(reason)), 0x03, 0xe9}, reason...)
	coderWrite(t, bw, closeFrame)
	if !bytes.Equal(rec.writes[len(rec.writes)-1], closeFrame) {
		t.Fatal("close frame not written whole")
	}
	if err := fw.writeFrames([][]byte{a}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v, want net.ErrClosed", err)
	}
}

func TestFlagsFrame(t *testing.T) {
	for _, n := range []int{2, 100, 200, 70000} {
		set := []byte(`{"k":"` + strings.Repeat("v", n) + `"}`)
		f := flagsFrame(set)
		whole, closes := wholeFrames(f)
		if !whole || closes {
			t.Fatalf("set of %d: not one whole text frame", n)
		}
		if !bytes.HasSuffix(f, append(append([]byte(`{"type":"flags","flags":`), set...), '}')) || f[0] != 0x81 {
			t.Fatalf("set of %d: frame %q…", n, f[:40])
		}
	}
}

// tryFrames writes what the socket takes without waiting and keeps the rest, which goes out
// first, whole and in order, once the peer reads.
func TestTryFramesKeepsWhatTheSocketDoesNotTake(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	defer server.Close()
	fw := newFrameWriter(server)
	if fw.raw == nil {
		t.Fatal("no raw access to a TCP socket")
	}
	frame := textFrame(bytes.Repeat([]byte("f"), 10000))
	var want bytes.Buffer
	sent := 0
	for {
		done, err := fw.tryFrames([][]byte{frame, ackFrame(uint64(sent + 1))})
		if err != nil {
			t.Fatal(err)
		}
		want.Write(frame)
		want.Write(ackFrame(uint64(sent + 1)))
		sent++
		if !done {
			break
		}
		if sent > 100_000 {
			t.Fatal("the socket never filled")
		}
	}
	if len(fw.pending) == 0 {
		t.Fatal("nothing kept")
	}
	// Another try queues behind what is pending.
	if done, err := fw.tryFrames([][]byte{pongFrame}); done || err != nil {
		t.Fatalf("try behind pending: %v %v", done, err)
	}
	want.Write(pongFrame)
	got := make(chan []byte)
	go func() {
		b := make([]byte, want.Len())
		_, err := io.ReadFull(client, b)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	if err := fw.writeFrames(nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(<-got, want.Bytes()) {
		t.Fatal("the peer did not get every frame whole and in order")
	}
}
