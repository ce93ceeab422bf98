package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"
)

// flowTTL is how long an SSO sign-in may take between start and callback.
const flowTTL = 10 * time.Minute

// flowCookie holds the random value binding an SSO flow to the browser that started it. SameSite
// Lax: the provider's redirect back is a cross-site top-level navigation, which Strict would strip.
func (s *Server) flowCookie() string {
	if s.cfg.TLS {
		return "__Host-beacon_sso"
	}
	return "beacon_sso"
}

func (s *Server) setFlowCookie(w http.ResponseWriter, v string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.flowCookie(), Value: v, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteLaxMode})
}

func (s *Server) oidcRoutes() {
	s.handle("GET /api/sso", s.ssoInfo)
	s.handle("GET /api/oidc/start", s.oidcStart)
	s.handle("GET /api/oidc/callback", s.oidcCallback)
}

// ssoInfo is GET /api/sso: whether the sign-in page offers "Sign in with SSO" and whether it is
// the only way in. No session needed.
func (s *Server) ssoInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"enabled": s.cfg.OIDC != nil, "sso_only": s.cfg.SSOOnly})
}

// oidcStart is GET /api/oidc/start?return=/path&invite=TOKEN&accept_banner=1&reauth=1: a
// top-level navigation from the sign-in (or invitation) page, or from the dashboard's
// re-authentication dialog (reauth=1: the provider must authenticate the person again,
// oidc_reauth.go). It keeps the flow's state, nonce and PKCE verifier in PostgreSQL
// (beacon.oidc_flow_begin), tied to a new random cookie, and sends the browser to the provider
// with the state, the nonce and the S256 code challenge.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	o := s.cfg.OIDC
	if o == nil {
		writeError(w, http.StatusNotFound, "not_found", "single sign-on is not configured (OIDC_ISSUER)")
		return
	}
	ready := o.ready.Load()
	if ready == nil {
		writeError(w, http.StatusServiceUnavailable, "sso_unavailable", "the identity provider has not answered yet; try again in a minute")
		return
	}
	q := r.URL.Query()
	if s.cfg.Banner != "" && q.Get("accept_banner") != "1" {
		s.redirectRefused(w, r, "banner_not_accepted")
		return
	}
	state, nonce, cookie, verifier := randomToken(), randomToken(), randomToken(), oauth2.GenerateVerifier()
	reauth := q.Get("reauth") == "1"
	if reauth {
		nonce = reauthNoncePrefix + nonce
	}
	var invite []byte
	if t := q.Get("invite"); t != "" {
		sum := sha256.Sum256([]byte(t))
		invite = sum[:]
	}
	stateSum, cookieSum := sha256.Sum256([]byte(state)), sha256.Sum256([]byte(cookie))
	err := s.inTx(r.Context(), r, func(tx pgx.Tx) error {
		_, err := tx.Exec(r.Context(), `SELECT beacon.oidc_flow_begin($1, $2, $3, $4, $5, $6, $7)`,
			stateSum[:], cookieSum[:], nonce, verifier, q.Get("return"), invite, flowTTL)
		return err
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("sso start: %w", err))
		return
	}
	s.setFlowCookie(w, cookie, int(flowTTL.Seconds()))
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if reauth {
		opts = append(opts, reauthOptions()...)
	}
	http.Redirect(w, r, ready.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

// redirectRefused sends the browser back to the sign-in page with the reason of a refusal, which
// the page words for people (refusedTo for a re-authentication).
func (s *Server) redirectRefused(w http.ResponseWriter, r *http.Request, reason string) {
	http.Redirect(w, r, "/sign-in?sso_error="+url.QueryEscape(reason), http.StatusSeeOther)
}

// oidcCallback is GET /api/oidc/callback?code&state: the provider's redirect back. The flow is
// taken (single use) and must belong to this browser's cookie; the code is exchanged with the
// PKCE verifier; the ID token is verified (signature, issuer, audience, expiry: go-oidc) and must
// carry the flow's nonce, and a re-authentication's a recent auth_time; beacon.oidc_sign_in then
// decides and makes the session. Every refusal is audited and ends on the sign-in page with its
// reason, or a re-authentication's on the page it started from.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	o := s.cfg.OIDC
	ready := (*oidcReady)(nil)
	if o != nil {
		ready = o.ready.Load()
	}
	if ready == nil {
		writeError(w, http.StatusServiceUnavailable, "sso_unavailable", "single sign-on is not available")
		return
	}
	q := r.URL.Query()
	var cookieSum []byte
	if c, err := r.Cookie(s.flowCookie()); err == nil && c.Value != "" {
		sum := sha256.Sum256([]byte(c.Value))
		cookieSum = sum[:]
	}
	s.setFlowCookie(w, "", -1)
	stateSum := sha256.Sum256([]byte(q.Get("state")))
	var flow struct{ status, nonce, verifier, returnPath string }
	var invite []byte
	err := s.inTx(r.Context(), r, func(tx pgx.Tx) error {
		return tx.QueryRow(r.Context(), `SELECT status, nonce, code_verifier, return_path, invite_hash FROM beacon.oidc_flow_take($1, $2)`,
			stateSum[:], cookieSum).Scan(&flow.status, nullable(&flow.nonce), nullable(&flow.verifier), nullable(&flow.returnPath), &invite)
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("sso callback: %w", err))
		return
	}
	if flow.status != "ok" {
		s.redirectRefused(w, r, flow.status)
		return
	}
	reauth := isReauthNonce(flow.nonce)
	back := "" // where a refusal goes: the sign-in page, or the page a re-authentication started from
	if reauth {
		back = flow.returnPath
	}
	if e := q.Get("error"); e != "" {
		s.oidcRefuse(w, r, back, "provider_error", map[string]string{"error": truncate(e, 100), "description": truncate(q.Get("error_description"), 300)})
		return
	}
	claims, reason, detail := s.verifyCode(r.Context(), ready, q.Get("code"), flow.verifier, flow.nonce)
	if reason != "" {
		s.oidcRefuse(w, r, back, reason, map[string]string{"error": truncate(detail, 300)})
		return
	}
	if reauth {
		if detail := checkAuthTime(claims.AuthTime, time.Now()); detail != "" {
			s.oidcRefuse(w, r, back, "reauth_not_recent", map[string]string{"error": detail})
			return
		}
	}
	s.oidcSignIn(w, r, claims, invite, flow.returnPath, reauth)
}

