#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the system tools the tests use (when
# run as root; otherwise says what to install), then checks formatting and lints and runs
# every test in the workspace. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v setfacl >/dev/null 2>&1 || need+=(acl)          # POSIX ACL round trip
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)   # unreadable-file test as root
command -v diff >/dev/null 2>&1 || need+=(diffutils)       # diff -r in round-trip tests
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils) # Noark 5 XSD validation tests
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test tools: ${need[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: some tests skip parts without: ${need[*]} (apt-get install ${need[*]})" >&2
  fi
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# S3 tests run against a loopback Ceph RGW; a server that cannot start fails the run.
export HVELV_TEST_S3_REQUIRED=1
s3env=$(scripts/s3-up.sh)
eval "$s3env"
if [ "$HVELV_S3_STARTED" = 1 ]; then trap 'bash ../shared/tools/s3-rgw.sh stop >&2' EXIT; fi
log=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole workspace (cargo prints one per test binary).
awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
