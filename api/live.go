package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Conns counts the WebSocket clients of a project connected to this relay (ws.Registry). Each
// relay knows only its own connections: behind a load balancer the Live page shows the clients of
// the relay that answered, and says so.
type Conns interface {
	ProjectLen(project uuid.UUID) int
}

// live is GET /api/projects/{id}/live: beacon.api_live checks the viewer role and counts, in
// PostgreSQL, the current visitors and the events committed in the last 10 s (all relays); the
// relay adds the clients connected to it now.
func (s *Server) live(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := projectID(r)
	if err != nil {
		return reply{}, err
	}
	var m map[string]any
	if err := tx.QueryRow(ctx, `SELECT beacon.api_live($1)`, id).Scan(&m); err != nil {
		return reply{}, fmt.Errorf("live: %w", err)
	}
	clients := 0
	if s.cfg.Live != nil {
		clients = s.cfg.Live.ProjectLen(id)
	}
	m["clients"] = clients
	m["clients_scope"] = "relay" // this relay's connections, not every relay's
	b, err := json.Marshal(m)
	if err != nil {
		return reply{}, fmt.Errorf("live: %w", err)
	}
	return reply{body: b}, nil
}
