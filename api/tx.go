package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
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
// from the dashboard's own origin with the session's X-CSRF-Token. h then runs in the request's
// transaction with beacon.account_id set to the session's account.
//
// A request with Authorization: Bearer is served by s.bearer instead: no cookie, so no CSRF.
func (s *Server) session(stateChanging bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if token, ok := bearerToken(r); ok {
			s.bearer(w, r, token, h)
			return
		}
		if stateChanging && !sameOrigin(r) {
			s.fail(w, r, errCSRF)
			return
		}
		c, err := r.Cookie(s.cookieName())
		if err != nil || c.Value == "" {
			s.fail(w, r, errSignedOut)
			return
		}
		sum := sha256.Sum256([]byte(c.Value))
		var out reply
		err = s.inTx(r.Context(), r, func(tx pgx.Tx) error {
			a := &account{tokenHash: sum[:]}
			err := tx.QueryRow(r.Context(), `SELECT account_id::text, email, csrf_token FROM beacon.session_check($1, $2, $3)`,
				a.tokenHash, s.cfg.IdleTimeout, s.cfg.Lifetime).Scan(&a.ID, &a.Email, &a.CSRF)
			if errors.Is(err, pgx.ErrNoRows) {
				return errSignedOut
			}
			if err != nil {
				return fmt.Errorf("check session: %w", err)
			}
			if stateChanging && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(a.CSRF)) != 1 {
				return errCSRF
			}
			// beacon.session and beacon.reauth_window: what beacon.require_recent_auth reads.
			if _, err := tx.Exec(r.Context(), `SELECT set_config('beacon.account_id', $1, true),
				set_config('beacon.session', encode($2::bytea, 'hex'), true), set_config('beacon.reauth_window', $3, true)`,
				a.ID, a.tokenHash, s.reauthWindow()); err != nil {
				return fmt.Errorf("set account: %w", err)
			}
			out, err = denialAudited(r.Context(), tx, r, func(sp pgx.Tx) (reply, error) { return h(r.Context(), sp, a, w, r) })
			return err
		})
		if err != nil {
			if errors.Is(err, errSignedOut) {
				s.clearCookie(w)
			}
			s.fail(w, r, err)
			return
		}
		writeReply(w, out)
	}
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
