// Package ws is the relay's client edge: the WebSocket endpoint (coder/websocket, used through
// its documented API only) and the HTTP ingest endpoint that takes the same messages. It admits
// connections (project, Origin), hands each message to package protocol to decode and validate,
// gives events to the batcher, answers with acks and errors, and delivers flag pushes. It holds
// no business rule (those are SQL) and no SQL (that is behind Store).
package ws

import (
	"context"
	"crypto/fips140"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
)

// Config sets the edge's limits and timeouts. Zero values take the defaults in fill.
type Config struct {
	Limits         protocol.Limits
	AllowedOrigins []string       // origins allowed for projects that list none
	TrustedProxies []netip.Prefix // peers whose Forwarded / X-Forwarded-For name the client
	MaxFrameBytes  int64          // larger frames close the connection with 1009
	MaxBodyBytes   int64          // POST /v1/events body limit
	IdleTimeout    time.Duration  // a connection silent this long is closed
	PingInterval   time.Duration  // server pings keep NATs open and find dead peers
	WriteTimeout   time.Duration  // a write blocked this long closes the connection
	MessageTimeout time.Duration  // a message whose first frame header has come must arrive whole within this
	CommitTimeout  time.Duration  // POST /v1/events answers 503 when its events are not committed by then
	DrainIdle      time.Duration  // on shutdown, read until the client is quiet this long …
	DrainMax       time.Duration  // … or this long at most
	Rates          RateLimits
	Observer       Observer // nil: no measurements
}

func (c *Config) fill() {
	c.Limits = c.Limits.WithDefaults()
	orDefault(&c.MaxFrameBytes, 64<<10)
	orDefault(&c.MaxBodyBytes, 1<<20)
	orDefault(&c.IdleTimeout, 90*time.Second)
	orDefault(&c.PingInterval, 30*time.Second)
	orDefault(&c.WriteTimeout, 10*time.Second)
	orDefault(&c.MessageTimeout, 10*time.Second)
	orDefault(&c.CommitTimeout, 10*time.Second)
	orDefault(&c.DrainIdle, 300*time.Millisecond)
	orDefault(&c.DrainMax, 2*time.Second)
	orDefault(&c.Rates.Strikes, 100)
	orDefault(&c.Rates.PerConnBurst, max(1, int(2*c.Rates.PerConn)))
	orDefault(&c.Rates.PerProjectBurst, max(1, int(2*c.Rates.PerProject)))
	orDefault(&c.Rates.PerAddrBurst, max(protocol.MaxBodyMessages, int(2*c.Rates.PerAddr)))
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Server serves /ws and /v1/events.
type Server struct {
	cfg      Config
	store    Store
	batcher  *pgbatch.Batcher
	flags    *flags.Pusher
	reg      *Registry
	projects *projects
	log      *slog.Logger
	obs      Observer
	perProj  *limiters[uuid.UUID]
	perAddr  *limiters[netip.Addr]

	refusing  atomic.Int32 // upgrades being closed with 4403/4404 now (closeRefused) …
	refuseCap int32        // … and the most at once: maxRefusing (tests lower it)

	draining atomic.Bool   // Shutdown has begun: nothing more is admitted
	shutdown sync.Once     // starts the drain loop
	gone     chan struct{} // closed by the drain loop once every connection is gone
}

// New makes the edge. reg must be the registry pusher was made with; store answers the edge's
// own queries (admission, identify).
func New(cfg Config, store Store, batcher *pgbatch.Batcher, pusher *flags.Pusher, reg *Registry, log *slog.Logger) *Server {
	cfg.fill()
	return &Server{cfg: cfg, store: store, batcher: batcher, flags: pusher, reg: reg, gone: make(chan struct{}),
		projects: newProjects(store, maxCachedProjects), log: log, obs: cfg.Observer, refuseCap: maxRefusing,
		perProj: newLimiters[uuid.UUID](cfg.Rates.PerProject, cfg.Rates.PerProjectBurst),
		perAddr: newLimiters[netip.Addr](cfg.Rates.PerAddr, cfg.Rates.PerAddrBurst)}
}

// ServeHTTP upgrades GET /ws. Every refusal happens before the upgrade, as an HTTP status with a
// JSON body, but a browser's refused for good (wrong origin, unknown project): see closeRefused.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.refuse(w, &refusal{http.StatusServiceUnavailable, "shutting_down", "the relay is shutting down; reconnect"})
		return
	}
	from, ref := s.admit(r)
	if ref != nil {
		if !s.closeRefused(w, r, ref) {
			s.refuse(w, ref)
		}
		return
	}
	c := newConn(s, from, s.clientAddr(r))
	if ref := s.reg.add(c, &s.cfg.Rates); ref != nil {
		if ref == refusedAddrCap {
			w.Header().Set("Retry-After", "10")
		}
		s.refuse(w, ref)
		return
	}
	stamp := flags.Stamp()
	user, set, err := s.flags.Connect(r.Context(), from.project, from.anon)
	if err != nil {
		s.reg.remove(c)
		s.log.Warn("connect", "error", err)
		s.refuse(w, &refusal{http.StatusServiceUnavailable, protocol.CodeUnavailable, "the database is unavailable; retry later"})
		return
	}
	c.mu.Lock()
	c.userID = user // identified before: events after a reconnect carry the user
	c.mu.Unlock()
	c.PushFlags(s.reg.intern(from.project, set), stamp)
	s.upgrade(w, r, c)
}

