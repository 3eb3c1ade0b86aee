#!/usr/bin/env bash
# Starts a local S3-compatible server (moto's, from PyPI) for the file-store
# tests, creates the test bucket and prints the environment that points the
# tests at it. Idempotent: a server already listening on the port is reused.
#
#   eval "$(bash crates/file-store/scripts/s3-server.sh)"
#   cargo nextest run -p plinth-file-store
#   kill "$PLINTH_TEST_S3_PID"        # when this script started the server
#
# PLINTH_S3_PORT (default 9090) and PLINTH_TEST_S3_BUCKET (default plinth-test)
# override the defaults. Progress goes to stderr; only the exports go to stdout.
set -euo pipefail

port="${PLINTH_S3_PORT:-9090}"
bucket="${PLINTH_TEST_S3_BUCKET:-plinth-test}"
endpoint="http://127.0.0.1:${port}"
log="${TMPDIR:-/tmp}/plinth-s3-server-${port}.log"

up() { curl -fsS -o /dev/null "${endpoint}/" 2>/dev/null; }

if ! python3 -c 'import moto.server, flask_cors' >/dev/null 2>&1; then
  echo "installing moto[server]" >&2
  # Debian's python3 refuses system-wide installs unless told otherwise.
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' >&2
fi

pid=""
if ! up; then
  echo "starting moto on ${endpoint} (log: ${log})" >&2
  nohup python3 -m moto.server -H 127.0.0.1 -p "${port}" >"${log}" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    up && break
    kill -0 "${pid}" 2>/dev/null || { cat "${log}" >&2; exit 1; }
    sleep 0.2
  done
  up || { echo "moto did not start; see ${log}" >&2; exit 1; }
fi

# Creating an existing bucket is fine on moto (and answers 200).
curl -fsS -o /dev/null -X PUT "${endpoint}/${bucket}"
echo "bucket ${bucket} ready" >&2

cat <<ENV
export PLINTH_TEST_S3_ENDPOINT=${endpoint}
export PLINTH_TEST_S3_BUCKET=${bucket}
export PLINTH_TEST_S3_ACCESS_KEY_ID=test
export PLINTH_TEST_S3_SECRET_ACCESS_KEY=test
export PLINTH_TEST_S3_REGION=us-east-1
ENV
if [ -n "${pid}" ]; then
  echo "export PLINTH_TEST_S3_PID=${pid}"
fi
