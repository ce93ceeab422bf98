package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/protocol"
)

// Replies are JSON built by encoding/json: whatever a message holds comes out escaped, and the
// fields are the protocol's.
func TestReplies(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want map[string]any
	}{
		{"pong", pongMessage, map[string]any{"type": "pong"}},
		{"ack", ackMessage(18446744073709551615), map[string]any{"type": "ack", "seq": 18446744073709551615.0}},
		{"error with seq", noteMessage("error", 7, protocol.NewError("rejected", `quote " backslash \ nul `+"\x00 <tag> é")),
			map[string]any{"type": "error", "code": "rejected", "message": `quote " backslash \ nul ` + "\x00 <tag> é", "seq": 7.0}},
		{"error without seq", noteMessage("error", 0, protocol.NewError("bad_json", "x")),
			map[string]any{"type": "error", "code": "bad_json", "message": "x"}},
		{"flags", flagsMessage([]byte(`{"a":true,"b":false}`)),
			map[string]any{"type": "flags", "flags": map[string]any{"a": true, "b": false}}},
	}
	for _, tc := range cases {
		var got map[string]any
		if err := json.Unmarshal(tc.got, &got); err != nil {
			t.Fatalf("%s: %q is not JSON: %v", tc.name, tc.got, err)
		}
		if b1, b2 := mustJSON(t, got), mustJSON(t, tc.want); b1 != b2 {
			t.Errorf("%s: got %s, want %s", tc.name, b1, b2)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A write that timed out and one that failed close with different codes (docs/protocol.md).
func TestWriteFailureCloseCodes(t *testing.T) {
	cases := []struct {
		err  error
		code websocket.StatusCode
	}{
		{fmt.Errorf("failed to write msg: %w", context.DeadlineExceeded), websocket.StatusPolicyViolation},
		{fmt.Errorf("failed to write msg: %w", syscall.ECONNRESET), websocket.StatusInternalError},
	}
	for _, tc := range cases {
		c := newConn(&Server{log: slog.New(slog.DiscardHandler)}, &sender{}, netip.Addr{})
		c.writeFailed(tc.err)
		if c.closeCode != tc.code || !c.closing() {
			t.Errorf("%v: close code %d (closing %v), want %d", tc.err, c.closeCode, c.closing(), tc.code)
		}
	}
}

// A set from an evaluation that started earlier never replaces one from a later evaluation: a
// project push that began before an identify's own evaluation, and finished after it, would
// otherwise leave the client with flags from before its traits (seen in TestVerificationOff…
// under load).
func TestStaleFlagSetsAreDropped(t *testing.T) {
	c := newConn(&Server{log: slog.New(slog.DiscardHandler)}, &sender{}, netip.Addr{})
	before, after := flags.NewSet([]byte(`{"pro":false}`)), flags.NewSet([]byte(`{"pro":true}`))
	connect, push, identify := flags.Stamp(), flags.Stamp(), flags.Stamp()
	for _, step := range []struct {
		set   *flags.Set
		stamp uint64
		want  *flags.Set
	}{
		{before, connect, before},
		{after, identify, after},
		{before, push, after}, // the push started before the identify's evaluation
		{before, flags.Stamp(), before},
	} {
		c.PushFlags(step.set, step.stamp)
		if c.flags != step.want {
			t.Fatalf("after a set stamped %d: %s, want %s", step.stamp, c.flags.JSON, step.want.JSON)
		}
	}
}
