package store

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/google/uuid"
)

// WriteKeyProject returns the project of an active write key of the Segment-compatible API
// (beacon.write_key_project: its SHA-256 is looked up, never the key); ok is false for an unknown
// or revoked key. Run on every request, so a revocation takes effect at once.
func (s *Store) WriteKeyProject(ctx context.Context, key string) (project uuid.UUID, ok bool, err error) {
	sum := sha256.Sum256([]byte(key))
	var p *uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT beacon.write_key_project($1)`, sum[:]).Scan(&p); err != nil {
		return uuid.UUID{}, false, fmt.Errorf("look up write key: %w", err)
	}
	if p == nil {
		return uuid.UUID{}, false, nil
	}
	return *p, true, nil
}

// IdentifyVerified is Identify for a sender that proved itself otherwise than with a userHash
// (a write key: the customer's server), so a project that verifies identities takes it.
func (s *Store) IdentifyVerified(ctx context.Context, project uuid.UUID, anonID, userID string, traits []byte) error {
	_, err := s.pool.Exec(ctx, `SELECT beacon.identify($1, $2, $3, $4::jsonb, true)`, project, anonID, userID, string(traits))
	if err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	return nil
}

// Alias records a Segment alias, previousID → userID (beacon.segment_alias: a merge of two users'
// people, or an anonymous id linked to a user), and says which it was: merged, aliased or same.
func (s *Store) Alias(ctx context.Context, project uuid.UUID, previousID, userID string) (string, error) {
	var how string
	if err := s.pool.QueryRow(ctx, `SELECT beacon.segment_alias($1, $2, $3)`, project, previousID, userID).Scan(&how); err != nil {
		return "", fmt.Errorf("alias: %w", err)
	}
	return how, nil
}
