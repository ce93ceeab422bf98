#!/usr/bin/env bash
# govulncheck without the public vulnerability database: the Go module proxy serves the database's
# source module, golang.org/x/vulndb, whose data/osv folder holds every Go OSV record.
# infra/vulndb (Go, standard library only) turns those into the v1 layout that `govulncheck -db
# file://DIR` reads, cached outside the repo per vulndb version; then govulncheck scans the module
# and infra/vulnreport prints one line per called vulnerability and sets the exit status.
#
#   infra/vulndb.sh              scan ./... (the default); exit 3 on a called vulnerability
#   infra/vulndb.sh scan DIR     the same for the module in DIR (e.g. a scratch module)
#   infra/vulndb.sh db           only build the database and print its folder
#   infra/vulndb.sh ARGS…        run govulncheck itself with ARGS, e.g. `-show traces ./...`,
#                                `-C /some/module ./...`; its own output and exit status
#
# What fails the default scan: a vulnerable function that Beacon's code calls (symbol level). A
# vulnerable package that is imported but not called, or a module only required, is counted, not
# failed. A called vulnerability in a required module always fails (fix: go get MODULE@FIXED &&
# go mod tidy). One in the standard library is fixed only by a newer Go toolchain, so it follows
# BEACON_VULN_STDLIB: "fail" (default) fails, "warn" prints it and passes; the justfile pins a Go
# toolchain (GOTOOLCHAIN) for which it passes.
#
# Settings (environment):
#   VULNDB_VERSION       golang.org/x/vulndb version (pinned below, so a run is reproducible;
#                        "latest" asks the proxy for the newest records; bump the pin for new ones)
#   GOVULNCHECK_VERSION  golang.org/x/vuln version (v1.9.0)
#   BEACON_VULNDB_DIR    cache folder (${XDG_CACHE_HOME:-$HOME/.cache}/beacon/vulndb)
#   BEACON_VULN_STDLIB   fail | warn (fail)
set -euo pipefail
cd "$(dirname "$0")/.."

vulndb_version=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
govulncheck_version=${GOVULNCHECK_VERSION:-v1.9.0}
cache=${BEACON_VULNDB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/beacon/vulndb}
mkdir -p "$cache"

# `go mod download` runs in the cache folder, outside this module, so it never touches go.sum.
if [ "$vulndb_version" = latest ]; then
  vulndb_version=$(cd "$cache" && go list -m -f '{{.Version}}' golang.org/x/vulndb@latest)
fi
db=$cache/$vulndb_version
if [ ! -f "$db/index/modules.json" ]; then
  echo "vulndb: building the database from golang.org/x/vulndb@$vulndb_version" >&2
  src=$(cd "$cache" && go mod download -json "golang.org/x/vulndb@$vulndb_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
    echo "vulndb: golang.org/x/vulndb@$vulndb_version has no data/osv folder (download failed?)" >&2
    exit 1
  fi
  go run ./infra/vulndb -osv "$src/data/osv" -out "$db" >&2
fi
if [ "${1:-}" = db ]; then echo "$db"; exit 0; fi

# Installed into the cache (not `go run`) so that govulncheck's own exit status 3 comes through;
# one binary per Go version, since govulncheck must be built by a Go at least as new as the code.
bin=$cache/bin/govulncheck-$govulncheck_version-$(go env GOVERSION)
if [ ! -x "$bin" ]; then
  mkdir -p "$cache/bin"
  (cd "$cache" && GOBIN=$cache/bin go install "golang.org/x/vuln/cmd/govulncheck@$govulncheck_version")
  mv "$cache/bin/govulncheck" "$bin"
fi
module=.
if [ "${1:-}" = scan ]; then module=${2:?usage: infra/vulndb.sh scan DIR}; shift 2; fi
if [ $# -gt 0 ]; then exec "$bin" -db "file://$db" "$@"; fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "govulncheck $govulncheck_version on $module/... with golang.org/x/vulndb@$vulndb_version" >&2
"$bin" -db "file://$db" -C "$module" -format json ./... >"$out"
go run ./infra/vulnreport -stdlib="${BEACON_VULN_STDLIB:-fail}" <"$out" && rc=0 || rc=$?
# `go run` turns any failure of the program into status 1; vulnreport fails only with 3.
[ "$rc" = 0 ] || exit 3
