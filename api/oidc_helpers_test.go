package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/beacon-analytics/beacon/api"
	"github.com/beacon-analytics/beacon/internal/testdb"
)

// tamper changes the claims of the ID token the provider is about to send and returns the key
// to sign them with.
type tamper func(c jwt.MapClaims, real *mockoidc.Keypair) *mockoidc.Keypair

// ssoEnv is env with a real OpenID Connect provider (mockoidc) on a local port, whose token
// endpoint's ID token a test may rewrite and re-sign (tamper).
type ssoEnv struct {
	*env
	idp    *mockoidc.MockOIDC
	mu     sync.Mutex
	tamper tamper
}

// newSSOEnv starts the provider and the API with SSO (allowed domain example.com, groups claim
// "groups"); change may create rows (e.env's database is ready) and change the settings first.
func newSSOEnv(t *testing.T, change func(e *env, cfg *api.Config, oc *api.OIDCConfig)) *ssoEnv {
	t.Helper()
	s := &ssoEnv{}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddMiddleware(s.rewriteToken); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	s.idp = m

	db := testdb.New(t)
	pool, err := pgxpool.New(context.Background(), db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	s.env = &env{t: t, db: db, srv: srv}
	srv.URL = "http://" + srv.Listener.Addr().String() // what Start sets; the helpers read it before
	oc := api.OIDCConfig{
		Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL:    srv.URL + "/api/oidc/callback",
		AllowedDomains: []string{"example.com"}, GroupsClaim: "groups", Scopes: []string{"groups"},
	}
	cfg := defaultConfig()
	if change != nil {
		change(s.env, &cfg, &oc)
	}
	o, err := api.NewOIDC(oc)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.OIDC = o
	s.env.api = api.New(pool, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Config.Handler = s.env.api
	srv.Start()
	return s
}

// rewriteToken is the provider's middleware: on the token endpoint, it applies the test's tamper.
func (s *ssoEnv) rewriteToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.tamper
		s.mu.Unlock()
		if r.URL.Path != mockoidc.TokenEndpoint || f == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id_token"] == nil {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(body["id_token"].(string), claims); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		signed, err := f(claims, s.idp.Keypair).SignJWT(claims)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body["id_token"] = signed
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	})
}

func (s *ssoEnv) setTamper(f tamper) {
	s.mu.Lock()
	s.tamper = f
	s.mu.Unlock()
}

// ssoBrowser is a browser that follows the SSO redirects between the API and the provider and
// stops at the callback's answer.
type ssoBrowser struct {
	*browser
	callback string // the last callback URL the provider sent the browser to
}

func (s *ssoEnv) ssoBrowser() *ssoBrowser {
	jar, _ := cookiejar.New(nil)
	b := &ssoBrowser{browser: &browser{e: s.env}}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/api/oidc/callback" {
			b.callback = req.URL.String()
			return nil
		}
		if req.URL.Path == mockoidc.AuthorizationEndpoint {
			return nil
		}
		return http.ErrUseLastResponse // the callback's redirect into the dashboard (or back to sign-in)
	}}
	return b
}

// sso runs a whole sign-in as user and returns where the callback sent the browser: the return
// path on success, /sign-in?sso_error=REASON on a refusal.
func (b *ssoBrowser) sso(idp *mockoidc.MockOIDC, user mockoidc.User, query string) string {
	b.e.t.Helper()
	if user != nil {
		idp.QueueUser(user)
	}
	return b.follow(b.e.srv.URL + "/api/oidc/start?" + query)
}

// follow GETs u through the redirects and returns the final Location.
func (b *ssoBrowser) follow(u string) string {
	b.e.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		b.e.t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// session reads GET /api/session with b's cookies and keeps the CSRF token.
func (b *ssoBrowser) session() answer {
	b.e.t.Helper()
	a := b.do("GET", "/api/session", nil)
	if a.status == http.StatusOK {
		b.csrf, _ = a.json(b.e.t)["csrf"].(string)
	}
	return a
}

func user(sub, email string, verified bool, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: verified, Groups: groups}
}

func refusedWith(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/sign-in" {
		return ""
	}
	return u.Query().Get("sso_error")
}
