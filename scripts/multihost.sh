#!/usr/bin/env bash
# A real multi-host test: two livecart instances and a PostgreSQL server, each
# in a network namespace of its own, behind nginx, with shoppers on a fifth
# host. While they buy and watch the catalog (`livecart-bench chaos`), this
# script drains and restarts each instance in turn and cuts, resets and flaps
# each instance's link to the database with nftables; a delaying TCP proxy
# (scripts/delay_proxy.py) gives every database link a round-trip time. The
# shoppers then check: no order lost or doubled, stock conserved, every open
# page equal to the database.
#
#   scripts/multihost.sh SERVER_BIN BENCH_BIN
#
# Needs root (network namespaces, nftables), nginx, nft, PostgreSQL's server
# binaries and python3: `scripts/setup.sh test` installs them. Without network
# namespaces it says so and exits 0 (skipped). The addresses (10.213.77.0/24)
# exist only inside the namespaces it makes; the bridge lives in one too.
set -euo pipefail
server_bin=$(realpath "${1:?usage: $0 SERVER_BIN BENCH_BIN}")
bench_bin=$(realpath "${2:?usage: $0 SERVER_BIN BENCH_BIN}")
cd "$(dirname "$0")/.."
site_root=${LEPTOS_SITE_ROOT:-$PWD/target/site}
duration=${MULTIHOST_DURATION:-40}

start=$(date +%s%N)
say() { printf '\033[1;35m[multihost %6.1fs]\033[0m %s\n' "$(( ($(date +%s%N) - start) / 1000000 ))e-3" "$*"; }

# A name no other run is using (namespace names are global to the machine).
for _ in $(seq 50); do
  id=$((RANDOM % 900 + 100))
  ip netns list 2>/dev/null | grep -q "^lc${id}" || break
