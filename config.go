package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kelseyhightower/envconfig"

	"github.com/beacon-analytics/beacon/protocol"
)

// Config is every setting, read once from the environment (`just` loads .env). Each field's
// variable is named in its tag; docs/config.md lists them with their defaults.
type Config struct {
	DatabaseURL       string        `envconfig:"DATABASE_URL"`        // required (validate)
	ListenDatabaseURL string        `envconfig:"LISTEN_DATABASE_URL"` // for LISTEN; default DATABASE_URL (must bypass transaction poolers)
	ReadDatabaseURL   string        `envconfig:"READ_DATABASE_URL"`   // a streaming replica for the dashboard's reads; "" reads the primary
	ReadMaxLag        time.Duration `envconfig:"READ_MAX_LAG" default:"30s"`
	Host              string        `envconfig:"HOST"` // "" listens on all interfaces
	Port              int           `envconfig:"PORT" default:"4000"`
	MetricsAddr       string        `envconfig:"METRICS_ADDR" default:"127.0.0.1:9464"` // host:port for /metrics; "" serves it on PORT (needs METRICS_TOKEN)
	MetricsToken      string        `envconfig:"METRICS_TOKEN"`                         // bearer token /metrics requires; never logged
	BatchSize         int           `envconfig:"BATCH_SIZE" default:"5000"`
	FlushInterval     time.Duration `envconfig:"FLUSH_INTERVAL" default:"50ms"`
	BufferLimit       int64         `envconfig:"BUFFER_LIMIT_BYTES" default:"67108864"`
	CopyWriters       int           `envconfig:"COPY_WRITERS" default:"2"`
	MaxFrameBytes     int64         `envconfig:"MAX_FRAME_BYTES" default:"65536"`
	MaxPropsBytes     int           `envconfig:"MAX_PROPS_BYTES" default:"32768"`
	MaxBodyBytes      int64         `envconfig:"MAX_BODY_BYTES" default:"1048576"`
	MaxEventAge       time.Duration `envconfig:"MAX_EVENT_AGE" default:"43800h"`
	CommitTimeout     time.Duration `envconfig:"COMMIT_TIMEOUT" default:"10s"`      // POST /v1/events waits this long for its commit
	RejectLogInterval time.Duration `envconfig:"REJECT_LOG_INTERVAL" default:"10s"` // least time between two log lines on refused rows
	AllowedOrigins    []string      `envconfig:"ALLOWED_ORIGINS"`
	IdleTimeout       time.Duration `envconfig:"IDLE_TIMEOUT" default:"90s"`
	HTTPWriteTimeout  time.Duration `envconfig:"HTTP_WRITE_TIMEOUT" default:"15s"` // an HTTP answer not written by then ends its connection
	RateConn          float64       `envconfig:"RATE_LIMIT_CONN" default:"1000"`   // messages/s per WebSocket; 0: none
	RateConnBurst     int           `envconfig:"RATE_LIMIT_CONN_BURST" default:"2000"`
	RateProject       float64       `envconfig:"RATE_LIMIT_PROJECT" default:"100000"` // events/s per project; 0: none
	RateProjectBurst  int           `envconfig:"RATE_LIMIT_PROJECT_BURST" default:"200000"`
	RateAddr          float64       `envconfig:"RATE_LIMIT_ADDR" default:"1000"` // HTTP ingest messages/s per client address; 0: none
	RateAddrBurst     int           `envconfig:"RATE_LIMIT_ADDR_BURST" default:"2000"`
	RateStrikes       int           `envconfig:"RATE_LIMIT_STRIKES" default:"100"`
	MaxConns          int           `envconfig:"MAX_CONNECTIONS" default:"20000"`
	MaxConnsProject   int           `envconfig:"MAX_CONNECTIONS_PER_PROJECT" default:"5000"`
	MaxConnsAddr      int           `envconfig:"MAX_CONNECTIONS_PER_ADDR" default:"256"`
	TrustedProxies    []string      `envconfig:"TRUSTED_PROXIES"` // CIDRs whose Forwarded / X-Forwarded-For are believed
	MaintainInterval  time.Duration `envconfig:"MAINTAIN_INTERVAL" default:"1m"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s"`
	TLSCertFile       string        `envconfig:"TLS_CERT_FILE"`
	TLSKeyFile        string        `envconfig:"TLS_KEY_FILE"`
	LogLevel          slog.Level    `envconfig:"LOG_LEVEL" default:"info"`

	// Dashboard sign-in (docs/dashboard.md).
	SessionIdleTimeout    time.Duration `envconfig:"SESSION_IDLE_TIMEOUT" default:"15m"`
	SessionLifetime       time.Duration `envconfig:"SESSION_LIFETIME" default:"12h"`
	SignInLockoutFailures int           `envconfig:"SIGNIN_LOCKOUT_FAILURES" default:"5"`
	SignInLockoutWindow   time.Duration `envconfig:"SIGNIN_LOCKOUT_WINDOW" default:"15m"`
	SignInLockoutDuration time.Duration `envconfig:"SIGNIN_LOCKOUT_DURATION" default:"15m"`
	SessionReauthWindow   time.Duration `envconfig:"SESSION_REAUTH_WINDOW" default:"5m"`  // sensitive actions need the password within it
	OverviewTimeout       time.Duration `envconfig:"OVERVIEW_TIMEOUT" default:"20s"`      // one overview request's SQL at most
	SessionMaxPerAccount  int           `envconfig:"SESSION_MAX_PER_ACCOUNT" default:"5"` // a sign-in beyond it ends the oldest; 0: no limit
	SignInBanner          string        `envconfig:"SIGNIN_BANNER"`                       // system use notification to accept before sign-in (AC-8)
	MFARequired           bool          `envconfig:"MFA_REQUIRED"`                        // a second factor for every account; on by default under BEACON_FEDRAMP
	FedRAMP               bool          `envconfig:"BEACON_FEDRAMP"`                      // refuse to start without FIPS mode, TLS, verify-full, MFA and the banner (fedramp.go)
	AuditStream           string        `envconfig:"AUDIT_STREAM"`                        // "" off, "stdout", or a file path: the audit as JSON lines for a SIEM (auditstream/)

	// WebAuthn relying party of passkeys and security keys (docs/config.md): the dashboard's host
	// name and the origins its pages are served from.
	WebAuthnRPID    string   `envconfig:"WEBAUTHN_RP_ID" default:"localhost"`
	WebAuthnOrigins []string `envconfig:"WEBAUTHN_ORIGINS" default:"http://localhost:4000,http://localhost:5173"`

	// Single sign-on and invitations (docs/config.md, api/oidc.go).
	OIDCIssuer         string        `envconfig:"OIDC_ISSUER"`
	OIDCClientID       string        `envconfig:"OIDC_CLIENT_ID"`
	OIDCClientSecret   string        `envconfig:"OIDC_CLIENT_SECRET"` // never logged
	OIDCRedirectURL    string        `envconfig:"OIDC_REDIRECT_URL"`
	OIDCAllowedDomains []string      `envconfig:"OIDC_ALLOWED_DOMAINS"`
	OIDCGroupsClaim    string        `envconfig:"OIDC_GROUPS_CLAIM"`
	OIDCScopes         []string      `envconfig:"OIDC_SCOPES"`   // beyond openid, email, profile
	OIDCRoleMap        string        `envconfig:"OIDC_ROLE_MAP"` // group=PROJECT_ID:role,…
	SSOOnly            bool          `envconfig:"SSO_ONLY"`
	InviteTTL          time.Duration `envconfig:"INVITE_TTL" default:"72h"`

	proxies []netip.Prefix // TRUSTED_PROXIES parsed by validate (envconfig skips unexported fields)
}

