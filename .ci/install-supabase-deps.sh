#!/usr/bin/env bash
# Installs what the Supabase interop tests (tests/supabase) need, idempotently:
# - PgBouncer (Debian's package) for the transaction-mode pooler tests;
# - npm, and the pinned Supabase CLI into the test state directory, where the tests look for it
#   (tests/supabase/conftest.py installs it there too when missing; doing it here keeps test time down).
set -euo pipefail

SUPABASE_CLI_VERSION="2.117.0"
STATE_DIR="${LOCKGATE_TEST_STATE_DIR:-/tmp/lockgate-test-state}"
CLI_DIR="$STATE_DIR/supabase-cli-$SUPABASE_CLI_VERSION"

need_apt=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need_apt+=(pgbouncer)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${#need_apt[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian enables a pgbouncer service on install; the tests start their own on a free port.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now pgbouncer >/dev/null 2>&1 || true; fi

if [ ! -x "$CLI_DIR/node_modules/.bin/supabase" ]; then
  mkdir -p "$CLI_DIR"
  npm install --no-audit --no-fund --prefix "$CLI_DIR" "supabase@$SUPABASE_CLI_VERSION" >/dev/null
fi
"$CLI_DIR/node_modules/.bin/supabase" --version >/dev/null
