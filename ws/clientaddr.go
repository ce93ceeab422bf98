package ws

import (
	"net/http"
	"net/netip"

	"github.com/beacon-analytics/beacon/clientaddr"
)

// clientAddr is the address a request is counted against for per-address limits: the client's
// (clientaddr.Of, through TrustedProxies), IPv6 addresses by their /64, the block one subscriber
// usually holds. Requests that are not over TCP (a test's pipe) share one key.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	a := clientaddr.Of(r, s.cfg.TrustedProxies)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
