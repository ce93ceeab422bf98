package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
)

// projects is GET /api/projects: beacon.api_projects() lists only the account's projects.
func (s *Server) projects(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_projects()`).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("projects: %w", err)
	}
	return reply{body: b}, nil
}

// The overview's handlers: overview.go.
