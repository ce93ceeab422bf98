package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/segment"
)

// The write keys of a project's Segment-compatible API (owners only, a signed-in person only;
// creating and revoking need a fresh password): each endpoint calls one function of
// sql/code/writekeys.sql, which checks the role and the re-authentication and audits.

var errWriteKeyNotFound = &apiError{http.StatusNotFound, "not_found", "write key not found"}

func (s *Server) writeKeyRoutes() {
	m := s.mux
	m.HandleFunc("GET /api/projects/{id}/write-keys", s.read(s.writeKeys))
	m.HandleFunc("POST /api/projects/{id}/write-keys", s.session(true, s.createWriteKey))
	m.HandleFunc("/api/projects/{id}/write-keys", methodNotAllowed)
	m.HandleFunc("DELETE /api/projects/{id}/write-keys/{key}", s.session(true, s.revokeWriteKey))
	m.HandleFunc("/api/projects/{id}/write-keys/{key}", methodNotAllowed)
}

// writeKeys is GET /api/projects/{id}/write-keys: the project's keys, never the keys themselves.
func (s *Server) writeKeys(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	return call(ctx, tx, "list write keys", `SELECT beacon.api_write_keys($1)`, p)
}

// createWriteKey is POST /api/projects/{id}/write-keys {"name"}: the answer holds the key, the
// only time it is shown; the database keeps its SHA-256.
func (s *Server) createWriteKey(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	key, hash := segment.NewWriteKey()
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_write_key_create($1, $2, $3)`, p, in.Name, hash).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("create write key: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return reply{}, fmt.Errorf("create write key: %w", err)
	}
	out["key"] = key
	body, err := json.Marshal(out)
	return reply{status: http.StatusCreated, body: body}, err
}

// revokeWriteKey is DELETE /api/projects/{id}/write-keys/{key} (the key's id, not the key).
func (s *Server) revokeWriteKey(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	id, err := uuid.Parse(r.PathValue("key"))
	if err != nil {
		return reply{}, errWriteKeyNotFound
	}
	return onHint(ctx, tx, "write_key", errWriteKeyNotFound, func(sp pgx.Tx) (reply, error) {
		if _, err := sp.Exec(ctx, `SELECT beacon.api_write_key_revoke($1, $2)`, p, id); err != nil {
			return reply{}, fmt.Errorf("revoke write key: %w", err)
		}
		return reply{status: http.StatusNoContent}, nil
	})
}
