#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening checks of issue 6 (docs/hardening.md), run by scripts/run-tests.sh after
# `make stage`. Each part prints "NAME: N passed, N failed"; the script ends with
# "hardening: N passed, N failed" and exits non-zero if anything failed or could not run.
#
#   fuzz-regressions  every file under Tests/fuzz/regressions/<target>/ and the seed corpus,
#                     replayed through the ASan+libFuzzer builds of FuzzABI and FuzzTrace
#   fuzz-abi          FuzzABI (the C ABI, checked against a model of its contract), bounded
#   fuzz-trace        FuzzTrace (the trace-log parser and report), bounded
#   valgrind          valgrind --tool=memcheck on the C tests
#   tsan-c            Tests/c/test_tsan.c under ThreadSanitizer against a TSan-instrumented
#                     build of the library (+ a canary proving the sanitizer is active), and
#                     as a TSan-built host against the installed .so, without suppressions
#   rss               Tests/c/test_rss.c: RSS after 10,000 runs within 1 % of after 100
#   abi-gate          scripts/hardening/abi-gate.sh against abi/*.abi
#
# Environment: STAGE (default build/stage), FUZZ_SECONDS (default 60 per target; both targets
# run at the same time), HARDENING_OUT (default build/hardening).
# Missing Debian packages are installed with apt-get (root); if that fails, the parts that
# need them fail.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="/opt/swift/usr/bin:$PATH"
STAGE=${STAGE:-$ROOT/build/stage}
OUT=${HARDENING_OUT:-$ROOT/build/hardening}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export PKG_CONFIG_PATH="$STAGE/lib/pkgconfig"
export SWIFT_BACKTRACE=enable=no   # a crashing Swift program must die, not wait for a backtracer
mkdir -p "$OUT"
started=$(date +%s)
total_passed=0 total_failed=0
failing=()

# part NAME PASSED FAILED: prints the part's line and adds it to the totals.
part() {
    echo "$1: $2 passed, $3 failed"
    total_passed=$((total_passed + $2)); total_failed=$((total_failed + $3))
    [ "$3" -eq 0 ] || failing+=("$1")
}

# --- tools -------------------------------------------------------------------------------
# abidw/abidiff: abigail-tools; valgrind; gcc's ThreadSanitizer runtime: libtsan2;
# json-c headers for the fuzz targets; python3 for the ABI stub generator.
need=(abigail-tools valgrind libtsan2 libjson-c-dev pkg-config python3 gcc)
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
        >"$OUT/apt.log" 2>&1 || { echo "apt-get failed:"; tail -n 20 "$OUT/apt.log"; }
fi
clang_rt=$(dirname "$(clang -print-libgcc-file-name --rtlib=compiler-rt 2>/dev/null)")
fuzzer_rt="$clang_rt/libclang_rt.fuzzer_no_main-x86_64.a"
[ -f "$fuzzer_rt" ] || fuzzer_rt=$(ls /opt/swift/usr/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | sed -n 1p)

# --- builds (in the background of nothing else: 2 cores) ---------------------------------
# The fuzz targets: release, AddressSanitizer, libFuzzer coverage on every module, libFuzzer
# without its main (our main calls LLVMFuzzerRunDriver), lld.
FUZZ_BUILD=(-c release --scratch-path "$ROOT/.build-fuzz" --sanitize=address
    -Xswiftc -sanitize-coverage=edge,indirect-calls,trace-cmp,inline-8bit-counters,pc-table
    -Xcc -fsanitize=fuzzer-no-link -Xswiftc -use-ld=lld
    -Xlinker "$fuzzer_rt" -Xlinker -lstdc++
    -Xlinker --undefined=LLVMFuzzerRunDriver -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver)
declare -A fuzz_bin
for target in FuzzABI FuzzTrace; do
    if [ -f "$fuzzer_rt" ] && swift build "${FUZZ_BUILD[@]}" --product "$target" >"$OUT/build-$target.log" 2>&1; then
        fuzz_bin[$target]="$ROOT/.build-fuzz/release/$target"
    else
        echo "build of $target failed (fuzzer runtime: ${fuzzer_rt:-none}):"; grep -E 'error' "$OUT/build-$target.log" | head -n 20
    fi
