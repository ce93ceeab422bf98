#!/usr/bin/env bash
# Local PostgreSQL for Beacon without Docker: a cluster from the installed server binaries, kept in a
# data directory outside the repo. Idempotent: `up` on a running cluster only makes sure the role
# and database exist.
#
#   infra/pg.sh up      start (initdb on first use), create role and database beacon/beacon
#   infra/pg.sh down    stop the cluster
#   infra/pg.sh reset   stop, delete the data directory, start afresh
#   infra/pg.sh url     print the DATABASE_URL
#   infra/pg.sh data    print the data directory
#   infra/pg.sh psql …  psql as the superuser postgres over the cluster's socket (e.g. -c 'SELECT pg_wal_replay_pause()')
#   infra/pg.sh replica start a streaming replica of the cluster at BEACON_PRIMARY_PGDATA /
#                       BEACON_PRIMARY_PORT (first use: pg_basebackup -R), hot standby, read-only
#
# The cluster also serves TLS with a local CA: ca.crt beside the data directory, for
# sslmode=verify-full&sslrootcert=…/ca.crt.
#
# Settings (environment): PGPORT (5432), BEACON_PGDATA (data directory), BEACON_DB_NAME (beacon).
# When run as root the server runs as the `postgres` OS user, because initdb refuses root.
set -euo pipefail

port=${PGPORT:-5432}
db=${BEACON_DB_NAME:-beacon}
if [ "$(id -u)" = 0 ]; then
  data=${BEACON_PGDATA:-/var/lib/beacon/pg15}
  as() { runuser -u postgres -- "$@"; }
else
  data=${BEACON_PGDATA:-${XDG_STATE_HOME:-$HOME/.local/state}/beacon/pg15}
  as() { "$@"; }
fi
sockdir=$(dirname "$data")/run

bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || { echo "pg.sh: no PostgreSQL server binaries found (install postgresql-15)" >&2; exit 1; }
  echo "$d"
}
bin=$(bindir)

psql_admin() { as "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p "$port" -U postgres -d postgres "$@"; }

# ssl turns on TLS with a local CA (ca.crt beside the data directory), so clients can connect
# with sslmode=verify-full as production requires: the certificate names localhost and 127.0.0.1.
ssl() {
  local dir; dir=$(dirname "$data")
  [ -f "$data/server.crt" ] && return 0
  command -v openssl >/dev/null || { echo "pg.sh: openssl missing, TLS not enabled" >&2; return 0; }
  local tmp; tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=Beacon local CA" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/ext"
  openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 3650 -extfile "$tmp/ext" -out "$tmp/server.crt" 2>/dev/null
  install -m 600 "$tmp/server.key" "$data/server.key"
  install -m 644 "$tmp/server.crt" "$data/server.crt"
  install -m 644 "$tmp/ca.crt" "$dir/ca.crt"
  rm -rf "$tmp"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data/server.key" "$data/server.crt" "$dir/ca.crt"
  printf "ssl = on\nssl_min_protocol_version = 'TLSv1.2'\n" >>"$data/postgresql.conf"
  if running; then as "$bin/pg_ctl" -D "$data" reload >/dev/null; fi
}

running() { as "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

init() {
  mkdir -p "$data" "$sockdir"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$(dirname "$data")"
  chmod 700 "$data"
  as "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$data/postgresql.conf" <<CONF
listen_addresses = 'localhost'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 200
password_encryption = 'scram-sha-256'
log_min_messages = warning
CONF
}

up() {
  [ -f "$data/PG_VERSION" ] || init
  ssl
  if ! running; then
    mkdir -p "$sockdir"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$sockdir"
    # 9>&-: the server must not inherit the lock, or every later pg.sh call waits for it forever.
    as "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null 9>&-
  fi
  psql_admin <<SQL
SELECT 'CREATE ROLE beacon LOGIN CREATEDB CREATEROLE PASSWORD ''beacon'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'beacon') \gexec
-- DROP DATABASE ... WITH (FORCE) in tests must end every backend there, autovacuum's included.
GRANT pg_signal_backend TO beacon;
SELECT format('CREATE DATABASE %I OWNER beacon', '$db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
SQL
  echo "PostgreSQL up on localhost:$port (data $data)" >&2
}

# replica makes this cluster a streaming replica of a local primary: a copy taken with
# pg_basebackup -R (which writes primary_conninfo and standby.signal), its own port and socket,
# hot_standby_feedback on (docs/bi.md: long BI queries on the replica). The role, the database and
# every migration come from the primary.
replica() {
  : "${BEACON_PRIMARY_PGDATA:?set BEACON_PRIMARY_PGDATA (and BEACON_PRIMARY_PORT) to the primary data directory}"
  local pport=${BEACON_PRIMARY_PORT:-5432} psock
  psock=$(dirname "$BEACON_PRIMARY_PGDATA")/run
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$(dirname "$data")" "$sockdir"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$(dirname "$data")"
    as "$bin/pg_basebackup" -h "$psock" -p "$pport" -U postgres -D "$data" -R -X stream -c fast
    chmod 700 "$data"
    # Later lines win: the copy carries the primary's port and socket directory.
    cat >>"$data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$sockdir'
hot_standby_feedback = on
CONF
  fi
  if ! running; then
    mkdir -p "$sockdir"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$sockdir"
    as "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null 9>&-
  fi
  echo "PostgreSQL replica up on localhost:$port (data $data), following localhost:$pport" >&2
}

down() { running && as "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true; }

# Several test processes may call `up` at once: one at a time.
mkdir -p "$(dirname "$data")"
exec 9>"$(dirname "$data")/pg.lock"
flock 9

case "${1:-up}" in
  up) up ;;
  down) down ;;
  reset) down; rm -rf "$data"; up ;;
  url) echo "postgres://beacon:beacon@localhost:$port/$db?sslmode=disable" ;;
  replica) replica ;;
  data) echo "$data" ;;
  psql) shift; psql_admin "$@" ;;
  *) echo "usage: $0 up|down|reset|url|replica|data|psql" >&2; exit 2 ;;
esac
