#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, serving TLS too.
#   scripts/pg.sh start DIR PORT   prints the admin URL
#   scripts/pg.sh stop DIR
# TLS: a CA made here (DIR/tls/ca.crt) signs the server's certificate, which
# names `localhost` only: `?sslmode=verify-full&sslrootcert=DIR/tls/ca.crt`
# works with host localhost and is refused with host 127.0.0.1.
# PostgreSQL refuses to run as root, so as root it runs as the postgres user.
# PG_LISTEN=ADDR/PREFIX (e.g. 10.213.77.2/24, the multi-host test) listens on
# ADDR too and trusts clients from its network.
set -euo pipefail
cmd=$1 dir=$2
bin=$(dirname "$(command -v initdb || echo /usr/local/bin/initdb)")
[ -x "$bin/initdb" ] || bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $cmd in
  start)
    port=$3
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
    tls="$dir/tls"
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=livecart test CA" \
      -keyout "$tls/ca.key" -out "$tls/ca.crt" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
      -extfile "$tls/ext" -out "$tls/server.crt" >/dev/null 2>&1
    chmod 600 "$tls/server.key"
    chmod 644 "$tls/ca.crt"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$tls"
    listen=127.0.0.1
    if [ -n "${PG_LISTEN:-}" ]; then
      listen="127.0.0.1,${PG_LISTEN%/*}"
      echo "host all all $(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1], strict=False))" "$PG_LISTEN") trust" >>"$dir/data/pg_hba.conf"
    fi
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -k $dir -c listen_addresses=$listen -c fsync=off -c max_connections=400 -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
