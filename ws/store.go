package ws

import "context"

// Store is what the edge needs from the database.
//
// An error that wraps a *pgconn.PgError of class 22 (data exception) or 23 (integrity) is
// PostgreSQL refusing the data: the client is answered "rejected" and re-sending cannot help. Any
// other error is the database's, and the client should re-send later.
type Store interface {
	// ProjectOrigins returns a project's allowed origins; found is false when no such project exists.
	ProjectOrigins(ctx context.Context, projectID string) (origins []string, found bool, err error)
	// Identify records that anon is userID in project and merges traits (a JSON object).
	// userHash proves userID where the project verifies identities ("" when the client sent
	// none); an identify it does not prove is refused with SQLSTATE UB001, traits over the
	// per-user bounds with UB002 (store.SQLState…).
	Identify(ctx context.Context, projectID, anonID, userID, userHash string, traits []byte) error
}
