package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// people is GET /api/projects/{id}/people?q=&limit=: beacon.api_people searches the identified
// users by id or trait (q=key=value for an exact trait).
func (s *Server) people(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	limit, err := queryLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return reply{}, err
	}
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_people($1, $2, $3)`, id, r.URL.Query().Get("q"), limit).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("people: %w", err)
	}
	return reply{body: b}, nil
}

// person is GET /api/projects/{id}/people/{person}?before=&limit=: beacon.api_person answers the
// person of that user id with a page of their events.
func (s *Server) person(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	limit, err := queryLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return reply{}, err
	}
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_person($1, $2, $3, $4)`,
		id, r.PathValue("person"), r.URL.Query().Get("before"), limit).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("person: %w", err)
	}
	return reply{body: b}, nil
}

// deletePerson is DELETE /api/projects/{id}/people/{person}: the privacy delete of a person and
// all their events. beacon.api_delete_person checks the owner role and audits it in the same
// transaction; the answer is the counts deleted.
func (s *Server) deletePerson(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_delete_person($1, $2)`, id, r.PathValue("person")).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("delete person: %w", err)
	}
	return reply{body: b}, nil
}
