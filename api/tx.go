package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
)

// account is the signed-in account of a request, or the API token acting for it (tokenID set,
// tokenHash nil; ID "" for a token made with `beacon token create`).
type account struct {
	ID, Email, CSRF string
	tokenHash       []byte // the session token's SHA-256
	tokenID         string // the API token acting, when the request carried Authorization: Bearer
	mfaPending      string // second_factor or enrol: what the session still needs (mfaSession only)
}

// reply is what a handler answers, written only once its transaction committed.
type reply struct {
	status int    // 0: 200
	body   []byte // JSON; nil: no body
}

// handler serves a request of a signed-in account inside its transaction. It may set headers on
// w but not write: its reply is written after the commit.
type handler func(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, r *http.Request) (reply, error)

// inTx runs f in a transaction acting as beacon_api for the request's client address: the
// role can only call the API's functions, whatever f runs. f's error rolls back; a nil error or
// an *apiError (a refusal that must still keep what the functions wrote, e.g. the audit of an
// expired session) commits.
func (s *Server) inTx(ctx context.Context, r *http.Request, f func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT set_config('role', 'beacon_api', true), set_config('beacon.client_addr', $1, true)`,
		s.clientAddr(r)); err != nil {
		return fmt.Errorf("act as beacon_api (is the relay's login granted beacon_api? docs/dashboard.md): %w", err)
	}
	ferr := f(tx)
	var ae *apiError
	if ferr != nil && !errors.As(ferr, &ae) {
		return ferr
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return ferr
}

// session wraps h: the request must carry a live session cookie, and, when stateChanging, come
// from the dashboard's own origin with the session's X-CSRF-Token; or an API token
// (Authorization: Bearer: no cookie, so no CSRF, see checkToken). h then runs in the request's
// transaction on the primary, acting for the checked principal.
func (s *Server) session(stateChanging bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out reply
		err := s.inTx(r.Context(), r, func(tx pgx.Tx) error {
			a, err := s.checkIn(r.Context(), tx, r, stateChanging)
			if err != nil {
				return err
			}
			out, err = denialAudited(r.Context(), tx, r, func(sp pgx.Tx) (reply, error) { return h(r.Context(), sp, a, w, r) })
			return err
		})
		if err != nil {
			s.failCheck(w, r, err)
			return
		}
		writeReply(w, out)
	}
}

// checkIn checks the request's principal in tx and makes the transaction act for it: an API token
// (beacon.token_check) or a session cookie (beacon.session_check, then the CSRF token when
// stateChanging). Both checks write (last use, idle time, the audit), so tx is the primary's.
func (s *Server) checkIn(ctx context.Context, tx pgx.Tx, r *http.Request, stateChanging bool) (*account, error) {
	if token, ok := bearerToken(r); ok {
		return s.checkToken(ctx, tx, r, token)
	}
	if stateChanging && !sameOrigin(r) {
		return nil, errCSRF
	}
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil, errSignedOut
	}
	sum := sha256.Sum256([]byte(c.Value))
	a := &account{tokenHash: sum[:]}
	err = tx.QueryRow(ctx, `SELECT account_id::text, email, csrf_token FROM beacon.session_check($1, $2, $3)`,
		a.tokenHash, s.cfg.IdleTimeout, s.cfg.Lifetime).Scan(&a.ID, &a.Email, &a.CSRF)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("check session: %w", err)
	}
	if stateChanging && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(a.CSRF)) != 1 {
		return nil, errCSRF
	}
	if err := s.actAs(ctx, tx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// actAs sets what the SQL functions read as the acting principal: beacon.account_id, and for a
// session beacon.session and beacon.reauth_window (beacon.require_recent_auth), for an API token
// beacon.token_id (beacon.token_role). token_check sets them itself on the primary; a read on the
// replica (reads.go) carries them over with this.
func (s *Server) actAs(ctx context.Context, tx pgx.Tx, a *account) error {
	session := ""
	if a.tokenHash != nil {
		session = hex.EncodeToString(a.tokenHash)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('beacon.account_id', $1, true), set_config('beacon.session', $2, true),
		set_config('beacon.reauth_window', $3, true), set_config('beacon.token_id', $4, true)`,
		a.ID, session, s.reauthWindow(), a.tokenID); err != nil {
		return fmt.Errorf("set account: %w", err)
	}
	return nil
}

// failCheck answers a failed request; a session that is gone also loses its cookie.
func (s *Server) failCheck(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errSignedOut) {
		s.clearCookie(w)
	}
	s.fail(w, r, err)
}

// writeReply writes a committed handler's reply.
func writeReply(w http.ResponseWriter, out reply) {
	{
		switch {
		case out.body != nil:
			if w.Header().Get("Content-Type") == "" { // JSON unless h chose (the overview's CSV)
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(cmp.Or(out.status, http.StatusOK))
			_, _ = w.Write(out.body)
		default:
			w.WriteHeader(cmp.Or(out.status, http.StatusNoContent))
		}
	}
}
