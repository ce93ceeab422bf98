// Package api is the dashboard's JSON API under /api/: sign-in, sessions and the project reads.
// Go is plumbing here: a handler checks the session cookie and the CSRF token, then calls one SQL
// function in a transaction that acts as the role beacon_api for the signed-in account
// (SET LOCAL role and beacon.account_id); the function decides what the account may see
// (sql/code/accounts.sql, sql/code/api.sql). docs/dashboard.md is the contract.
package api

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/api/password"
)

// Config holds the API's settings (SESSION_* and SIGNIN_* in docs/config.md).
type Config struct {
	// IdleTimeout ends a session not used for this long.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after its sign-in, however much it is used.
	Lifetime time.Duration
	// LockoutThreshold failed sign-ins of one account within LockoutWindow lock it for
	// LockoutDuration after the last of them.
	LockoutThreshold int
	LockoutWindow    time.Duration
	LockoutDuration  time.Duration
	// TLS: the relay serves HTTPS, so the cookie is Secure and named __Host-beacon_session.
	TLS bool
	// TrustedProxies are the reverse proxies whose Forwarded / X-Forwarded-For name the client
	// address recorded in sessions and the audit.
	TrustedProxies []netip.Prefix
	// Iterations of PBKDF2 for new and upgraded hashes; 0 means password.DefaultIterations.
	// Only tests set it lower.
	Iterations int
	// ClientsOn counts the connected clients that have each flag on (GET …/flags' clients_on);
	// nil answers 0 for every flag.
	ClientsOn ClientsOn
	// Live counts this relay's WebSocket clients per project for GET /api/projects/{id}/live
	// (the ws.Registry); nil counts none.
	Live Conns
	// ReauthWindow: sensitive actions (adding a member, creating a token, deleting a person)
	// need the password typed within it (sign-in or POST /api/session/reauth); 0 means 5 minutes.
	ReauthWindow time.Duration
	// MaxSessions per account: a sign-in beyond it ends the account's oldest sessions; 0: no limit.
	MaxSessions int
	// Banner is the system use notification a person must accept before signing in; "" for none.
	Banner string
	// OverviewTimeout bounds one overview request's SQL (statement_timeout): a filtered view of a
	// long range over a large project reads every event of the range, and a person is better
	// served by "choose a shorter range" than by a request that runs for minutes; 0 means 20 s.
	OverviewTimeout time.Duration
	// MFARequired (MFA_REQUIRED): an account without a key is sent to enrolment after its
	// password and can do nothing else until it has enrolled one; its last key cannot be removed.
	MFARequired bool
	// WebAuthnRPID and WebAuthnOrigins are the WebAuthn relying party of passkeys and security
	// keys (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS); empty: localhost and http://localhost:4000.
	WebAuthnRPID    string
	WebAuthnOrigins []string
	// OIDC is single sign-on (OIDC_* settings, api/oidc.go); nil: not configured.
	OIDC *OIDC
	// SSOOnly refuses password sign-in (SSO_ONLY); beacon.settings.sso_only refuses it in SQL too.
	SSOOnly bool
	// InviteTTL is how long an invitation link works (INVITE_TTL); 0 means 72 hours.
	InviteTTL time.Duration
	// Reads is a pool on a streaming replica (READ_DATABASE_URL) whose login is granted
	// beacon_api: the dashboard's reads run there (reads.go), so a busy dashboard or a long
	// overview does not compete with ingest on the primary; nil: everything on the primary.
	Reads *pgxpool.Pool
	// ReadMaxLag: a replica further behind than this is not read, the primary answers (READ_MAX_LAG);
	// 0 means 30 s.
	ReadMaxLag time.Duration
}

// Server serves /api/. It holds no state of its own: sessions live in PostgreSQL, so any relay
// answers any request.
type Server struct {
	pool   *pgxpool.Pool
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	routed map[string]bool // paths given a 405 fallback (handle)
	dummy  func() string   // a hash to check unknown emails against, so they take as long
	wa     *webauthn.WebAuthn
	checks atomic.Int64 // passwords checked, real or dummy (tests read it: export_test.go)
}

// New returns the API on pool, whose login must be a member of beacon_api.
func New(pool *pgxpool.Pool, cfg Config, log *slog.Logger) *Server {
	if cfg.Iterations == 0 {
		cfg.Iterations = password.DefaultIterations
	}
	s := &Server{pool: pool, cfg: cfg, log: log, mux: http.NewServeMux(), routed: map[string]bool{}}
	s.dummy = sync.OnceValue(func() string {
		h, err := password.Hash("not a password of any account", cfg.Iterations)
		if err != nil {
			panic("api: dummy hash: " + err.Error()) // the same call signs everyone in
		}
		return h
	})
	s.wa = newWebAuthn(cfg, log)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle("POST /api/session", s.signIn)
	s.handle("GET /api/session", s.session(false, s.getSession))
	s.handle("DELETE /api/session", s.session(true, s.signOut))
	s.handle("GET /api/projects", s.read(s.projects))
	s.handle("GET /api/projects/{id}/overview", s.read(s.overview))
	s.handle("GET /api/projects/{id}/overview/{file}", s.session(false, s.overviewCSV))
	s.handle("GET /api/projects/{id}/current", s.read(s.current))
	s.handle("GET /api/projects/{id}/flags", s.read(s.flags))
	s.handle("POST /api/projects/{id}/flags", s.session(true, s.createFlag))
	s.handle("PATCH /api/projects/{id}/flags/{key}", s.session(true, s.updateFlag))
	s.handle("DELETE /api/projects/{id}/flags/{key}", s.session(true, s.deleteFlag))
	s.handle("GET /api/projects/{id}/flags/{key}/history", s.read(s.flagHistory))
	s.handle("GET /api/projects/{id}/events", s.read(s.events))
	s.handle("GET /api/projects/{id}/people", s.read(s.people))
	s.handle("GET /api/projects/{id}/people/{person}", s.read(s.person))
	s.handle("DELETE /api/projects/{id}/people/{person}", s.session(true, s.deletePerson))
	s.settingsRoutes()
	s.tokenRoutes()
	s.writeKeyRoutes()
	s.accountRoutes()
	s.mfaRoutes()
	s.oidcRoutes()
	s.inviteRoutes()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint")
	})
}

// ServeHTTP answers every /api/ request; none may be cached.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(s.readYourWrites(w, r), r)
}

// handle registers h for pattern ("METHOD /path") and, the first time a path is seen, answers any
// other method on it 405 in the API's JSON (the mux's own 405 is plain text).
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	_, path, _ := strings.Cut(pattern, " ")
	if !s.routed[path] {
		s.routed[path] = true
		s.mux.HandleFunc(path, methodNotAllowed)
	}
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint does not take that method")
}
