package store

import (
	"context"
	"fmt"
)

// KeepFresh brings the stored analytics views up to date when they are due: beacon.keep_fresh()
// folds the pending rollups and refreshes daily_stats and the top lists at their own pace, and
// does nothing much when nothing changed. The relay calls it every second so that figures follow
// commit within seconds (docs/sql.md "Freshness"); a failure inside is logged by the database and
// raised as a warning, so an error here is the connection's.
func (s *Store) KeepFresh(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT beacon.keep_fresh()`); err != nil {
		return fmt.Errorf("keep fresh: %w", err)
	}
	return nil
}
