package api

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The Project settings page's endpoints: each decodes its body, calls one function of
// sql/code/api_settings.sql, and answers its JSON. The functions check the role (viewers read,
// owners change) and audit; a bad value comes back as 22023 with a message for people (400).

var errMemberNotFound = &apiError{http.StatusNotFound, "not_found", "member not found"}

// decodeBody reads a JSON object body of at most 64 KiB into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, "bad_request", "send the body as application/json"}
	}
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := d.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "bad_request", "the body must be a JSON object"}
	}
	return nil
}

// projectID is the {id} of the path; an id that is not a UUID is a project that does not exist.
func projectID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

// projectCall is a handler that only calls the API function sql with the path's project id: the
// function checks the role (a GET's list: members, settings, tokens …) and answers the jsonb.
func projectCall(what, sql string) handler {
	return func(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
		id, err := projectID(r)
		if err != nil {
			return reply{}, err
		}
		return call(ctx, tx, what, sql, id)
	}
}

// projectDelete is a DELETE handler (204) that calls the API function sql with the path's project
// id and the UUID in its {param}: a member, a token, a key, an invitation. A {param} that is no
// UUID is notFound, as is one the function does not find (P0002 with a HINT, see refusal).
func projectDelete(what, param string, notFound *apiError, sql string) handler {
	return func(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
		id, err := projectID(r)
		if err != nil {
			return reply{}, err
		}
		item, err := uuid.Parse(r.PathValue(param))
		if err != nil {
			return reply{}, notFound
		}
		if _, err := tx.Exec(ctx, sql, id, item); err != nil {
			return reply{}, fmt.Errorf("%s: %w", what, err)
		}
		return reply{status: http.StatusNoContent}, nil
	}
}

// withSecret answers a created key or token: the function's jsonb b with the secret added under
// field, the only time it is shown (PostgreSQL keeps its SHA-256).
func withSecret(b []byte, field, secret string) (reply, error) {
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return reply{}, fmt.Errorf("answer the new %s: %w", field, err)
	}
	out[field] = secret
	body, err := json.Marshal(out)
	return reply{status: http.StatusCreated, body: body}, err
}

// call runs one API function that answers jsonb and returns it as the reply.
func call(ctx context.Context, tx pgx.Tx, what, sql string, args ...any) (reply, error) {
	var b []byte
	if err := tx.QueryRow(ctx, sql, args...).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("%s: %w", what, err)
	}
	return reply{body: b}, nil
}

// createProject is POST /api/projects {"name","allowed_origins"?}: admin accounts only.
func (s *Server) createProject(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	var in struct {
		Name    string   `json:"name"`
		Origins []string `json:"allowed_origins"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	if in.Origins == nil {
		in.Origins = []string{}
	}
	out, err := call(ctx, tx, "create project", `SELECT beacon.api_create_project($1, $2)`, in.Name, in.Origins)
	out.status = http.StatusCreated
	return out, err
}

// updateSettings is PATCH /api/projects/{id}/settings with the settings to change: owner role.
func (s *Server) updateSettings(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	var changes map[string]json.RawMessage
	if err := decodeBody(w, r, &changes); err != nil {
		return reply{}, err
	}
	b, _ := json.Marshal(changes) // a map of raw JSON values marshals
	return call(ctx, tx, "update settings", `SELECT beacon.api_update_project_settings($1, $2::jsonb)`, id, string(b))
}

// addMember is POST /api/projects/{id}/members {"email","role"}: owner role.
func (s *Server) addMember(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	var in struct{ Email, Role string }
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	out, err := call(ctx, tx, "add member", `SELECT beacon.api_add_member($1, $2, $3)`, id, in.Email, in.Role)
	out.status = http.StatusCreated
	return out, err
}

// memberIDs are the {id} and {account} of a member's path; a bad account id is no member.
func memberIDs(r *http.Request) (uuid.UUID, uuid.UUID, error) {
	id, err := projectID(r)
	if err != nil {
		return id, id, err
	}
	acc, err := uuid.Parse(r.PathValue("account"))
	if err != nil {
		return id, acc, errMemberNotFound
	}
	return id, acc, nil
}

// setMemberRole is PATCH /api/projects/{id}/members/{account} {"role"}: owner role.
func (s *Server) setMemberRole(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, acc, err := memberIDs(r)
	if err != nil {
		return reply{}, err
	}
	var in struct{ Role string }
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	return call(ctx, tx, "set member role", `SELECT beacon.api_set_member_role($1, $2, $3)`, id, acc, in.Role)
}

// settingsRoutes adds the Project settings and Live endpoints (docs/dashboard.md).
func (s *Server) settingsRoutes() {
	s.handle("POST /api/projects", s.session(true, s.createProject))
	s.handle("GET /api/projects/{id}/settings", s.read(projectCall("settings", `SELECT beacon.api_project_settings($1)`)))
	s.handle("PATCH /api/projects/{id}/settings", s.session(true, s.updateSettings))
	s.handle("GET /api/projects/{id}/members", s.read(projectCall("members", `SELECT beacon.api_members($1)`)))
	s.handle("POST /api/projects/{id}/members", s.session(true, s.addMember))
	s.handle("PATCH /api/projects/{id}/members/{account}", s.session(true, s.setMemberRole))
	s.handle("DELETE /api/projects/{id}/members/{account}", s.session(true, projectDelete("remove member", "account", errMemberNotFound, `SELECT beacon.api_remove_member($1, $2)`)))
	s.handle("GET /api/projects/{id}/live", s.read(s.live))
}
