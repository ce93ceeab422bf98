package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ProjectOrigins returns a project's allowed browser origins; found is false when no project has
// that id (not an error: the caller answers 404). projectID must be a UUID; any other text is a
// class 22 error from PostgreSQL, so callers parse it first.
func (s *Store) ProjectOrigins(ctx context.Context, projectID string) (origins []string, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT allowed_origins FROM beacon.projects WHERE project_id = $1`, projectID).Scan(&origins)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("look up project %s: %w", projectID, err)
	}
	return origins, true, nil
}

// Connect returns what a connecting client starts with, in one round trip: the user its anon id
// was identified as ("" when never) and its flag set as a JSON object.
func (s *Store) Connect(ctx context.Context, project uuid.UUID, anonID string) (userID string, set []byte, err error) {
	var user *string
	err = s.pool.QueryRow(ctx, `SELECT user_id, flags::text FROM beacon.connect($1, $2)`, project, anonID).Scan(&user, &set)
	if err != nil {
		return "", nil, fmt.Errorf("connect client: %w", err)
	}
	if user != nil {
		userID = *user
	}
	return userID, set, nil
}
