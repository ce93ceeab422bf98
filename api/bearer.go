package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TokenPrefix starts every API token, so a leaked one is recognisable (secret scanners, logs).
const TokenPrefix = "bct_"

// errBadToken answers a bearer token that is unknown, revoked, expired or whose account is
// disabled: the same 401 for all (beacon.token_check audits the stopped ones).
var errBadToken = &apiError{http.StatusUnauthorized, "bad_token", "the API token is unknown, revoked or expired"}

// errPersonOnly answers an API token on what only a signed-in person may do.
var errPersonOnly = &apiError{http.StatusForbidden, "forbidden", "this needs a signed-in person, not an API token"}

// NewToken makes an API token (TokenPrefix and 32 random bytes, base64url) and its SHA-256, the
// only thing stored (beacon.api_tokens.token_hash). `beacon token create` uses it too.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

// bearerToken is the token of Authorization: Bearer, when the request carries one.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// checkToken checks an API token (Authorization: Bearer). No CSRF check: a browser never adds
// an Authorization header by itself (and the API answers no CORS preflight), so a page on another
// origin cannot make one. beacon.token_check decides whether the token acts, sets the
// transaction's principal itself, records the use and audits those of flags and write tokens;
// every API function then sees the token's role in its one project (beacon.token_role). Its
// refusal is committed with the request's transaction: a stopped token's refusal stays audited.
func (s *Server) checkToken(ctx context.Context, tx pgx.Tx, r *http.Request, token string) (*account, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(token))
	a := &account{}
	var acct *string
	err := tx.QueryRow(ctx, `SELECT token_id::text, account_id::text FROM beacon.token_check($1, $2, $3)`,
		sum[:], r.Method, r.URL.Path).Scan(&a.tokenID, &acct)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, fmt.Errorf("check token: %w", err)
	}
	if acct != nil {
		a.ID = *acct
	}
	return a, nil
}

// denialAudited runs f as refusalKept does and writes a refusal for lack of a role (403
// forbidden, not a request to re-authenticate) to the audit as access_denied, in the request's
// transaction, which then commits it with the refusal (AU-2).
func denialAudited(ctx context.Context, tx pgx.Tx, r *http.Request, f func(pgx.Tx) (reply, error)) (reply, error) {
	out, err := refusalKept(ctx, tx, f)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusForbidden && ae.code == "forbidden" {
		if _, aerr := tx.Exec(ctx, `SELECT beacon.audit_access_denied($1, $2, $3)`, r.Method, r.URL.Path, ae.message); aerr != nil {
			return reply{}, fmt.Errorf("audit refusal: %w", aerr)
		}
	}
	return out, err
}

// refusalKept runs f in a savepoint; a guard's refusal (a token out of its scope or project) rolls
// back to it and becomes an *apiError, so the request's transaction commits what token_check
// wrote: a flags or write token's refused request stays audited (token_used).
func refusalKept(ctx context.Context, tx pgx.Tx, f func(pgx.Tx) (reply, error)) (reply, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return reply{}, fmt.Errorf("savepoint: %w", err)
	}
	out, err := f(sp)
	if ae := refusal(err); ae != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return reply{}, fmt.Errorf("rollback to savepoint: %w", rerr)
		}
		return reply{}, ae
	}
	if err != nil {
		return reply{}, err
	}
	if err := sp.Commit(ctx); err != nil {
		return reply{}, fmt.Errorf("release savepoint: %w", err)
	}
	return out, nil
}
