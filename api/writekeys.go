package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/segment"
)

// The write keys of a project's Segment-compatible API (owners only, a signed-in person only;
// creating and revoking need a fresh password): each endpoint calls one function of
// sql/code/writekeys.sql, which checks the role and the re-authentication and audits.

var errWriteKeyNotFound = &apiError{http.StatusNotFound, "not_found", "write key not found"}

func (s *Server) writeKeyRoutes() {
	s.handle("GET /api/projects/{id}/write-keys", s.read(projectCall("list write keys", `SELECT beacon.api_write_keys($1)`)))
	s.handle("POST /api/projects/{id}/write-keys", s.session(true, s.createWriteKey))
	s.handle("DELETE /api/projects/{id}/write-keys/{key}", s.session(true, projectDelete("revoke write key", "key", errWriteKeyNotFound, `SELECT beacon.api_write_key_revoke($1, $2)`)))
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
	return withSecret(b, "key", key)
}
