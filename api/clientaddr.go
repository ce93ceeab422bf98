package api

import (
	"net/http"
	"net/netip"

	"github.com/beacon-analytics/beacon/clientaddr"
)

// clientAddr is the address recorded for a request (sessions, audit): the client's, through the
// trusted proxies (clientaddr.Of), the whole address, not the /64 the WebSocket edge limits by:
// the audit names the client, it does not group it. "" when unknown.
func (s *Server) clientAddr(r *http.Request) string {
	return addrString(clientaddr.Of(r, s.cfg.TrustedProxies))
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.WithZone("").String()
}
