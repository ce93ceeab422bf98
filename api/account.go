package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/api/password"
)

// A person's own account: their sessions (list, end one), re-authentication for sensitive
// actions, the disabling of other accounts by owners, and the audit trail. Each endpoint calls one
// function of sql/code/lifecycle.sql, which decides and audits.

var (
	errSessionNotFound = &apiError{http.StatusNotFound, "not_found", "session not found"}
	errAccountNotFound = &apiError{http.StatusNotFound, "not_found", "account not found"}
)

func (s *Server) accountRoutes() {
	s.handle("GET /api/banner", s.banner)
	s.handle("POST /api/session/reauth", s.session(true, s.reauth))
	s.handle("GET /api/account/sessions", s.read(s.mySessions))
	s.handle("DELETE /api/account/sessions/{session}", s.session(true, s.endSession))
	s.handle("PATCH /api/accounts/{account}", s.session(true, s.setAccountDisabled))
	s.handle("GET /api/audit", s.read(s.audit))
	s.handle("GET /api/projects/{id}/audit", s.read(s.audit))
}

// banner is GET /api/banner: the system use notification the sign-in page shows and the person
// must accept (SIGNIN_BANNER), {"banner": null} when none is configured. No session needed.
func (s *Server) banner(w http.ResponseWriter, _ *http.Request) {
	var b *string
	if s.cfg.Banner != "" {
		b = &s.cfg.Banner
	}
	writeJSON(w, http.StatusOK, map[string]any{"banner": b})
}

// mySessions is GET /api/account/sessions: the person's own sessions, the current one marked.
func (s *Server) mySessions(ctx context.Context, tx pgx.Tx, a *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	return call(ctx, tx, "list sessions", `SELECT beacon.api_my_sessions($1)`, a.tokenHash)
}

// endSession is DELETE /api/account/sessions/{session}: ends one of the person's sessions at
// once; ending the current one also clears its cookie.
func (s *Server) endSession(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := strconv.ParseInt(r.PathValue("session"), 10, 64)
	if err != nil {
		return reply{}, errSessionNotFound
	}
	if _, err := tx.Exec(ctx, `SELECT beacon.api_end_session($1)`, id); err != nil {
		return reply{}, fmt.Errorf("end session: %w", err)
	}
	var left bool
	if err := tx.QueryRow(ctx, `SELECT count(*) > 0 FROM beacon.api_my_sessions($1) j,
		jsonb_array_elements(j -> 'sessions') x WHERE (x ->> 'current')::boolean`, a.tokenHash).Scan(&left); err != nil {
		return reply{}, fmt.Errorf("end session: %w", err)
	}
	if !left {
		s.clearCookie(w)
	}
	return reply{status: http.StatusNoContent}, nil
}

// reauth is POST /api/session/reauth {"password"}: the password typed again, which sensitive
// actions need within SESSION_REAUTH_WINDOW (beacon.require_recent_auth). The check runs between
// reauth_begin and reauth_finish in the request's transaction, which holds the account's row lock
// meanwhile, so parallel guesses from a stolen session queue up and count toward the lockout.
func (s *Server) reauth(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	if a.tokenID != "" {
		return reply{}, errPersonOnly
	}
	var in struct{ Password string }
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	var status, hash string
	if err := tx.QueryRow(ctx, `SELECT status, password_hash FROM beacon.reauth_begin($1, $2, $3)`,
		a.tokenHash, s.cfg.LockoutThreshold, s.cfg.LockoutWindow).Scan(&status, nullable(&hash)); err != nil {
		return reply{}, fmt.Errorf("re-authenticate: %w", err)
	}
	ok := false
	if status == "check" {
		s.checks.Add(1)
		ok, _, _ = password.Verify(password.Normalize(in.Password), hash)
	}
	if status == "check" {
		if _, err := tx.Exec(ctx, `SELECT beacon.reauth_finish($1, $2)`, a.tokenHash, ok); err != nil {
			return reply{}, fmt.Errorf("re-authenticate: %w", err)
		}
	}
	if !ok {
		return reply{}, errBadCredentials // committed: the failure stays counted and audited
	}
	return reply{status: http.StatusNoContent}, nil
}

// setAccountDisabled is PATCH /api/accounts/{account} {"disabled": true|false}.
func (s *Server) setAccountDisabled(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("account"))
	if err != nil {
		return reply{}, errAccountNotFound
	}
	var in struct {
		Disabled *bool `json:"disabled"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	if in.Disabled == nil {
		return reply{}, &apiError{http.StatusBadRequest, "bad_request", `send {"disabled": true} or {"disabled": false}`}
	}
	return call(ctx, tx, "disable account", `SELECT beacon.api_set_account_disabled($1, $2)`, id, *in.Disabled)
}

// audit is GET /api/audit (admin accounts) and GET /api/projects/{id}/audit (the project's
// owners): ?action=&actor=ACCOUNT_ID&from=&to= (RFC 3339) &before=ID (the previous page's next)
// &limit=, newest first.
func (s *Server) audit(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	var project *uuid.UUID
	if r.PathValue("id") != "" {
		p, err := projectID(r)
		if err != nil {
			return reply{}, err
		}
		project = &p
	}
	q := r.URL.Query()
	bad := func(what string) error {
		return &apiError{http.StatusBadRequest, "bad_request", what}
	}
	var (
		action, actor *string
		from, to      *time.Time
		before        *int64
		limit         *int
	)
	if v := q.Get("action"); v != "" {
		action = &v
	}
	if v := q.Get("actor"); v != "" {
		if _, err := uuid.Parse(v); err != nil {
			return reply{}, bad("actor must be an account id")
		}
		actor = &v
	}
	for name, dst := range map[string]**time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return reply{}, bad(name + " must be an RFC 3339 time, e.g. 2026-12-04T00:00:00Z")
			}
			*dst = &t
		}
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return reply{}, bad("before must be an entry id (the previous page's next)")
		}
		before = &n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return reply{}, bad("limit must be a number from 1 to 500")
		}
		limit = &n
	}
	return call(ctx, tx, "read audit", `SELECT beacon.api_audit($1, $2, $3::uuid, $4, $5, $6, $7)`,
		project, action, actor, from, to, before, limit)
}
