# Shared by compare.sh and single_file.sh: messages, usage and argument checks. Source it after
# setting NAME (the script's name for messages).

usage() {
    # The comment block below the shebang.
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
    exit "${1:-0}"
}
die() {
    echo "$NAME: $*" >&2
    exit 1
}
note() { echo "$NAME: $*" >&2; }

# check_common: validates SIZE_MB, ROUNDS and SEED, and that GNU time is installed.
check_common() {
    [[ $SIZE_MB =~ ^[0-9]+$ && $SIZE_MB -gt 0 ]] || die "--size-mb must be a positive integer"
    [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || die "--rounds must be a positive integer"
    [[ $SEED =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
    /usr/bin/time --version 2>&1 | grep -q GNU ||
        die "GNU time (/usr/bin/time) is required: apt-get install time"
}
