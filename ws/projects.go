package ws

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/beacon-analytics/beacon/protocol"
)

// projectTTL is how long a project's allowed origins are trusted before they are read again.
const projectTTL = 10 * time.Second

// missTTL is how long "no such project" is trusted: short, so a project created a moment ago is
// reachable within seconds, yet long enough that a storm on one unknown id costs one query.
const missTTL = 2 * time.Second

// maxCachedProjects bounds the cache of existing projects; maxCachedMisses, kept apart, bounds
// the unknown ids remembered, so a client cycling through random ids evicts only other misses
// and never a real project's entry.
const (
	maxCachedProjects = 10_000
	maxCachedMisses   = 1_000
)

// projects caches Store.ProjectOrigins, misses included, so a connection storm costs one query per
// project per TTL, not one per connection: concurrent misses of one project share a lookup. An id
// is in one map at most.
type projects struct {
	store  Store
	max    int
	flight singleflight.Group
	mu     sync.Mutex
	m      map[uuid.UUID]projectEntry // existing projects
	miss   map[uuid.UUID]projectEntry // unknown ids
}

type projectEntry struct {
	exists  bool
	origins []string
	at      time.Time // when looked up
}

// fresh reports whether e is younger than its TTL: projectTTL for a project, missTTL for a miss.
func (e projectEntry) fresh() bool {
	if e.exists {
		return time.Since(e.at) < projectTTL
	}
	return time.Since(e.at) < missTTL
}

func newProjects(store Store, max int) *projects {
	return &projects{store: store, max: max, m: map[uuid.UUID]projectEntry{}, miss: map[uuid.UUID]projectEntry{}}
}

func (p *projects) get(ctx context.Context, id uuid.UUID) (projectEntry, error) {
	p.mu.Lock()
	e, ok := p.m[id]
	if !ok {
		e, ok = p.miss[id]
	}
	p.mu.Unlock()
	if ok && e.fresh() {
		return e, nil
	}
	v, err, _ := p.flight.Do(id.String(), func() (any, error) {
		e := projectEntry{at: time.Now()}
		var err error
		e.origins, e.exists, err = p.store.ProjectOrigins(ctx, id.String())
		if err != nil {
			return e, fmt.Errorf("look up project %s: %w", id, err)
		}
		p.put(id, e)
		return e, nil
	})
	return v.(projectEntry), err
}

// put stores e in its map, first evicting an entry of that map when it is full.
func (p *projects) put(id uuid.UUID, e projectEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, id)
	delete(p.miss, id)
	m, max := p.m, p.max
	if !e.exists {
		m, max = p.miss, min(p.max, maxCachedMisses)
	}
	makeRoom(m, max)
	m[id] = e
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
	for _, k := range []string{"project", "session", "anon"} {
		if len(q[k]) > 1 { // which one counts would be a guess, and a proxy may guess otherwise
			return nil, &refusal{http.StatusBadRequest, "duplicate_parameter", "the " + k + " query parameter is given more than once"}
		}
	}
	raw := q.Get("project")
	if raw == "" {
		return nil, &refusal{http.StatusBadRequest, "missing_project", "the project query parameter is required"}
	}
	id, err := uuid.Parse(raw)
	if err != nil || id.String() != raw { // one spelling per project: caches, limits and logs key on it
		return nil, &refusal{http.StatusBadRequest, "bad_project", "project must be a UUID in canonical form (36 lowercase characters, 8-4-4-4-12)"}
	}
	from := &sender{project: id, session: q.Get("session"), anon: q.Get("anon")}
	if !s.cfg.Limits.CheckText(from.session) || !s.cfg.Limits.CheckText(from.anon) {
		return nil, &refusal{http.StatusBadRequest, "bad_id", "session and anon must be printable text within the length limit"}
	}
	e, err := s.projects.get(r.Context(), id)
	if err != nil {
		s.log.Warn("admit", "error", err)
		return nil, &refusal{http.StatusServiceUnavailable, protocol.CodeUnavailable, "the database is unavailable; retry later"}
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
// origins, or, when the project lists none, the relay's defaults; "*" allows any origin but
// "null", which sandboxed frames, file: pages and redirects send: it names no site to trust.
func originAllowed(origin string, project, defaults []string) bool {
	if origin == "null" {
		return false
	}
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
