#!/usr/bin/env bash
# Benchmarks the task queue on PostgreSQL and compares it with graphile-worker
# run in the same session against a fresh database on the same server. The
# two alternate for ROUNDS rounds (3 by default); medians are compared.
#
#   crates/task-queue/bench/run.sh            # 100,000 jobs, 3 rounds
#   JOBS=20000 ROUNDS=1 crates/task-queue/bench/run.sh
#
# Each round also runs bench/ceiling.sh: plinth's claim and completion SQL
# under pgbench with no client, the most any client could reach.
#
# Needs cargo, pgbench, node and npm (graphile-worker is installed from npm into a
# temporary directory) and PostgreSQL at PLINTH_BENCH_POSTGRES_URL. Both
# connect without TLS by default, as graphile-worker's pg client does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
admin_url="${PLINTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
jobs="${JOBS:-100000}"
rounds="${ROUNDS:-3}"
graphile_version="${GRAPHILE_WORKER_VERSION:-0.17.3}"

work="$(mktemp -d)"
db="graphile_bench_$$"
cleanup() {
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "graphile-worker@$graphile_version" >/dev/null)
cp "$here/graphile.mjs" "$work/"
base_url="${admin_url%%\?*}"
query="${admin_url#"$base_url"}"
db_url="${base_url%/*}/$db$query"

for round in $(seq 1 "$rounds"); do
  echo "==> round $round: plinth-task-queue ($jobs jobs)"
  (cd "$root" && PLINTH_BENCH_POSTGRES_URL="$admin_url" PLINTH_BENCH_JOBS="$jobs" \
    cargo bench -q -p plinth-task-queue --bench queue) | tee -a "$work/plinth.txt"
  echo "==> round $round: graphile-worker $graphile_version ($jobs jobs)"
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  (cd "$work" && DATABASE_URL="$db_url" JOBS="$jobs" node graphile.mjs) | tee -a "$work/graphile.txt"
  echo "==> round $round: plinth's claim and completion SQL alone under pgbench ($jobs jobs)"
  PLINTH_BENCH_POSTGRES_URL="${admin_url%%\?*}" JOBS="$jobs" bash "$here/ceiling.sh" | tee -a "$work/ceiling.txt"
done

# The median of every value of key $1 in file $2.
median() { sed -n "s/^$1=//p" "$2" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "==> comparison: medians of $rounds rounds"
awk -v pe="$(median e2e_jobs_per_sec "$work/plinth.txt")" -v ge="$(median e2e_jobs_per_sec "$work/graphile.txt")" \
    -v pq="$(median enqueue_jobs_per_sec "$work/plinth.txt")" -v gq="$(median enqueue_jobs_per_sec "$work/graphile.txt")" \
    -v pl="$(median latency_p50_ms "$work/plinth.txt")" -v gl="$(median latency_p50_ms "$work/graphile.txt")" \
    -v pp="$(median latency_p99_ms "$work/plinth.txt")" -v gp="$(median latency_p99_ms "$work/graphile.txt")" \
    -v pc="$(median ceiling_jobs_per_sec "$work/ceiling.txt")" 'BEGIN {
  printf "%-28s %14s %14s %8s\n", "", "plinth", "graphile", "ratio"
  printf "%-28s %14d %14d %7.2fx\n", "enqueue (jobs/s)", pq, gq, pq / gq
  printf "%-28s %14d %14d %7.2fx\n", "end-to-end (jobs/s)", pe, ge, pe / ge
  printf "%-28s %14d %14d %7.2fx\n", "  its SQL alone (pgbench)", pc, ge, pc / ge
  printf "%-28s %14.2f %14.2f\n", "enqueue->start p50 (ms)", pl, gl
  printf "%-28s %14.2f %14.2f\n", "enqueue->start p99 (ms)", pp, gp
  printf "end_to_end_ratio=%.2f\n", pe / ge
}'
