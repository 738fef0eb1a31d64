#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: record and query cost of libdevstate (shared and static) against a C baseline
# doing what the reference patch does (GLib list + deep copy + json-c), measured in one run,
# and the downtime of real migrations with unpatched, reference and library QEMU builds.
# Writes bench/RESULTS.md and bench/record-cost.png (never edit them by hand).
# BENCH_SMOKE=1 runs every step once on small sizes and writes to build/bench-smoke/ (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PKG_CONFIG_PATH="$ROOT/build/stage/lib/pkgconfig"
SMOKE=${BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
    OUT=build/bench-smoke; SIZES="300 1000"; RECORD_RUNS=1; QUERY_RUNS=1; TIME_RUNS=1
else
    OUT=bench; SIZES="300 1000 3000 10000"; RECORD_RUNS=20; QUERY_RUNS=3; TIME_RUNS=50
fi
BIN=build/bench
mkdir -p "$BIN" "$OUT"
# Real migrations of the three QEMU builds (20 rounds; the smoke does one).
QEMU_ROUNDS=20; [ "$SMOKE" = 1 ] && QEMU_ROUNDS=1
bench/qemu-downtime.sh "$QEMU_ROUNDS" "$OUT/qemu-downtime.md"
# A real Linux guest's downtime, named by the steps, and their A/B (5 rounds; the smoke one).
GUEST_ROUNDS=5; [ "$SMOKE" = 1 ] && GUEST_ROUNDS=1
bench/guest-downtime.sh "$GUEST_ROUNDS" "$OUT/guest-downtime.md"
# devstate's throughput on a long log (1 GB; the smoke uses 8 MB).
if [ "$SMOKE" = 1 ]; then bash bench/cli/bench.sh 8 1 "$OUT/cli.md"; else bash bench/cli/bench.sh 1024 3 "$OUT/cli.md"; fi

for p in valgrind gnuplot-nox libglib2.0-dev libjson-c-dev; do
    dpkg-query -W -f='${Status}\n' $p 2>/dev/null | grep -q '^install ok installed' || missing="${missing:-} $p"
done
if [ -n "${missing:-}" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

CFLAGS=(-O2 -g -std=c11 -Wall -Wextra -Werror -ITests/c)
gcc "${CFLAGS[@]}" -DBENCH_OURS -o $BIN/ours-shared bench/micro/bench.c $(pkg-config --cflags --libs devstate json-c)
gcc "${CFLAGS[@]}" -DBENCH_OURS -o $BIN/ours-static bench/micro/bench.c -x none $(pkg-config --cflags --libs devstate-static json-c)
gcc "${CFLAGS[@]}" -DBENCH_BASELINE -o $BIN/baseline bench/micro/bench.c $(pkg-config --cflags --libs glib-2.0 json-c)
VARIANTS="ours-shared ours-static baseline"

# Instructions counted by callgrind inside the measured function only.
instructions() { # binary N RUNS MODE
    valgrind --tool=callgrind --callgrind-out-file="$BIN/cg.out" --toggle-collect="measured_$4" \
        "$BIN/$1" "$2" "$3" "$4" >/dev/null 2>"$BIN/cg.err"
    grep -Eo 'Collected : [0-9]+' "$BIN/cg.err" | grep -Eo '[0-9]+'
}
kept() { # entries of an N-entry run with a time > 0 (bench.c: every sixth is 0)
    echo $(( $1 - ($1 + 1) / 6 ))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

declare -A REC QRY ALLOC NSREC NSQRY INC INCALLOC STEP STEPALLOC
for n in $SIZES; do
    k=$(kept "$n")
    for v in $VARIANTS; do
        REC[$v,$n]=$(per "$(instructions $v "$n" $RECORD_RUNS record)" $((n * RECORD_RUNS)))
        QRY[$v,$n]=$(per "$(instructions $v "$n" $QUERY_RUNS query)" $((k * QUERY_RUNS)))
        ALLOC[$v,$n]=$("$BIN/$v" "$n" $RECORD_RUNS alloc)
        read -r NSREC[$v,$n] NSQRY[$v,$n] < <("$BIN/$v" "$n" $TIME_RUNS time)
        # Destination hooks: per load or checkpoint (n loads + n/10 checkpoints per run).
        INC[$v,$n]=$(per "$(instructions $v "$n" $RECORD_RUNS incoming)" $(( (n + n / 10) * RECORD_RUNS )))
        INCALLOC[$v,$n]=$("$BIN/$v" "$n" $RECORD_RUNS incoming-alloc)
        # Steps (0.3.0): per run-state handler call recorded with its device and type.
        STEP[$v,$n]=$(per "$(instructions $v "$n" $RECORD_RUNS steps)" $((n * RECORD_RUNS)))
        STEPALLOC[$v,$n]=$("$BIN/$v" "$n" $RECORD_RUNS steps-alloc)
        echo "N=$n $v: ${REC[$v,$n]} instr/record, ${QRY[$v,$n]} instr/copied entry, ${ALLOC[$v,$n]} allocs/record, ${NSREC[$v,$n]} ns/record, ${NSQRY[$v,$n]} ns/copied entry"
    done
done

# Where our per-record instructions go (N=300).
valgrind --tool=callgrind --callgrind-out-file="$BIN/cg-top.out" --toggle-collect=measured_record \
    "$BIN/ours-shared" 300 $RECORD_RUNS record >/dev/null 2>&1
TOP=$(callgrind_annotate "$BIN/cg-top.out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' | sed -n '1,6p' \
      | sed -E 's/^ *([0-9,]+) \([^)]*\) +(.*) \[[^]]*\]$/\1 \2/; s/^ *([0-9,]+) \([^)]*\) +/\1 /' \
      | awk -v runs=$((300 * RECORD_RUNS)) '{ n = $1; gsub(",", "", n); $1 = ""; printf "| %.1f |%s |\n", n / runs, $0 }')

# What a step costs in time (shared, N=300), and a clock reading: QEMU reads QEMU_CLOCK_REALTIME
# twice per step. With the real guest's steps per migration and its downtime, the hooks' cost
# as a share of the downtime, which the A/B below can only bound as tightly as its scatter.
read -r NSSTEP NSCLOCK < <("$BIN/ours-shared" 300 $TIME_RUNS steps-time)
read -r STEPS_PER_MIGRATION GUEST_DOWNTIME_US < <(python3 -c "import json
j = json.load(open('$OUT/guest-downtime.json')); print(j['steps_per_migration'], j['source_downtime_us'])")
HOOK_COST_PCT=$(awk -v s="$STEPS_PER_MIGRATION" -v a="$NSSTEP" -v c="$NSCLOCK" -v d="$GUEST_DOWNTIME_US" \
    'BEGIN { printf "%.4f", 100 * s * (a + 2 * c) / 1000 / d }')

# Plot: instructions per record against N.
for v in $VARIANTS; do
    for n in $SIZES; do echo "$n ${REC[$v,$n]}"; done > "$BIN/$v.dat"
done
gnuplot <<GP
set terminal pngcairo size 900,540 noenhanced
set output "$OUT/record-cost.png"
set title "Instructions per record (callgrind), steady state"
set xlabel "entries per run (N)"; set ylabel "instructions per record"
set logscale x; set yrange [0:*]; set key right center; set grid; set offsets graph 0.05, graph 0.05, 0, 0
plot "$BIN/ours-shared.dat" with linespoints title "libdevstate (shared)", \
     "$BIN/ours-static.dat" with linespoints title "libdevstate (static)", \
     "$BIN/baseline.dat" with linespoints title "baseline: g_new0 + g_strdup + list append"
GP

met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "met" : "missed" }'; }
small=300; large=$(echo $SIZES | awk '{ print $NF }')
{
    echo "# Benchmark results"
    echo
    echo "Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'); do not edit."
    # sed -n 1p, not head: head closing the pipe early kills the writer with SIGPIPE (pipefail).
    echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | sed -n 1p), $(uname -sr), $(gcc --version | sed -n 1p), $(swift --version 2>/dev/null | sed -n 1p)."
    [ "$SMOKE" = 1 ] && echo "**Smoke run** (one iteration): figures are not meaningful."
    echo
    echo "Instructions come from \`valgrind --tool=callgrind\` counting only the measured function;"
    echo "every run is warmed up once first (steady state). Record: begin + N records + end, per record."
    echo "Query: deep copy + compact JSON, per copied entry (entries with time > 0). Ratios are ours / baseline."
    echo
    echo "| N | variant | instr/record | ratio | allocs/record | ns/record | instr/copied entry | ratio | ns/copied entry |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for n in $SIZES; do
        for v in $VARIANTS; do
            echo "| $n | $v | ${REC[$v,$n]} | $(ratio ${REC[$v,$n]} ${REC[baseline,$n]}) | ${ALLOC[$v,$n]} | ${NSREC[$v,$n]} | ${QRY[$v,$n]} | $(ratio ${QRY[$v,$n]} ${QRY[baseline,$n]}) | ${NSQRY[$v,$n]} |"
        done
    done
    echo
    echo "## Destination: the load and checkpoint hooks (0.2.0)"
    echo
    echo "One incoming run: N loads through \`devstate_qemu_record_in\` and a checkpoint after every"
    echo "tenth (\`devstate_qemu_checkpoint\`), against a reference-style GLib list of loads and one of"
    echo "checkpoints (g_new0 + g_strdup each). Per load or checkpoint, steady state."
    echo
    echo "| N | variant | instr/event | ratio | allocs/event |"
    echo "| --- | --- | --- | --- | --- |"
    for n in $SIZES; do
        for v in $VARIANTS; do
            echo "| $n | $v | ${INC[$v,$n]} | $(ratio ${INC[$v,$n]} ${INC[baseline,$n]}) | ${INCALLOC[$v,$n]} |"
        done
    done
    echo
    echo "## Steps: a run-state handler's call and its device (0.3.0)"
    echo
    echo "One source run through \`devstate_qemu_step\`: N handler calls, each with its name, the"
    echo "device's QOM path (50 bytes) and type, against a reference-style GLib list (g_new0 and a"
    echo "g_strdup of each string per step). Per step, steady state."
    echo
    echo "| N | variant | instr/step | ratio | allocs/step |"
    echo "| --- | --- | --- | --- | --- |"
    for n in $SIZES; do
        for v in $VARIANTS; do
            echo "| $n | $v | ${STEP[$v,$n]} | $(ratio ${STEP[$v,$n]} ${STEP[baseline,$n]}) | ${STEPALLOC[$v,$n]} |"
        done
    done
    echo
    echo "## Goals"
    echo
    echo "| goal | figure | status |"
    echo "| --- | --- | --- |"
    echo "| ≤ 100 instructions per record (N=$small, shared) | ${REC[ours-shared,$small]} | $(met ${REC[ours-shared,$small]} 100) |"
    echo "| ≤ 0.25× baseline per record (N=$small, shared) | $(ratio ${REC[ours-shared,$small]} ${REC[baseline,$small]}) | $(met $(ratio ${REC[ours-shared,$small]} ${REC[baseline,$small]}) 0.25) |"
    echo "| 0 allocations per record in steady state (N=$large) | ${ALLOC[ours-shared,$large]} | $(met ${ALLOC[ours-shared,$large]} 0) |"
    echo "| 0 allocations per load or checkpoint in steady state (N=$large) | ${INCALLOC[ours-shared,$large]} | $(met ${INCALLOC[ours-shared,$large]} 0) |"
    echo "| 0 allocations per step in steady state (N=$large) | ${STEPALLOC[ours-shared,$large]} | $(met ${STEPALLOC[ours-shared,$large]} 0) |"
    echo "| the steps' hooks ≤ 1 % of a real guest's downtime: $STEPS_PER_MIGRATION steps × ($NSSTEP ns per step + 2 × $NSCLOCK ns per clock reading) over a median $GUEST_DOWNTIME_US µs | $HOOK_COST_PCT % | $(met $HOOK_COST_PCT 1) |"
    echo "| query of N=$large ≤ 1.0× baseline (instructions) | $(ratio ${QRY[ours-shared,$large]} ${QRY[baseline,$large]}) | $(met $(ratio ${QRY[ours-shared,$large]} ${QRY[baseline,$large]}) 1.0) |"
    echo
    echo "## Where a record's instructions go (shared, N=$small, per record)"
    echo
    echo "| instructions | function |"
    echo "| --- | --- |"
    echo "$TOP"
    echo
    echo "![instructions per record](record-cost.png)"
    if [ -f "$OUT/qemu-downtime.md" ]; then echo; cat "$OUT/qemu-downtime.md"; fi
    if [ -f "$OUT/guest-downtime.md" ]; then echo; cat "$OUT/guest-downtime.md"; fi
    if [ -f "$OUT/cli.md" ]; then echo; cat "$OUT/cli.md"; fi
} > "$OUT/RESULTS.md"
echo "wrote $OUT/RESULTS.md and $OUT/record-cost.png"
