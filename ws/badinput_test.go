package ws_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/wsclient"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

func TestBadMessagesAreAnsweredAndConnectionLives(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{Limits: protocol.Limits{MaxPropsBytes: 1024}})
	p := s.project(t)
	c := s.dial(t, p, "bad")
	c.next("flags")
	cases := []struct {
		name, frame, code string
		seq               float64
	}{
		{"malformed JSON", `{"type":"event",`, protocol.CodeBadJSON, 0},
		{"not an object", `[1,2]`, protocol.CodeBadJSON, 0},
		{"unknown type", `{"type":"launch","seq":1}`, protocol.CodeUnknownType, 1},
		{"wrong field type", `{"type":"event","event":5,"seq":2}`, protocol.CodeBadMessage, 2},
		{"empty event name", `{"type":"event","event":"","seq":3}`, protocol.CodeBadEvent, 3},
		{"long event name", `{"type":"event","event":"` + strings.Repeat("x", 201) + `","seq":4}`, protocol.CodeBadEvent, 4},
		{"props not an object", `{"type":"event","event":"e","props":[1],"seq":5}`, protocol.CodeBadProps, 5},
		{"oversized props", `{"type":"event","event":"e","props":{"x":"` + strings.Repeat("y", 1100) + `"},"seq":6}`, protocol.CodePropsTooLarge, 6},
		{"ts a string", `{"type":"event","event":"e","ts":"yesterday","seq":7}`, protocol.CodeBadTS, 7},
		{"ts negative", `{"type":"event","event":"e","ts":-5,"seq":8}`, protocol.CodeBadTS, 8},
		{"id not a UUID", `{"type":"event","event":"e","id":"abc","seq":9}`, protocol.CodeBadID, 9},
		{"identify without userId", `{"type":"identify","seq":10}`, protocol.CodeBadUserID, 10},
		{"traits not an object", `{"type":"identify","userId":"u","traits":"x","seq":11}`, protocol.CodeBadTraits, 11},
		{"NUL in props", `{"type":"event","event":"e","props":{"nul":"\u0000"},"seq":12}`, protocol.CodeBadProps, 12},
		{"number beyond a double", `{"type":"event","event":"e","props":{"n":1e200000},"seq":13}`, protocol.CodeNumberOutOfRange, 13},
		{"duplicate key", `{"type":"event","type":"ping"}`, protocol.CodeDuplicateKey, 0},
		{"invalid UTF-8", "{\"type\":\"ping\",\"x\":\"\xff\"}", protocol.CodeBadJSON, 0},
		{"seq not rising", `{"type":"ping","seq":3}`, protocol.CodeBadSeq, 3},
	}
	for _, tc := range cases {
		c.sendRaw(tc.frame)
		m := c.next("error")
		got, _ := m["seq"].(float64)
		if m["code"] != tc.code || got != tc.seq || m["message"] == "" {
			t.Errorf("%s: got %v, want code %s seq %v", tc.name, m, tc.code, tc.seq)
		}
	}
	// The connection lives: a good event lands and the ack covers every message before it.
	id := uuid.Must(uuid.NewV7())
	c.send(map[string]any{"type": "event", "event": "ok", "id": id, "seq": 16})
	c.waitAck(16)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p); n != 1 {
		t.Fatalf("rows = %d, want only the good event", n)
	}
	// Absurd clock: ts far in the future is replaced by the time inside the UUIDv7 id, and the
	// sender is told so before the ack.
	id2 := uuid.Must(uuid.NewV7())
	c.send(map[string]any{"type": "event", "event": "future", "id": id2, "ts": 4102444800000, "seq": 17})
	if w := c.next("warning"); w["code"] != protocol.CodeTSReplaced || w["seq"] != float64(17) {
		t.Errorf("warning = %v, want ts_replaced for seq 17", w)
	}
	c.waitAck(17)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE event_id = $1 AND ts < now() + interval '1 minute'`, id2); n != 1 {
		t.Fatal("a ts in 2100 was not replaced by the id's time")
	}
}

func TestAdmission(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t, "https://app.example.com")
	open := s.project(t)
	base := strings.Replace(s.http.URL, "http://", "ws://", 1) + "/ws"
	cases := []struct {
		name, url, origin string
		status            int
	}{
		{"missing project", base + "?anon=a", "", http.StatusBadRequest},
		{"project not a UUID", base + "?project=nope", "", http.StatusBadRequest},
		{"unknown project", base + "?project=" + uuid.NewString(), "", http.StatusNotFound},
		// A browser's permanent refusals are upgraded and closed at once (TestPermanentRefusal…).
		{"wrong origin", s.url("/ws", p, "a"), "https://evil.example.com", http.StatusSwitchingProtocols},
		{"origin with no list and no default", s.url("/ws", open, "a"), "https://app.example.com", http.StatusSwitchingProtocols},
		{"allowed origin", s.url("/ws", p, "a"), "https://app.example.com", http.StatusSwitchingProtocols},
		{"no origin (server code)", s.url("/ws", p, "a"), "", http.StatusSwitchingProtocols},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := wsclient.Dial(ctx, tc.url, &websocket.DialOptions{HTTPHeader: h})
		cancel()
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s: response %v (err %v), want %d", tc.name, resp, err, tc.status)
		}
		if c != nil {
			_ = c.CloseNow()
		}
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{MaxFrameBytes: 4096})
	c := s.dial(t, s.project(t), "big")
	c.next("flags")
	c.sendRaw(`{"type":"event","event":"e","props":{"x":"` + strings.Repeat("y", 5000) + `"}}`)
	for range c.msgs {
	}
	err := <-c.done
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("close = %v (%v), want 1009", code, err)
	}
}

func TestBinaryFrameIsAnswered(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	c := s.dial(t, s.project(t), "bin")
	c.next("flags")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if m := c.next("error"); m["code"] != protocol.CodeBinaryFrame {
		t.Fatalf("got %v", m)
	}
	c.send(map[string]any{"type": "ping"})
	c.next("pong")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
