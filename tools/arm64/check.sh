#!/usr/bin/env bash
# tools/arm64/check.sh: install and run edgematte on an emulated Raspberry Pi (Debian bookworm arm64 under
# qemu-user), exactly as the README says, and compare its outputs with the same commands on this x86 host.
#
# Usage: sudo bash tools/arm64/check.sh [options]          (root is needed: debootstrap, chroot, mount)
#
# What it does (timings of every phase are printed and written to the results file):
#   1. An emulated Debian bookworm arm64 root (Python 3.11, like Raspberry Pi OS bookworm): debootstrap --foreign,
#      second stage under qemu-user-static, apt python3 python3-venv python3-pip ca-certificates. Built once and
#      kept in the cache dir; reused while its ready marker is there.
#   2. The project's tree (`git archive HEAD`, or the working tree with --worktree) is copied into the root at
#      /work/edgematte, a fresh venv is made as the README recommends, and README.md's first command
#      (`pip install -e . && edgematte remove ...`) runs in it with a clean environment (env -i), pip pointed at
#      the public index only, and PIP_ONLY_BINARY=:all:, so the check fails if pip would build any dependency
#      from source (our own editable package is the only thing built; the pip log is checked for that too). A
#      probe first shows that this setting really refuses a dependency that only exists as an sdist.
#   3. For each emulated CPU (QEMU_CPU=cortex-a72 with a Raspberry Pi 4 /proc/cpuinfo, cortex-a76 with a Pi 5
#      one), with EDGEMATTE_PROFILE unset so device detection is exercised: detect(), `edgematte models`,
#      `remove` on the sample and on real eval photos, `remove --model portrait` on a person, `compose --preset
#      amazon` on a product, and `pytest tests/test_kernels.py`. Numba's cache is kept per CPU in the cache dir.
#   4. The same commands on this host (its venv, EDGEMATTE_PROFILE=pi4 / pi5, the same tree on PYTHONPATH), then
#      tools/arm64/compare.py compares the images with stated tolerances (never bit-equality).
#   5. A summary (pass/fail, time per phase, differences) on stdout and in bench/results/arm64-check.md.
#
# Options:
#   --project PATH      The edgematte checkout to test (default: the repo holding this script).
#   --worktree          Test PATH's working tree (tracked + untracked, not ignored files) instead of its HEAD.
#   --cache DIR         Cache dir: the arm64 root, Numba caches, logs and outputs of the last run.
#                       Default $EDGEMATTE_ARM64_CACHE, else /var/cache/edgematte-arm64.
#   --cpus "A B"        QEMU CPUs to run (default "cortex-a72 cortex-a76"; a72 = Pi 4 / profile pi4, a76 = pi5).
#   --host-python PY    The host interpreter with edgematte's pinned dependencies (default PATH/.venv/bin/python).
#   --eval DIR          The eval images (default $EDGEMATTE_EVAL, else PATH/../shared/eval); bound read-only.
#   --results FILE      Where the summary goes (default PATH/bench/results/arm64-check.md).
#   --mirror URL        Debian mirror (default http://deb.debian.org/debian; security: --security-mirror URL,
#                       default http://deb.debian.org/debian-security).
#   --rebuild-root      Build the root again from nothing (the old one is deleted once nothing is mounted in it).
#   --fresh-numba       Empty the per-CPU Numba caches first (the first run then compiles: ~4 min per CPU).
#   --pin-profile       Also set EDGEMATTE_PROFILE inside the root (outputs then compare even if detection is wrong).
#   --allow-detect-mismatch  A detect() result other than the CPU's board is reported, not failed.
#   --skip-probe        Skip the probe that shows PIP_ONLY_BINARY=:all: refuses an sdist-only dependency.
#   --timeout SECONDS   Per command in the root (default 3600).
#   -h, --help          This text.
#
# Exit status: 0 when every check passed, 1 when a check failed (the summary lists which), 2 on bad usage.
# Needs: a Debian/Ubuntu x86_64 host, root, network access to the Debian mirror and PyPI, ~2 GB in the cache dir;
# qemu-user-static binfmt-support debootstrap are apt-installed when missing. binfmt_misc is mounted and
# qemu-aarch64 registered when needed (left so: neither survives a reboot). Every mount under the root is
# undone on exit, on failure too; nothing is deleted while anything is mounted below it.
# Time: ~45-60 min from nothing on 2 cores (root ~15 min, pip ~5 min, Numba's first compile ~4 min per CPU);
# from the cache ~15-20 min. Run it niced if the machine is shared: nice -n 10 bash tools/arm64/check.sh

set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
START_TS=$EPOCHREALTIME

# ----------------------------------------------------------------------------------------------- settings
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY_MIRROR=http://deb.debian.org/debian-security
APT_PACKAGES=(python3 python3-venv python3-pip ca-certificates)
PYPI_INDEX=https://pypi.org/simple
CPUS="cortex-a72 cortex-a76"
declare -A CPU_PROFILE=([cortex-a72]=pi4 [cortex-a76]=pi5)
declare -A CPU_CPUINFO=([cortex-a72]=cpuinfo-pi4-cortex-a72.txt [cortex-a76]=cpuinfo-pi5-cortex-a76.txt)
# Real photos from ../shared/eval (see each set's SOURCE.md): objects, a thin hard case, synthetic products.
PHOTOS=(
    grabcut50/images/teddy.jpg
    grabcut50/images/banana1.png
    grabcut50/images/flower.jpg
    ebay_synth_products/images/test_00000003.jpg
    ebay_synth_products/images/val_00000137.jpg
)
PERSON=grabcut50/images/person3.jpg  # a person (grabcut50's person1-8), for the portrait (MODNet) path
PRODUCT=grabcut50/images/ceramic.png # a real product-like photo for the Amazon main image
IN_ROOT_PROJECT=/work/edgematte      # fixed paths, so Numba's cache (keyed by source path) is reused
IN_ROOT_EVAL=/work/shared/eval       # = the project's ../shared/eval, as the README lays it out
IN_ROOT_OUT=/work/out
IN_ROOT_NUMBA=/var/cache/edgematte-numba
IN_ROOT_TOOLS=/work/arm64-tools     # this script's helpers (hwcaps.py), copied in each run
CMD_TIMEOUT=3600