done
part fuzz-build ${#fuzz_bin[@]} $((2 - ${#fuzz_bin[@]}))

export ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=64:abort_on_error=0:symbolize=1
declare -A corpus_name=([FuzzABI]=abi [FuzzTrace]=trace)

# --- regressions and seeds: each input once -------------------------------------------------
p=0 f=0
for target in FuzzABI FuzzTrace; do
    name=${corpus_name[$target]}
    inputs=$(find "Tests/fuzz/regressions/$name" "Tests/fuzz/corpus/$name" -type f 2>/dev/null | sort)
    if [ -z "${fuzz_bin[$target]:-}" ]; then
        f=$((f + $(wc -l <<<"$inputs"))); continue
    fi
    while IFS= read -r input; do
        [ -n "$input" ] || continue
        if "${fuzz_bin[$target]}" -runs=1 "$input" >"$OUT/replay.log" 2>&1; then
            p=$((p + 1))
        else
            f=$((f + 1)); echo "regression: $target $input fails:"; grep -E 'contract|property|ERROR|SUMMARY' "$OUT/replay.log" | head -n 5
        fi
    done <<<"$inputs"
done
part fuzz-regressions $p $f

# --- fuzzing: both targets at once, FUZZ_SECONDS each ------------------------------------
declare -A fuzz_pid fuzz_max_len=([FuzzABI]=1024 [FuzzTrace]=4096)
for target in FuzzABI FuzzTrace; do
    [ -n "${fuzz_bin[$target]:-}" ] || continue
    name=${corpus_name[$target]}
    work="$OUT/corpus-$name"; rm -rf "$work"; mkdir -p "$work" "$OUT/artifacts"
    cp Tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
    "${fuzz_bin[$target]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -max_len="${fuzz_max_len[$target]}" -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$name-" "$work" >"$OUT/fuzz-$name.log" 2>&1 &
    fuzz_pid[$target]=$!
done
for target in FuzzABI FuzzTrace; do
    name=${corpus_name[$target]}
    if [ -z "${fuzz_pid[$target]:-}" ]; then part "fuzz-$name" 0 1; continue; fi
    wait "${fuzz_pid[$target]}"; status=$?
    log="$OUT/fuzz-$name.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' <<<"$done_line")
    if [ "$status" -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
        echo "fuzz-$name: ${FUZZ_SECONDS}s, $execs executions, $cov"
        part "fuzz-$name" 1 0
    else
        echo "fuzz-$name: exit $status after ${execs:-?} executions; the crashing input is in $OUT/artifacts/ —"
        echo "  minimize it, add it under Tests/fuzz/regressions/$name/ and fix the bug. Log tail:"
        grep -E 'contract|property|ERROR|SUMMARY|Test unit' "$log" | head -n 10 | sed 's/^/    /'
        part "fuzz-$name" 0 1
    fi
done

# --- valgrind memcheck on the C tests ---------------------------------------------------------
# test_alloc is not run here: it replaces malloc itself to count calls, which memcheck also
# replaces (its counts and memcheck's checks would both be void). test_rss/test_tsan have
# their own parts.
p=0 f=0
VG=(valgrind --tool=memcheck --error-exitcode=42 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=yes)
if ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed"; f=1
else
    for t in abi replay json stress; do
        for link in shared static; do
            [ "$t" = stress ] && [ "$link" = static ] && continue   # 1M records: once is enough
            pc=devstate; [ $link = static ] && pc=devstate-static
            bin="$OUT/vg-$t-$link"
            if ! gcc -std=c11 -g -O1 -ITests/c -Iexamples -o "$bin" "Tests/c/test_$t.c" \
                    $(pkg-config --cflags --libs $pc json-c) >"$bin.compile.log" 2>&1; then
                echo "valgrind $t-$link: does not compile"; head -n 10 "$bin.compile.log"; f=$((f + 1)); continue
            fi
            env -u LD_LIBRARY_PATH "${VG[@]}" "$bin" >"$bin.log" 2>&1; status=$?
            summary=$(grep -Eo 'ERROR SUMMARY: [0-9]+ errors? from [0-9]+ contexts?' "$bin.log" | tail -n 1)
            lost=$(grep -Eo 'definitely lost: [0-9,]+ bytes in [0-9,]+ blocks' "$bin.log" | tail -n 1)
            count=$(grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed' "$bin.log" | tail -n 1)
            echo "valgrind $t-$link: exit $status; $summary; ${lost:-definitely lost: 0 bytes}; $count"
            if [ "$status" -eq 0 ] && [ -n "$summary" ] && grep -q 'ERROR SUMMARY: 0 errors' <<<"$summary"; then
                p=$((p + 1))
            else
                f=$((f + 1)); grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|[0-9,]+ bytes in)' "$bin.log" | head -n 10
            fi
        done
    done
fi
part valgrind $p $f

# --- ThreadSanitizer from C ------------------------------------------------------------------
# The installed .so is not instrumented, and its lock is built on atomics that TSan cannot see
# there (it does see the memcpy/realloc interceptors), so a C program against the .so gets
# false reports. The library is built once more with `swift build --sanitize=thread` and the
# test links its objects (swiftc as the linker driver brings the TSan runtime and libdispatch).
p=0 f=0
tsan_dir="$ROOT/.build-hardening-tsan/debug"
if swift build --sanitize=thread --scratch-path "$ROOT/.build-hardening-tsan" --target DeviceStateTimes \
        >"$OUT/build-tsan.log" 2>&1; then
    for variant in test canary; do
        define=(); [ $variant = canary ] && define=(-DDEVSTATE_TSAN_CANARY)
        if clang -std=c11 -Wall -Wextra -Werror -pedantic -g -O1 -fsanitize=thread "${define[@]}" \
                -ITests/c -ICShim/include -c -o "$OUT/tsan-$variant.o" Tests/c/test_tsan.c \
                >"$OUT/tsan-$variant.compile.log" 2>&1 \
            && swiftc -sanitize=thread -use-ld=lld -o "$OUT/tsan-$variant" "$OUT/tsan-$variant.o" \
                "$tsan_dir"/DeviceStateTimes.build/*.o "$tsan_dir"/CDevstateShim.build/*.o -ljson-c \
                >>"$OUT/tsan-$variant.compile.log" 2>&1; then
            TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 "$OUT/tsan-$variant" \
                >"$OUT/tsan-$variant.log" 2>&1; status=$?
        else
            status=-1; echo "tsan-$variant: does not build"; tail -n 10 "$OUT/tsan-$variant.compile.log"
        fi
        if [ $variant = test ]; then
            echo "tsan-c: $(grep -E '^tsan: ' "$OUT/tsan-test.log" | tail -n 1) (exit $status)"
            if [ "$status" -eq 0 ]; then p=$((p + 1)); else
                f=$((f + 1)); grep -A 12 'WARNING: ThreadSanitizer' "$OUT/tsan-test.log" | head -n 40; tail -n 5 "$OUT/tsan-test.log"
            fi
        else
            # The canary races on purpose: TSan must stop it with exit 66.
            if [ "$status" -eq 66 ] && grep -q 'WARNING: ThreadSanitizer: data race' "$OUT/tsan-canary.log"; then
                echo "tsan-c: canary race reported (sanitizer active)"; p=$((p + 1))
            else
                echo "tsan-c: the canary race was NOT reported (exit $status): TSan is not working"; f=$((f + 1))
            fi
        fi
    done
else
    echo "swift build --sanitize=thread failed:"; grep -E 'error' "$OUT/build-tsan.log" | head -n 20; f=1
fi
# A TSan-built host against the installed .so, as QEMU built with --enable-tsan would run:
# no suppressions: the library's lock tells the host's TSan runtime about itself through weak
# __tsan_acquire/__tsan_release references (Sources/CDevstateShim/include/devstate_shim.h).
if gcc -std=c11 -Wall -Wextra -Werror -pedantic -g -O1 -fsanitize=thread -ITests/c -o "$OUT/tsan-host" \
        Tests/c/test_tsan.c $(pkg-config --cflags --libs devstate json-c) >"$OUT/tsan-host.compile.log" 2>&1; then
    env -u LD_LIBRARY_PATH TSAN_OPTIONS="halt_on_error=1:exitcode=66" \
        "$OUT/tsan-host" >"$OUT/tsan-host.log" 2>&1; status=$?
    echo "tsan-c host against libdevstate.so (no suppressions): $(grep -E '^tsan: ' "$OUT/tsan-host.log" | tail -n 1) (exit $status)"
    if [ "$status" -eq 0 ]; then p=$((p + 1)); else
        f=$((f + 1)); grep -A 12 'WARNING: ThreadSanitizer' "$OUT/tsan-host.log" | head -n 30
    fi
else
    echo "tsan-host: does not compile (gcc -fsanitize=thread, Debian libtsan2)"; head -n 10 "$OUT/tsan-host.compile.log"; f=$((f + 1))
fi
part tsan-c $p $f

# --- memory stays flat ---------------------------------------------------------------------
p=0 f=0
if gcc -std=c11 -Wall -Wextra -Werror -pedantic -O2 -ITests/c -o "$OUT/rss" Tests/c/test_rss.c \
        $(pkg-config --cflags --libs devstate json-c) >"$OUT/rss.compile.log" 2>&1; then
    env -u LD_LIBRARY_PATH "$OUT/rss" >"$OUT/rss.log" 2>&1; status=$?
    grep -E '^rss-figures:' "$OUT/rss.log"
    if [ "$status" -eq 0 ]; then p=1; else f=1; cat "$OUT/rss.log"; fi
else
    echo "test_rss.c does not compile"; head -n 10 "$OUT/rss.compile.log"; f=1
fi
part rss $p $f

# --- ABI gate --------------------------------------------------------------------------------
p=0 f=0
if command -v abidw >/dev/null && command -v abidiff >/dev/null; then
    scripts/hardening/abi-gate.sh "$STAGE" >"$OUT/abi-gate.log" 2>&1; status=$?
    grep -E '^(ok|FAILED)' "$OUT/abi-gate.log"
    line=$(grep -E '^abi-gate: ' "$OUT/abi-gate.log" | tail -n 1)
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"${line:-x: 0 passed, 1 failed}")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"${line:-x: 0 passed, 1 failed}")
    if [ "$status" -ne 0 ]; then
        [ "$f" -gt 0 ] || f=1
        grep -vE '^(ok|abi-gate)' "$OUT/abi-gate.log" | head -n 60
    fi
else
    echo "abidw/abidiff missing (Debian package abigail-tools)"; f=1
fi
part abi-gate $p $f

echo
[ ${#failing[@]} -eq 0 ] || echo "failing parts: ${failing[*]}"
echo "hardening wall time: $(( $(date +%s) - started )) s"
echo "hardening: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
