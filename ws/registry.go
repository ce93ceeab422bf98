package ws

import (
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/flags"
)

// Registry is the set of live connections by project; the flag pusher reads it, the shutdown
// drain walks it.
type Registry struct {
	mu    sync.RWMutex
	m     map[uuid.UUID]map[*conn]struct{} // no entry for a project without connections
	addrs map[netip.Addr]int               // connections per client address (clientAddr); no entry at 0
	n     int
	// last is each project's newest flag set: a client whose set is equal shares it (and the
	// message built from it) instead of keeping its own copy.
	last map[uuid.UUID]*flags.Set
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry {
	return &Registry{m: map[uuid.UUID]map[*conn]struct{}{}, addrs: map[netip.Addr]int{}, last: map[uuid.UUID]*flags.Set{}}
}

// Refusals of a connection over a cap (add).
var (
	refusedCap     = &refusal{http.StatusServiceUnavailable, "too_many_connections", "the relay's or the project's connection limit is reached; retry later"}
	refusedAddrCap = &refusal{http.StatusTooManyRequests, "too_many_connections", "this address has too many connections open; close some or retry later"}
)

// add registers c unless that would pass the relay's, the project's or the client address's cap
// (0: no cap), and returns the refusal if it would.
func (r *Registry) add(c *conn, rates *RateLimits) *refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	pc := r.m[c.from.project]
	switch {
	case rates.MaxConns > 0 && r.n >= rates.MaxConns,
		rates.MaxConnsProject > 0 && len(pc) >= rates.MaxConnsProject:
		return refusedCap
	case rates.MaxConnsAddr > 0 && r.addrs[c.addr] >= rates.MaxConnsAddr:
		return refusedAddrCap
	}
	if pc == nil {
		pc = map[*conn]struct{}{}
		r.m[c.from.project] = pc
	}
	pc[c] = struct{}{}
	r.addrs[c.addr]++
	r.n++
	return nil
}

// remove unregisters c.
func (r *Registry) remove(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pc := r.m[c.from.project]
	if _, ok := pc[c]; !ok {
		return
	}
	delete(pc, c)
	r.n--
	if r.addrs[c.addr]--; r.addrs[c.addr] <= 0 {
		delete(r.addrs, c.addr)
	}
	if len(pc) == 0 {
		delete(r.m, c.from.project)
		delete(r.last, c.from.project)
	}
}

// intern returns a Set for json: the project's last one when equal, else a new one that becomes
// the last (while the project has connections).
func (r *Registry) intern(project uuid.UUID, json []byte) *flags.Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.last[project]; last != nil && string(last.JSON) == string(json) {
		return last
	}
	s := flags.NewSet(json)
	if r.m[project] != nil {
		r.last[project] = s
	}
	return s
}

// Len is the number of live connections.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// ProjectLen is the number of live connections of a project on this relay (the dashboard's Live
// page reads it through api.Conns).
func (r *Registry) ProjectLen(project uuid.UUID) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m[project])
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
	return slices.Collect(maps.Keys(r.m))
}

// all returns every connection.
func (r *Registry) all() []*conn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*conn, 0, r.n)
	for _, pc := range r.m {
		out = slices.AppendSeq(out, maps.Keys(pc))
	}
	return out
}
