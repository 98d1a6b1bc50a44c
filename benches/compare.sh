#!/usr/bin/env bash
# Peer comparison: hvelv against restic, borg and rustic on the deterministic corpus.
#
#   benches/compare.sh [--size-mb N] [--rounds R] [--work DIR] [--tools hvelv,hvelv-key,restic,borg,rustic] [--seed S] [--drop-caches] [--restore-to DIR]
#
# --restore-to DIR: restore into DIR (e.g. a tmpfs: /dev/shm/hvelv-compare) instead of WORK,
# each restored tree deleted once checked. On a file system that keeps freed inodes from reuse
# for a while (ext4 without a journal: `recently_deleted`, one minute, six when the inode
# table block is dirty), every restore after a deletion pays seconds of system time in the
# inode allocator, whichever tool runs; a tmpfs target measures the tools instead.
#
# --drop-caches (root only): before each restore, drop the page cache and read the tool's
# repository and cache back in, so every restore starts from the same memory state whatever
# its place in the order (the restored trees of the tools before it otherwise fill the cache).
#
# hvelv opens its repository with a password (Argon2id, as the peers use scrypt/PBKDF2);
# hvelv-key with a generated key file (`init --generate-key`), as an unattended job would.
#
# Installs nothing. See benches/README.md for the phases and how to read the table.
# Output: a markdown table on stdout, WORK/results.md, raw rows in WORK/results.csv,
# every tool's output in WORK/logs/.
set -euo pipefail

SIZE_MB=2048
ROUNDS=3
WORK=/tmp/hvelv-compare
TOOLS=hvelv,hvelv-key,restic,borg,rustic
SEED=1
DROP_CACHES=0
RESTORE_TO=

NAME=compare.sh
# shellcheck source=benches/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

while [ $# -gt 0 ]; do
    case "$1" in
    --size-mb) SIZE_MB=${2:?--size-mb needs a value}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --work) WORK=${2:?--work needs a value}; shift 2 ;;
    --tools) TOOLS=${2:?--tools needs a value}; shift 2 ;;
    --seed) SEED=${2:?--seed needs a value}; shift 2 ;;
    --drop-caches) DROP_CACHES=1; shift ;;
    --restore-to) RESTORE_TO=${2:?--restore-to needs a value}; shift 2 ;;
    -h | --help) usage 0 ;;
    *) note "unknown argument: $1"; usage 2 ;;
    esac
done
check_common
if [ "$DROP_CACHES" = 1 ] && ! [ -w /proc/sys/vm/drop_caches ]; then
    die "--drop-caches needs root (it writes /proc/sys/vm/drop_caches)"
fi

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
case "$WORK/" in
"$REPO_ROOT"/*) die "--work $WORK is inside the repository; use a directory outside it" ;;
esac
SRC=$WORK/src
if [ -n "$RESTORE_TO" ]; then
    mkdir -p "$RESTORE_TO"
    RESTORE_TO=$(cd "$RESTORE_TO" && pwd -P)
else
    RESTORE_TO=$WORK
fi

# ---- tools -------------------------------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1; }
selected=()
IFS=, read -r -a wanted <<<"$TOOLS"
for t in "${wanted[@]}"; do
    case "$t" in
    hvelv | hvelv-key) selected+=("$t") ;;
    restic)
        have restic || die "restic is required as the reference peer: apt-get install restic"
        selected+=(restic) ;;
    borg)
        if have borg; then selected+=(borg); else
            note "borg not found, skipping it (install: apt-get install borgbackup)"
        fi ;;
    rustic)
        if have rustic; then selected+=(rustic); else
            note "rustic not found, skipping it (install: cargo install rustic-rs --locked)"
        fi ;;
    *) die "unknown tool '$t' (known: hvelv, hvelv-key, restic, borg, rustic)" ;;
    esac
done
[ ${#selected[@]} -gt 0 ] || die "no tool left to compare"

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$REPO_ROOT/$TARGET_DIR ;; esac
note "building hvelv-corpus"
(cd "$REPO_ROOT" && cargo build --release -q -p hvelv-benches --bin hvelv-corpus) ||
    die "building hvelv-corpus failed"
CORPUS=$TARGET_DIR/release/hvelv-corpus
HVELV=${HVELV_BIN:-$TARGET_DIR/release/hvelv}
# HVELV_BIN=/path/to/hvelv measures a given binary (e.g. a copy of an earlier build) instead of
# building the working tree.
if [[ -z "${HVELV_BIN:-}" && " ${selected[*]} " == *" hvelv"* ]]; then
    note "building hvelv"
    (cd "$REPO_ROOT" && cargo build --release -q -p hvelv) || die "building hvelv failed"
fi

BORG_MAJOR=1
if [[ " ${selected[*]} " == *" borg "* ]]; then
    BORG_MAJOR=$(borg --version | sed -E 's/^borg ([0-9]+).*/\1/')
