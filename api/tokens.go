package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
)

// The API tokens of a project (owners only, a signed-in person only): each endpoint calls one
// function of sql/code/tokens.sql, which checks the role, the re-authentication and audits.

var errTokenNotFound = &apiError{http.StatusNotFound, "not_found", "token not found"}

func (s *Server) tokenRoutes() {
	s.handle("GET /api/projects/{id}/tokens", s.read(projectCall("list tokens", `SELECT beacon.api_tokens($1)`)))
	s.handle("POST /api/projects/{id}/tokens", s.session(true, s.createToken))
	s.handle("DELETE /api/projects/{id}/tokens/{token}", s.session(true, projectDelete("revoke token", "token", errTokenNotFound, `SELECT beacon.api_token_revoke($1, $2)`)))
}

// createToken is POST /api/projects/{id}/tokens {"name","scope","expires_days"}: the answer holds
// the token, the only time it is shown; the database keeps its SHA-256.
func (s *Server) createToken(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	var in struct {
		Name        string `json:"name"`
		Scope       string `json:"scope"`
		ExpiresDays int    `json:"expires_days"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	if in.ExpiresDays == 0 {
		in.ExpiresDays = 90
	}
	token, hash := NewToken()
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_token_create($1, $2, $3, make_interval(days => $4), $5)`,
		p, in.Scope, in.Name, in.ExpiresDays, hash).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("create token: %w", err)
	}
	return withSecret(b, "token", token)
}
