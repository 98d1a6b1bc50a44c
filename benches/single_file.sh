#!/usr/bin/env bash
# Single large file against the many-files corpus: hvelv backup throughput and CPU use.
#
#   benches/single_file.sh [--size-mb N] [--work DIR] [--seed S] [--rounds R] [--keep]
#
# Backs up one file of N MiB (default 10240) made of generated corpus bytes, then the
# many-files corpus of the same size, each into an empty repository, and prints wall time,
# CPU (user + sys), CPU / wall (2.0 = both of two cores busy) and MB/s. Installs nothing.
set -euo pipefail

SIZE_MB=10240
WORK=/tmp/hvelv-single
SEED=1
ROUNDS=1
KEEP=

NAME=single_file.sh
# shellcheck source=benches/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

while [ $# -gt 0 ]; do
    case "$1" in
    --size-mb) SIZE_MB=${2:?--size-mb needs a value}; shift 2 ;;
    --work) WORK=${2:?--work needs a value}; shift 2 ;;
    --seed) SEED=${2:?--seed needs a value}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage 0 ;;
    *) note "unknown argument: $1"; usage 2 ;;
    esac
done
check_common

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
case "$WORK/" in
"$REPO_ROOT"/*) die "--work $WORK is inside the repository; use a directory outside it" ;;
esac
avail_mb=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
# While the file is made, a corpus part (up to 2 GiB) and the file exist at once; later the
# input and its repository (no larger than the input).
part_mb=$((SIZE_MB < 2048 ? SIZE_MB : 2048))
need_mb=$((SIZE_MB + (part_mb > SIZE_MB / 2 ? part_mb : SIZE_MB / 2) + 256))
[ "$avail_mb" -ge "$need_mb" ] ||
    die "$WORK has $avail_mb MiB free, this run needs about $need_mb MiB (--size-mb $SIZE_MB)"

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$REPO_ROOT/$TARGET_DIR ;; esac
note "building hvelv-corpus"
(cd "$REPO_ROOT" && cargo build --release -q -p hvelv-benches --bin hvelv-corpus) ||
    die "building hvelv-corpus failed"
CORPUS=$TARGET_DIR/release/hvelv-corpus
HVELV=${HVELV_BIN:-$TARGET_DIR/release/hvelv}
# HVELV_BIN=/path/to/hvelv measures a given binary instead of building the working tree.
if [ -z "${HVELV_BIN:-}" ]; then
    note "building hvelv"
    (cd "$REPO_ROOT" && cargo build --release -q -p hvelv) || die "building hvelv failed"
fi
export HVELV_PASSWORD=bench

SRC=$WORK/src
REPO=$WORK/repo
LOG=$WORK/log.txt
CSV=$WORK/results.csv
: >"$LOG"
echo "round,input,files,bytes,wall_s,user_s,sys_s,max_rss_kib" >"$CSV"
cleanup() { [ -n "$KEEP" ] || rm -rf "$SRC" "$REPO" "$WORK/part"; }
trap cleanup EXIT

# One file of SIZE_MB MiB: generated corpora (seeds SEED, SEED+1, …, at most 2 GiB each, so
# nothing repeats) concatenated in path order, holes read as zeros, cut to size.
make_single() {
    local want=$((SIZE_MB * 1048576)) have=0 seed=$SEED part
    mkdir -p "$SRC"
    : >"$SRC/big.bin"
    while [ "$have" -lt "$want" ]; do
        part=$(((want - have + 1048575) / 1048576))
        [ "$part" -le 2048 ] || part=2048
        rm -rf "$WORK/part"
        "$CORPUS" gen "$WORK/part" --size-mb "$part" --seed "$seed" >>"$LOG" 2>&1
        (cd "$WORK/part" && find . -type f -print0 | sort -z | xargs -0 cat) >>"$SRC/big.bin"
        have=$(stat -c %s "$SRC/big.bin")
        seed=$((seed + 1))
    done
    rm -rf "$WORK/part"
    truncate -s "$want" "$SRC/big.bin"
}

# run ROUND INPUT: a first backup of SRC into an empty repository, timed.
run() {
    local files bytes tf=$WORK/.time
    files=$(find "$SRC" -type f | wc -l)
    bytes=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
    rm -rf "$REPO"
    "$HVELV" -r "$REPO" init >>"$LOG" 2>&1 </dev/null || die "hvelv init failed, see $LOG"
    echo "+ $HVELV -r $REPO backup $SRC --host bench" >>"$LOG"
    /usr/bin/time -o "$tf" -f '%e %U %S %M' "$HVELV" -r "$REPO" backup "$SRC" --host bench \
        >>"$LOG" 2>&1 </dev/null || die "hvelv backup of the $2 input failed, see $LOG"
    read -r wall user sys rss < <(tail -n 1 "$tf")
    echo "$1,$2,$files,$bytes,$wall,$user,$sys,$rss" >>"$CSV"
    note "round $1 $2: $files file(s), ${wall}s wall, $(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.2f", (u + s) / w }') CPU/wall"
    rm -rf "$REPO"
}

for ((round = 1; round <= ROUNDS; round++)); do
    # Alternate which input goes first.
    if ((round % 2)); then order=(single many); else order=(many single); fi
    for input in "${order[@]}"; do
        rm -rf "$SRC"
        note "round $round: generating the $input input ($SIZE_MB MiB)"
        if [ "$input" = single ]; then
            make_single
        else
            "$CORPUS" gen "$SRC" --size-mb "$SIZE_MB" --seed "$SEED" >>"$LOG" 2>&1
        fi
        run "$round" "$input"
    done
done
rm -rf "$SRC"

{
    echo "hvelv ${HVELV_BIN:-$(cd "$REPO_ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')}, $SIZE_MB MiB, $ROUNDS round(s), medians; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    awk -F, '
    function median(list,    v, n, i, j, x) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) {
            x = v[i] + 0
            for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]
            v[j + 1] = x
        }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    NR == 1 { next }
    {
        files[$2] = $3; bytes[$2] = $4
        wall[$2] = wall[$2] " " $5; user[$2] = user[$2] " " $6; sys[$2] = sys[$2] " " $7
        util[$2] = util[$2] " " ($6 + $7) / $5; rss[$2] = rss[$2] " " $8
    }
    END {
        print "| input | files | MiB | wall s | user s | sys s | CPU / wall | MB/s | peak RSS MiB |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        split("single many", order, " ")
        for (i = 1; i <= 2; i++) {
            k = order[i]
            w = median(wall[k]); rate[k] = bytes[k] / 1e6 / w
            printf "| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f |\n", k, files[k], bytes[k] / 1048576, w, median(user[k]), median(sys[k]), median(util[k]), rate[k], median(rss[k]) / 1024
        }
        printf "\nsingle-file throughput = %.0f %% of the many-files corpus (target: at least 80 %%)\n", 100 * rate["single"] / rate["many"]
    }' "$CSV"
} | tee "$WORK/results.md"
note "raw rows: $CSV, log: $LOG"
