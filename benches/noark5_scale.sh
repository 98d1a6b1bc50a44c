#!/usr/bin/env bash
# Scale benchmark of the Noark 5 layer (issue 3; not a timed test).
#
# Generates a deterministic synthetic case-system export (default: the issue's size, 1,000,000
# registrations and 100,000 documents), builds a Noark 5 extract from it and validates the
# extract (Arkade-equivalent checks plus xmllint XSD validation), each step in its own process
# under /usr/bin/time -v. Reports wall time and peak RSS per step: `peak_rss_kib` is hvelv's own
# VmHWM; "Maximum resident set size" from time(1) is the largest single process of the step's
# process tree (for validate that may be the xmllint child).
#
# usage: benches/noark5_scale.sh [REGISTRATIONS] [DOCUMENTS] [WORKDIR]
# needs: ../shared/noark5/schemas (the official XSD set), xmllint (libxml2-utils), ~3 GB disk
# per 1M registrations in WORKDIR (default: a new folder under ${TMPDIR:-/tmp}).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
D=${2:-100000}
WORK=${3:-$(mktemp -d "${TMPDIR:-/tmp}/hvelv-noark5-scale.XXXXXX")}
SCHEMAS=${HVELV_NOARK5_SCHEMAS:-../shared/noark5/schemas}
[ -f "$SCHEMAS/arkivstruktur.xsd" ] || { echo "schema set not found in $SCHEMAS (set HVELV_NOARK5_SCHEMAS)" >&2; exit 1; }
command -v xmllint >/dev/null || { echo "xmllint not found (apt-get install libxml2-utils)" >&2; exit 1; }

cargo build --release -p hvelv-noark5 --example noark5_scale
BIN=${CARGO_TARGET_DIR:-target}/release/examples/noark5_scale

step() {
  local name=$1; shift
  echo "== $name"
  if ! /usr/bin/time -v "$BIN" "$name" "$@" 2> "$WORK/$name.time"; then
    cat "$WORK/$name.time" >&2
    exit 1
  fi
  grep -E "Elapsed \(wall|Maximum resident" "$WORK/$name.time" | sed 's/^\s*/   time(1): /'
}

rm -rf "$WORK/export" "$WORK/uttrekk"
step gen "$WORK/export" "$N" "$D"
du -sh "$WORK/export" | sed 's/^/   size: /'
step extract "$WORK/export" "$WORK/uttrekk" "$SCHEMAS"
du -sh "$WORK/uttrekk" | sed 's/^/   size: /'
ls -l "$WORK/uttrekk"/*.xml | awk '{printf "   %s %d MB\n", $9, $5/1048576}'
step validate "$WORK/uttrekk"
echo "work folder: $WORK (remove it when done)"
