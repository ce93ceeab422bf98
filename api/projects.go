package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
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

// overview is GET /api/projects/{id}/overview?from=YYYY-MM-DD&to=YYYY-MM-DD: beacon.api_overview
// checks the membership (a non-member gets 404, as for a project that does not exist) and reads
// the rollups.
func (s *Server) overview(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	from, err1 := time.Parse(time.DateOnly, r.URL.Query().Get("from"))
	to, err2 := time.Parse(time.DateOnly, r.URL.Query().Get("to"))
	if err1 != nil || err2 != nil {
		return reply{}, &apiError{http.StatusBadRequest, "bad_request", "from and to must be days, YYYY-MM-DD"}
	}
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_overview($1, $2::date, $3::date)`, id, from.Format(time.DateOnly), to.Format(time.DateOnly)).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("overview: %w", err)
	}
	return reply{body: b}, nil
}
