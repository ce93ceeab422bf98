#!/usr/bin/env bash
# CycloneDX SBOMs for what Beacon ships, into dist/ (ignored by git):
#   dist/sbom.cdx.json       the beacon binary: every Go module and package it links, with
#                            licenses and the Go standard library's version (cyclonedx-gomod app
#                            mode, for the release build settings: CGO_ENABLED=0, GOFIPS140=v1.0.0)
#   dist/sdk.sbom.cdx.json   @beacon/sdk's runtime dependencies (npm sbom), when sdk/ has a package
#   dist/dashboard.sbom.cdx.json  likewise for dashboard/, when it has a package.json
#
#   infra/sbom.sh [OUT_DIR]   (default: dist)
#
# Settings (environment): CYCLONEDX_GOMOD_VERSION (v1.10.0).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
version=${CYCLONEDX_GOMOD_VERSION:-v1.10.0}
mkdir -p "$out"

# The SBOM describes the binary as the Dockerfile builds it.
CGO_ENABLED=0 GOFIPS140=v1.0.0 go run "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$version" \
  app -json -licenses -packages -std -main . -output "$out/sbom.cdx.json" 2> >(grep -v 'no licenses detected' >&2)
echo "sbom: $out/sbom.cdx.json ($(grep -o '"purl": *"pkg:golang/[^"]*type=module"' "$out/sbom.cdx.json" | sort -u | wc -l) Go modules, with their packages and the standard library)"

for dir in sdk dashboard; do
  [ -f "$dir/package.json" ] || continue
  # --package-lock-only reads the lockfile, so no npm install is needed first.
  (cd "$dir" && npm sbom --sbom-format cyclonedx --omit=dev --package-lock-only) >"$out/$dir.sbom.cdx.json"
  echo "sbom: $out/$dir.sbom.cdx.json"
done
