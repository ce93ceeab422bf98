package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// SQLSTATEs beacon.identify raises for the trust rules (sql/code/identity.sql); the edge answers
// them with the protocol's identity_unverified and traits_too_large.
const (
	SQLStateIdentityUnverified = "UB001"
	SQLStateTraitsTooLarge     = "UB002"
)

// Identify links anonID to userID and stores the user's traits (a JSON object). A
// *pgconn.PgError of class 22 or 23 in the chain is the input's fault; SQLSTATE UB001 is an
// identify a verifying project refuses, UB002 traits over the per-user bounds.
//
// When userHash is not empty the project's secret is read (beacon.identity_key: NULL unless the project verifies identities) and
// the hash checked here, in Go's FIPS 140-3 module; beacon.identify gets the verdict and refuses
// an unverified identify of a verifying project with SQLSTATE UB001. An identify without a hash
// costs no extra round trip.
func (s *Store) Identify(ctx context.Context, projectID, anonID, userID, userHash string, traits []byte) error {
	verified := false
	if userHash != "" {
		var key *string
		if err := s.pool.QueryRow(ctx, `SELECT beacon.identity_key($1)`, projectID).Scan(&key); err != nil {
			return fmt.Errorf("identify: read identity key: %w", err)
		}
		verified = key != nil && VerifyUserHash(*key, userID, userHash)
	}
	_, err := s.pool.Exec(ctx, `SELECT beacon.identify($1, $2, $3, $4::jsonb, $5)`, projectID, anonID, userID, string(traits), verified)
	if err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	return nil
}

// UserHash is what a customer's server computes for userID: hex HMAC-SHA-256 keyed with the
// secret's text as shown by `beacon project secret` (its ASCII bytes, not hex-decoded).
func UserHash(secret, userID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// minKeyBytes is the shortest HMAC key FIPS 140-3 allows (112 bits); Go's module panics on a
// shorter one in fips140=only mode. beacon.project_secrets holds 64 characters.
const minKeyBytes = 14

// VerifyUserHash reports whether hash is UserHash(secret, userID), in constant time. Hex of
// either case is accepted; anything else is not a match, and so is every hash for a secret
// shorter than FIPS 140-3 allows.
func VerifyUserHash(secret, userID, hash string) bool {
	got, err := hex.DecodeString(hash)
	if err != nil || len(secret) < minKeyBytes {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hmac.Equal(got, m.Sum(nil))
}
