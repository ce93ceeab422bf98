package ws_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/beacon-analytics/beacon/ws"
)

// TestClientAddr: Forwarded / X-Forwarded-For count only when the peer is a trusted proxy, and
// then only up to the first hop that is not one; IPv6 counts by /64.
func TestClientAddr(t *testing.T) {
	t.Parallel()
	s := ws.New(ws.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		nil, nil, nil, ws.NewRegistry(), slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name, peer string
		header     http.Header
		want       string
	}{
		{"untrusted peer's header is ignored", "198.51.100.9:5000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "198.51.100.9"},
		{"trusted proxy names the client", "10.1.2.3:5000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7"},
		{"a spoofed left hop does not count", "10.1.2.3:5000", http.Header{"X-Forwarded-For": {"1.2.3.4, 203.0.113.7, 10.9.9.9"}}, "203.0.113.7"},
		{"Forwarded wins", "10.1.2.3:5000", http.Header{"Forwarded": {`for="[2001:db8:1:2::7]:4711";proto=https`}, "X-Forwarded-For": {"203.0.113.7"}}, "2001:db8:1:2::"},
		{"garbled hop stops at the proxy", "10.1.2.3:5000", http.Header{"X-Forwarded-For": {"nonsense"}}, "10.1.2.3"},
		{"IPv6 peer by /64", "[2001:db8:5:6:7:8:9:a]:443", nil, "2001:db8:5:6::"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/ws", nil)
		r.RemoteAddr = tc.peer
		for k, v := range tc.header {
			r.Header[k] = v
		}
		if got := s.ClientAddr(r).String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
