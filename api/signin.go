package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/api/password"
)

// sessionBody is the answer of POST and GET /api/session.
type sessionBody struct {
	Account struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"account"`
	CSRF string `json:"csrf"`
	// MFA is what the session still needs after the password: second_factor (a key or a recovery
	// code, POST /api/session/mfa/…) or enrol (MFA_REQUIRED: a first key, POST /api/account/keys…).
	MFA string `json:"mfa,omitempty"`
	// HasPassword (GET only) tells the dashboard's re-authentication whether to ask for the
	// password: an account provisioned by SSO has none and confirms at its identity provider.
	HasPassword *bool `json:"has_password,omitempty"`
}

func newSessionBody(id, email, csrf string) sessionBody {
	var b sessionBody
	b.Account.ID, b.Account.Email, b.CSRF = id, email, csrf
	return b
}

// signIn is POST /api/session {"email","password"}. A wrong password, an unknown email, a
// disabled or locked account all get the same 401 bad_credentials after the same work (a PBKDF2
// check against a dummy hash when there is no real one), so the answer tells an attacker
// nothing. beacon.sign_in_begin/finish decide and audit.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.fail(w, r, errCSRF)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_request", "send the credentials as application/json")
		return
	}
	var in struct {
		Email, Password string
		AcceptBanner    bool `json:"accept_banner"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&in); err != nil || in.Email == "" || in.Password == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"email":"…","password":"…"}`)
		return
	}
	if s.cfg.Banner != "" && !in.AcceptBanner { // AC-8: no sign-in without accepting the notice
		writeError(w, http.StatusBadRequest, "banner_not_accepted", "accept the system use notification (GET /api/banner) to sign in: send \"accept_banner\": true")
		return
	}
	if s.cfg.SSOOnly { // SSO_ONLY: refused before any password work (and in SQL: api/oidc_signin.go)
		s.refuseSSOOnly(w, r, in.Email)
		return
	}
	body, token, err := s.checkCredentials(r, in.Email, password.Normalize(in.Password))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, token)
	writeJSON(w, http.StatusOK, body)
}

// checkCredentials signs in: it returns the new session and its token, or errBadCredentials.
func (s *Server) checkCredentials(r *http.Request, email, pw string) (sessionBody, string, error) {
	ctx := r.Context()
	var status, hash string
	var accountID *string
	var attempt *int64
	err := s.inTx(ctx, r, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT status, account_id::text, password_hash, attempt_id FROM beacon.sign_in_begin($1, $2, $3, $4)`,
			email, s.cfg.LockoutThreshold, s.cfg.LockoutWindow, s.cfg.LockoutDuration).Scan(&status, &accountID, nullable(&hash), &attempt)
	})
	if err != nil {
		return sessionBody{}, "", fmt.Errorf("sign in: %w", err)
	}
	// Unknown, disabled and locked sign-ins take the wrong password's path: a check of as many
	// iterations (a dummy hash) and the second transaction (sign_in_finish with no attempt, which
	// does nothing), so neither the answer nor its time tells an attacker which accounts exist.
	checked := hash
	if status != "check" {
		checked = s.dummy()
	}
	s.checks.Add(1)
	ok, iterations, err := password.Verify(pw, checked)
	if err != nil {
		s.log.Error("api: stored password hash unreadable", "account", *accountID, "error", err)
		ok = false
	}
	ok = ok && status == "check"
	var newHash *string
	if ok && password.NeedsRehash(iterations, s.cfg.Iterations) {
		if h, err := password.Hash(pw, s.cfg.Iterations); err == nil {
			newHash = &h
		}
	}
	token, csrf := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(token))
	var body sessionBody
	err = s.inTx(ctx, r, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT account_id::text, email FROM beacon.sign_in_finish($1, $2, $3, $4, $5, $6, $7, $8)`,
			attempt, ok, sum[:], csrf, r.UserAgent(), newHash, s.cfg.LockoutThreshold, s.cfg.LockoutWindow).
			Scan(&body.Account.ID, &body.Account.Email)
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadCredentials // committed: the failure stays counted and audited
		}
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `SELECT beacon.after_sign_in($1, $2, $3)`, sum[:], s.cfg.MaxSessions, s.bannerSum()); err != nil {
			return err
		}
		// A key, or MFA_REQUIRED without one: the session stays pending (refused by session_check).
		return tx.QueryRow(ctx, `SELECT coalesce(beacon.mfa_after_password($1, $2), '')`, sum[:], s.cfg.MFARequired).Scan(&body.MFA)
	})
	if err != nil {
		return sessionBody{}, "", err
	}
	body.CSRF = csrf
	return body, token, nil
}

// bannerSum is the SHA-256 (hex) of the banner a sign-in accepted, for the audit; nil: none.
func (s *Server) bannerSum() *string {
	if s.cfg.Banner == "" {
		return nil
	}
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(s.cfg.Banner)))
	return &h
}

// reauthWindow is SESSION_REAUTH_WINDOW as PostgreSQL reads an interval.
func (s *Server) reauthWindow() string {
	return fmt.Sprintf("%d seconds", int64(cmp.Or(s.cfg.ReauthWindow, 5*time.Minute).Seconds()))
}

// getSession is GET /api/session: who is signed in, the CSRF token the page must send, and
// whether the account has a password (how the dashboard asks it to re-authenticate).
func (s *Server) getSession(ctx context.Context, tx pgx.Tx, a *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	if a.tokenID != "" {
		return reply{}, errPersonOnly
	}
	body := newSessionBody(a.ID, a.Email, a.CSRF)
	var has bool
	if err := tx.QueryRow(ctx, `SELECT coalesce(beacon.api_session_has_password(), false)`).Scan(&has); err != nil {
		return reply{}, fmt.Errorf("session: %w", err)
	}
	body.HasPassword = &has
	b, err := json.Marshal(body)
	return reply{body: b}, err
}

// signOut is DELETE /api/session: the session's row is deleted (the cookie is worthless from
// then on, wherever a copy of it is) and the cookie cleared.
func (s *Server) signOut(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, _ *http.Request) (reply, error) {
	if a.tokenID != "" {
		return reply{}, errPersonOnly
	}
	if _, err := tx.Exec(ctx, `SELECT beacon.sign_out($1)`, a.tokenHash); err != nil {
		return reply{}, fmt.Errorf("sign out: %w", err)
	}
	s.clearCookie(w)
	return reply{status: http.StatusNoContent}, nil
}

// cookieName is __Host-beacon_session under TLS: the prefix makes browsers refuse the cookie
// unless it is Secure, host-only and Path=/, so a sibling subdomain cannot plant one.
func (s *Server) cookieName() string {
	if s.cfg.TLS {
		return "__Host-beacon_session"
	}
	return "beacon_session"
}

func (s *Server) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: token, Path: "/", MaxAge: int(s.cfg.Lifetime.Seconds()),
		HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode,
	})
}

// randomToken is 32 random bytes, base64url: a session token or a CSRF token.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// nullable scans a NULL as "".
func nullable(s *string) any { return &nullString{s} }

type nullString struct{ s *string }

func (n *nullString) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*n.s = ""
	case string:
		*n.s = x
	default:
		return fmt.Errorf("scan %T into string", v)
	}
	return nil
}