// verifyCode exchanges the code and verifies the ID token; reason "" on success, else why not
// (exchange_failed, no_id_token, token_invalid, nonce_mismatch, claims_unreadable) and the error.
func (s *Server) verifyCode(ctx context.Context, ready *oidcReady, code, verifier, nonce string) (*idClaims, string, string) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tok, err := ready.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, "exchange_failed", err.Error()
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, "no_id_token", "the token response has no id_token"
	}
	idt, err := ready.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, "token_expired", err.Error()
		}
		return nil, "token_invalid", err.Error()
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, "nonce_mismatch", "the ID token's nonce is not the flow's"
	}
	c, err := s.readClaims(idt)
	if err != nil {
		return nil, "claims_unreadable", err.Error()
	}
	return c, "", ""
}

// oidcRefuse audits a refusal the relay decided (beacon.oidc_refuse) and sends the browser back
// (refusedTo).
func (s *Server) oidcRefuse(w http.ResponseWriter, r *http.Request, back, reason string, detail map[string]string) {
	err := s.inTx(r.Context(), r, func(tx pgx.Tx) error {
		_, err := tx.Exec(r.Context(), `SELECT beacon.oidc_refuse($1, $2)`, reason, detail)
		return err
	})
	if err != nil {
		s.log.Error("api: audit an SSO refusal", "reason", reason, "error", err)
	}
	s.log.Info("api: SSO sign-in refused", "reason", reason, "detail", detail["error"])
	s.refusedTo(w, r, back, reason)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
