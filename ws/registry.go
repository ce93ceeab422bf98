package ws

import (
	"sync"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/flags"
)

// Registry is the set of live connections by project; the flag pusher reads it.
type Registry struct {
	mu sync.RWMutex
	m  map[uuid.UUID]map[*conn]struct{}
	n  int
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[uuid.UUID]map[*conn]struct{}{}} }

// add registers c unless that would pass the relay's or the project's cap (0: no cap).
func (r *Registry) add(c *conn, maxAll, maxProject int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.m[c.from.project]
	if (maxAll > 0 && r.n >= maxAll) || (maxProject > 0 && len(set) >= maxProject) {
		return false
	}
	if set == nil {
		set = map[*conn]struct{}{}
		r.m[c.from.project] = set
	}
	set[c] = struct{}{}
	r.n++
	return true
}

func (r *Registry) remove(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.m[c.from.project]
	if _, ok := set[c]; !ok {
		return
	}
	delete(set, c)
	r.n--
	if len(set) == 0 {
		delete(r.m, c.from.project)
	}
}

// Len is the number of live connections.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// Clients implements flags.Registry.
func (r *Registry) Clients(project uuid.UUID) []flags.Client {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]flags.Client, 0, len(r.m[project]))
	for c := range r.m[project] {
		out = append(out, c)
	}
	return out
}

// Projects implements flags.Registry.
func (r *Registry) Projects() []uuid.UUID {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]uuid.UUID, 0, len(r.m))
	for p := range r.m {
		out = append(out, p)
	}
	return out
}

func (r *Registry) all() []*conn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*conn
	for _, set := range r.m {
		for c := range set {
			out = append(out, c)
		}
	}
	return out
}
