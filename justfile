# Plinth tasks. `just` alone lists them.

pg_url := env_var_or_default("PLINTH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

# List the recipes.
default:
    @just --list

# Start the server (SQLite under ./data, http://127.0.0.1:8080 by default).
run *args:
    cargo run -p plinth-server -- {{args}}

# Run every test on SQLite.
test *args:
    cargo nextest run --workspace {{args}}

# Run every database test on PostgreSQL (a fresh database per test on PLINTH_TEST_POSTGRES_URL).
test-pg *args:
    PLINTH_TEST_POSTGRES_URL={{pg_url}} cargo nextest run --workspace --profile pg {{args}}

# Run the file store's tests on both backends with blobs on a local S3-compatible server (moto, installed from PyPI if missing).
test-s3:
    #!/usr/bin/env bash
    set -euo pipefail
    eval "$(bash crates/file-store/scripts/s3-server.sh)"
    trap '[ -n "${PLINTH_TEST_S3_PID:-}" ] && kill "$PLINTH_TEST_S3_PID" 2>/dev/null || true' EXIT
    cargo nextest run -p plinth-file-store --all-features
    PLINTH_TEST_POSTGRES_URL={{pg_url}} cargo nextest run -p plinth-file-store --all-features --profile pg

# Apply pending migrations to the configured database (DATABASE_URL or plinth.toml); other commands: status, down --crate NAME, reset.
migrate *args="up":
    cargo run -q -p plinth-server -- migrate {{args}}

# Format the code.
fmt:
    cargo fmt --all

# Check formatting and lints as CI does.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# Run every benchmark.
bench: bench-rss bench-auth bench-files bench-queue

# Measure the idle server's resident memory on SQLite.
bench-rss:
    bash apps/server/scripts/idle-rss.sh

# Authenticated vs trivial route throughput, p99 under concurrent logins, login latency (needs wrk and oha).
bench-auth:
    bash apps/server/scripts/bench-auth.sh

# Upload and download 1 GiB over HTTP beside dd on the same disk.
bench-files:
    cargo bench -p plinth-file-store --bench transfer

# Task queue on PostgreSQL beside graphile-worker (from npm), alternating rounds: batch enqueue, end-to-end, enqueue-to-start latency (JOBS=100000, ROUNDS=3 by default).
bench-queue:
    bash crates/task-queue/bench/run.sh

# The queue's claim and completion SQL alone under pgbench, no client: the ceiling of bench-queue's end-to-end run.
bench-queue-ceiling:
    bash crates/task-queue/bench/ceiling.sh
