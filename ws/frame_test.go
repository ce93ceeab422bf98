package ws

import (
	"bytes"
	"context"
	"crypto/fips140"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// TestReadMessage reads messages of every size class through the pooled buffers, a binary one,
// and one over the read limit.
func TestReadMessage(t *testing.T) {
	sizes := []int{0, 1, 300, 1 << 10, 1<<10 + 1, maxPooledMessage + 1, 20 << 10, 5}
	type result struct {
		typ  websocket.MessageType
		data []byte
		err  error
	}
	got := make(chan result, len(sizes)+2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *websocket.Conn
		var err error
		fips140.WithoutEnforcement(func() { c, err = websocket.Accept(w, r, nil) }) // as the relay does
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(32 << 10)
		for range len(sizes) + 2 {
			m, err := readMessage(r.Context(), c)
			if err != nil {
				got <- result{err: err}
				return
			}
			got <- result{typ: m.typ, data: bytes.Clone(m.data)}
			m.data[0:cap(m.data)][0] = 'x' // the buffer is ours until release
			m.release()
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsclient.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	msg := func(n int) []byte { return bytes.Repeat([]byte("abcdefg"), n/7+1)[:n] }
	for _, n := range sizes {
		if err := c.Write(ctx, websocket.MessageText, msg(n)); err != nil {
			t.Fatal(err)
		}
		r := <-got
		if r.err != nil || r.typ != websocket.MessageText || !bytes.Equal(r.data, msg(n)) {
			t.Fatalf("%d bytes: read %d bytes, type %v, error %v", n, len(r.data), r.typ, r.err)
		}
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.typ != websocket.MessageBinary || !bytes.Equal(r.data, []byte{1, 2, 3}) {
		t.Fatalf("binary: %+v", r)
	}
	_ = c.Write(ctx, websocket.MessageText, msg(40<<10))
	if r := <-got; r.err == nil {
		t.Fatalf("over the read limit: read %d bytes", len(r.data))
	}
}

func BenchmarkReadMessage(b *testing.B) {
	frame := bytes.Repeat([]byte("x"), 280)
	for _, c := range []struct {
		name string
		read func(ctx context.Context, c *websocket.Conn) error
	}{
		{"Read", func(ctx context.Context, c *websocket.Conn) error { _, _, err := c.Read(ctx); return err }},
		{"readMessage", func(ctx context.Context, c *websocket.Conn) error {
			m, err := readMessage(ctx, c)
			if err == nil {
				m.release()
			}
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			done := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				var ws *websocket.Conn
				var err error
				fips140.WithoutEnforcement(func() { ws, err = websocket.Accept(w, r, nil) })
				if err != nil {
					b.Error(err)
					return
				}
				defer ws.CloseNow()
				for range b.N {
					if err := c.read(r.Context(), ws); err != nil {
						b.Error(err)
						return
					}
				}
			}))
			defer srv.Close()
			ctx := context.Background()
			cl, _, err := wsclient.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.CloseNow()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := cl.Write(ctx, websocket.MessageText, frame); err != nil {
					b.Fatal(err)
				}
			}
			<-done
		})
	}
}
