#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Throughput and peak RSS of `devstate report` on a large log, against `grep -c vmstate_downtime`.
#
#   bench/cli/bench.sh [SIZE_MB] [ITERATIONS] [MARKDOWN]   default 1024 MB, 3 iterations (best kept)
#
# Builds devstate in release mode (scratch path .build-cli unless $DEVSTATE_SCRATCH; or set
# $DEVSTATE_BIN), writes the log under bench/out/ (git-ignored) with gen-log.py, warms the page
# cache, and prints wall and CPU time, MB/s, peak RSS and the ratio to grep for each command
# (bench.py). Figures, not a test. DEVSTATE_BENCH_QUICK=1 runs only grep, --run 1, --summary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size="${1:-1024}"
iters="${2:-3}"
markdown="${3:-}"
scratch="${DEVSTATE_SCRATCH:-$root/.build-cli}"
if [[ -z "${DEVSTATE_BIN:-}" ]]; then
    (cd "$root" && swift build -c release --scratch-path "$scratch" --product devstate) >/tmp/devstate-bench-build.log 2>&1 \
        || { tail -30 /tmp/devstate-bench-build.log; exit 1; }
    DEVSTATE_BIN="$scratch/release/devstate"
fi
mkdir -p "$root/bench/out"
log="$root/bench/out/bench-${size}MB.log"
if [[ ! -s "$log" ]]; then python3 "$here/gen-log.py" "$size" "$log"; fi
cat "$log" > /dev/null   # warm the page cache, so every command reads from memory
about="$(stat -c %s "$log") bytes, $(grep -c 'src-downtime-start' "$log") runs; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) before; best of $iters"
echo "log: $log ($about)"
echo "devstate: $DEVSTATE_BIN"
if [[ -n "$markdown" ]]; then
    python3 "$here/bench.py" "$DEVSTATE_BIN" "$log" "$iters" "$markdown.table"
    { echo "## devstate on a long log (bench/cli)"
      echo
      echo "\`bench/cli/bench.sh\` on a generated ${size} MB log ($about): the real pc run of"
      echo "Tests/Fixtures/qemu-10.0 repeated with unrelated trace lines between runs, read from the page"
      echo "cache, each command's standard output drained through a 1 MiB pipe with splice(2) into /dev/null. Throughput as a ratio of"
      echo "\`grep -c vmstate_downtime\` on the same file in the same script; floor 0.4 for reading, 0.1 for"
      echo "writing every run in every format, and a flat peak RSS (under 64 MiB)."
      echo
      cat "$markdown.table"; } > "$markdown"
    rm -f "$markdown.table"
else
    python3 "$here/bench.py" "$DEVSTATE_BIN" "$log" "$iters"
fi
