package clientaddr_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/beacon-analytics/beacon/clientaddr"
)

func TestOf(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, remote string
		header       http.Header
		want         string
	}{
		{"untrusted peer: its headers ignored", "203.0.113.9:5000", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.9"},
		{"trusted peer, X-Forwarded-For", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"198.51.100.1, 10.0.0.3"}}, "198.51.100.1"},
		{"the rightmost untrusted hop, not a forged first", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1"}}, "198.51.100.1"},
		{"Forwarded wins, port and brackets removed", "10.0.0.2:5000", http.Header{"Forwarded": {`for="[2001:db8::1]:4711"`}, "X-Forwarded-For": {"198.51.100.1"}}, "2001:db8::1"},
		{"a garbled hop: the last trusted address", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"198.51.100.1, garbage"}}, "10.0.0.2"},
		{"IPv4-mapped peer unmapped", "[::ffff:203.0.113.9]:5000", nil, "203.0.113.9"},
		{"not TCP", "pipe", nil, "invalid IP"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: tc.header}
		if got := clientaddr.Of(r, proxies).String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
