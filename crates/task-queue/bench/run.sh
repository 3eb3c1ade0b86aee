#!/usr/bin/env bash
# Benchmarks the task queue on PostgreSQL and compares it with graphile-worker
# run in the same session against a fresh database on the same server.
#
#   crates/task-queue/bench/run.sh            # 100,000 jobs
#   JOBS=20000 crates/task-queue/bench/run.sh
#
# Needs cargo, node and npm (graphile-worker is installed from npm into a
# temporary directory) and PostgreSQL at PLINTH_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
admin_url="${PLINTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
jobs="${JOBS:-100000}"
graphile_version="${GRAPHILE_WORKER_VERSION:-0.17.3}"

value() { sed -n "s/^$1=//p" "$2" | tail -1; }

work="$(mktemp -d)"
db="graphile_bench_$$"
cleanup() {
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> plinth-task-queue ($jobs jobs)"
(cd "$root" && PLINTH_BENCH_POSTGRES_URL="$admin_url" PLINTH_BENCH_JOBS="$jobs" \
  cargo bench -q -p plinth-task-queue --bench queue) | tee "$work/plinth.txt"

echo "==> graphile-worker $graphile_version ($jobs jobs)"
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "graphile-worker@$graphile_version" >/dev/null)
cp "$here/graphile.mjs" "$work/"
psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
db_url="${admin_url%/*}/$db"
(cd "$work" && DATABASE_URL="$db_url" JOBS="$jobs" node graphile.mjs) | tee "$work/graphile.txt"

echo "==> comparison"
awk -v pe="$(value e2e_jobs_per_sec "$work/plinth.txt")" -v ge="$(value e2e_jobs_per_sec "$work/graphile.txt")" \
    -v pq="$(value enqueue_jobs_per_sec "$work/plinth.txt")" -v gq="$(value enqueue_jobs_per_sec "$work/graphile.txt")" \
    -v pl="$(value latency_p50_ms "$work/plinth.txt")" -v gl="$(value latency_p50_ms "$work/graphile.txt")" \
    -v pp="$(value latency_p99_ms "$work/plinth.txt")" -v gp="$(value latency_p99_ms "$work/graphile.txt")" 'BEGIN {
  printf "%-28s %14s %14s %8s\n", "", "plinth", "graphile", "ratio"
  printf "%-28s %14d %14d %7.2fx\n", "enqueue (jobs/s)", pq, gq, pq / gq
  printf "%-28s %14d %14d %7.2fx\n", "end-to-end (jobs/s)", pe, ge, pe / ge
  printf "%-28s %14.2f %14.2f\n", "enqueue->start p50 (ms)", pl, gl
  printf "%-28s %14.2f %14.2f\n", "enqueue->start p99 (ms)", pp, gp
  printf "end_to_end_ratio=%.2f\n", pe / ge
}'
