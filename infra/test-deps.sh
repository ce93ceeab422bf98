#!/usr/bin/env bash
# Installs what the test suite needs from Debian when it is missing: Chromium for the browser
# tests (driven by playwright-core; never a browser download), the PostgreSQL client/server, and
# nginx, which TestRelaysBehindNginx runs in front of three relays with infra/nginx/beacon.conf.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v psql >/dev/null || need+=(postgresql-client-15)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql-15)
[ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
