package ws_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/wsclient"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

// preflight sends a CORS preflight for POST to url from origin.
func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestPreflightAllowsOnlyTheProjectsOrigins: a preflight gets Access-Control-Allow-Origin only
// for an origin the project allows; a foreign origin, an unknown project, no project and
// Origin: null get none.
func TestPreflightAllowsOnlyTheProjectsOrigins(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{AllowedOrigins: []string{"*"}})
	p := s.project(t, "https://app.example.com")
	open := s.project(t) // lists none: the relay's default "*" applies
	base := strings.Replace(s.http.URL, "ws://", "http://", 1) + "/v1/events"
	for _, tc := range []struct {
		name, url, origin string
		allowed           bool
	}{
		{"allowed origin", base + "?project=" + p.String(), "https://app.example.com", true},
		{"foreign origin", base + "?project=" + p.String(), "https://evil.example", false},
		{"unknown project", base + "?project=" + uuid.NewString(), "https://evil.example", false},
		{"no project", base, "https://evil.example", false},
		{"null origin", base + "?project=" + p.String(), "null", false},
		{"null origin, project allowing *", base + "?project=" + open.String(), "null", false},
		{"any origin, project allowing *", base + "?project=" + open.String(), "https://any.example", true},
	} {
		resp := preflight(t, tc.url, tc.origin)
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if tc.allowed && (got != tc.origin || resp.StatusCode != http.StatusNoContent) {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q, want 204 and %q", tc.name, resp.StatusCode, got, tc.origin)
		}
		if !tc.allowed && (got != "" || resp.StatusCode < 400) {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q, want a refusal without it", tc.name, resp.StatusCode, got)
		}
	}
}

// TestAdmitTakesOneSpellingOfEachParameter: a project id in any but the canonical lowercase
// 8-4-4-4-12 form, and a repeated project, session or anon parameter, are refused with a 400
// naming the problem, at both doors.
func TestAdmitTakesOneSpellingOfEachParameter(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	id := p.String()
	other := s.project(t).String()
	base := strings.Replace(s.http.URL, "ws://", "http://", 1)
	for _, tc := range []struct{ query, code string }{
		{"project={" + id + "}", "bad_project"},
		{"project=urn:uuid:" + id, "bad_project"},
		{"project=" + strings.ReplaceAll(id, "-", ""), "bad_project"},
		{"project=" + strings.ToUpper(id), "bad_project"},
		{"project=" + id + "&project=" + other, "duplicate_parameter"},
		{"project=" + id + "&session=a&session=b", "duplicate_parameter"},
		{"project=" + id + "&anon=a&anon=b", "duplicate_parameter"},
	} {
		for _, door := range []string{"/v1/events", "/ws"} {
			req, _ := http.NewRequest(http.MethodPost, base+door+"?"+tc.query, strings.NewReader("[]"))
			if door == "/ws" {
				req, _ = http.NewRequest(http.MethodGet, base+door+"?"+tc.query, nil)
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || out.Error != tc.code {
				t.Errorf("%s %s: %d %q, want 400 %s", door, tc.query, resp.StatusCode, out.Error, tc.code)
			}
		}
	}
	// The canonical form is still taken.
	resp, _ := post(t, base+"/v1/events?project="+id, "application/json", "[]", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("canonical id: %d", resp.StatusCode)
	}
}

// rawDial opens a WebSocket by hand, for frames no well-behaved client library would send.
func rawDial(t *testing.T, s *stack, project uuid.UUID) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /ws?project=%s&anon=raw HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", project)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return c, br
}

// hugeTextHeader is a masked text frame header announcing 2^62 bytes.
func hugeTextHeader() []byte {
	h := []byte{0x81, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, 1<<62)
	return append(h, 1, 2, 3, 4) // mask key
}

// readClose reads server frames until the close frame and returns its code.
func readClose(t *testing.T, c net.Conn, br *bufio.Reader) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		if h[0]&0x0f == 8 {
			return int(binary.BigEndian.Uint16(payload))
		}
	}
}