fi

export HVELV_PASSWORD=bench RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench RUSTIC_PASSWORD=bench
# Caches live in WORK and are dropped with the repositories at the start of each round.
export RESTIC_CACHE_DIR=$WORK/cache/restic RUSTIC_CACHE_DIR=$WORK/cache/rustic BORG_BASE_DIR=$WORK/cache/borg

# Sets CMD to the command line for TOOL and STEP (init, backup, restore).
# Restore runs in the (empty) target directory: borg extracts into the working directory.
command_for() {
    local tool=$1 step=$2 repo=$WORK/repo-$1 target=$RESTORE_TO/restore-$1
    case "$tool/$step" in
    hvelv/init) CMD=("$HVELV" -r "$repo" init) ;;
    hvelv/backup) CMD=("$HVELV" -r "$repo" backup "$SRC" --host bench) ;;
    hvelv/restore) CMD=("$HVELV" -r "$repo" restore latest --target "$target") ;;
    hvelv-key/init) CMD=("$HVELV" -r "$repo" init --generate-key "$WORK/hvelv-key.secret") ;;
    hvelv-key/backup) CMD=("$HVELV" -r "$repo" --password-file "$WORK/hvelv-key.secret" backup "$SRC" --host bench) ;;
    hvelv-key/restore) CMD=("$HVELV" -r "$repo" --password-file "$WORK/hvelv-key.secret" restore latest --target "$target") ;;
    restic/init) CMD=(restic -r "$repo" init) ;;
    restic/backup) CMD=(restic -r "$repo" backup "$SRC" --host bench) ;;
    restic/restore) CMD=(restic -r "$repo" restore latest --target "$target") ;;
    rustic/init) CMD=(rustic -r "$repo" init) ;;
    rustic/backup) CMD=(rustic -r "$repo" backup "$SRC" --host bench) ;;
    rustic/restore) CMD=(rustic -r "$repo" restore latest "$target") ;;
    borg/init)
        if [ "$BORG_MAJOR" -ge 2 ]; then
            CMD=(borg -r "$repo" repo-create -e repokey-blake2-chacha20-poly1305)
        else
            CMD=(borg init -e repokey-blake2 "$repo")
        fi ;;
    borg/backup)
        if [ "$BORG_MAJOR" -ge 2 ]; then
            CMD=(borg -r "$repo" create --compression zstd,3 'bench-{now:%Y-%m-%dT%H:%M:%S.%f}' "$SRC")
        else
            CMD=(borg create --compression zstd,3 "$repo::{now:%Y-%m-%dT%H:%M:%S.%f}" "$SRC")
        fi ;;
    borg/restore)
        local name
        if [ "$BORG_MAJOR" -ge 2 ]; then
            name=$(borg -r "$repo" repo-list --last 1 --format '{archive}{NL}')
            CMD=(borg -r "$repo" extract "$name")
        else
            name=$(borg list --last 1 --short "$repo")
            CMD=(borg extract "$repo::$name")
        fi ;;
    esac
}

