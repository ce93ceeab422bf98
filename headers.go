package main

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beacon-analytics/beacon/dashboard"
)

// dashboardCSP lets the embedded dashboard load only its own files and never be framed
// (clickjacking). A JSON answer carries it too: harmless there, and one rule is easier to audit.
const dashboardCSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"

// hsts asks browsers to use HTTPS only for a year; sent only when the relay serves TLS (RFC 6797
// forbids it over plain HTTP, where it would be ignored anyway).
const hsts = "max-age=31536000; includeSubDomains"

// secure wraps every route with the relay's security headers and bounds the time a response may
// take to write: a client that pipelines requests and never reads would otherwise pin a goroutine,
// a socket and the unsent answer forever. http.Server.WriteTimeout is not used because it would
// also cut hijacked WebSockets, which bound their own writes (ws.Config.WriteTimeout); upgrade
// requests get no deadline here.
func secure(next http.Handler, writeTimeout time.Duration, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", dashboardCSP+dashboard.CSPDirectives()) // + the app's own inline bits, by hash
		h.Set("X-Frame-Options", "DENY")                                         // for browsers without CSP frame-ancestors
		if tls {
			h.Set("Strict-Transport-Security", hsts)
		}
		if !isDashboard(r.URL.Path) {
			h.Set("Cache-Control", "no-store") // answers are per request; none may be cached
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		d := &deadlineWriter{ResponseWriter: w, timeout: writeTimeout}
		d.arm() // bounds what net/http writes before the handler does (100 Continue)
		next.ServeHTTP(d, r)
		d.start() // and what it writes after a handler that wrote nothing
	})
}

// isDashboard reports whether path is served by the dashboard's static files (cacheable).
func isDashboard(path string) bool {
	return !slices.Contains([]string{"/ws", "/healthz", "/readyz", "/metrics"}, path) &&
		!strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/api/")
}

// deadlineWriter sets the connection's write deadline when the handler starts to answer, so the
// time a handler spends waiting (POST /v1/events waits for its commit) does not count against
// the write, and a response that does not drain within timeout ends the connection.
type deadlineWriter struct {
	http.ResponseWriter
	timeout time.Duration
	started sync.Once
}

// start arms the deadline at the handler's first write.
func (d *deadlineWriter) start() { d.started.Do(d.arm) }

func (d *deadlineWriter) arm() {
	// An error means the writer cannot hold deadlines (a test recorder): nothing to bound.
	_ = http.NewResponseController(d.ResponseWriter).SetWriteDeadline(time.Now().Add(d.timeout))
}

// WriteHeader starts the write deadline.
func (d *deadlineWriter) WriteHeader(code int) {
	d.start()
	d.ResponseWriter.WriteHeader(code)
}

// Write starts the write deadline.
func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.start()
	return d.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