// loadConfig reads and validates the environment; its error is one line naming the variable.
func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("config: %s=%q is not a valid %s", pe.KeyName, pe.Value, cmp.Or(kinds[pe.TypeName], pe.TypeName))
		}
		return c, fmt.Errorf("config: %w", err)
	}
	fedrampDefaults(&c, os.LookupEnv)
	return c, c.validate()
}

// kinds names, for a parse error, what a setting of each Go type takes.
var kinds = map[string]string{
	"time.Duration": "duration (e.g. 50ms, 2s, 1h)", "int": "integer", "int64": "integer", "float64": "number",
	"slog.Level": "log level (debug, info, warn, error)",
}

// validate checks every setting against its bounds, stopping at the first that is out, and parses
// TRUSTED_PROXIES into c.proxies.
func (c *Config) validate() error {
	for _, ch := range []struct {
		bad bool
		msg string
	}{
		{c.DatabaseURL == "", "DATABASE_URL is required"},
		{c.Port < 1 || c.Port > 65535, "PORT must be between 1 and 65535"},
		{c.BatchSize < 1 || c.BatchSize > 1_000_000, "BATCH_SIZE must be between 1 and 1000000"},
		{c.FlushInterval <= 0, "FLUSH_INTERVAL must be positive"},
		{c.BufferLimit < 1<<20, "BUFFER_LIMIT_BYTES must be at least 1048576"},
		{c.CopyWriters < 1 || c.CopyWriters > 64, "COPY_WRITERS must be between 1 and 64"},
		{c.MaxFrameBytes < 1024, "MAX_FRAME_BYTES must be at least 1024"},
		{c.MaxPropsBytes < 2 || int64(c.MaxPropsBytes) > c.MaxFrameBytes, "MAX_PROPS_BYTES must be between 2 and MAX_FRAME_BYTES"},
		{c.MaxBodyBytes < 1024, "MAX_BODY_BYTES must be at least 1024"},
		{c.MaxEventAge < time.Hour, "MAX_EVENT_AGE must be at least 1h"},
		{c.CommitTimeout < 100*time.Millisecond, "COMMIT_TIMEOUT must be at least 100ms"},
		{c.RejectLogInterval < time.Second, "REJECT_LOG_INTERVAL must be at least 1s"},
		{c.IdleTimeout < time.Second, "IDLE_TIMEOUT must be at least 1s"},
		{c.HTTPWriteTimeout < 100*time.Millisecond, "HTTP_WRITE_TIMEOUT must be at least 100ms"},
		{c.RateConn < 0, "RATE_LIMIT_CONN must be 0 (no limit) or positive"},
		{c.RateConnBurst < 1, "RATE_LIMIT_CONN_BURST must be at least 1"},
		{c.RateProject < 0, "RATE_LIMIT_PROJECT must be 0 (no limit) or positive"},
		{c.RateProjectBurst < 1, "RATE_LIMIT_PROJECT_BURST must be at least 1"},
		{c.RateAddr < 0, "RATE_LIMIT_ADDR must be 0 (no limit) or positive"},
		{c.RateAddrBurst < protocol.MaxBodyMessages, "RATE_LIMIT_ADDR_BURST must be at least 1000 (the messages of one request)"},
		{c.RateStrikes < 1, "RATE_LIMIT_STRIKES must be at least 1"},
		{c.MaxConns < 1, "MAX_CONNECTIONS must be at least 1"},
		{c.MaxConnsProject < 1, "MAX_CONNECTIONS_PER_PROJECT must be at least 1"},
		{c.MaxConnsAddr < 0, "MAX_CONNECTIONS_PER_ADDR must be 0 (no limit) or positive"},
		{c.MaintainInterval < time.Second, "MAINTAIN_INTERVAL must be at least 1s"},
		{c.ShutdownTimeout <= 0, "SHUTDOWN_TIMEOUT must be positive"},
		{c.ReadMaxLag < time.Second, "READ_MAX_LAG must be at least 1s"},
		{(c.TLSCertFile == "") != (c.TLSKeyFile == ""), "TLS_CERT_FILE must be set together with TLS_KEY_FILE"},
		{c.SessionIdleTimeout < time.Minute, "SESSION_IDLE_TIMEOUT must be at least 1m"},
		{c.SessionLifetime < c.SessionIdleTimeout, "SESSION_LIFETIME must be at least SESSION_IDLE_TIMEOUT"},
		{c.SignInLockoutFailures < 1, "SIGNIN_LOCKOUT_FAILURES must be at least 1"},
		{c.SignInLockoutWindow < time.Minute, "SIGNIN_LOCKOUT_WINDOW must be at least 1m"},
		{c.SignInLockoutDuration < time.Minute, "SIGNIN_LOCKOUT_DURATION must be at least 1m"},
		{c.SessionReauthWindow < time.Minute || c.SessionReauthWindow > c.SessionLifetime, "SESSION_REAUTH_WINDOW must be between 1m and SESSION_LIFETIME"},
		{c.OverviewTimeout < time.Second || c.OverviewTimeout > 10*time.Minute, "OVERVIEW_TIMEOUT must be between 1s and 10m"},
		{c.SessionMaxPerAccount < 0 || c.SessionMaxPerAccount > 1000, "SESSION_MAX_PER_ACCOUNT must be between 0 (no limit) and 1000"},
		{len(c.SignInBanner) > 10000 || !utf8.ValidString(c.SignInBanner), "SIGNIN_BANNER must be UTF-8 text of at most 10000 bytes"},
		{c.SSOOnly && c.OIDCIssuer == "", "SSO_ONLY must be false unless OIDC_ISSUER is set"},
		{c.InviteTTL < time.Minute || c.InviteTTL > 30*24*time.Hour, "INVITE_TTL must be between 1m and 720h"},
		{c.AuditStream != "" && c.AuditStream != "stdout" && !filepath.IsAbs(c.AuditStream), "AUDIT_STREAM must be empty (off), stdout, or an absolute file path"},
		{c.MetricsAddr != "" && !hostPort(c.MetricsAddr), "METRICS_ADDR must be host:port (e.g. 127.0.0.1:9464), or empty to serve /metrics on PORT"},
		// /metrics on the public port names projects' traffic and the relay's internals.
		{c.MetricsAddr == "" && c.MetricsToken == "", "METRICS_TOKEN is required when METRICS_ADDR is empty (/metrics served on PORT)"},
		{!postgresURL(c.DatabaseURL), "DATABASE_URL must be a postgres:// URL"},
		{!postgresURL(c.ListenDatabaseURL), "LISTEN_DATABASE_URL must be a postgres:// URL"},
		{!postgresURL(c.ReadDatabaseURL), "READ_DATABASE_URL must be a postgres:// URL"},
	} {
		if ch.bad {
			return fmt.Errorf("config: %s", ch.msg)
		}
	}
	for _, o := range c.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("config: ALLOWED_ORIGINS: %w", err)
		}
	}
	if err := checkWebAuthn(c.WebAuthnRPID, c.WebAuthnOrigins); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var err error
	if c.proxies, err = trustedProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("config: TRUSTED_PROXIES: %w", err)
	}
	return nil
}