# timed LOG DIR CMD...: runs CMD in DIR with its output appended to LOG, sets T_WALL T_USER
# T_SYS T_RSS (seconds, seconds, seconds, KiB) and returns CMD's status.
timed() {
    local log=$1 dir=$2 tf=$WORK/.time rc=0
    shift 2
    echo "+ $*" >>"$log"
    # Start every timed step with no dirty pages: otherwise the writeback of the previous
    # tool's restore (2 GiB) is charged to whoever runs next, as system time (measured: the
    # same restore took 6 s first and 19-22 s after two others).
    sync
    (cd "$dir" && exec /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@") >>"$log" 2>&1 </dev/null || rc=$?
    # A failing command puts "Command exited with non-zero status N" above the numbers.
    read -r T_WALL T_USER T_SYS T_RSS < <(tail -n 1 "$tf")
    return $rc
}

file_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

# With --drop-caches: an empty page cache, then TOOL's repository and cache read back in.
same_cache_state() {
    [ "$DROP_CACHES" = 1 ] || return 0
    sync
    echo 1 >/proc/sys/vm/drop_caches
    local d
    for d in "$WORK/repo-$1" "$WORK/cache/$1"; do
        if [ -d "$d" ]; then find "$d" -type f -exec cat {} + >/dev/null; fi
    done
}

CSV=$WORK/results.csv
LOGS=$WORK/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
echo "round,phase,tool,wall_s,user_s,sys_s,max_rss_kib,repo_bytes,corpus_bytes,status" >"$CSV"

# record ROUND PHASE TOOL REPO_BYTES CORPUS_BYTES STATUS (uses T_*).
record() {
    echo "$1,$2,$3,${T_WALL:-},${T_USER:-},${T_SYS:-},${T_RSS:-},$4,$5,$6" >>"$CSV"
}

clean_round() {
    rm -rf "$SRC" "$WORK/cache" "$WORK/.time"
    rm -f "$WORK/hvelv-key.secret"
    for t in hvelv hvelv-key restic borg rustic; do rm -rf "$WORK/repo-$t" "$RESTORE_TO/restore-$t"; done
}

# The restored copy of SRC below TARGET: tools differ in whether they keep the absolute path.
restored_root() {
    local target=$1 c
    for c in "$target$SRC" "$target/$(basename "$SRC")" "$target"; do
        if [ -d "$c/Felles" ]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

PHASES=(initial day2 unchanged restore)
for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the tool order so no tool always runs first (cold caches) or last.
    n=${#selected[@]}
    order=()
    for ((i = 0; i < n; i++)); do order+=("${selected[$(((i + round - 1) % n))]}"); done
    note "round $round/$ROUNDS: order ${order[*]}"
    clean_round
    "$CORPUS" gen "$SRC" --size-mb "$SIZE_MB" --seed "$SEED" >&2
    declare -A failed=()
    for phase in "${PHASES[@]}"; do
        if [ "$phase" = day2 ]; then "$CORPUS" mutate "$SRC" --seed "$SEED" >&2; fi
        bytes=$(file_bytes "$SRC")
        for t in "${order[@]}"; do
            log=$LOGS/r$round-$phase-$t.log
            T_WALL= T_USER= T_SYS= T_RSS=
            if [ -n "${failed[$t]:-}" ]; then
                record "$round" "$phase" "$t" "" "$bytes" skipped
                continue
            fi
            case "$phase" in
            initial)
                command_for "$t" init
                echo "+ ${CMD[*]}" >"$log"
                if ! "${CMD[@]}" >>"$log" 2>&1 </dev/null; then
                    note "$t init failed, see $log"
                    failed[$t]=1
                    record "$round" "$phase" "$t" "" "$bytes" fail
                    continue
                fi
                ;;
            restore)
                rm -rf "$RESTORE_TO/restore-$t" && mkdir -p "$RESTORE_TO/restore-$t"
                same_cache_state "$t"
                ;;
            esac
            if [ "$phase" = restore ]; then
                command_for "$t" restore
                dir=$RESTORE_TO/restore-$t
            else
                command_for "$t" backup
                dir=$WORK
            fi
            if ! timed "$log" "$dir" "${CMD[@]}"; then
                note "$t $phase failed, see $log"
                failed[$t]=1
                record "$round" "$phase" "$t" "" "$bytes" fail
                continue
            fi
            status=ok
            repo_bytes=
            if [ "$phase" = restore ]; then
                if ! root=$(restored_root "$RESTORE_TO/restore-$t"); then
                    note "$t restore: no copy of $SRC found under $RESTORE_TO/restore-$t"
                    status=verify-fail
                elif ! diff -r "$SRC" "$root" >"$LOGS/r$round-restore-$t.diff" 2>&1; then
                    note "$t restore differs from the source, see $LOGS/r$round-restore-$t.diff"
                    status=verify-fail
                fi
                # On WORK's file system restored trees stay until the next round: ext4 skips
                # inodes freed in the last minute when it allocates new ones, and a restore
                # right after another's deletion took 3x as long, in system time (measured:
                # 5.2 s first, 15.8 s next; `recently_deleted` led the profile).
                if [ "$RESTORE_TO" != "$WORK" ]; then rm -rf "$RESTORE_TO/restore-$t"; fi
            else
                repo_bytes=$(du -sb "$WORK/repo-$t" | cut -f1)
            fi
            record "$round" "$phase" "$t" "$repo_bytes" "$bytes" "$status"
            note "round $round $phase $t: ${T_WALL}s wall, $status"
        done
    done
    unset failed
done
for t in "${selected[@]}"; do rm -rf "$RESTORE_TO/restore-$t"; done

# ---- report ------------------------------------------------------------------------------
versions() {
    local t
    for t in "${selected[@]}"; do
        case "$t" in
        hvelv | hvelv-key)
            if [ -n "${HVELV_BIN:-}" ]; then echo "$t $HVELV_BIN"; else
                echo "$t $(cd "$REPO_ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
            fi ;;
        restic) restic version | head -n 1 ;;
        borg) borg --version ;;
        rustic) rustic --version ;;
        esac
    done | paste -sd ';' | sed 's/;/; /g'
}

