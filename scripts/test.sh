#!/usr/bin/env bash
# Every test: unit tests, the integration suite on SQLite and on a throwaway
# PostgreSQL, and the Playwright end-to-end tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

say() { printf '\n\033[1;34m==>\033[0m %s\n' "$*"; }
# A port for a test server: below the kernel's ephemeral range (32768+), where
# outgoing connections never take one, and with nobody listening on it.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$(( 20000 + RANDOM % 12000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}
work=$(mktemp -d /tmp/livecart-test.XXXXXX)
chmod 755 "$work"  # the PostgreSQL cluster inside runs as the postgres user
pgdir="$work/pg"
cleanup() { bash scripts/pg.sh stop "$pgdir" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

say "formatting and lints (rustfmt.toml; clippy -D warnings on the server, the app for both targets, the benchmark)"
cargo fmt --all -- --check
cargo clippy -q -p livecart -p livecart-bench --all-targets -- -D warnings
cargo clippy -q -p app --features ssr --all-targets -- -D warnings
cargo clippy -q -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

say "unit and property tests (shared types, server)"
cargo test -p app --features ssr --lib
cargo test -p livecart --lib

say "integration tests on SQLite and on PostgreSQL, side by side"
pgport=$(free_port)
pgurl=$(bash scripts/pg.sh start "$pgdir" "$pgport")
# cargo-nextest (on the machine image) runs each test in a process of its own,
# two at a time. (The stall that once kept this suite on one thread was a test
# waiting on the livecart binary with a blocking call inside its one-thread
# runtime, freezing the server under test; see staff.rs.) Without nextest: one
# test at a time.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -p livecart --test api --no-run
  suite() { cargo nextest run -p livecart --test api --no-fail-fast --test-threads 2 "$@"; }
  sqlite_only=(-E 'not test(postgres_only)')
else
  cargo test -p livecart --test api --no-run
  suite() { cargo test -p livecart --test api -- --test-threads=1 "$@"; }
  sqlite_only=(--skip postgres_only)
fi
# The two suites are separate processes on separate databases: they run together.
suite "${sqlite_only[@]}" >"$work/it-sqlite.log" 2>&1 &
sqlite_suite=$!
TEST_DATABASE_URL="$pgurl" TEST_PG_CA="$pgdir/tls/ca.crt" suite >"$work/it-postgres.log" 2>&1 &
postgres_suite=$!
suite_failed=0
wait "$sqlite_suite" || suite_failed=1
cat "$work/it-sqlite.log"
wait "$postgres_suite" || suite_failed=1
cat "$work/it-postgres.log"
[ "$suite_failed" -eq 0 ] || { echo "integration tests failed" >&2; exit 1; }

say "end-to-end tests in Chromium (Playwright) on SQLite"
e2e_port=$(free_port)
DATABASE_URL="sqlite://$work/e2e.db" E2E_DB_PATH="$work/e2e.db" \
  LIVECART_ADDR="127.0.0.1:$e2e_port" E2E_BASE_URL="http://127.0.0.1:$e2e_port" \
  LIVECART_FAULT_INJECTION=true cargo leptos end-to-end --split

say "end-to-end tests in Chromium (Playwright) on PostgreSQL"
psql "$pgurl" -X -q -c "CREATE DATABASE livecart_e2e"
e2e_pg="${pgurl%/*}/livecart_e2e"
e2e_port=$(free_port)
DATABASE_URL="$e2e_pg" E2E_PG_URL="$e2e_pg" \
  LIVECART_ADDR="127.0.0.1:$e2e_port" E2E_BASE_URL="http://127.0.0.1:$e2e_port" \
  LIVECART_FAULT_INJECTION=true cargo leptos end-to-end --split

server_bin="${CARGO_TARGET_DIR:-target}/debug/livecart"

# schemathesis against a server of its own on a throwaway database: every
# documented /api/v1 operation with generated (and bad) input; each answer
# must be documented, never a 500. Time-boxed (ST_MAX_TIME seconds each).
schemathesis_on() {
  local database_url=$1 port pid token
  port=$(free_port)
  LEPTOS_SITE_ROOT=target/site DATABASE_URL="$database_url" LIVECART_ADDR="127.0.0.1:$port" \
    "$server_bin" --log warn >"$work/st-$port.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  token=$("$server_bin" token create --name schemathesis --scope write --database-url "$database_url" 2>/dev/null)
  local status=0
  LIVECART_URL="http://127.0.0.1:$port" LIVECART_TOKEN="$token" ST_MAX_TIME="${ST_MAX_TIME:-45}" \
    bash scripts/schemathesis.sh || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return "$status"
}
say "schemathesis against /api/v1 on SQLite"
schemathesis_on "sqlite://$work/schemathesis.db"
say "schemathesis against /api/v1 on PostgreSQL"
psql "$pgurl" -X -q -c "CREATE DATABASE livecart_schemathesis"
schemathesis_on "${pgurl%/*}/livecart_schemathesis"

say "benchmark smoke runs: correctness only (0 lost, 0 duplicated, stock conserved), no timing asserted"
cargo test -q -p livecart-bench
cargo build -q -p livecart-bench
bench="${CARGO_TARGET_DIR:-target}/debug/livecart-bench"
"$bench" fanout --server-bin "$server_bin" --subscribers 50 --writes 100 --rate 200
"$bench" fanout --server-bin "$server_bin" --database-url "${pgurl%/*}/livecart_e2e" --subscribers 50 --writes 100 --rate 200 --topic catalog
"$bench" checkout --server-bin "$server_bin" --clients 10 --stock 30 --duration 10
"$bench" checkout --server-bin "$server_bin" --clients 10 --stock 5 --product spread --duration 3
"$bench" pages --server-bin "$server_bin" --concurrency 4 --duration 2
"$bench" spread --server-bin "$server_bin" --seed-products 300 --shoppers 60 --pages 6 --writes 30 --rate 50
"$bench" questions --server-bin "$server_bin" --sockets 50 --clients 10 --rate 20 --duration 3
"$bench" first-visit --server-bin "$server_bin" --concurrency 2 --duration 2
"$bench" hydration --server-bin "$server_bin" --runs 1 --profile fast

say "multi-host: PostgreSQL, two instances, nginx and shoppers in network namespaces, under faults"
# Skips itself (and says why) where network namespaces cannot be made.
MULTIHOST_DURATION=40 bash scripts/multihost.sh "$server_bin" "$bench"

say "all tests passed"
