#!/usr/bin/env bash
# Set up what is missing, then build and serve the shop on embedded SQLite
# (data/livecart.db, created and seeded on first start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
addr="${LIVECART_ADDR:-127.0.0.1:3000}"
printf '\n\033[1;32m==>\033[0m building; the shop will be at http://%s/\n\n' "$addr"
exec cargo leptos serve --split "$@"
