package api

import (
	"cmp"
	"context"
	"crypto/sha256"
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

var errInviteNotFound = &apiError{http.StatusNotFound, "not_found", "invitation not found (or no longer pending)"}

// inviteRefusals word the reasons an invitation link is refused (beacon.invite_peek,
// beacon.invite_accept) for the person holding it.
var inviteRefusals = map[string]*apiError{
	"unknown":        {http.StatusNotFound, "invite_unknown", "This invitation link is not valid: check that it was copied whole, or ask for a new one."},
	"used":           {http.StatusGone, "invite_used", "This invitation has been used already: sign in instead, or ask the project's owner for a new one."},
	"expired":        {http.StatusGone, "invite_expired", "This invitation has expired: ask the project's owner for a new one."},
	"revoked":        {http.StatusGone, "invite_revoked", "This invitation was withdrawn by the project's owner."},
	"account_exists": {http.StatusConflict, "invite_account_exists", "An account with this email exists already: sign in, and ask an owner to add it to the project."},
	"sso_only":       {http.StatusForbidden, "sso_only", "This Beacon signs in with single sign-on only: accept the invitation with SSO."},
}

func (s *Server) inviteRoutes() {
	s.handle("GET /api/projects/{id}/invites", s.read(projectCall("invites", `SELECT beacon.api_invites($1)`)))
	s.handle("POST /api/projects/{id}/invites", s.session(true, s.createInvite))
	s.handle("DELETE /api/projects/{id}/invites/{invite}", s.session(true, projectDelete("revoke invite", "invite", errInviteNotFound, `SELECT beacon.api_revoke_invite($1, $2)`)))
	s.handle("GET /api/invites/{token}", s.peekInvite)
	s.handle("POST /api/invites/{token}", s.acceptInvite)
}

// createInvite is POST /api/projects/{id}/invites {"email","role"}: owner role, a recent password.
// The token is made here and shown once, in the answer's path; PostgreSQL keeps its SHA-256.
func (s *Server) createInvite(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	var in struct{ Email, Role string }
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	token := randomToken()
	sum := sha256.Sum256([]byte(token))
	ttl := s.cfg.InviteTTL
	if ttl == 0 {
		ttl = 72 * time.Hour
	}
	var inv json.RawMessage
	if err := tx.QueryRow(ctx, `SELECT beacon.api_create_invite($1, $2, $3, $4, $5)`, id, in.Email, in.Role, sum[:], ttl).Scan(&inv); err != nil {
		return reply{}, fmt.Errorf("create invite: %w", err)
	}
	b, err := json.Marshal(map[string]any{"invite": inv, "path": "/invite/" + token})
	return reply{status: http.StatusCreated, body: b}, err
}

// invitePeek is what GET /api/invites/{token} answers for a usable link.
type invitePeek struct {
	Status    string    `json:"status"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Project   string    `json:"project"`
	ProjectID string    `json:"project_id"`
	ExpiresAt time.Time `json:"expires_at"`
	SSOOnly   bool      `json:"sso_only"`
	SSO       bool      `json:"sso"`
}

// lookInvite reads the invitation of a link's token; an *apiError when the link is refused.
func (s *Server) lookInvite(r *http.Request, token string) (invitePeek, error) {
	sum := sha256.Sum256([]byte(token))
	var p invitePeek
	err := s.inTx(r.Context(), r, func(tx pgx.Tx) error {
		var b []byte
		if err := tx.QueryRow(r.Context(), `SELECT beacon.invite_peek($1)`, sum[:]).Scan(&b); err != nil {
			return fmt.Errorf("invite: %w", err)
		}
		return json.Unmarshal(b, &p)
	})
	if err != nil {
		return p, err
	}
	if p.Status != "ok" {
		return p, inviteRefusals[p.Status]
	}
	p.SSO = s.cfg.OIDC != nil
	return p, nil
}

// peekInvite is GET /api/invites/{token} (no session): the invitation's email, role, project and
// expiry for the page, or why the link is refused (404 invite_unknown, 410 invite_used/expired/revoked).
func (s *Server) peekInvite(w http.ResponseWriter, r *http.Request) {
	p, err := s.lookInvite(r, r.PathValue("token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// acceptInvite is POST /api/invites/{token} {"password","accept_banner"} (no session, same
// origin): the password is checked against the policy (as `beacon account create` does) and
// hashed here; beacon.invite_accept creates the account, its membership and the session, audited.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.fail(w, r, errCSRF)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_request", "send the password as application/json")
		return
	}
	var in struct {
		Password     string
		AcceptBanner bool `json:"accept_banner"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"password":"…"}`)
		return
	}
	if s.cfg.Banner != "" && !in.AcceptBanner {
		writeError(w, http.StatusBadRequest, "banner_not_accepted", "accept the system use notification to continue")
		return
	}
	token := r.PathValue("token")
	p, err := s.lookInvite(r, token)
	var refused *apiError
	if errors.As(err, &refused) {
		s.finishInvite(w, r, token, nil) // refused again by beacon.invite_accept, which audits it
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pw, err := password.Check(in.Password, p.Email)
	var weak *password.WeakError
	if errors.As(err, &weak) {
		writeError(w, http.StatusBadRequest, "weak_password", "choose another password: "+weak.Reason)
		return
	}
	hash, err := password.Hash(pw, s.cfg.Iterations)
	if err != nil {
		s.fail(w, r, fmt.Errorf("hash: %w", err))
		return
	}
	s.finishInvite(w, r, token, &hash)
}

// finishInvite runs beacon.invite_accept and, on success, beacon.after_sign_in: the new account
// is signed in as after a password sign-in.
// hash nil: the link was refused already; the call audits the refusal.
func (s *Server) finishInvite(w http.ResponseWriter, r *http.Request, token string, hash *string) {
	ctx := r.Context()
	inviteSum := sha256.Sum256([]byte(token))
	session, csrf := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(session))
	var status, id, email, mfa string
	err := s.inTx(ctx, r, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT status, account_id::text, email FROM beacon.invite_accept($1, $2, $3, $4, $5)`,
			inviteSum[:], hash, sum[:], csrf, r.UserAgent()).Scan(&status, nullable(&id), nullable(&email))
		if err != nil || status != "ok" {
			return err // a refusal commits its audit
		}
		if _, err = tx.Exec(ctx, `SELECT beacon.after_sign_in($1, $2, $3)`, sum[:], s.cfg.MaxSessions, s.bannerSum()); err != nil {
			return err
		}
		// A password, as at sign-in: MFA_REQUIRED sends the new account to enrol its first key.
		return tx.QueryRow(ctx, `SELECT coalesce(beacon.mfa_after_password($1, $2), '')`, sum[:], s.cfg.MFARequired).Scan(&mfa)
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("accept invite: %w", err))
		return
	}
	if status != "ok" {
		s.fail(w, r, cmp.Or(inviteRefusals[status], inviteRefusals["unknown"]))
		return
	}
	s.setCookie(w, session)
	body := newSessionBody(id, email, csrf)
	body.MFA = mfa
	writeJSON(w, http.StatusOK, body)
}