PROJECT=""
TREE="head"
CACHE_DIR=${EDGEMATTE_ARM64_CACHE:-/var/cache/edgematte-arm64}
HOST_PYTHON=""
EVAL_DIR=${EDGEMATTE_EVAL:-}
RESULTS=""
REBUILD_ROOT=0
FRESH_NUMBA=0
PIN_PROFILE=0
ALLOW_DETECT_MISMATCH=0
SKIP_PROBE=0

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() {
    echo "check.sh: error: $*" >&2
    FATAL="$*"
    exit 1
}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

while (($#)); do
    case $1 in
    --project) PROJECT=${2:?--project needs a path}; shift 2 ;;
    --worktree) TREE=worktree; shift ;;
    --cache) CACHE_DIR=${2:?--cache needs a dir}; shift 2 ;;
    --cpus) CPUS=${2:?--cpus needs a list}; shift 2 ;;
    --host-python) HOST_PYTHON=${2:?--host-python needs a path}; shift 2 ;;
    --eval) EVAL_DIR=${2:?--eval needs a dir}; shift 2 ;;
    --results) RESULTS=${2:?--results needs a file}; shift 2 ;;
    --mirror) MIRROR=${2:?--mirror needs a URL}; shift 2 ;;
    --security-mirror) SECURITY_MIRROR=${2:?--security-mirror needs a URL}; shift 2 ;;
    --rebuild-root) REBUILD_ROOT=1; shift ;;
    --fresh-numba) FRESH_NUMBA=1; shift ;;
    --pin-profile) PIN_PROFILE=1; shift ;;
    --allow-detect-mismatch) ALLOW_DETECT_MISMATCH=1; shift ;;
    --skip-probe) SKIP_PROBE=1; shift ;;
    --timeout) CMD_TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "check.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

[[ -n $PROJECT ]] || PROJECT=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null) ||
    { echo "check.sh: $SCRIPT_DIR is not in a git checkout; give --project PATH" >&2; exit 2; }
PROJECT=$(cd "$PROJECT" && pwd)
[[ -f $PROJECT/pyproject.toml && -f $PROJECT/README.md ]] || { echo "check.sh: $PROJECT is not an edgematte checkout" >&2; exit 2; }
[[ -n $HOST_PYTHON ]] || HOST_PYTHON=$PROJECT/.venv/bin/python
[[ -n $EVAL_DIR ]] || EVAL_DIR=$(dirname "$PROJECT")/shared/eval
[[ -n $RESULTS ]] || RESULTS=$PROJECT/bench/results/arm64-check.md
for cpu in $CPUS; do
    [[ -n ${CPU_PROFILE[$cpu]:-} ]] || { echo "check.sh: unknown CPU '$cpu' (known: ${!CPU_PROFILE[*]})" >&2; exit 2; }
