package api

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
)

// idClaims is what Beacon reads of a verified ID token.
type idClaims struct {
	Issuer, Subject, Email string
	EmailVerified          bool
	Groups, AMR            []string
	// AuthTime is when the provider authenticated the person (auth_time; zero when absent).
	AuthTime time.Time
}

// readClaims reads email, email_verified, amr, auth_time and the groups claim
// (OIDC_GROUPS_CLAIM), which providers give as a list of strings or, rarely, one string.
func (s *Server) readClaims(idt *oidc.IDToken) (*idClaims, error) {
	var std struct {
		Email         string   `json:"email"`
		EmailVerified any      `json:"email_verified"`
		AMR           []string `json:"amr"`
		AuthTime      float64  `json:"auth_time"` // seconds since 1970; a number, integral in practice
	}
	if err := idt.Claims(&std); err != nil {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	c := &idClaims{Issuer: idt.Issuer, Subject: idt.Subject, Email: std.Email, AMR: std.AMR}
	if std.AuthTime > 0 {
		c.AuthTime = time.Unix(int64(std.AuthTime), 0)
	}
	// Some providers send "true" as a string; anything else than true is unverified.
	c.EmailVerified = std.EmailVerified == true || std.EmailVerified == "true"
	if name := s.cfg.OIDC.cfg.GroupsClaim; name != "" {
		var all map[string]any
		if err := idt.Claims(&all); err != nil {
			return nil, fmt.Errorf("read claims: %w", err)
		}
		switch g := all[name].(type) {
		case string:
			c.Groups = []string{g}
		case []any:
			for _, x := range g {
				if v, ok := x.(string); ok {
					c.Groups = append(c.Groups, v)
				}
			}
		}
	}
	return c, nil
}

// oidcSignIn signs a verified identity in: beacon.oidc_sign_in decides (linked account,
// provisioning, invitation, disabled) and makes the session as a password sign-in does
// (beacon.start_session), then beacon.after_sign_in as for a password; a re-authentication is
// audited as one too (beacon.oidc_reauth_audit). The browser goes to the flow's return path, or
// back with the refusal (refusedTo).
func (s *Server) oidcSignIn(w http.ResponseWriter, r *http.Request, c *idClaims, invite []byte, returnPath string, reauth bool) {
	ctx := r.Context()
	token, csrf := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(token))
	o := s.cfg.OIDC
	var status string
	err := s.inTx(ctx, r, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT status FROM beacon.oidc_sign_in($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.Issuer, c.Subject, c.Email, c.EmailVerified, c.Groups, o.cfg.AllowedDomains, o.roleMap, c.AMR,
			invite, sum[:], csrf, r.UserAgent()).Scan(&status)
		if err != nil || status != "ok" {
			return err // a refusal commits its audit
		}
		if _, err = tx.Exec(ctx, `SELECT beacon.after_sign_in($1, $2, $3)`, sum[:], s.cfg.MaxSessions, s.bannerSum()); err != nil || !reauth {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT beacon.oidc_reauth_audit($1, $2)`, sum[:], c.AuthTime)
		return err
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("sso sign in: %w", err))
		return
	}
	if status != "ok" {
		s.log.Info("api: SSO sign-in refused", "reason", status)
		back := ""
		if reauth {
			back = returnPath
		}
		s.refusedTo(w, r, back, status)
		return
	}
	s.setCookie(w, token)
	if returnPath == "" {
		returnPath = "/"
	}
	http.Redirect(w, r, returnPath, http.StatusSeeOther)
}

// refuseSSOOnly answers a password sign-in under SSO_ONLY: beacon.sign_in_begin refuses and audits
// it too (beacon.settings.sso_only), so the refusal does not rest on this check alone.
func (s *Server) refuseSSOOnly(w http.ResponseWriter, r *http.Request, email string) {
	err := s.inTx(r.Context(), r, func(tx pgx.Tx) error {
		var status string
		return tx.QueryRow(r.Context(), `SELECT status FROM beacon.sign_in_begin($1, $2, $3, $4)`,
			email, s.cfg.LockoutThreshold, s.cfg.LockoutWindow, s.cfg.LockoutDuration).Scan(&status)
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("sign in: %w", err))
		return
	}
	writeError(w, http.StatusForbidden, "sso_only", "this Beacon signs in with single sign-on only: use “Sign in with SSO”")
}