// TestHugeAnnouncedFrame: a frame header announcing 2^62 bytes is closed with 1009 as soon as
// MaxFrameBytes of it have come, and with 1008 within MessageTimeout when its bytes do not come —
// not after the ~40 s of the heartbeat.
func TestHugeAnnouncedFrame(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{MaxFrameBytes: 4096, MessageTimeout: 200 * time.Millisecond, PingInterval: time.Hour})
	p := s.project(t)

	c, br := rawDial(t, s, p)
	start := time.Now()
	_, _ = c.Write(append(hugeTextHeader(), "{\"type\":"...))
	if code := readClose(t, c, br); code != 1008 {
		t.Fatalf("stalled huge frame: close %d, want 1008", code)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("stalled huge frame closed after %v", took)
	}

	c, br = rawDial(t, s, p)
	_, _ = c.Write(append(hugeTextHeader(), make([]byte, 8192)...))
	if code := readClose(t, c, br); code != 1009 {
		t.Fatalf("streamed huge frame: close %d, want 1009", code)
	}
}

// TestIdentifyIsRateLimited: identify costs a database call, so it draws on the project's
// bucket like an event, on the WebSocket and over HTTP.
func TestIdentifyIsRateLimited(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{Rates: ws.RateLimits{PerProject: 0.001, PerProjectBurst: 2}})
	p := s.project(t)
	c := s.dial(t, p, "who")
	c.next("flags")
	for i := 1; i <= 3; i++ {
		c.send(map[string]any{"type": "identify", "userId": fmt.Sprint("u", i), "seq": i})
	}
	if m := c.next("error"); m["code"] != protocol.CodeRateLimited || m["seq"] != float64(3) {
		t.Fatalf("got %v, want rate_limited for the third identify", m)
	}
	url := strings.Replace(s.url("/v1/events", p, "who"), "ws://", "http://", 1)
	_, out := post(t, url, "application/json", `[{"type":"identify","userId":"u4"}]`, nil)
	errs, _ := out["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["code"] != protocol.CodeRateLimited {
		t.Fatalf("HTTP identify over the project's rate: %v", out)
	}
}

// TestHTTPPerAddressLimit: HTTP ingest from one client address is limited (429, Retry-After);
// another address, named by a trusted proxy, has its own bucket.
func TestHTTPPerAddressLimit(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{
		Rates:          ws.RateLimits{PerAddr: 0.001, PerAddrBurst: 4},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	p := s.project(t)
	url := strings.Replace(s.url("/v1/events", p, "a"), "ws://", "http://", 1)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	two := `[{"type":"ping"},{"type":"ping"}]`
	for range 2 {
		if resp, out := post(t, url, "application/json", two, from("203.0.113.7")); resp.StatusCode != http.StatusOK {
			t.Fatalf("within the burst: %d %v", resp.StatusCode, out)
		}
	}
	resp, out := post(t, url, "application/json", two, from("203.0.113.7"))
	if resp.StatusCode != http.StatusTooManyRequests || out["error"] != protocol.CodeRateLimited || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the address's rate: %d %v Retry-After %q", resp.StatusCode, out, resp.Header.Get("Retry-After"))
	}
	resp, out = post(t, url, "application/json", two, http.Header{"Forwarded": {"for=203.0.113.7"}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the same client through Forwarded: %d %v", resp.StatusCode, out)
	}
	if resp, out := post(t, url, "application/json", two, from("203.0.113.8")); resp.StatusCode != http.StatusOK {
		t.Fatalf("another address: %d %v", resp.StatusCode, out)
	}
}

// TestPerAddressConnectionCap: one address cannot hold more than MaxConnsAddr WebSockets; a
// closed one frees its place, and another address is not affected.
func TestPerAddressConnectionCap(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{
		Rates:          ws.RateLimits{MaxConnsAddr: 3},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	p := s.project(t)
	var open []*client
	for i := range 3 {
		c := s.dial(t, p, fmt.Sprint("c", i))
		c.next("flags")
		open = append(open, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := wsclient.Dial(ctx, s.url("/ws", p, "c4"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fourth connection from one address: %v %v, want 429", resp, err)
	}
	other, _, err := wsclient.Dial(ctx, s.url("/ws", p, "elsewhere"), &websocket.DialOptions{
		HTTPHeader: http.Header{"X-Forwarded-For": {"203.0.113.9"}}})
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	other.CloseNow()
	open[0].c.CloseNow()
	waitFor(t, "a freed place", func() bool {
		c, _, err := wsclient.Dial(ctx, s.url("/ws", p, "again"), nil)
		if err == nil {
			c.CloseNow()
		}
		return err == nil
	})
}
