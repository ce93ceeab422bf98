package ws

import (
	"encoding/json"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/flags"
)

// FlagsOn counts, per flag key, the connections of project whose last flag set written to them
// has the flag on: what the dashboard shows as "clients on right now". Read-only. Connections
// share *flags.Set values, so each distinct set is decoded once, however many clients hold it. It
// counts this relay's connections only.
func (r *Registry) FlagsOn(project uuid.UUID) map[string]int {
	perSet := map[*flags.Set]int{}
	for _, cl := range r.Clients(project) {
		c := cl.(*conn)
		c.mu.Lock()
		sent := c.sent
		c.mu.Unlock()
		if sent != nil {
			perSet[sent]++
		}
	}
	on := map[string]int{}
	for set, n := range perSet {
		var m map[string]bool
		if json.Unmarshal(set.JSON, &m) != nil {
			continue // the relay wrote it as a flags message; it is JSON
		}
		for k, v := range m {
			if v {
				on[k] += n
			}
		}
	}
	return on
}
