package ws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// projectTTL is how long a project's allowed origins are trusted before they are read again.
const projectTTL = 10 * time.Second

// projects caches beacon.projects' allowed origins, so a connection storm costs one query per
// project, not one per connection.
type projects struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	m    map[uuid.UUID]projectEntry
}

type projectEntry struct {
	exists  bool
	origins []string
	at      time.Time
}

func newProjects(pool *pgxpool.Pool) *projects {
	return &projects{pool: pool, m: map[uuid.UUID]projectEntry{}}
}

func (p *projects) get(ctx context.Context, id uuid.UUID) (projectEntry, error) {
	p.mu.Lock()
	e, ok := p.m[id]
	p.mu.Unlock()
	if ok && time.Since(e.at) < projectTTL {
		return e, nil
	}
	e = projectEntry{at: time.Now()}
	err := p.pool.QueryRow(ctx, `SELECT allowed_origins FROM beacon.projects WHERE project_id = $1`, id).Scan(&e.origins)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return e, fmt.Errorf("look up project: %w", err)
	default:
		e.exists = true
	}
	p.mu.Lock()
	p.m[id] = e
	p.mu.Unlock()
	return e, nil
}

// refusal is an HTTP answer given before any message is read.
type refusal struct {
	status int
	code   string
	msg    string
}

// admit checks the query parameters and Origin of a WebSocket or ingest request and returns the
// sender, or why it is refused.
func (s *Server) admit(r *http.Request) (*sender, *refusal) {
	q := r.URL.Query()
	raw := q.Get("project")
	if raw == "" {
		return nil, &refusal{http.StatusBadRequest, "missing_project", "the project query parameter is required"}
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, &refusal{http.StatusBadRequest, "bad_project", "project must be a UUID"}
	}
	from := &sender{project: id, session: q.Get("session"), anon: q.Get("anon")}
	if !s.cfg.Limits.CheckText(from.session) || !s.cfg.Limits.CheckText(from.anon) {
		return nil, &refusal{http.StatusBadRequest, "bad_id", "session and anon must be printable text within the length limit"}
	}
	e, err := s.projects.get(r.Context(), id)
	if err != nil {
		s.log.Warn("admit", "error", err)
		return nil, &refusal{http.StatusServiceUnavailable, CodeUnavailable, "the database is unavailable; retry later"}
	}
	if !e.exists {
		return nil, &refusal{http.StatusNotFound, "unknown_project", "no project has this id"}
	}
	if origin := r.Header.Get("Origin"); origin != "" && !originAllowed(origin, e.origins, s.cfg.AllowedOrigins) {
		return nil, &refusal{http.StatusForbidden, "origin_not_allowed", "this Origin is not among the project's allowed origins"}
	}
	return from, nil
}

// originAllowed matches an Origin header exactly (case-insensitively) against the project's
// origins, or, when the project lists none, the relay's defaults; "*" allows any origin.
func originAllowed(origin string, project, defaults []string) bool {
	list := project
	if len(list) == 0 {
		list = defaults
	}
	for _, o := range list {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}
