// Package clientaddr finds the address of the client behind an HTTP request, trusting the
// Forwarded / X-Forwarded-For headers only when the peer is one of the operator's reverse
// proxies: the WebSocket edge keys its per-address limits on it, the dashboard's API writes it
// into the audit. One reading of those headers, so the two never disagree about who a client is.
package clientaddr

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Of is the client's address for r: the peer's, or, when the peer is in trusted, the nearest
// address in the proxies' Forwarded (else X-Forwarded-For) header that is not itself trusted.
// Headers from an untrusted peer are ignored: anyone can write them. The zero Addr when the peer
// is not a TCP address (a test's pipe).
func Of(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr) // the zero AddrPort when not TCP
	peer := ap.Addr().Unmap()
	if !contains(trusted, peer) {
		return peer
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0 && contains(trusted, peer); i-- { // the rightmost hop was added by the proxy we trust
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a garbled hop: trust nothing further left
		}
		peer = a.Unmap()
	}
	return peer
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
}

// forwardedFor lists the for= addresses of the Forwarded header (RFC 7239) when there is one,
// else those of X-Forwarded-For, client first, ports and brackets removed.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, pair := range strings.FieldsFunc(strings.Join(fwd, ","), func(r rune) bool { return r == ',' || r == ';' }) {
			if k, v, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && strings.EqualFold(k, "for") {
				hops = append(hops, hostOnly(strings.Trim(v, `"`)))
			}
		}
		return hops
	}
	for _, v := range h.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(v, ",") {
			hops = append(hops, hostOnly(strings.TrimSpace(hop)))
		}
	}
	return hops
}

// hostOnly strips a port and IPv6 brackets: "[2001:db8::1]:4711" → "2001:db8::1".
func hostOnly(v string) string {
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().String()
	}
	return strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
}
