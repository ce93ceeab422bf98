package main

import (
	"bytes"
	"context"
	"crypto/fips140"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/protocol"
)

// TestFrames checks that the pre-encoded, masked frames carry exactly the SDK's event message.
func TestFrames(t *testing.T) {
	ring := samples(1, ringSize)
	tmpl := frameTemplates(ring)
	c := &wsConn{mask: 12345}
	ids := newIDGen()
	now := time.Now()
	ts := strconv.AppendInt(nil, now.UnixMilli(), 10)
	for seq := uint64(1); seq < 200; seq++ {
		id := ids.next(now)
		frame := c.appendFrame(nil, &tmpl[seq%ringSize], ts, id, seq)
		if frame[0] != 0x81 || frame[1]&0x80 == 0 {
			t.Fatalf("header % x", frame[:2])
		}
		n, rest := int(frame[1]&0x7f), frame[2:]
		if n == 126 {
			n, rest = int(binary.BigEndian.Uint16(rest)), rest[2:]
		}
		key, payload := binary.LittleEndian.Uint32(rest), bytes.Clone(rest[4:])
		if len(payload) != n {
			t.Fatalf("length %d, header says %d", len(payload), n)
		}
		for j := range payload {
			payload[j] ^= byte(key >> (8 * (j % 4)))
		}
		want := appendMessage(nil, &ring[seq%ringSize], id, now, seq)
		if !bytes.Equal(payload, want) {
			t.Fatalf("frame carries\n%s\nwant\n%s", payload, want)
		}
		m, pe := protocol.Decode(payload)
		if pe != nil || m.Type != "event" || m.Seq != seq || len(m.Props) < 100 || len(m.Props) > 200 {
			t.Fatalf("relay reads %+v, %v", m, pe)
		}
	}
}

// TestRawClient runs the load generator against a coder/websocket server that acks every event,
// pings, and checks each message.
func TestRawClient(t *testing.T) {
	got := make(chan error, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *websocket.Conn
		var err error
		// As the relay does: the handshake's SHA-1 runs outside FIPS 140-3 enforcement.
		fips140.WithoutEnforcement(func() {
			c, err = websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		})
		if err != nil {
			got <- err
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"flags","flags":{}}`))
		pinged := false
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			m, pe := protocol.Decode(data)
			if pe != nil || m.Type != "event" {
				got <- fmt.Errorf("bad message %q: %v", data, pe)
				return
			}
			if m.Seq == 50 && !pinged {
				pinged = true
				go func() { got <- c.Ping(ctx) }() // answered by the client's reader
			}
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"ack","seq":`+strconv.FormatUint(m.Seq, 10)+`}`)); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?project=p"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := startLoad(ctx, func(int) string { return url }, 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	for l.acked.Load() < 3000 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no pong")
	}
	l.stop()
	if l.errs.Load() != 0 || l.closes.Load() != 0 || l.acked.Load() < 3000 {
		t.Fatalf("errors %d, closes %d, acked %d", l.errs.Load(), l.closes.Load(), l.acked.Load())
	}
}