// upgrade completes the handshake for the admitted, registered c and starts serving it.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, c *conn) {
	// A hijacked connection keeps the deadlines the server set (http.Hijacker): this one bounds
	// its own writes (WriteTimeout), so none may be left over from the HTTP side.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	ws, err := accept(w, r)
	if err != nil {
		s.reg.remove(c)
		s.log.Debug("accept", "error", err)
		return
	}
	ws.SetReadLimit(s.cfg.MaxFrameBytes)
	if s.draining.Load() { // Shutdown began during the handshake
		s.reg.remove(c)
		_ = ws.Close(websocket.StatusGoingAway, "relay shutting down")
		return
	}
	s.obs.Connected(1)
	go c.serve(ws) // serve undoes the registration and the count when it ends
}

// refuse answers a request refused before any message, and counts it.
func (s *Server) refuse(w http.ResponseWriter, ref *refusal) {
	s.obs.Refused(ref.code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ref.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": ref.code, "message": ref.msg})
}

// Shutdown stops admitting, lets every connection read what its client already sent, waits for
// those events to commit, sends the final acks and closes with 1001. It returns when all
// connections are gone or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Do(func() {
		s.draining.Store(true)
		go s.drainLoop()
	})
	select {
	case <-s.gone:
		return nil
	case <-ctx.Done():
		for _, c := range s.reg.all() {
			c.abort(websocket.StatusGoingAway, "relay shutting down")
		}
		return ctx.Err()
	}
}

// accept completes the handshake of an upgrade admit has judged (its Origin checked, or refused:
// closeRefused). RFC 6455 §10.8: the handshake's SHA-1 (Sec-WebSocket-Accept) protects no secret
// and is no security function, so it may run outside FIPS 140-3 enforcement (fips140=only panics
// on it).
func accept(w http.ResponseWriter, r *http.Request) (ws *websocket.Conn, err error) {
	fips140.WithoutEnforcement(func() {
		ws, err = websocket.Accept(w, r, &websocket.AcceptOptions{
			InsecureSkipVerify: true, // admit has checked Origin against the project's list
			CompressionMode:    websocket.CompressionDisabled,
		})
	})
	return ws, err
}

// Connections is the number of live WebSocket connections.
func (s *Server) Connections() int { return s.reg.Len() }
