package ws

import (
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// Close codes for a browser's upgrade refused for good (docs/protocol.md, "Close codes"). A
// browser hides an HTTP refusal from the page (its WebSocket sees only 1006), so the SDK could
// neither tell the developer why nor tell a permanent refusal from a relay that is down.
const (
	StatusOriginNotAllowed websocket.StatusCode = 4403 // reason "origin_not_allowed"
	StatusUnknownProject   websocket.StatusCode = 4404 // reason "unknown_project"
)

// maxRefusing bounds the refused upgrades being closed at once: each holds its goroutine until the
// client answers the close frame (coder/websocket waits up to 5 s for the write and 5 s for the
// answer), where an HTTP refusal costs nothing after it is written. Past it, refusals are HTTP
// again, so a flood from foreign origins cannot hold more than this many.
const maxRefusing = 256

// permanent maps the admission refusals a browser page cannot outwait to their close codes.
var permanent = map[string]websocket.StatusCode{
	"origin_not_allowed": StatusOriginNotAllowed,
	"unknown_project":    StatusUnknownProject,
}

// closeRefused answers a browser's WebSocket upgrade that admit refused for good by completing the
// handshake and closing at once with the refusal's close code and its error code as the reason,
// which the page can read. Nothing is read from such a connection (the close handshake discards
// what the client sent), it is never registered, and it has no flags; requests without Origin
// (server code, which can read the HTTP answer) and requests that are no upgrade get the HTTP
// refusal as before, and so do all while maxRefusing are being closed. It reports whether it
// answered.
func (s *Server) closeRefused(w http.ResponseWriter, r *http.Request, ref *refusal) bool {
	code := permanent[ref.code]
	if code == 0 || r.Header.Get("Origin") == "" || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	if s.refusing.Add(1) > s.refuseCap {
		s.refusing.Add(-1)
		return false
	}
	defer s.refusing.Add(-1)
	s.obs.Refused(ref.code)
	ws, err := accept(w, r)
	if err != nil {
		s.log.Debug("accept refused", "error", err)
		return true // Accept has answered the request
	}
	_ = ws.Close(code, ref.code)
	return true
}