done
probe="lc${id}probe"
skip() { echo "multi-host test SKIPPED: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "it needs root to make network namespaces"
ip netns add "$probe" 2>/dev/null || skip "this machine does not allow network namespaces (ip netns add failed)"
if ! ip link add "lc${id}pv" type veth peer name eth0 netns "$probe" 2>/dev/null; then
  ip netns del "$probe"
  skip "this machine does not allow veth links between namespaces"
fi
if ! ip netns exec "$probe" nft add table inet probe 2>/dev/null; then
  ip netns del "$probe"
  skip "nftables cannot be used here"
fi
ip netns del "$probe"
for tool in nginx nft python3 psql curl; do
  command -v "$tool" >/dev/null || { echo "multi-host test: $tool is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
done

net=10.213.77
declare -A ip=([db]=$net.2 [lb]=$net.3 [app1]=$net.11 [app2]=$net.12 [client]=$net.100)
work=$(mktemp -d /tmp/livecart-multihost.XXXXXX)
chmod 755 "$work"
ns() { echo "lc${id}$1"; }
in_ns() { local host=$1; shift; ip netns exec "$(ns "$host")" "$@"; }
# In the background, as the process itself (so $! is its PID and signals reach it).
spawn_in() { local host=$1; shift; ( exec ip netns exec "$(ns "$host")" "$@" ) & }
declare -A pids=()

cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  # Instances drain on SIGTERM (a few seconds); wait, then make sure.
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  in_ns db bash scripts/pg.sh stop "$work/pg" 2>/dev/null || true
  for host in "${!ip[@]}" net; do ip netns del "$(ns "$host")" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    echo "--- multi-host test failed; the instances' last log lines:" >&2
    tail -n 30 "$work"/app*.log >&2 2>/dev/null || true
    tail -n 10 "$work/nginx-error.log" >&2 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "network: a bridge in $(ns net), one veth per host in $net.0/24"
ip netns add "$(ns net)"
in_ns net ip link add br0 type bridge
in_ns net ip link set br0 up
for host in "${!ip[@]}"; do
  ip netns add "$(ns "$host")"
  in_ns "$host" ip link set lo up
  ip link add "lc${id}${host}" type veth peer name eth0 netns "$(ns "$host")"
  ip link set "lc${id}${host}" netns "$(ns net)"
  in_ns net ip link set "lc${id}${host}" master br0 up
  in_ns "$host" ip addr add "${ip[$host]}/24" dev eth0
  in_ns "$host" ip link set eth0 up
done

say "PostgreSQL on ${ip[db]} (TLS)"
PG_LISTEN="${ip[db]}/24" in_ns db bash scripts/pg.sh start "$work/pg" 5432 >/dev/null
in_ns client psql "postgres://postgres@${ip[db]}:5432/postgres" -X -q -c "CREATE DATABASE livecart"
direct_db="postgres://postgres@${ip[db]}:5432/livecart"

# Each instance reaches the database through its own delaying proxy, with TLS
# verified end to end (the certificate names localhost).
start_app() {
  local host=$1
  LEPTOS_SITE_ROOT="$site_root" \
    DATABASE_URL="postgres://postgres@localhost:6432/livecart?sslmode=verify-full&sslrootcert=$work/pg/tls/ca.crt" \
    spawn_in "$host" "$server_bin" --addr "${ip[$host]}:3000" --trusted-proxies "${ip[lb]}" \
    --db-acquire-timeout 3 --drain-grace 1 --shutdown-timeout 5 --log warn >>"$work/$host.log" 2>&1
  pids[$host]=$!
  for _ in $(seq 300); do
    in_ns client curl -fs "http://${ip[$host]}:3000/healthz" >/dev/null 2>&1 && return 0
    kill -0 "${pids[$host]}" 2>/dev/null || { echo "$host exited while starting" >&2; return 1; }
    sleep 0.1
  done
  echo "$host did not become healthy" >&2
  return 1
}
for host in app1 app2; do
  spawn_in "$host" python3 scripts/delay_proxy.py 127.0.0.1:6432 "${ip[db]}:5432" 10 >"$work/proxy-$host.log" 2>&1
  pids[proxy_$host]=$!
done
sleep 0.5
say "livecart on ${ip[app1]} and ${ip[app2]}, 10 ms from the database each way"
start_app app1
start_app app2

say "nginx on ${ip[lb]}"
cat >"$work/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
  upstream shop {
    server ${ip[app1]}:3000 max_fails=1 fail_timeout=2s;
    server ${ip[app2]}:3000 max_fails=1 fail_timeout=2s;
    keepalive 16;
  }
  server {
    listen ${ip[lb]}:80;
    location / {
      proxy_pass http://shop;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_connect_timeout 2s;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      add_header X-Upstream \$upstream_addr always;
    }
  }
}
EOF
in_ns lb nginx -e "$work/nginx-error.log" -c "$work/nginx.conf" -p "$work"
in_ns client curl -fs "http://${ip[lb]}/healthz" >/dev/null

# Faults between an instance and the database, in the instance's namespace.
nft_table() { in_ns "$1" nft add table inet chaos; in_ns "$1" nft add chain inet chaos out '{ type filter hook output priority 0; }'; }
cut() { in_ns "$1" nft add rule inet chaos out ip daddr "${ip[db]}" drop; }
reset() { in_ns "$1" nft add rule inet chaos out ip daddr "${ip[db]}" tcp dport 5432 reject with tcp reset; }
heal() { in_ns "$1" nft flush chain inet chaos out; }
nft_table app1
nft_table app2
restart() {
  local host=$1
  say "draining $host (SIGTERM): its sockets are told to reconnect elsewhere"
  kill -TERM "${pids[$host]}"
  wait "${pids[$host]}" || true
  sleep 1
  say "starting $host again"
  start_app "$host"
}

say "shoppers on ${ip[client]}: ${duration}s of buying and watching through nginx"
spawn_in client "$bench_bin" chaos --url "http://${ip[lb]}" --database-url "$direct_db" \
  --buyers 6 --watchers 6 --duration "$duration" --settle 40
shoppers=$!
pids[shoppers]=$shoppers

step=$(( duration / 8 ))
sleep "$step"; restart app1
sleep "$step"; say "partition: app2 cannot reach the database for 5 s"; cut app2; sleep 5; heal app2; say "app2 reconnected"
sleep "$step"; say "reset: app1's database connections are reset for 3 s"; reset app1; sleep 3; heal app1
sleep "$step"; restart app2
sleep 1; say "flapping app1's database link: 3 x (1 s down, 1 s up)"
for _ in 1 2 3; do cut app1; sleep 1; heal app1; sleep 1; done
say "faults over; waiting for the shoppers' verdict"

status=0
wait "$shoppers" || status=$?
unset 'pids[shoppers]'
if [ "$status" -eq 0 ]; then say "passed"; else say "FAILED"; fi
exit "$status"
