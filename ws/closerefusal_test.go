package ws_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/wsclient"
	"github.com/beacon-analytics/beacon/ws"
)

// A browser (Origin set) refused for good learns why from the close code and reason, which a page
// can read (an HTTP 403/404 at the handshake it cannot); nothing it sends before the close is
// stored. Server code (no Origin) and requests that are no upgrade still get the HTTP refusal.
func TestPermanentRefusalClosesWithACodeThePageCanRead(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t, "https://app.example.com")
	unknown := strings.Replace(s.url("/ws", p, "a"), p.String(), uuid.NewString(), 1)
	for _, tc := range []struct {
		name, url, origin string
		code              websocket.StatusCode
		reason            string
	}{
		{"wrong origin", s.url("/ws", p, "evil"), "https://evil.example.com", ws.StatusOriginNotAllowed, "origin_not_allowed"},
		{"Origin null", s.url("/ws", p, "evil"), "null", ws.StatusOriginNotAllowed, "origin_not_allowed"},
		{"unknown project", unknown, "https://app.example.com", ws.StatusUnknownProject, "unknown_project"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := wsclient.Dial(ctx, tc.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {tc.origin}}})
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			cancel()
			t.Fatalf("%s: dial: %v (%v)", tc.name, err, resp)
		}
		// Whatever the client sends meanwhile is discarded, never stored.
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"event","event":"smuggled","seq":1}`))
		_, msg, err := c.Read(ctx)
		cancel()
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
			t.Errorf("%s: read %q, %v; want close %d %q", tc.name, msg, err, tc.code, tc.reason)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE name = 'smuggled'`); n != 0 {
		t.Fatalf("%d events stored from refused connections", n)
	}
	// Not an upgrade: the HTTP refusal, as before.
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(s.url("/ws", p, "evil"), "ws://", "http://", 1), nil)
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("plain GET from a wrong origin: %d, want 403", resp.StatusCode)
	}
}

// A client that never answers the close frame holds its refused upgrade open for seconds: past
// the cap of such upgrades, refusals are plain HTTP again, so a flood from a foreign origin cannot
// pile up goroutines.
func TestPermanentRefusalsBeingClosedAreCapped(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	s.edge.SetRefuseCap(1)
	p := s.project(t, "https://app.example.com")
	u, _ := url.Parse(s.url("/ws", p, "evil"))
	raw, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprintf(raw, "GET %s HTTP/1.1\r\nHost: %s\r\nOrigin: https://evil.example.com\r\nConnection: Upgrade\r\n"+
		"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", u.RequestURI(), u.Host)
	resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("silent client: %v %v, want 101", resp, err)
	}
	// It never answers the close frame: the one slot stays taken.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, _ := wsclient.Dial(ctx, s.url("/ws", p, "evil2"), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example.com"}}})
	if c != nil {
		_ = c.CloseNow()
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("past the cap: %v, want the HTTP 403", resp)
	}
}
