// Package wsclient dials Beacon's WebSocket from Go: tests, the load generator and server-side
// senders.
package wsclient

import (
	"context"
	"crypto/fips140"
	"net/http"

	"github.com/coder/websocket"
)

// Dial is websocket.Dial run outside FIPS 140-3 enforcement. The client verifies the server's
// Sec-WebSocket-Accept, a SHA-1 that RFC 6455 §10.8 says protects nothing, and fips140=only would
// otherwise panic on it; everything after the handshake is enforced as usual.
func Dial(ctx context.Context, url string, opts *websocket.DialOptions) (c *websocket.Conn, resp *http.Response, err error) {
	fips140.WithoutEnforcement(func() {
		c, resp, err = websocket.Dial(ctx, url, opts)
	})
	return c, resp, err
}
