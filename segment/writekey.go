package segment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// WriteKeyPrefix starts every write key, so a leaked one is recognisable (secret scanners).
const WriteKeyPrefix = "bwk_"

// NewWriteKey makes a write key (bwk_ and 32 random bytes, base64url) and its SHA-256, the only
// thing stored (beacon.write_keys.key_hash). `beacon writekey create` and the dashboard use it.
func NewWriteKey() (key string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	key = WriteKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, sum[:]
}
