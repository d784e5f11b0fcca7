#!/usr/bin/env bash
# Authenticated GET /v1/me under load: release build, wrk with 64 connections on loopback,
# once with an access token (JWT) and once with an API key, on SQLite and on PostgreSQL.
#   bench/me.sh                 # both backends
#   BACKENDS=sqlite bench/me.sh # one backend; DURATION, CONNECTIONS, THREADS tune the load
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p switchboard-host
BIN=$PWD/target/release/switchboard
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

bench_backend() {
    local backend=$1 url port=18181
    case $backend in
        sqlite) url="sqlite://$WORK/bench.db" ;;
        postgres)
            local db="sb_bench_$$"
            psql "$PG/test" -qc "DROP DATABASE IF EXISTS $db" -qc "CREATE DATABASE $db"
            url="$PG/$db" ;;
    esac
    SWITCHBOARD_DATABASE_URL=$url SWITCHBOARD_BIND=127.0.0.1:$port RUST_LOG=warn \
        SWITCHBOARD_RATE_LIMIT_PER_SECOND=1000000 SWITCHBOARD_RATE_LIMIT_BURST=1000000 \
        SWITCHBOARD_DATABASE_MAX_CONNECTIONS=${POOL:-16} "$BIN" serve 2>"$WORK/server.log" &
    SERVER=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
    local signup token key
    signup=$(curl -sf "http://127.0.0.1:$port/v1/signup" -H 'content-type: application/json' \
        -d '{"tenant_name":"Bench","email":"bench@example.com","password":"bench password 1"}')
    token=$(echo "$signup" | json '["tokens"]["access_token"]')
    key=$(curl -sf "http://127.0.0.1:$port/v1/api-keys" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' -d '{"name":"bench","role":"viewer"}' | json '["secret"]')
    for cred in "jwt:$token" "api_key:$key"; do
        local kind=${cred%%:*} secret=${cred#*:}
        curl -sf "http://127.0.0.1:$port/v1/me" -H "authorization: Bearer $secret" >/dev/null
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $secret" \
            "http://127.0.0.1:$port/v1/me" >"$WORK/wrk.txt"
        local rps p50 p99 non2xx
        rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
        p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
        p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
        non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt")
        printf '%-9s %-8s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$backend" "$kind" "$rps" "$p50" "$p99" "${non2xx:-0}"
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
    [ "$backend" = postgres ] && psql "$PG/test" -qc "DROP DATABASE IF EXISTS sb_bench_$$" || true
}

echo "GET /v1/me, $CONNECTIONS connections, $THREADS wrk threads, $DURATION, $(nproc) cores"
for b in $BACKENDS; do bench_backend "$b"; done
