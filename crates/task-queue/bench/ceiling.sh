#!/usr/bin/env bash
# The most PostgreSQL alone can do with the queue's own statements: pgbench
# runs plinth's claim and completion SQL (batches of BATCH, history kept)
# with no Rust client at all, against a fresh database migrated by
# `plinth migrate`. Any client can only be slower, so this bounds the
# end-to-end throughput of `just bench-queue` on this machine.
#
#   crates/task-queue/bench/ceiling.sh                 # 100,000 jobs, 2 clients, batches of 500
#   JOBS=200000 CLIENTS=4 BATCH=1000 crates/task-queue/bench/ceiling.sh
#
# Needs pgbench and psql, and PostgreSQL at PLINTH_BENCH_POSTGRES_URL.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
admin_url="${PLINTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
jobs="${JOBS:-100000}"
clients="${CLIENTS:-2}"
batch="${BATCH:-500}"
db="plinth_ceiling_$$"
db_url="${admin_url%/*}/$db"
work="$(mktemp -d)"
cleanup() {
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "$admin_url" -qc "CREATE DATABASE $db"
(cd "$root" && DATABASE_URL="$db_url" cargo run -q -p plinth-server -- migrate up >"$work/migrate.log" 2>&1) || { cat "$work/migrate.log"; exit 1; }

# Pending no-op tasks as create_many stores them, with time-ordered ids.
psql "$db_url" -q <<SQL
INSERT INTO queue_task (id, queue, task_type, payload, priority, state, run_id, run_reason,
  scheduled_at, run_at, attempts, max_attempts, retries_left, backoff_base_ms, backoff_max_ms,
  tags, scheduler_id, requires, record_events, definition_hash, created_at, updated_at)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'bench', 'noop',
  jsonb_build_object('i', g), 0, 'pending', 0, 'scheduled', now(), now(), 0, 5, 4, 1000, 3600000,
  '{}', '-', 'all-completed', false, md5(g::text), now(), now()
FROM generate_series(1, $jobs) g;
ANALYZE;
CHECKPOINT;
SQL

# One pgbench transaction: claim a batch (asynchronous commit, as the queue
# does), then complete it, returning what the queue's statements return.
cat > "$work/job.sql" <<SQL
\set worker random(1, 1000000000)
BEGIN;
SET LOCAL synchronous_commit = off;
WITH picked AS MATERIALIZED (
  SELECT id FROM queue_task
  WHERE queue = 'bench' AND state = 'pending' AND run_at <= now()
    AND (deadline IS NULL OR deadline > now())
  ORDER BY priority DESC, run_at, id LIMIT $batch FOR UPDATE SKIP LOCKED)
UPDATE queue_task SET state = 'running', worker_group = 'bench', worker_id = :worker::text,
  taken_until = now() + interval '5 minutes', started_at = now(), attempts = attempts + 1,
  updated_at = now()
WHERE id IN (SELECT id FROM picked) RETURNING *;
COMMIT;
UPDATE queue_task t SET state = 'completed', reason = 'completed', result = NULL, error = NULL,
  resolved_at = now(), updated_at = now()
WHERE t.state = 'running' AND t.worker_group = 'bench' AND t.worker_id = :worker::text
RETURNING t.id, t.queue, t.task_type, t.state, t.reason, t.run_id, t.task_group_id, t.record_events;
SQL

per_client=$(( jobs / batch / clients ))
start=$(date +%s.%N)
pgbench -n -c "$clients" -j "$clients" -t "$per_client" -f "$work/job.sql" "$db_url" >"$work/pgbench.txt"
end=$(date +%s.%N)
done_jobs=$(psql "$db_url" -Atc "SELECT count(*) FROM queue_task WHERE state = 'completed'")
echo "ceiling_jobs=$done_jobs"
awk -v n="$done_jobs" -v s="$start" -v e="$end" 'BEGIN { printf "ceiling_jobs_per_sec=%.0f\n", n / (e - s) }'
