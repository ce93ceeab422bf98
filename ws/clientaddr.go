package ws

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request is counted against for per-address limits: the peer's,
// or, when the peer is a trusted proxy (TrustedProxies), the nearest address in the proxies'
// Forwarded (else X-Forwarded-For) header that is not itself a trusted proxy. Headers from an
// untrusted peer are ignored: anyone can write them. IPv6 addresses count by their /64, the
// block one subscriber usually holds.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return limitKey(peer)
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- { // the rightmost hop was added by the proxy we trust
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a garbled hop: trust nothing further left
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return limitKey(a)
		}
		peer = a
	}
	return limitKey(peer)
}

func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{} // not TCP (a test's pipe): every such request shares one key
	}
	return ap.Addr().Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limitKey is a's /64 for IPv6, a itself for IPv4.
func limitKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// forwardedFor lists the for= addresses of the Forwarded header (RFC 7239) when there is one,
// else those of X-Forwarded-For, client first, ports and brackets removed.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, elem := range strings.Split(strings.Join(fwd, ","), ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hops = append(hops, hostOnly(strings.Trim(v, `"`)))
				}
			}
		}
		return hops
	}
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
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
