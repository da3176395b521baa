#!/usr/bin/env bash
# Schemathesis (pinned, in a virtual environment under target/) against the
# served /openapi.json with all checks, on a fresh SQLite file and a fresh
# PostgreSQL database. Fails when schemathesis finds anything.
#
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 40)
#   SCHEMATHESIS_BACKENDS      "sqlite postgres" (default) or one of them
#   BATON_TEST_POSTGRES_URL    the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
VENV=target/schemathesis-venv
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$VERSION"; then
  echo "installing schemathesis $VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cargo build --quiet -p baton-cli
BATON=target/debug/baton
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
BACKENDS="${SCHEMATHESIS_BACKENDS:-sqlite postgres}"
PG_URL="${BATON_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB=baton_schemathesis

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# run_against NAME DATABASE: serves DATABASE and runs schemathesis against it.
run_against() {
  local name="$1" database="$2" token port status=0
  token="$("$BATON" token create --database "$database" --name schemathesis --role admin --quiet)"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$BATON" serve --database "$database" --listen "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
  done
  echo "== schemathesis on $name (max $MAX_EXAMPLES examples per operation)"
  # The live event stream never ends, so a request/response tester cannot
  # read it; tests/api/events.rs covers it over a socket.
  "$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $token" \
    --max-examples "$MAX_EXAMPLES" \
    --exclude-path /v1/events/stream \
    --request-timeout 30 \
    --seed 8 \
    --no-color \
    --report junit --report-junit-path "target/schemathesis-$name.xml" || status=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
  if [ "$status" -ne 0 ]; then
    echo "schemathesis failed on $name; server log:"
    tail -n 40 "$work/$name.log"
  fi
  return "$status"
}

failed=0
for backend in $BACKENDS; do
  case "$backend" in
    sqlite) run_against sqlite "sqlite://$work/schemathesis.db" || failed=1 ;;
    postgres)
      psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)"
      psql "$PG_URL" -qc "CREATE DATABASE $PG_DB"
      run_against postgres "${PG_URL%/*}/$PG_DB" || failed=1
      psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" || true
      ;;
    *) echo "unknown backend $backend"; exit 2 ;;
  esac
done
if [ "$failed" -ne 0 ]; then
  echo "schemathesis: failures found (see above)"
  exit 1
fi
echo "schemathesis: no failure on $BACKENDS"
