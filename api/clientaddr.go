package api

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address recorded for a request (sessions, audit): the peer's, or, when the
// peer is a trusted proxy, the nearest address in Forwarded (else X-Forwarded-For) that is not a
// trusted proxy itself. The same walk as ws/clientaddr.go, but the whole address, not its /64:
// the audit names the client, it does not group it for a rate limit. "" when unknown.
func (s *Server) clientAddr(r *http.Request) string {
	peer := peerAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return addrString(peer)
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a garbled hop: trust nothing further left
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return addrString(a)
		}
		peer = a
	}
	return addrString(peer)
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.WithZone("").String()
}

func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
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

// forwardedFor lists the for= addresses of Forwarded (RFC 7239), else of X-Forwarded-For, client
// first, ports and brackets removed.
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

func hostOnly(v string) string {
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().String()
	}
	return strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
}
