#!/usr/bin/env bash
# FIPS 140-3 gate for the Go module. Go's FIPS mode (GOFIPS140 builds, GODEBUG=fips140=only)
# polices only the standard library's crypto; golang.org/x/crypto (bcrypt, argon2, scrypt, pbkdf2,
# chacha20, chacha20poly1305, blowfish, salsa20, md4, ripemd160, poly1305, ssh, …) runs outside it.
# So this fails when any golang.org/x/crypto package is among the packages ./... builds, tests
# included, and names the import chain that pulls each one in. The standard library's own vendored
# copies (vendor/golang.org/x/crypto/…) are part of Go itself and allowed.
# Then it checks that a `GOFIPS140=v1.0.0` build of the binary succeeds and is marked as one.
#
#   infra/check-fips-deps.sh [MODULE_DIR]    (default: the repository root)
#
# This is why go.mod replaces github.com/Masterminds/sprig/v3 with infra/gomod/sprig: the real one
# (imported by tern) links bcrypt and scrypt.
set -euo pipefail
dir=${1:-$(dirname "$0")/..}
cd "$dir"

# ImportPath of every non-standard package that ./... and its tests build (.Standard excludes the
# standard library's vendor/ packages).
bad=$(go list -deps -test -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./... |
  grep -E '^golang\.org/x/crypto(/|$)' | sort -u || true)
if [ -n "$bad" ]; then
  echo "FIPS gate: FAIL — packages from golang.org/x/crypto, which Go's FIPS 140-3 mode does not police:" >&2
  for p in $bad; do
    echo >&2
    echo "  $p, imported through:" >&2
    # go mod why prints the shortest import chain from this module's packages (tests included).
    go mod why "$p" | sed -n '2,$p' | sed 's/^/      /' >&2
  done
  echo >&2
  echo "Use the standard library's crypto instead (crypto/sha256, crypto/hkdf, crypto/pbkdf2, crypto/mlkem…)," >&2
  echo "or drop or replace the dependency that imports it (see go.mod's replace of sprig)." >&2
  exit 1
fi
echo "FIPS gate: no golang.org/x/crypto package among $(go list -deps -test ./... | wc -l) packages (./... with tests)"

# The shipped binary (the module root's main package) builds against the frozen v1.0.0 module
# and records GOFIPS140 in its build info; a module without one just has to build.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mains=$(go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' . 2>/dev/null || true)
if [ -n "$mains" ]; then
  GOFIPS140=v1.0.0 go build -o "$tmp/bin" .
  if ! go version -m "$tmp/bin" | grep -q 'GOFIPS140=v1.0.0'; then
    echo "FIPS gate: FAIL — the GOFIPS140=v1.0.0 build does not record GOFIPS140=v1.0.0:" >&2
    go version -m "$tmp/bin" | grep -E 'GOFIPS140|fips' >&2 || true
    exit 1
  fi
  echo "FIPS gate: GOFIPS140=v1.0.0 go build ok ($(go version -m "$tmp/bin" | grep -oE 'GOFIPS140=[^[:space:]]+|DefaultGODEBUG=[^[:space:]]*fips140=[^,[:space:]]+' | tr '\n' ' '))"
else
  GOFIPS140=v1.0.0 go build ./...
  echo "FIPS gate: GOFIPS140=v1.0.0 go build ./... ok"
fi
