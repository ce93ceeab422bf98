package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// events is GET /api/projects/{id}/events?name=&prop=&value=&before=&limit= (a page, newest
// first: beacon.api_events) or ?after=<tail cursor> (the live tail: beacon.api_events_after).
// Cursors are opaque to Go: the SQL makes and reads them. A filter given empty counts as absent;
// prop without value asks for events that have the key.
func (s *Server) events(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	q := r.URL.Query()
	limit, err := queryLimit(q.Get("limit"))
	if err != nil {
		return reply{}, err
	}
	var value *string
	if q.Has("value") {
		v := q.Get("value")
		value = &v
	}
	fn, cursor := "beacon.api_events", q.Get("before")
	if q.Has("after") {
		if q.Has("before") {
			return reply{}, &apiError{http.StatusBadRequest, "bad_request", "give before or after, not both"}
		}
		fn, cursor = "beacon.api_events_after", q.Get("after")
	}
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT `+fn+`($1, $2, $3, $4, $5, $6)`,
		id, q.Get("name"), q.Get("prop"), value, cursor, limit).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("events: %w", err)
	}
	return reply{body: b}, nil
}

// queryLimit reads limit= (absent: nil, the SQL's default); the SQL clamps it to its bounds.
func queryLimit(s string) (*int, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return nil, &apiError{http.StatusBadRequest, "bad_request", "limit must be a positive number"}
	}
	return &n, nil
}
