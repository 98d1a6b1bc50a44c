#!/usr/bin/env bash
# The main job on an embedded default: build hvelv, back up the sample folder into a local
# repository, back it up again (deduplicated), list, restore and compare. No server needed.
# Everything is written below target/demo; run it again any time.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p hvelv
hvelv=target/release/hvelv
demo=target/demo
rm -rf "$demo" && mkdir -p "$demo"
cp -a fixtures/sample "$demo/share"
head -c 8000000 /dev/urandom > "$demo/share/reports/scan-0001.pdf"   # an incompressible "scan"

echo "demo password: change me" > "$demo/password"
export HVELV_REPOSITORY="$demo/repo" HVELV_PASSWORD_FILE="$demo/password"

$hvelv init
$hvelv backup "$demo/share" --tag demo
echo "one more line" >> "$demo/share/letters/brev-001.txt"
$hvelv backup "$demo/share" --tag demo          # second run: only the change is read and stored
$hvelv snapshots
$hvelv ls latest "$PWD/$demo/share" --long
$hvelv restore "latest:$PWD/$demo/share" --target "$demo/restored"
diff -r "$demo/share" "$demo/restored" && echo "restore verified: $demo/restored equals $demo/share"