done
[[ $CACHE_DIR != *[[:space:]]* && $CACHE_DIR == /* ]] || { echo "check.sh: --cache must be an absolute path without spaces" >&2; exit 2; }
[[ $CMD_TIMEOUT =~ ^[0-9]+$ ]] || { echo "check.sh: --timeout takes whole seconds" >&2; exit 2; }
CACHE_DIR=${CACHE_DIR%/}
ROOT=$CACHE_DIR/root-$SUITE-arm64
RUN=$CACHE_DIR/last-run # logs, host outputs, the summary of the last run (emptied at the start of each run)
READY=$ROOT/.edgematte-root-ready

# ----------------------------------------------------------------------------------------------- bookkeeping
PH_NAMES=()
PH_SECS=()
PH_NOTES=()
FAILURES=()
NOTES=()
FATAL=""
CUR_PHASE=""
FINISHED=0
RUN_READY=0
declare -A CMD_SECS=() CMD_RC=() DETECT=() HWCAPS=()

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
phase() {
    CUR_PHASE=$1
    PH_T0=$EPOCHREALTIME
    log "== $1"
}
phase_done() {
    local dt
    dt=$(secs_since "$PH_T0")
    PH_NAMES+=("$CUR_PHASE")
    PH_SECS+=("$dt")
    PH_NOTES+=("${1:-}")
    log "   $CUR_PHASE: ${dt} s${1:+ ($1)}"
    CUR_PHASE=""
}
fail() {
    FAILURES+=("$*")
    log "FAIL: $*"
}
show_tail() { [[ -f $1 ]] && { echo "--- last lines of $1:"; tail -n "${2:-25}" "$1"; echo "---"; } >&2 || true; }

# ----------------------------------------------------------------------------------------------- mounts
mounts_under() { # every mount point at or below $1, deepest first
    awk -v b="$1" '$2 == b || index($2, b "/") == 1 { print $2 }' /proc/self/mounts | sort -r -u
}
is_mounted() { awk -v p="$1" '$2 == p { f = 1 } END { exit !f }' /proc/self/mounts; }
umount_all_under() {
    local base=$1 m
    for _ in 1 2 3; do
        local left
        left=$(mounts_under "$base")
        [[ -z $left ]] && return 0
        while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "check.sh: could not unmount $m" >&2
        done <<<"$left"
    done
    [[ -z $(mounts_under "$base") ]]
}
safe_rm() { # rm -rf, refused while anything is mounted at or below the path
    local p=$1
    [[ -e $p ]] || return 0
    if [[ -n $(mounts_under "$(realpath "$p")") ]]; then
        die "refusing to delete $p: still mounted below it: $(mounts_under "$(realpath "$p")" | tr '\n' ' ')"
    fi
    rm -rf --one-file-system "$p"
}
bind() { # bind SRC DST [ro]
    mount --bind "$1" "$2" || die "mount --bind $1 $2 failed"
    mount --make-rslave "$2" 2>/dev/null || true
    if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$2" || die "could not make $2 read-only"; fi
}
mount_system() { # proc, dev, sys inside the root (idempotent)
    is_mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc" || die "mount proc in the root failed"
    is_mounted "$ROOT/dev" || bind /dev "$ROOT/dev"
    is_mounted "$ROOT/dev/pts" || bind /dev/pts "$ROOT/dev/pts"
    if [[ -d /dev/shm ]] && ! is_mounted "$ROOT/dev/shm"; then bind /dev/shm "$ROOT/dev/shm"; fi
    # Without /sys, XNNPACK is silently skipped (aarch64.md).
    is_mounted "$ROOT/sys" || mount -t sysfs sysfs "$ROOT/sys" || die "mount sysfs in the root failed"
}
bind_cpu() { # bind the CPU's fake cpuinfo and its Numba cache (XNNPACK crashes on the host's x86 cpuinfo)
    local cpu=$1
    is_mounted "$ROOT/proc/cpuinfo" && { umount "$ROOT/proc/cpuinfo" || die "could not unmount the old cpuinfo"; }
    bind "$SCRIPT_DIR/${CPU_CPUINFO[$cpu]}" "$ROOT/proc/cpuinfo" ro
    mkdir -p "$CACHE_DIR/numba/$cpu" "$ROOT$IN_ROOT_NUMBA"
    is_mounted "$ROOT$IN_ROOT_NUMBA" && { umount "$ROOT$IN_ROOT_NUMBA" || die "could not unmount the old Numba cache"; }
    bind "$CACHE_DIR/numba/$cpu" "$ROOT$IN_ROOT_NUMBA"
}

# ----------------------------------------------------------------------------------------------- summary
write_summary() {
    local verdict=PASS i cpu
    ((${#FAILURES[@]} == 0)) && [[ -z $FATAL ]] || verdict=FAIL
    mkdir -p "$(dirname "$RESULTS")"
    {
        echo "# arm64 install-and-run check (emulated Raspberry Pi 4 / 5)"
        echo
        echo "Written by \`tools/arm64/check.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Verdict: **$verdict**."
        echo
        echo "- Tree: ${TREE_DESC:-?}"
        echo "- Host: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(qemu-aarch64-static --version 2>/dev/null | head -1)"
        echo "- Root: ${ROOT_DESC:-?} (cache: \`$CACHE_DIR\`, ${ROOT_STATE:-?})"
        echo "- Install: README's first command \`${README_CMD:-?}\` in a fresh venv, \`env -i\`, index $PYPI_INDEX only, PIP_ONLY_BINARY=:all:; built from source: ${BUILT_DESC:-?}; only-binary probe: ${PROBE_DESC:-?}"
        echo "- Total: $(secs_since "$START_TS") s"
        if [[ -n $FATAL ]]; then echo "- **Stopped** in phase '${CUR_PHASE:-?}': $FATAL"; fi
        echo
        echo "## Phases"
        echo
        echo "| phase | seconds | note |"
        echo "|---|---:|---|"
        for i in "${!PH_NAMES[@]}"; do echo "| ${PH_NAMES[$i]} | ${PH_SECS[$i]} | ${PH_NOTES[$i]} |"; done
        echo
        if ((${#DETECT[@]})); then
            echo "## Device detection (EDGEMATTE_PROFILE unset in the root$( ((PIN_PROFILE)) && echo ', except --pin-profile for the runs'))"
            echo
            echo "| QEMU_CPU | cpuinfo bound | expected | detect() printed | AT_HWCAP features (qemu) |"
            echo "|---|---|---|---|---|"
            for cpu in $CPUS; do
                [[ -n ${DETECT[$cpu]:-} ]] || continue
                echo "| $cpu | ${CPU_CPUINFO[$cpu]} | ${CPU_PROFILE[$cpu]} | ${DETECT[$cpu]} | ${HWCAPS[$cpu]:-?} |"
            done
            echo
        fi
        if ((${#CMD_SECS[@]})); then
            echo "## Commands (seconds; exit code when not 0)"
            echo
            local header="| command |" rule="|---|" side name
            local sides=()
            for cpu in $CPUS; do sides+=("host-${CPU_PROFILE[$cpu]}"); done
            for cpu in $CPUS; do sides+=("arm-$cpu"); done
            for side in "${sides[@]}"; do header+=" $side |"; rule+="---:|"; done
            echo "$header"
            echo "$rule"
            for name in "${CMD_NAMES[@]}"; do
                local row="| $name |"
                for side in "${sides[@]}"; do
                    local s=${CMD_SECS[$side/$name]:--} rc=${CMD_RC[$side/$name]:-0}
                    [[ $rc == 0 ]] || s="$s (exit $rc)"
                    row+=" $s |"
                done
                echo "$row"
            done
            echo
            echo "Commands (run in the project dir; \$EVAL = ../shared/eval, \$OUT = the side's output dir):"
            echo
            for i in "${!CMD_NAMES[@]}"; do echo "- ${CMD_NAMES[$i]}: \`${CMD_LINES[$i]}\`"; done
            echo
        fi
        for cpu in $CPUS; do
            if [[ -f $RUN/compare-$cpu.md ]]; then
                echo "## Differences: arm $cpu vs host ${CPU_PROFILE[$cpu]}"
                echo
                cat "$RUN/compare-$cpu.md"
                echo
            fi
        done
        if [[ -f $RUN/versions.md ]]; then
            echo "## Pinned dependencies (root venv vs host venv)"
            echo
            cat "$RUN/versions.md"
            echo
        fi
        if ((${#NOTES[@]})); then
            echo "## Notes"
            echo
            for i in "${NOTES[@]}"; do echo "- $i"; done
            echo
        fi
        echo "## Failures"
        echo
        if ((${#FAILURES[@]} == 0)) && [[ -z $FATAL ]]; then echo "None."; fi
        for i in "${FAILURES[@]}"; do echo "- $i"; done
        [[ -z $FATAL ]] || echo "- stopped: $FATAL"
        echo
        echo "Logs and outputs of this run: \`$RUN\` (arm outputs in \`$ROOT$IN_ROOT_OUT\`)."
    } >"$RUN/summary.md.tmp"
    mv "$RUN/summary.md.tmp" "$RUN/summary.md"
    cp "$RUN/summary.md" "$RESULTS"
    echo
    cat "$RUN/summary.md"
    echo
    log "summary written to $RESULTS"
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n ${ROOT:-} && -d ${ROOT:-/nonexistent} ]]; then
        umount_all_under "$(realpath "$ROOT")" || echo "check.sh: WARNING: mounts left under $ROOT: $(mounts_under "$ROOT" | tr '\n' ' ')" >&2
    fi
    if ((!FINISHED && RUN_READY)); then
        [[ -n $FATAL ]] || FATAL="interrupted or failed (exit $rc)${CUR_PHASE:+ during '$CUR_PHASE'}"
        write_summary || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'FATAL="interrupted by a signal"; exit 130' INT TERM

# ----------------------------------------------------------------------------------------------- running things
ROOT_ENV=(
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root
    LANG=C.UTF-8
    LC_ALL=C.UTF-8
    TERM=dumb
    DEBIAN_FRONTEND=noninteractive
)
# pip inside the root: the public index only, no config files, no source builds of dependencies. PIP_CERT and the
# timeout are this site's network settings (its egress CA is added to the root's bundle), not install semantics.
PIP_ENV=(
    PIP_CONFIG_FILE=/dev/null
    "PIP_INDEX_URL=$PYPI_INDEX"
    PIP_ONLY_BINARY=:all:
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
    PIP_DEFAULT_TIMEOUT=180
    PIP_DISABLE_PIP_VERSION_CHECK=1
    PIP_NO_INPUT=1
)
in_root() { # in_root CPU SCRIPT [VAR=value...]: bash -c SCRIPT in the root, clean environment, emulated CPU
    local cpu=$1 script=$2
    shift 2
    local qenv=()
    [[ $cpu == default ]] || qenv=("QEMU_CPU=$cpu")
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${qenv[@]}" timeout -k 60 "$CMD_TIMEOUT" chroot "$ROOT" /usr/bin/env -i "${ROOT_ENV[@]}" "${qenv[@]}" "$@" \
        /bin/bash -c "$script"
}
in_venv() { # in_venv CPU SCRIPT LOG [VAR=value...]: SCRIPT in the project dir with its venv active
    local cpu=$1 script=$2 logf=$3
    shift 3
    in_root "$cpu" "set -eo pipefail; cd $IN_ROOT_PROJECT && . .venv/bin/activate && $script" \
        "${PIP_ENV[@]}" NUMBA_CACHE_DIR=$IN_ROOT_NUMBA EDGEMATTE_NO_TUNING=1 "$@" >>"$logf" 2>&1
}

# The commands both sides run, in the project dir, with OUT and EVAL set. `edgematte` and `python` are the side's.
photo_args=""
for p in "${PHOTOS[@]}"; do photo_args+="\"\$EVAL/$p\" "; done
CMD_NAMES=(detect models sample photos portrait compose kernels)
CMD_LINES=(
    'python -c "from edgematte.profiles import detect; print(detect())"'
    'edgematte models'
    'edgematte remove runtime/edgematte/data/sample.jpg -o "$OUT/mug.png"'
    "edgematte remove ${photo_args}-o \"\$OUT/photos/\""
    "edgematte remove --model portrait \"\$EVAL/$PERSON\" -o \"\$OUT/portrait-$(basename "${PERSON%.*}").png\""
    "edgematte compose --preset amazon \"\$EVAL/$PRODUCT\" -o \"\$OUT/amazon-$(basename "${PRODUCT%.*}").jpg\""
    'python -m pytest -p no:cacheprovider tests/test_kernels.py'
)

run_commands() { # run_commands SIDE RUNNER...: every command through RUNNER (a function taking SCRIPT LOG)
    local side=$1 i t0 rc logd=$RUN/logs/$1
    shift
    mkdir -p "$logd"
    for i in "${!CMD_NAMES[@]}"; do
        local name=${CMD_NAMES[$i]} logf=$logd/${CMD_NAMES[$i]}.log
        printf '$ %s\n' "${CMD_LINES[$i]}" >"$logf"
        t0=$EPOCHREALTIME
        rc=0
        "$@" "${CMD_LINES[$i]}" "$logf" || rc=$?
        CMD_SECS[$side/$name]=$(secs_since "$t0")
        CMD_RC[$side/$name]=$rc
        log "   $side $name: ${CMD_SECS[$side/$name]} s, exit $rc"
        if ((rc != 0)); then
            fail "$side: '$name' exited $rc (log: $logf)"
            show_tail "$logf" 15
        fi
    done
}

# ----------------------------------------------------------------------------------------------- preflight
phase "preflight"
((EUID == 0)) || die "run as root (debootstrap, chroot and mount need it): sudo bash $0"
[[ $(uname -m) == x86_64 ]] || die "this check emulates arm64 on an x86_64 host; this machine is $(uname -m)"
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v update-binfmts >/dev/null || missing+=(binfmt-support)
if ((${#missing[@]})); then
    log "installing ${missing[*]} with apt-get"
    apt-get install -y "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi
for c in git chroot mount umount timeout flock awk tar; do command -v $c >/dev/null || die "'$c' is missing"; done
[[ -x $HOST_PYTHON ]] || die "no host python at $HOST_PYTHON (make the venv: python3 -m venv .venv && .venv/bin/pip install -e '.[dev]', or give --host-python)"
[[ -d $EVAL_DIR ]] || die "eval images not found at $EVAL_DIR (give --eval DIR)"
for p in "${PHOTOS[@]}" "$PERSON" "$PRODUCT"; do [[ -f $EVAL_DIR/$p ]] || die "eval photo missing: $EVAL_DIR/$p"; done
for cpu in $CPUS; do [[ -f $SCRIPT_DIR/${CPU_CPUINFO[$cpu]} ]] || die "missing $SCRIPT_DIR/${CPU_CPUINFO[$cpu]}"; done
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock -n 9 || die "another check.sh is using $CACHE_DIR (lock $CACHE_DIR/.lock)"
# The previous run's mounts cannot survive (trap), but a killed -9 run could leave some: undo them first.
if [[ -d $ROOT ]]; then umount_all_under "$(realpath "$ROOT")" || die "mounts left under $ROOT from an earlier run cannot be undone"; fi
safe_rm "$RUN"
mkdir -p "$RUN/logs"
RUN_READY=1
# binfmt_misc: mounted and qemu-aarch64 registered, else no arm64 binary runs.
if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
    log "mounting binfmt_misc"
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
fi
if ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    log "registering qemu-aarch64 with binfmt_misc"
    update-binfmts --enable qemu-aarch64 || die "update-binfmts --enable qemu-aarch64 failed"
fi
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "qemu-aarch64 is not enabled in binfmt_misc"
# F (fix binary): the interpreter is opened now, so it need not exist inside the root.
binfmt_flags=$(awk '/^flags:/ { print $2 }' /proc/sys/fs/binfmt_misc/qemu-aarch64)
# The tree under test, and README's first command.
case $TREE in
head)
    TREE_SHA=$(git -C "$PROJECT" rev-parse HEAD) || die "$PROJECT has no HEAD commit"
    TREE_DESC="\`git archive HEAD\` of $PROJECT at ${TREE_SHA:0:10} ($(git -C "$PROJECT" log -1 --format=%s HEAD | cut -c1-80))"
    readme_src() { git -C "$PROJECT" show HEAD:README.md; }
    ;;
worktree)
    TREE_SHA=$(git -C "$PROJECT" rev-parse HEAD 2>/dev/null || echo none)
    TREE_DESC="working tree of $PROJECT (HEAD ${TREE_SHA:0:10}, $(git -C "$PROJECT" status --porcelain | wc -l) changed/untracked paths)"
    readme_src() { cat "$PROJECT/README.md"; }
    ;;
esac
# The first line of README.md's first fenced code block that is not a comment.
# awk reads to the end (no early exit): under pipefail an early exit is a SIGPIPE (141) for git show.
README_CMD=$(readme_src | awk 'done { next } /^```/ { if (inb) done = 1; inb = 1; next } inb && NF && $1 !~ /^#/ { print; done = 1 }')
[[ $README_CMD == pip\ install* ]] || die "README.md's first command is not a pip install: '$README_CMD'"
log "tree: $TREE_DESC"
log "README's first command: $README_CMD"
phase_done "binfmt flags $binfmt_flags"

# ----------------------------------------------------------------------------------------------- host side
phase "host: tree copy"
HOST_SRC=$CACHE_DIR/host/src
safe_rm "$HOST_SRC"
mkdir -p "$HOST_SRC" "$CACHE_DIR/host/home" "$CACHE_DIR/numba/host-x86_64"
copy_tree() { # copy_tree DEST: the tree under test, file times kept (Numba's cache checks them)
    case $TREE in
    head) git -C "$PROJECT" archive --format=tar HEAD | tar -x -C "$1" ;;
    worktree)
        git -C "$PROJECT" ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [[ -e $PROJECT/$f || -L $PROJECT/$f ]] && printf '%s\0' "$f"; done |
            tar -C "$PROJECT" --null -T - -cf - | tar -x -C "$1"
        ;;
    esac
}
copy_tree "$HOST_SRC"
phase_done "$(du -sh "$HOST_SRC" | cut -f1)"

# The host runs the same tree's code: PYTHONPATH puts it before the venv's own (editable) edgematte.
HOST_BIN=$CACHE_DIR/host/bin
mkdir -p "$HOST_BIN"
printf '#!/bin/sh\nexec "%s" -m edgematte "$@"\n' "$HOST_PYTHON" >"$HOST_BIN/edgematte"
# A wrapper, not a symlink: a symlink to a venv's python outside the venv loses the venv (its
# pyvenv.cfg is looked up next to the link) and runs the base interpreter without our pins.
rm -f "$HOST_BIN/python"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$HOST_PYTHON" >"$HOST_BIN/python"
chmod +x "$HOST_BIN/python"
chmod +x "$HOST_BIN/edgematte"
host_run() { # host_run PROFILE SCRIPT LOG
    env -i PATH="$HOST_BIN:/usr/local/bin:/usr/bin:/bin" HOME="$CACHE_DIR/host/home" LANG=C.UTF-8 TERM=dumb \
        PYTHONPATH="$HOST_SRC/runtime" EDGEMATTE_PROFILE="$1" EDGEMATTE_NO_TUNING=1 \
        EDGEMATTE_CACHE_DIR="$CACHE_DIR/host/home/edgematte" NUMBA_CACHE_DIR="$CACHE_DIR/numba/host-x86_64" \
        EVAL="$EVAL_DIR" OUT="$RUN/host-$1" bash -c "set -eo pipefail; cd '$HOST_SRC' && $2" >>"$3" 2>&1
}
where=$(host_run desktop-x86 'python -c "import edgematte; print(edgematte.__file__)"' /dev/stdout) ||
    die "the host python cannot import edgematte from the tree: $where"
[[ $where == "$HOST_SRC"/* ]] || die "the host imports edgematte from $where, not from the tree under test"
declare -A HOST_DONE=()
for cpu in $CPUS; do
    profile=${CPU_PROFILE[$cpu]}
    [[ -z ${HOST_DONE[$profile]:-} ]] || continue
    HOST_DONE[$profile]=1
    phase "host: commands, EDGEMATTE_PROFILE=$profile"
    mkdir -p "$RUN/host-$profile/photos"
    run_commands "host-$profile" host_run "$profile"
    phase_done
done
# The host venv must hold the tree's pins, else the comparison compares different libraries.
"$HOST_PYTHON" -c 'import importlib.metadata as m; [print(d.metadata["Name"], d.version, sep="==") for d in m.distributions()]' \
    >"$RUN/host-freeze.txt"

# ----------------------------------------------------------------------------------------------- the root
mkdir -p "$CACHE_DIR/numba"
if ((FRESH_NUMBA)); then
    for cpu in $CPUS; do safe_rm "$CACHE_DIR/numba/$cpu"; done
fi
if ((REBUILD_ROOT)) || [[ ! -f $READY ]]; then
    ROOT_STATE="built in this run"
    if [[ -e $ROOT ]]; then
        log "deleting the old or incomplete root $ROOT"
        safe_rm "$ROOT"
    fi
    phase "root: debootstrap first stage"
    debootstrap --arch=arm64 --foreign --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$RUN/logs/debootstrap-1.log" 2>&1 ||
        { show_tail "$RUN/logs/debootstrap-1.log"; die "debootstrap --foreign failed (mirror $MIRROR reachable?)"; }
    phase_done "$MIRROR"
    [[ $binfmt_flags == *F* ]] || cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
    phase "root: debootstrap second stage (emulated)"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        chroot "$ROOT" /debootstrap/debootstrap --second-stage >"$RUN/logs/debootstrap-2.log" 2>&1 ||
        { show_tail "$RUN/logs/debootstrap-2.log"; die "debootstrap --second-stage failed"; }
    umount_all_under "$(realpath "$ROOT")" || die "debootstrap left mounts in the root"
    phase_done
fi
if [[ ! -f $READY ]]; then
    cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
fi
# Every run: DNS and the host's extra CA certificates (without them pip fails with CERTIFICATE_VERIFY_FAILED).
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/usr/local/share/ca-certificates"
ca_changed=0
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
    for f in /usr/local/share/ca-certificates/*; do
        cmp -s "$f" "$ROOT/usr/local/share/ca-certificates/$(basename "$f")" || { cp -r "$f" "$ROOT/usr/local/share/ca-certificates/"; ca_changed=1; }
    done
fi
mount_system
first_cpu=${CPUS%% *}
bind_cpu "$first_cpu"
if [[ ! -f $READY ]]; then
    phase "root: apt (${APT_PACKAGES[*]})"
    in_root default "apt-get update && apt-get install -y --no-install-recommends ${APT_PACKAGES[*]} && apt-get clean" \
        >"$RUN/logs/apt.log" 2>&1 || { show_tail "$RUN/logs/apt.log"; die "apt-get in the root failed"; }
    phase_done
    ca_changed=0
    in_root default 'cat /etc/debian_version; python3 --version' >"$READY.tmp" 2>&1 || die "python3 does not run in the root"
    mv "$READY.tmp" "$READY"
else
    ROOT_STATE=${ROOT_STATE:-"reused (ready since $(date -r "$READY" '+%Y-%m-%d %H:%M'))"}
    log "reusing the root $ROOT ($ROOT_STATE)"
fi
if ((ca_changed)); then
    in_root default update-ca-certificates >"$RUN/logs/update-ca.log" 2>&1 || die "update-ca-certificates in the root failed"
fi
ROOT_DESC="Debian $(head -1 "$READY") arm64, $(tail -1 "$READY"), $(du -sh --one-file-system "$ROOT" 2>/dev/null | cut -f1)"
log "root: $ROOT_DESC"

# ----------------------------------------------------------------------------------------------- install (README)
phase "root: tree copy"
for d in "$IN_ROOT_PROJECT" "$IN_ROOT_OUT" "$IN_ROOT_TOOLS" /work/probe; do safe_rm "$ROOT$d"; done
mkdir -p "$ROOT$IN_ROOT_PROJECT" "$ROOT$IN_ROOT_EVAL" "$ROOT$IN_ROOT_TOOLS"
cp "$SCRIPT_DIR/hwcaps.py" "$ROOT$IN_ROOT_TOOLS/"
copy_tree "$ROOT$IN_ROOT_PROJECT"
bind "$EVAL_DIR" "$ROOT$IN_ROOT_EVAL" ro
phase_done

phase "root: venv (python3 -m venv .venv, as the README recommends)"
INSTALL_LOG=$RUN/logs/install.log
: >"$INSTALL_LOG"
in_root "$first_cpu" "cd $IN_ROOT_PROJECT && python3 -m venv .venv && .venv/bin/python -m pip --version" >>"$INSTALL_LOG" 2>&1 ||
    { show_tail "$INSTALL_LOG"; die "python3 -m venv failed in the root"; }
phase_done "$(tail -1 "$INSTALL_LOG" | cut -d' ' -f1-2)"

if ((!SKIP_PROBE)); then
    phase "root: only-binary probe"
    # An editable project that needs a dependency which exists only as an sdist: with the install's settings pip
    # must refuse it; without PIP_ONLY_BINARY (dry run) it would build it, so the refusal is the setting's doing.
    P=$ROOT/work/probe
    mkdir -p "$P/dist/emprobe_srconly-0.1/emprobe_srconly" "$P/app/emprobe_app"
    printf '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "emprobe-srconly"\nversion = "0.1"\n' \
        >"$P/dist/emprobe_srconly-0.1/pyproject.toml"
    printf 'Metadata-Version: 2.1\nName: emprobe-srconly\nVersion: 0.1\n' >"$P/dist/emprobe_srconly-0.1/PKG-INFO"
    : >"$P/dist/emprobe_srconly-0.1/emprobe_srconly/__init__.py"
    tar -C "$P/dist" -czf "$P/dist/emprobe_srconly-0.1.tar.gz" emprobe_srconly-0.1
    rm -r "$P/dist/emprobe_srconly-0.1"
    printf '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "emprobe-app"\nversion = "0.1"\ndependencies = ["emprobe-srconly==0.1"]\n' \
        >"$P/app/pyproject.toml"
    : >"$P/app/emprobe_app/__init__.py"
    PROBE_LOG=$RUN/logs/probe.log
    : >"$PROBE_LOG"
    probe_rc=0
    in_venv "$first_cpu" "cd /work/probe/app && pip install -e ." "$PROBE_LOG" PIP_FIND_LINKS=/work/probe/dist || probe_rc=$?
    if ((probe_rc == 0)); then
        fail "only-binary probe: pip installed an sdist-only dependency despite PIP_ONLY_BINARY=:all: (log: $PROBE_LOG)"
        PROBE_DESC="FAILED (pip built the sdist-only dependency)"
    elif ! grep -qiE "(no matching distribution|could not find a version).*emprobe-srconly" "$PROBE_LOG"; then
        fail "only-binary probe: pip failed, but not by refusing the sdist-only dependency (log: $PROBE_LOG)"
        show_tail "$PROBE_LOG"
        PROBE_DESC="FAILED (unexpected pip error)"
    else
        echo "----- control: the same without PIP_ONLY_BINARY (dry run)" >>"$PROBE_LOG"
        if in_venv "$first_cpu" "cd /work/probe/app && unset PIP_ONLY_BINARY && pip install --dry-run -e ." "$PROBE_LOG" \
            PIP_FIND_LINKS=/work/probe/dist && grep -q "Would install.*emprobe-srconly-0.1" "$PROBE_LOG"; then
            PROBE_DESC="refused an sdist-only dependency (exit $probe_rc), which a dry run without the setting would build"
        else
            fail "only-binary probe: the control (no PIP_ONLY_BINARY, dry run) did not resolve the sdist (log: $PROBE_LOG)"
            show_tail "$PROBE_LOG"
            PROBE_DESC="FAILED (control)"
        fi
    fi
    in_venv "$first_cpu" "pip list --format=freeze | grep -qi emprobe && exit 1 || true" /dev/null ||
        fail "the probe left a package in the venv"
    safe_rm "$P"
    phase_done "${PROBE_DESC}"
else
    PROBE_DESC="skipped (--skip-probe)"
fi

# README's first command, split at '&&' (the same semantics: each part only after the previous one succeeded),
# so the install and the first run are timed apart.
README_PARTS=()
rest=$README_CMD
while [[ $rest == *" && "* ]]; do
    README_PARTS+=("${rest%% && *}")
    rest=${rest#* && }
done
README_PARTS+=("$rest")
for i in "${!README_PARTS[@]}"; do
    part=${README_PARTS[$i]}
    case $part in
    pip\ *) pname="root: README install ($part)" ;;
    *) pname="root: first run, $first_cpu ($part)" ;;
    esac
    phase "$pname"
    echo "----- \$ $part" >>"$INSTALL_LOG"
    in_venv "$first_cpu" "$part" "$INSTALL_LOG" || { show_tail "$INSTALL_LOG"; die "README command part '$part' failed in the root (log: $INSTALL_LOG)"; }
    note=""
    [[ $part == pip\ * ]] && note="$(grep -c '^Collecting\|^Processing' "$INSTALL_LOG" || true) requirements"
    phase_done "$note"
done
# Nothing but our own package may have been built.
mapfile -t built < <(grep -oE "Building (wheel|editable) for [^ ]+" "$INSTALL_LOG" | awk '{ print $4 }' | sort -u)
BUILT_DESC="${built[*]:-nothing}"
for b in "${built[@]}"; do
    [[ $b == edgematte ]] || fail "pip built '$b' from source during the README install (log: $INSTALL_LOG)"
done
[[ " ${built[*]} " == *" edgematte "* ]] || NOTES+=("pip's log names no build of edgematte itself (log: $INSTALL_LOG)")
[[ -f $ROOT$IN_ROOT_PROJECT/mug.png ]] || fail "README's command ran but wrote no mug.png"

phase "root: pip install pytest (wheel)"
pytest_pin=$("$HOST_PYTHON" -c 'import sys, tomllib; d = tomllib.load(open(sys.argv[1], "rb")); print(next((r for r in d["project"]["optional-dependencies"].get("dev", []) if r.replace(" ", "").startswith("pytest==")), "pytest"))' "$HOST_SRC/pyproject.toml")
in_venv "$first_cpu" "pip install '$pytest_pin'" "$RUN/logs/pip-pytest.log" || { show_tail "$RUN/logs/pip-pytest.log"; die "pip install $pytest_pin failed"; }
phase_done "$pytest_pin"
in_venv "$first_cpu" 'python -c '\''import importlib.metadata as m; [print(d.metadata["Name"], d.version, sep="==") for d in m.distributions()]'\' \
    "$RUN/root-freeze.txt" || die "cannot list the root venv's packages"
"$HOST_PYTHON" "$SCRIPT_DIR/compare.py" versions --pyproject "$HOST_SRC/pyproject.toml" \
    --freeze "arm venv=$RUN/root-freeze.txt" --freeze "host venv=$RUN/host-freeze.txt" >"$RUN/versions.md" ||
    fail "pinned dependency versions differ from pyproject.toml (see the table)"
cat "$RUN/versions.md"

# ----------------------------------------------------------------------------------------------- per CPU
for cpu in $CPUS; do
    profile=${CPU_PROFILE[$cpu]}
    phase "arm $cpu: commands"
    bind_cpu "$cpu"
    mkdir -p "$RUN/logs/arm-$cpu"
    in_root "$cpu" "python3 $IN_ROOT_TOOLS/hwcaps.py" >"$RUN/logs/arm-$cpu/hwcaps.log" 2>&1 || true
    HWCAPS[$cpu]=$(tail -1 "$RUN/logs/arm-$cpu/hwcaps.log")
    pin=()
    ((PIN_PROFILE)) && pin=(EDGEMATTE_PROFILE="$profile")
    mkdir -p "$ROOT$IN_ROOT_OUT/$cpu/photos"
    arm_run() { in_venv "$ARM_CPU" "$1" "$2" EVAL=$IN_ROOT_EVAL OUT="$IN_ROOT_OUT/$ARM_CPU" "${pin[@]}"; }
    ARM_CPU=$cpu
    # detect() always with EDGEMATTE_PROFILE unset, even under --pin-profile.
    if in_venv "$cpu" "${CMD_LINES[0]}" "$RUN/logs/arm-$cpu/detect-unpinned.log"; then
        DETECT[$cpu]=$(tail -1 "$RUN/logs/arm-$cpu/detect-unpinned.log")
    else
        DETECT[$cpu]="(failed: see $RUN/logs/arm-$cpu/detect-unpinned.log)"
    fi
    log "   detect() under $cpu with ${CPU_CPUINFO[$cpu]}: ${DETECT[$cpu]} (expected $profile)"
    if [[ ${DETECT[$cpu]} != "$profile" ]]; then
        msg="detect() under $cpu (${CPU_CPUINFO[$cpu]}) printed '${DETECT[$cpu]}', expected '$profile'"
        if ((ALLOW_DETECT_MISMATCH)); then NOTES+=("$msg (allowed by --allow-detect-mismatch)"); else fail "$msg"; fi
    fi
    run_commands "arm-$cpu" arm_run
    phase_done "detect: ${DETECT[$cpu]}"
    phase "compare $cpu vs host $profile"
    "$HOST_PYTHON" "$SCRIPT_DIR/compare.py" images --ref "$RUN/host-$profile" --test "$ROOT$IN_ROOT_OUT/$cpu" \
        --ref-label "host $profile" --test-label "arm $cpu" --markdown "$RUN/compare-$cpu.md" ||
        fail "outputs under $cpu differ from the host's ($profile) beyond the tolerances (see the table)"
    phase_done
done

FINISHED=1
umount_all_under "$(realpath "$ROOT")" || fail "could not undo every mount under $ROOT"
write_summary
if ((${#FAILURES[@]})); then
    log "FAILED: ${#FAILURES[@]} check(s) failed"
    exit 1
fi
log "PASSED"