// hostPort reports whether a is host:port with a port number.
func hostPort(a string) bool {
	_, port, err := net.SplitHostPort(a)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 1 && n <= 65535
}

// postgresURL reports whether u is empty or a postgres:// (postgresql://) URL.
func postgresURL(u string) bool {
	return u == "" || strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// trustedProxies parses TRUSTED_PROXIES: CIDRs, or single addresses (a /32 or /128).
func trustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8) or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// checkOrigin accepts "*" or scheme://host[:port] with nothing after it, as browsers send Origin.
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("origin %q must be scheme://host[:port] (or *)", o)
	}
	return nil
}

// checkWebAuthn validates WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, which browsers hold a passkey to:
// the RP ID is a host name (WebAuthn refuses IP addresses), and every origin is https (or http on
// localhost, a secure context too) on that host or a subdomain of it. A wrong value would only
// show as every passkey ceremony failing, so it stops the start instead.
func checkWebAuthn(rpID string, origins []string) error {
	if rpID == "" || rpID != strings.ToLower(rpID) || strings.ContainsAny(rpID, ":/ ") || net.ParseIP(rpID) != nil {
		return fmt.Errorf("WEBAUTHN_RP_ID must be the dashboard's host name in lower case, without scheme or port (e.g. beacon.example.com), not an IP address: got %q", rpID)
	}
	if len(origins) == 0 {
		return fmt.Errorf("WEBAUTHN_ORIGINS must name at least one origin (e.g. https://%s)", rpID)
	}
	for _, o := range origins {
		u, err := url.Parse(strings.TrimSpace(o))
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("WEBAUTHN_ORIGINS: %q is not scheme://host[:port]", o)
		}
		host := u.Hostname()
		if u.Scheme != "https" && !(u.Scheme == "http" && host == "localhost") {
			return fmt.Errorf("WEBAUTHN_ORIGINS: %q must be https (http only for localhost)", o)
		}
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			return fmt.Errorf("WEBAUTHN_ORIGINS: %q is not on WEBAUTHN_RP_ID %q or a subdomain of it", o, rpID)
		}
	}
	return nil
}
