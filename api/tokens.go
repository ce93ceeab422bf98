package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The API tokens of a project (owners only, a signed-in person only): each endpoint calls one
// function of sql/code/tokens.sql, which checks the role, the re-authentication and audits.

var errTokenNotFound = &apiError{http.StatusNotFound, "not_found", "token not found"}

func (s *Server) tokenRoutes() {
	m := s.mux
	m.HandleFunc("GET /api/projects/{id}/tokens", s.read(s.tokens))
	m.HandleFunc("POST /api/projects/{id}/tokens", s.session(true, s.createToken))
	m.HandleFunc("/api/projects/{id}/tokens", methodNotAllowed)
	m.HandleFunc("DELETE /api/projects/{id}/tokens/{token}", s.session(true, s.revokeToken))
	m.HandleFunc("/api/projects/{id}/tokens/{token}", methodNotAllowed)
}

// tokens is GET /api/projects/{id}/tokens: the project's tokens, never the tokens themselves.
func (s *Server) tokens(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	return call(ctx, tx, "list tokens", `SELECT beacon.api_tokens($1)`, p)
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
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return reply{}, fmt.Errorf("create token: %w", err)
	}
	out["token"] = token
	body, err := json.Marshal(out)
	return reply{status: http.StatusCreated, body: body}, err
}

// revokeToken is DELETE /api/projects/{id}/tokens/{token}.
func (s *Server) revokeToken(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	id, err := uuid.Parse(r.PathValue("token"))
	if err != nil {
		return reply{}, errTokenNotFound
	}
	return onHint(ctx, tx, "token", errTokenNotFound, func(sp pgx.Tx) (reply, error) {
		if _, err := sp.Exec(ctx, `SELECT beacon.api_token_revoke($1, $2)`, p, id); err != nil {
			return reply{}, fmt.Errorf("revoke token: %w", err)
		}
		return reply{status: http.StatusNoContent}, nil
	})
}