{
    echo "Corpus $SIZE_MB MiB (seed $SEED), $ROUNDS round(s), medians; $(nproc) CPUs, $(uname -sr)."
    if [ "$DROP_CACHES" = 1 ]; then
        echo "Before each restore the page cache was dropped and the tool's repository read back in."
    fi
    if [ "$RESTORE_TO" != "$WORK" ]; then
        echo "Restores went to $RESTORE_TO ($(df --output=fstype "$RESTORE_TO" | tail -n 1))."
    fi
    echo "Tools: $(versions)."
    echo
    # Medians per phase x tool over the rounds with status ok (a restore that ran but did
    # not verify still counts for time, and is flagged).
    awk -F, -v tools="${selected[*]}" '
    function median(list,    v, n, i, j, x) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) {
            x = v[i] + 0
            for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]
            v[j + 1] = x
        }
        if (n == 0) return ""
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    NR == 1 { next }
    {
        k = $2 SUBSEP $3
        runs[k]++
        if ($10 == "ok" || $10 == "verify-fail") {
            wall[k] = wall[k] " " $4
            cpu[k] = cpu[k] " " ($5 + $6)
            rss[k] = rss[k] " " $7
            if ($8 != "") repo[k] = repo[k] " " $8
            corpus[k] = corpus[k] " " $9
        }
        if ($10 != "ok") bad[k] = bad[k] " " $10 "(r" $1 ")"
    }
    END {
        split("initial day2 unchanged restore", phases, " ")
        split("1 initial backup|2 day-2 backup|3 unchanged re-run|4 full restore", label, "|")
        nt = split(tools, tl, " ")
        print "| Phase | Tool | Wall s | CPU s | Peak RSS MiB | Repo MiB | MB/s | hvelv/peer wall | hvelv-key/peer wall |"
        print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
        for (p = 1; p <= 4; p++) {
            hw = median(wall[phases[p] SUBSEP "hvelv"])
            kw = median(wall[phases[p] SUBSEP "hvelv-key"])
            for (i = 1; i <= nt; i++) {
                k = phases[p] SUBSEP tl[i]
                if (!(k in runs)) continue
                w = median(wall[k])
                note = (k in bad) ? " (" substr(bad[k], 2) ")" : ""
                if (w == "") {
                    printf "| %s | %s | FAILED%s | | | | | | |\n", label[p], tl[i], note
                    continue
                }
                r = median(repo[k])
                rs = r == "" ? "-" : sprintf("%.1f", r / 1048576)
                tp = w > 0 ? sprintf("%.1f", median(corpus[k]) / 1e6 / w) : "-"
                if (tl[i] ~ /^hvelv/) { ratio = "-"; kratio = "-" }
                else {
                    ratio = (hw == "" || w == 0) ? "n/a" : sprintf("%.2f", hw / w)
                    kratio = (kw == "" || w == 0) ? "n/a" : sprintf("%.2f", kw / w)
                }
                printf "| %s | %s%s | %.2f | %.2f | %.1f | %s | %s | %s | %s |\n", label[p], tl[i], note, w, median(cpu[k]), median(rss[k]) / 1024, rs, tp, ratio, kratio
            }
        }
    }' "$CSV"
} >"$WORK/results.md"

cat "$WORK/results.md"
note "raw rows: $CSV, table: $WORK/results.md, logs: $LOGS"
