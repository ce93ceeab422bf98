# Beacon's tasks. `just --list` shows them. Settings come from .env (dotenv-load).
set dotenv-load
set shell := ["bash", "-euo", "pipefail", "-c"]
import 'infra/ops.just'
import 'infra/bench.just'

go_test_flags := env('GO_TEST_FLAGS', '')

# Go 1.27.3 (fetched once from the Go module proxy, ~76 MB): Go 1.26.8's standard library has
# called vulnerabilities in net/http and crypto/tls (infra/vulndb.sh lists them) that 1.27.3 fixes.
export GOTOOLCHAIN := env('GOTOOLCHAIN', 'go1.27.3')

# Set up and run Beacon: local PostgreSQL, migrations, a demo project, the relay on $PORT.
dev: setup demo-project
    ./bin/beacon serve

# Create the "Demo" project (allowed from localhost:4000 and :5173) once, and print its id.
demo-project: build
    #!/usr/bin/env bash
    set -euo pipefail
    id=$(psql "$DATABASE_URL" -X -tAc "SELECT project_id FROM beacon.projects WHERE name = 'Demo' LIMIT 1")
    if [ -z "$id" ]; then
      id=$(./bin/beacon project create --name Demo --origin http://localhost:4000 --origin http://localhost:5173)
    fi
    echo "Demo project: $id  (ws://localhost:${PORT}/ws?project=$id&session=S&anon=A)"

# Everything `dev` needs, without running it.
setup: db-up build db-migrate

# Build the one binary into bin/beacon.
build:
    mkdir -p bin
    go build -o bin/beacon .

# Start (or reuse) the local PostgreSQL cluster and create the beacon database.
db-up:
    infra/pg.sh up

# Apply every migration to $DATABASE_URL.
db-migrate: build
    ./bin/beacon migrate

# Drop the local cluster's data and start again, migrated.
db-reset:
    infra/pg.sh reset
    just db-migrate

# Stop the local cluster.
db-down:
    infra/pg.sh down

# Set up and run every test: Go (real PostgreSQL, real WebSockets), SDK unit and browser tests.
test: test-deps test-go test-sdk audit

# System packages the tests need (Debian chromium for the browser tests).
test-deps:
    infra/test-deps.sh

# Go tests against a throwaway cluster on port 54329, once plainly and once in FIPS-only mode.
test-go:
    #!/usr/bin/env bash
    set -euo pipefail
    export PGPORT=54329 BEACON_PGDATA=${TMPDIR:-/tmp}/beacon-test/pg15
    infra/pg.sh up
    export TEST_DATABASE_URL="postgres://beacon:beacon@localhost:54329/beacon?sslmode=disable"
    export TEST_DATABASE_CA="$(dirname "$BEACON_PGDATA")/ca.crt"
    go vet ./...
    go test -count=1 -race -timeout 15m {{go_test_flags}} ./...
    echo "--- again in FIPS 140-3 only mode (GODEBUG=fips140=only)"
    GODEBUG=fips140=only go test -count=1 -timeout 15m {{go_test_flags}} ./...
    echo "--- fuzzing, bounded (found crashers land in protocol/testdata/fuzz as regression seeds)"
    go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime ${FUZZ_TIME:-10s} ./protocol
    go test -run '^$' -fuzz '^FuzzIngestBody$' -fuzztime ${FUZZ_TIME:-10s} ./protocol

# SDK: unit tests, size budget, and the real-browser test against a real relay and PostgreSQL.
test-sdk:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -f sdk/package.json ]; then echo "sdk: no package yet"; exit 0; fi
    export PGPORT=54329 BEACON_PGDATA=${TMPDIR:-/tmp}/beacon-test/pg15
    infra/pg.sh up
    mkdir -p bin && go build -o bin/beacon .
    cd sdk && npm ci --no-audit --no-fund && npm test
    admin="postgres://beacon:beacon@localhost:54329/postgres?sslmode=disable"
    psql "$admin" -X -q -c 'DROP DATABASE IF EXISTS beacon_e2e WITH (FORCE)' -c 'CREATE DATABASE beacon_e2e'
    export DATABASE_URL="postgres://beacon:beacon@localhost:54329/beacon_e2e?sslmode=disable"
    ../bin/beacon migrate
    BEACON_BIN=$PWD/../bin/beacon npm run e2e
