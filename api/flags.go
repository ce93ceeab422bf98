package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ClientsOn counts, per flag key, the connected clients of a project whose last pushed flag set
// has the flag on. The WebSocket registry (ws.Registry) provides it; each relay counts only its
// own connections (docs/dashboard.md, "Flags").
type ClientsOn interface {
	FlagsOn(project uuid.UUID) map[string]int
}

// maxFlagBody bounds a flag's JSON body: 50 rules of long value lists fit easily.
const maxFlagBody = 64 << 10

// flags is GET /api/projects/{id}/flags: beacon.api_flags lists them (viewer role), and each
// gets clients_on from this relay's connections.
func (s *Server) flags(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	var list struct {
		Role  string                       `json:"role"`
		Flags []map[string]json.RawMessage `json:"flags"`
	}
	if err := tx.QueryRow(ctx, `SELECT beacon.api_flags($1)`, id).Scan(&list); err != nil {
		return reply{}, fmt.Errorf("flags: %w", err)
	}
	var on map[string]int
	if s.cfg.ClientsOn != nil {
		on = s.cfg.ClientsOn.FlagsOn(id)
	}
	for _, f := range list.Flags {
		var key string
		_ = json.Unmarshal(f["key"], &key)
		f["clients_on"], _ = json.Marshal(on[key])
	}
	b, err := json.Marshal(list)
	if err != nil {
		return reply{}, fmt.Errorf("flags: encode: %w", err)
	}
	return reply{body: b}, nil
}

// flagHistory is GET /api/projects/{id}/flags/{key}/history (viewer role).
func (s *Server) flagHistory(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	return s.flagCall(ctx, tx, http.StatusOK, `SELECT beacon.api_flag_history($1, $2)`, id, r.PathValue("key"))
}

// createFlag is POST /api/projects/{id}/flags (editor role): 201 with the flag.
func (s *Server) createFlag(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	body, err := readFlagBody(r)
	if err != nil {
		return reply{}, err
	}
	return s.flagCall(ctx, tx, http.StatusCreated, `SELECT beacon.api_flag_create($1, $2::jsonb)`, id, body)
}

// updateFlag is PATCH /api/projects/{id}/flags/{key} (editor role): the fields sent change.
func (s *Server) updateFlag(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	body, err := readFlagBody(r)
	if err != nil {
		return reply{}, err
	}
	return s.flagCall(ctx, tx, http.StatusOK, `SELECT beacon.api_flag_update($1, $2, $3::jsonb)`, id, r.PathValue("key"), body)
}

// deleteFlag is DELETE /api/projects/{id}/flags/{key} (editor role): 204.
func (s *Server) deleteFlag(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	if _, err := s.flagCall(ctx, tx, 0, `SELECT beacon.api_flag_delete($1, $2)::text`, id, r.PathValue("key")); err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusNoContent}, nil
}

// readFlagBody reads a JSON body of at most maxFlagBody bytes; the SQL checks its content.
func readFlagBody(r *http.Request) (string, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return "", &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the flag as application/json"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxFlagBody))
	if err != nil {
		return "", &apiError{http.StatusRequestEntityTooLarge, "too_large", "the flag is larger than 64 KiB"}
	}
	if !json.Valid(b) {
		return "", &apiError{http.StatusBadRequest, "bad_request", "the body is not valid JSON"}
	}
	return string(b), nil
}

// flagCall runs one flag function in a savepoint and answers its JSON with status. The
// function's refusals of bad input become 400s with a code per field (it sets COLUMN), a
// duplicate key 400 duplicate_key, an unknown flag 404 flag_not_found; rolling back to the
// savepoint keeps the transaction usable, so the refusal is answered after a clean commit. Other
// errors (the role checks among them) go to fail as they are.
func (s *Server) flagCall(ctx context.Context, tx pgx.Tx, status int, sql string, args ...any) (reply, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return reply{}, fmt.Errorf("savepoint: %w", err)
	}
	var b []byte
	err = sp.QueryRow(ctx, sql, args...).Scan(&b)
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return reply{}, fmt.Errorf("release savepoint: %w", err)
		}
		return reply{status: status, body: b}, nil
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return reply{}, fmt.Errorf("rollback to savepoint: %w (after %w)", rerr, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Routine == "exec_stmt_raise" {
		switch {
		case pe.Code == "22023" && pe.ColumnName != "":
			code := "bad_" + pe.ColumnName
			if pe.ColumnName == "body" {
				code = "bad_request"
			}
			return reply{}, &apiError{http.StatusBadRequest, code, pe.Message}
		case pe.Code == "23505":
			return reply{}, &apiError{http.StatusBadRequest, "duplicate_key", pe.Message}
		case pe.Code == "P0002" && pe.TableName == "flags":
			return reply{}, &apiError{http.StatusNotFound, "flag_not_found", "flag not found"}
		}
	}
	return reply{}, fmt.Errorf("flag call: %w", err)
}
