# Beacon's tasks. `just --list` shows them. Settings come from .env (dotenv-load).
set dotenv-load
set shell := ["bash", "-euo", "pipefail", "-c"]
import 'infra/ops.just'
import 'infra/bench.just'

go_test_flags := env('GO_TEST_FLAGS', '')

# Go 1.27.3 (fetched once from the Go module proxy, ~76 MB): Go 1.26.8's standard library has
# called vulnerabilities in net/http and crypto/tls (infra/vulndb.sh lists them) that 1.27.3 fixes.
export GOTOOLCHAIN := env('GOTOOLCHAIN', 'go1.27.3')

# Set up and run Beacon: PostgreSQL, migrations, a demo project, a sign-in, dashboard and relay on $PORT.
dev: setup demo-project dev-account
    ./bin/beacon serve

# (Skipped, with a notice, by a binary without `beacon account`; .dev-password is gitignored.)
# Create the dashboard sign-in admin@localhost once, its password in .dev-password; say how to sign in.
dev-account: build
    #!/usr/bin/env bash
    set -euo pipefail
    url="http://localhost:${PORT}/"
    probe=$(./bin/beacon account 2>&1 || true)
    if grep -q 'unknown command "account"' <<<"$probe"; then
      echo "Dashboard: $url (this build has no 'beacon account' yet: no sign-in was created)"
      exit 0
    fi
    if [ ! -s .dev-password ]; then
      pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
      if ! printf '%s\n' "$pw" | ./bin/beacon account create --email admin@localhost --role owner >/dev/null; then
        echo "Dashboard: $url (admin@localhost could not be created, see above; its password is not in .dev-password)"
        exit 0
      fi
      (umask 077 && printf '%s\n' "$pw" > .dev-password)
    fi
    echo "Dashboard: $url  sign in as admin@localhost with the password $(cat .dev-password) (kept in .dev-password)"

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

# Build the dashboard and the SDK, then the one binary (which embeds both) into bin/beacon.
build: dashboard-build sdk-build
    mkdir -p bin
    go build -o bin/beacon .

# Build the SDK (sdk/dist) and hand its script-tag build to the relay, which serves it as /beacon.js.
sdk-build: sdk-deps
    cd sdk && npm run build
    mkdir -p sdkjs/build/sdk && cp sdk/dist/script.js sdkjs/build/sdk/beacon.js

# The SDK's npm packages, installed from package-lock.json when it is newer than them.
sdk-deps:
    cd sdk && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

# Release step: the SDK as an npm tarball in dist/, checked to install, import and type-check.
sdk-pack: sdk-deps
    cd sdk && node scripts/pack-check.mjs ../dist

# Build the dashboard into dashboard/build/app (npm ci first when package-lock.json changed).
dashboard-build: dashboard-deps
    cd dashboard && npm run build

# The dashboard's npm packages, installed from package-lock.json when it is newer than them.
dashboard-deps:
    cd dashboard && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

# Vite's dev server on :5173 with hot reload, proxying /api and /ws to the relay (`just dev`) on $PORT.
dashboard-dev: dashboard-deps
    cd dashboard && BEACON_RELAY=http://localhost:${PORT} npm run dev

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

# A streaming replica of the local cluster on port 5433 (REPLICA_PGPORT) for BI reads (docs/bi.md "Read from a replica"): pg_basebackup -R the first time, then start.
db-replica-up:
    #!/usr/bin/env bash
    set -euo pipefail
    export BEACON_PRIMARY_PORT=${PGPORT:-5432} BEACON_PRIMARY_PGDATA=${BEACON_PGDATA:-$(infra/pg.sh data)}
    PGPORT=${REPLICA_PGPORT:-5433} BEACON_PGDATA=${REPLICA_PGDATA:-$(dirname "$(dirname "$BEACON_PRIMARY_PGDATA")")/beacon-replica/pg15} infra/pg.sh replica

# Stop the local replica.
db-replica-down:
    #!/usr/bin/env bash
    set -euo pipefail
    primary=${BEACON_PGDATA:-$(infra/pg.sh data)}
    PGPORT=${REPLICA_PGPORT:-5433} BEACON_PGDATA=${REPLICA_PGDATA:-$(dirname "$(dirname "$primary")")/beacon-replica/pg15} infra/pg.sh down

# Set up and run every test: Go (real PostgreSQL, real WebSockets), SDK and dashboard unit and browser tests.
test: test-deps test-go test-sdk test-dashboard test-segment audit

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
    (cd sdk && npm ci --no-audit --no-fund && npm test)
    # The relay embeds the script-tag build it serves as /beacon.js: copy it before go build.
    mkdir -p sdkjs/build/sdk && cp sdk/dist/script.js sdkjs/build/sdk/beacon.js
    mkdir -p bin && go build -o bin/beacon .
    cd sdk
    admin="postgres://beacon:beacon@localhost:54329/postgres?sslmode=disable"
    db=${SDK_E2E_DB:-beacon_e2e}  # another name lets two checkouts run this at once
    psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    export DATABASE_URL="postgres://beacon:beacon@localhost:54329/$db?sslmode=disable"
    ../bin/beacon migrate
    BEACON_BIN=$PWD/../bin/beacon npm run e2e

# Segment's own Node library (@segment/analytics-node, pinned in segment/e2e/package-lock.json)
# against the real relay on a migrated database: docs/protocol.md, "Segment-compatible API".
test-segment:
    #!/usr/bin/env bash
    set -euo pipefail
    export PGPORT=54329 BEACON_PGDATA=${TMPDIR:-/tmp}/beacon-test/pg15
    infra/pg.sh up
    (cd segment/e2e && npm ci --no-audit --no-fund)
    mkdir -p bin && go build -o bin/beacon .
    admin="postgres://beacon:beacon@localhost:54329/postgres?sslmode=disable"
    db=${SEGMENT_E2E_DB:-beacon_segment_e2e}  # another name lets two checkouts run this at once
    psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    export DATABASE_URL="postgres://beacon:beacon@localhost:54329/$db?sslmode=disable"
    bin/beacon migrate
    cd segment/e2e && BEACON_BIN=$PWD/../../bin/beacon npm test

# The browser tests run against the real relay embedding that build and a migrated database;
# screenshots of every page, light and dark, land in dashboard/screenshots/.
# Dashboard: type check, unit tests (vitest), build within its size budget, browser tests (Chromium).
test-dashboard:
    #!/usr/bin/env bash
    set -euo pipefail
    export PGPORT=54329 BEACON_PGDATA=${TMPDIR:-/tmp}/beacon-test/pg15
    infra/pg.sh up
    (cd dashboard && npm ci --no-audit --no-fund && npm test && npm run build)
    mkdir -p bin && go build -o bin/beacon .
    admin="postgres://beacon:beacon@localhost:54329/postgres?sslmode=disable"
    psql "$admin" -X -q -c 'DROP DATABASE IF EXISTS beacon_dashboard_e2e WITH (FORCE)' -c 'CREATE DATABASE beacon_dashboard_e2e'
    export DATABASE_URL="postgres://beacon:beacon@localhost:54329/beacon_dashboard_e2e?sslmode=disable"
    ./bin/beacon migrate
    cd dashboard && BEACON_BIN=$PWD/../bin/beacon npm run e2e
