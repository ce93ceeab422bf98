// Package password hashes and checks dashboard passwords: PBKDF2-HMAC-SHA-256 from Go's standard
// library (crypto/pbkdf2, part of the FIPS 140-3 module, so it works under GODEBUG=fips140=only;
// bcrypt and scrypt are not approved), in a self-describing format that carries its iteration
// count, so the count can rise without breaking existing hashes.
//
// The policy follows NIST SP 800-63B-4 for a password that is the only factor: at least 15
// characters (Unicode code points after NFKC normalisation), up to 256, no composition rules,
// refused when it is a common or breached password (a bundled list), the account's email, or one
// short piece repeated.
package password

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultIterations is the PBKDF2-HMAC-SHA-256 iteration count of new hashes: OWASP's Password
// Storage Cheat Sheet (2023) recommends 600,000 for this hash. A hash made with fewer is replaced
// at the account's next sign-in (NeedsRehash).
const DefaultIterations = 600_000

// MinIterations is the lowest count Verify accepts, so a tampered hash cannot make a check cheap.
const MinIterations = 1_000

// Length limits, in characters (code points) of the normalised password.
const (
	MinLength = 15
	MaxLength = 256
)

const (
	prefix  = "$pbkdf2-sha256$"
	saltLen = 16 // 128 bits: the least FIPS 140-3 mode allows
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// Normalize returns the NFKC form of pw: the same password typed on another keyboard or OS
// (composed or decomposed accents, full-width digits) hashes the same. Every password is
// normalised before it is checked or hashed.
func Normalize(pw string) string { return norm.NFKC.String(pw) }

// Hash returns the encoded hash of the normalised password pw with a fresh random salt:
// $pbkdf2-sha256$i=ITERATIONS$SALT$KEY, salt and key in unpadded standard base64.
func Hash(pw string, iterations int) (string, error) {
	if iterations < MinIterations {
		return "", fmt.Errorf("password: %d iterations is below the minimum %d", iterations, MinIterations)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, pw, salt, iterations, keyLen)
	if err != nil {
		return "", fmt.Errorf("password: pbkdf2: %w", err)
	}
	return prefix + "i=" + strconv.Itoa(iterations) + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// ErrMalformed is returned by Verify for a hash that is not in Hash's format.
var ErrMalformed = errors.New("password: malformed hash")

// Verify reports whether the normalised password pw matches encoded, and the iteration count
// encoded was made with (for NeedsRehash). The comparison takes constant time.
func Verify(pw, encoded string) (ok bool, iterations int, err error) {
	iterations, salt, want, err := parse(encoded)
	if err != nil {
		return false, 0, err
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iterations, len(want))
	if err != nil {
		return false, iterations, fmt.Errorf("password: pbkdf2: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, iterations, nil
}

// NeedsRehash reports whether a hash made with iterations should be replaced by one made with
// target (only ever upward).
func NeedsRehash(iterations, target int) bool { return iterations < target }

func parse(encoded string) (iterations int, salt, key []byte, err error) {
	rest, ok := strings.CutPrefix(encoded, prefix+"i=")
	if !ok {
		return 0, nil, nil, ErrMalformed
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return 0, nil, nil, ErrMalformed
	}
	iterations, err = strconv.Atoi(parts[0])
	if err != nil || iterations < MinIterations || iterations > 100_000_000 {
		return 0, nil, nil, ErrMalformed
	}
	salt, err = b64.DecodeString(parts[1])
	if err != nil || len(salt) < saltLen {
		return 0, nil, nil, ErrMalformed
	}
	key, err = b64.DecodeString(parts[2])
	if err != nil || len(key) < keyLen {
		return 0, nil, nil, ErrMalformed
	}
	return iterations, salt, key, nil
}

// length is the password's length in characters (code points).
func length(pw string) int { return utf8.RuneCountInString(pw) }
