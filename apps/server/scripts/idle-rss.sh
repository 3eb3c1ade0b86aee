#!/usr/bin/env bash
# Builds the release server, starts it on a throwaway SQLite database and a
# free port (chosen by the kernel), waits for /healthz, lets it settle for 2 s and prints its resident
# memory (VmRSS) in MB. Run from anywhere inside the workspace.
set -euo pipefail

cd "$(dirname "$0")/../../.."
cargo build --release -p plinth-server
bin="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/plinth"

workdir="$(mktemp -d)"
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

log="$workdir/plinth.log"
(
    cd "$workdir"
    exec env -u PLINTH_CONFIG \
        DATABASE_URL="sqlite://$workdir/plinth.db?mode=rwc" \
        PLINTH_HTTP__BIND=127.0.0.1:0 \
        PLINTH_LOG__FORMAT=json \
        PLINTH_LOG__FILTER=info \
        "$bin" serve
) 2>"$log" &
pid=$!

# Port 0 lets the kernel choose a free port; the server logs the address it got.
port=""
for _ in $(seq 1 100); do
    port="$(sed -n 's/.*"addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$log" | head -n 1)"
    if [[ -n "$port" ]] && curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "plinth exited before answering /healthz:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

sleep 2
rss_kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
awk -v kb="$rss_kb" 'BEGIN { printf "idle VmRSS: %.1f MB\n", kb / 1024 }'
