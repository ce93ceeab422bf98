#!/usr/bin/env bash
# `npm audit --omit=dev` for each JavaScript package that ships (sdk/, dashboard/): fails on any
# advisory in a runtime dependency. Build and test tools (devDependencies) never reach a browser
# or the binary, so they are not failed on. A directory without package.json is skipped.
#
#   infra/npm-audit.sh [DIR…]     (default: sdk dashboard)
#
# Settings (environment): NPM_AUDIT_LEVEL, the lowest severity that fails (low).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- sdk dashboard
level=${NPM_AUDIT_LEVEL:-low}
status=0
for dir in "$@"; do
  if [ ! -f "$dir/package.json" ]; then
    echo "npm audit: $dir has no package.json, skipped"
    continue
  fi
  if [ ! -f "$dir/package-lock.json" ]; then
    echo "npm audit: FAIL — $dir has no package-lock.json: run npm install there and commit the lockfile" >&2
    status=1
    continue
  fi
  runtime=$(cd "$dir" && npm ls --omit=dev --all --parseable --package-lock-only | tail -n +2 | wc -l)
  echo "npm audit: $dir ($runtime runtime dependencies, --audit-level=$level)"
  # Reads only the lockfile and POSTs it to the registry's advisory endpoint; no install needed.
  # With no runtime dependency npm answers without asking the registry.
  log=$(mktemp)
  if (cd "$dir" && npm audit --omit=dev --audit-level="$level" --package-lock-only) >"$log" 2>&1; then
    cat "$log"
  elif grep -q 'audit endpoint returned an error' "$log"; then
    cat "$log" >&2
    echo "npm audit: FAIL — $dir's $runtime runtime dependencies could not be audited: the registry's advisory" >&2
    echo "  endpoint refused the request (some mirrors and proxies allow only GET; npm audit needs POST)." >&2
    status=1
  else
    cat "$log"
    status=1
  fi
  rm -f "$log"
done
exit $status
