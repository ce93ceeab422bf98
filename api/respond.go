package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"
)

// apiError is an answer other than success: its status and the body's code and message.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

var (
	errSignedOut      = &apiError{http.StatusUnauthorized, "signed_out", "sign in first"}
	errBadCredentials = &apiError{http.StatusUnauthorized, "bad_credentials", "wrong email or password"}
	errCSRF           = &apiError{http.StatusForbidden, "csrf_failed", "the request did not come from the dashboard (missing or wrong X-CSRF-Token, or another origin)"}
	errNotFound       = &apiError{http.StatusNotFound, "not_found", "project not found"}
)

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// fail answers err: an *apiError as it says, a refusal of the SQL functions by its SQLSTATE
// (refusal), anything else 500 without internals, logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeError(w, ae.status, ae.code, ae.message)
		return
	}
	if ae := refusal(err); ae != nil {
		writeError(w, ae.status, ae.code, ae.message)
		return
	}
	s.log.Error("api", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, "internal", "something went wrong on the server; it is logged")
}

// refusal is the answer to a guard's RAISE in the SQL functions, by its SQLSTATE (P0002 not
// found, 42501 forbidden — reauth_required with HINT reauth —, 22023 bad request: their messages
// are written for people); nil for any other error (a missing grant is not a refusal). A P0002
// without HINT is the project guard's, always "project not found" (a non-member cannot tell a
// project exists); one with a HINT names what is missing in it (a member, a token, a key …), so
// the page does not say "project not found" about a project it shows.
func refusal(err error) *apiError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Routine != "exec_stmt_raise" {
		return nil
	}
	switch pe.Code {
	case "P0002":
		if pe.Hint != "" {
			return &apiError{http.StatusNotFound, "not_found", pe.Message}
		}
		return errNotFound
	case "42501":
		if pe.Hint == "reauth" { // beacon.require_recent_auth: the page asks for the password again
			return &apiError{http.StatusForbidden, "reauth_required", pe.Message}
		}
		return &apiError{http.StatusForbidden, "forbidden", pe.Message}
	case "22023":
		return &apiError{http.StatusBadRequest, "bad_request", pe.Message}
	}
	return nil
}
