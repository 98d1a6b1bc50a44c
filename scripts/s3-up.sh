#!/usr/bin/env bash
# Start (or reuse) the loopback S3 test server — single-node Ceph RGW via ../shared/tools/s3-rgw.sh —
# create the test buckets, and print the environment the S3 tests read:
#   eval "$(scripts/s3-up.sh)"      # then: cargo test; stop with: bash ../shared/tools/s3-rgw.sh stop
# Buckets: hvelv-test (plain) and hvelv-lock (Object Lock enabled). Idempotent: a server that
# already answers on the port is reused. Progress goes to stderr; stdout is only `export` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
RGW=../shared/tools/s3-rgw.sh
[ -f "$RGW" ] || { echo "s3-up: $RGW not found (expected next to the repository)" >&2; exit 1; }
port=${RGW_PORT:-7480}
ep="http://127.0.0.1:$port"

started=0
if curl -s -o /dev/null --max-time 2 "$ep/"; then
  echo "s3-up: reusing the S3 server on $ep" >&2
  env_lines=$(cat <<EOF
export AWS_ENDPOINT=$ep
export AWS_ALLOW_HTTP=true
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=${RGW_ACCESS_KEY:-ci-access-key}
export AWS_SECRET_ACCESS_KEY=${RGW_SECRET_KEY:-ci-secret-key-0123456789}
EOF
)
else
  echo "s3-up: installing (if needed) and starting Ceph RGW on $ep (~20 s)" >&2
  bash "$RGW" install >&2
  env_lines=$(bash "$RGW" start)
  started=1
fi

bash "$RGW" bucket hvelv-test >&2
bash "$RGW" bucket hvelv-lock lock >&2

echo "$env_lines"
echo "export HVELV_TEST_S3=s3:$ep/hvelv-test"
echo "export HVELV_TEST_S3_LOCK=s3:$ep/hvelv-lock"
echo "export HVELV_S3_STARTED=$started"
