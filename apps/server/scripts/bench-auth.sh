#!/usr/bin/env bash
# Benchmarks authentication on the release server (SQLite, this machine):
#  (a) requests/s of GET /v1/auth/whoami with a session bearer token beside the
#      trivial GET /healthz, same server, same wrk settings (medians of three
#      alternating rounds);
#  (b) p99 latency of whoami at a fixed request rate (BENCH_RATE, 2000/s by
#      default; oha with latency correction) while 20 password logins run
#      concurrently, against idle (medians of three alternating rounds); and
#      the same once with wrk saturating the server. As a control, each round
#      also measures whoami beside a nice-19 process that only streams 19 MiB
#      buffers through memory (dd), the argon2id working set without sign-in
#      handling, which shows what sharing the memory system alone costs;
#  (c) login latency p50 at the configured (OWASP) argon2id parameters.
# Needs wrk (apt-get install wrk) and oha (cargo install oha). Prints a Markdown table.
set -euo pipefail

cd "$(dirname "$0")/../../.."
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
command -v oha >/dev/null || { echo "oha is required: cargo install oha" >&2; exit 1; }
cargo build --release -p plinth-server
bin="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/plinth"
duration="${BENCH_SECONDS:-10}"
rate="${BENCH_RATE:-2000}"

workdir="$(mktemp -d)"
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$workdir"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$workdir/plinth.db?mode=rwc"
export PLINTH_ADMIN_PASSWORD="bench password 0123456789"
# The benchmark measures hashing, not the limiter: lift the login limits.
for who in PER_IP PER_ACCOUNT; do
    export "PLINTH_AUTH__RATE_LIMIT__LOGIN__${who}__PER_MINUTE=0" "PLINTH_AUTH__RATE_LIMIT__LOGIN__${who}__BURST=1"
done
(cd "$workdir" && "$bin" admin create-user --username bench --email bench@example.com --admin >/dev/null)

log="$workdir/plinth.log"
(cd "$workdir" && exec env PLINTH_HTTP__BIND=127.0.0.1:0 PLINTH_LOG__FORMAT=json PLINTH_LOG__FILTER=warn,actix_server=info,plinth_server=info "$bin" serve) 2>"$log" &
pid=$!
port=""
for _ in $(seq 1 100); do
    port="$(sed -n 's/.*"addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$log" | head -n 1)"
    [[ -n "$port" ]] && curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
base="http://127.0.0.1:$port"
login_body="{\"login\":\"bench\",\"password\":\"$PLINTH_ADMIN_PASSWORD\"}"
token="$(curl -fsS "$base/v1/auth/login" -H 'content-type: application/json' -d "$login_body" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')"

cat >"$workdir/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$login_body'
wrk.headers["Content-Type"] = "application/json"
LUA

rps() { awk '/^Requests\/sec:/ { print $2 }'; }
pct() { awk -v p="$1" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }'; }
errors() { awk '/Non-2xx/ { print $NF }'; }

# (a) alternates the two routes for three rounds and compares medians.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wrk -t2 -c32 -d"${duration}s" "$base/healthz" >/dev/null  # warm-up
for _ in 1 2 3; do
    wrk -t2 -c32 -d"${duration}s" "$base/healthz" | rps >>"$workdir/trivial.txt"
    authed_out="$(wrk -t2 -c32 -d"${duration}s" -H "Authorization: Bearer $token" "$base/v1/auth/whoami")"
    [[ -z "$(echo "$authed_out" | errors)" ]] || { echo "whoami answered non-2xx: $authed_out" >&2; exit 1; }
    echo "$authed_out" | rps >>"$workdir/authed.txt"
done
trivial="$(median <"$workdir/trivial.txt")"
authed="$(median <"$workdir/authed.txt")"

# whoami p99 in ms at $rate requests/s (open loop: latency counted from when
# each request was due), failing on any non-2xx answer.
paced_p99() {
    oha --no-tui --output-format json --latency-correction -z "${duration}s" -q "$rate" -c 8 \
        -H "Authorization: Bearer $token" "$base/v1/auth/whoami" | python3 -c '
import json, sys
d = json.load(sys.stdin)
codes = d["statusCodeDistribution"]
if set(codes) != {"200"}:
    sys.exit("whoami answered %s" % codes)
print("%.2f" % (d["latencyPercentiles"]["p99"] * 1000))'
}
saturated_p99() { wrk -t1 -c4 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$base/v1/auth/whoami" | pct 99%; }

# Idle and under logins alternate for three rounds; medians are compared.
logins_for() { wrk -t1 -c20 -d"$1s" -s "$workdir/login.lua" "$base/v1/auth/login" | rps >>"$workdir/logins.txt"; }
for _ in 1 2 3; do
    paced_p99 >>"$workdir/idle.txt"
    logins_for "$((duration + 2))" &
    logins=$!
    sleep 1
    paced_p99 >>"$workdir/busy.txt"
    wait "$logins"
    nice -n 19 dd if=/dev/zero of=/dev/null bs=19M 2>/dev/null &
    streamer=$!
    paced_p99 >>"$workdir/streaming.txt"
    kill "$streamer"
    wait "$streamer" || true
done
idle_p99="$(median <"$workdir/idle.txt")"
busy_p99="$(median <"$workdir/busy.txt")"
streaming_p99="$(median <"$workdir/streaming.txt")"
idle_sat_p99="$(saturated_p99)"
logins_for "$((duration + 2))" &
logins=$!
sleep 1
busy_sat_p99="$(saturated_p99)"
wait "$logins"
login_rps="$(median <"$workdir/logins.txt")"
login_p50="$(wrk -t1 -c1 -d"${duration}s" --latency -s "$workdir/login.lua" "$base/v1/auth/login" | pct 50%)"
rss_kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"

awk -v t="$trivial" -v a="$authed" -v i="$idle_p99" -v b="$busy_p99" -v m="$streaming_p99" -v si="$idle_sat_p99" -v sb="$busy_sat_p99" \
    -v r="$rate" -v lr="$login_rps" -v l="$login_p50" -v rss="$rss_kb" 'BEGIN {
    print "| measure | value |"
    print "| --- | --- |"
    printf "| GET /healthz (trivial), req/s, median | %.0f |\n", t
    printf "| GET /v1/auth/whoami (session bearer), req/s, median | %.0f |\n", a
    printf "| (a) authenticated / trivial | %.0f %% |\n", 100 * a / t
    printf "| whoami p99 at %d req/s, idle, median of 3 | %.2f ms |\n", r, i
    printf "| whoami p99 at %d req/s, 20 concurrent logins, median of 3 | %.2f ms |\n", r, b
    printf "| (b) p99 under logins / idle | %.2fx |\n", b / i
    printf "| control: whoami p99 at %d req/s beside a nice-19 19 MiB memory stream, median of 3 | %.2f ms |\n", r, m
    printf "| control: p99 beside the memory stream / idle | %.2fx |\n", m / i
    printf "| whoami p99 saturated by wrk (4 connections), idle | %.2f ms |\n", si
    printf "| whoami p99 saturated by wrk, 20 concurrent logins | %.2f ms |\n", sb
    printf "| saturated: p99 under logins / idle | %.2fx |\n", sb / si
    printf "| logins/s during (b) | %.1f |\n", lr
    printf "| (c) login p50, one at a time | %.2f ms |\n", l
    printf "| server RSS after the run | %.1f MB |\n", rss / 1024
}'
