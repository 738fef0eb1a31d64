#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test suite against the staged install (make stage) and closes with
# "total: N passed, N failed". Exits non-zero if any suite failed or printed no count.
# DEVSTATE_TESTS=quick (make check) runs the edit-test loop only: Swift tests (no TSan), the
# C tests linked shared, the library checks; no QEMU builds or migrations, static/ASan C tests,
# fuzzing or benchmarks. SWIFT_SCRATCH: SwiftPM's scratch path for the Swift tests (.build).
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${DEVSTATE_TESTS:-full}
case "$MODE" in full|quick) ;; *) echo "DEVSTATE_TESTS is full or quick, not $MODE" >&2; exit 2;; esac
full() { [ "$MODE" = full ]; }
SWIFT_SCRATCH=${SWIFT_SCRATCH:-.build}

STAGE=${STAGE:-$PWD/build/stage}
OUT=build/tests
mkdir -p "$OUT"
export PKG_CONFIG_PATH="$STAGE/lib/pkgconfig"
CFLAGS_STRICT=(-Wall -Wextra -Werror -pedantic -ITests/c -Iexamples)
total_passed=0
total_failed=0
total_skipped=0
broken=()

# Adds a suite's "name: N passed, N failed" line(s) to the totals.
tally() {
    local suite=$1 log=$2 status=$3 line p f
    line=$(grep -E '^([A-Za-z0-9_+-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$suite: printed no count (exit $status)"; tail -n 20 "$log"
        broken+=("$suite"); total_failed=$((total_failed + 1)); return
    fi
    p=$(sed -E 's/^([A-Za-z0-9_+-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    total_passed=$((total_passed + p)); total_failed=$((total_failed + f))
    if [[ $line =~ ([0-9]+)\ skipped ]]; then total_skipped=$((total_skipped + BASH_REMATCH[1])); fi
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        broken+=("$suite"); total_failed=$((total_failed + 1))
    fi
    echo "$suite → $line"
}

# Wall time of every suite, printed at the end (CI's per-stage times).
timings=()
run_suite() { # name, command...
    local suite=$1; shift
    local log="$OUT/$suite.log" t=$SECONDS
    "$@" >"$log" 2>&1
    local status=$?
    timings+=("$(printf '%-26s %5d s' "$suite" $((SECONDS - t)))")
    tally "$suite" "$log" "$status"
    [ "$status" -eq 0 ] || { echo "--- $suite failed, last lines:"; tail -n 30 "$log"; }
}

# Swift tests are counted from their xUnit report (--xunit-output; Swift Testing writes
# NAME-swift-testing.xml beside it), not from the console: tests, failures, errors, skipped.
swift_suite() { # name, swift test args...
    local suite=$1; shift
    local log="$OUT/$suite.log" xml="$OUT/$suite.xml" t=$SECONDS
    rm -f "$xml" "${xml%.xml}-swift-testing.xml"
    swift test --xunit-output "$xml" "$@" >"$log" 2>&1
    local status=$?
    timings+=("$(printf '%-26s %5d s' "$suite" $((SECONDS - t)))")
    python3 - "$xml" "${xml%.xml}-swift-testing.xml" "$suite" >>"$log" <<'PY'
import sys, os, xml.etree.ElementTree as ET
tests = failed = skipped = 0
seen = False
for path in sys.argv[1:3]:
    if not os.path.exists(path):
        continue
    seen = True
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
if seen:
    print(f"{sys.argv[3]}: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
    tally "$suite" "$log" "$status"
    [ "$status" -eq 0 ] || { echo "--- $suite failed, last lines:"; grep -E '✘|error' "$log" | sed -n 1,40p; }
}

echo "== Swift unit tests"
swift_suite swift --scratch-path "$SWIFT_SCRATCH"

echo "== Golden outputs: devstate report on every input in every format, byte for byte (Tests/Golden)"
run_suite golden scripts/golden.sh check "$(swift build --scratch-path "$SWIFT_SCRATCH" --show-bin-path)/devstate"
if full; then
echo "== Swift concurrency tests under ThreadSanitizer"
swift_suite swift-tsan --sanitize=thread --scratch-path .build-tsan --filter Concurrency

echo "== QEMU builds: 10.0 and 10.2, patched, nolib, reference, unpatched, 0.1.0 compat (cached by content)"
run_suite qemu-builds scripts/qemu/build-all.sh

echo "== devstate CLI against real stock QEMUs: 10.0 (bookworm-backports) and 10.2 (built unpatched)"
run_suite cli-stock-qemu env DEVSTATE_BIN="$(swift build --scratch-path "$SWIFT_SCRATCH" --show-bin-path)/devstate" \
    bash scripts/fixtures/e2e-stock-qemu.sh

# Before qemu-e2e, which skips installing dependencies: this installs Debian's Prometheus and
# node_exporter that the e2e's watcher test runs.
echo "== Prometheus: promtool on every fixture's OpenMetrics output and on docs/prometheus' rules"
run_suite prometheus-checks env DEVSTATE_BIN="$(swift build --scratch-path "$SWIFT_SCRATCH" --show-bin-path)/devstate" \
    bash -c 'scripts/prometheus/install-deps.sh && scripts/prometheus/check.sh'

# Installs Debian's libvirt (no service starts), runs virtlogd and libvirtd standalone on local
# unix sockets for the length of the suite, and stops them (scripts/libvirt/).
echo "== libvirt 9.0 and stock QEMU 10.0: devstate trace on --domain/--qmp, virsh save/restore, report --domain, no-trace inputs"
run_suite libvirt env DEVSTATE_BIN="$(swift build --scratch-path "$SWIFT_SCRATCH" --show-bin-path)/devstate" \
    scripts/libvirt/e2e.sh

echo "== Patched QEMU 10.0 and 10.2: real migrations, reference comparison, one library, 0.1.0 compat (Tests/e2e)"
run_suite qemu-e2e env DEVSTATE_E2E_SKIP_DEPS=1 scripts/qemu/e2e.sh

# Installs the packages system-wide for its length and purges them at its end (scripts/deb/).
echo "== Debian packages: make deb, lintian, apt-get install, the CLI's e2e on /usr/bin/devstate, a QEMU built on them, purge"
run_suite packages scripts/deb/e2e.sh
fi

links="shared static"
full || links=shared
echo "== C tests: gcc -std=c11 and g++, linked $links (pkg-config devstate / devstate-static)"
for t in abi replay json stress alloc nomem whole layout; do
    for lang in c11 cxx; do
        for link in $links; do
            pc=devstate; [ $link = static ] && pc=devstate-static
            bin="$OUT/$t-$lang-$link"
            if [ $lang = c11 ]; then cc=(gcc -std=c11); else cc=(g++ -x c++ -std=c++17); fi
            # -x none: the objects pkg-config names (swiftrt.o) are not C++ sources.
            if ! "${cc[@]}" "${CFLAGS_STRICT[@]}" -o "$bin" "Tests/c/test_$t.c" -x none \
                    $(pkg-config --cflags --libs $pc json-c) >"$bin.compile.log" 2>&1; then
                echo "$t-$lang-$link: does not compile"; head -n 30 "$bin.compile.log"
                broken+=("$t-$lang-$link"); total_failed=$((total_failed + 1)); continue
            fi
            run_suite "$t-$lang-$link" env -u LD_LIBRARY_PATH "$bin"
        done
    done
done

if full; then
echo "== C tests under AddressSanitizer with leak detection"
for t in abi replay json stress whole; do
    bin="$OUT/$t-asan"
    gcc -std=c11 "${CFLAGS_STRICT[@]}" -g -fsanitize=address -fno-omit-frame-pointer -o "$bin" \
        "Tests/c/test_$t.c" $(pkg-config --cflags --libs devstate json-c)
    run_suite "$t-asan" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 "$bin"
done

echo "== Benchmark harness smoke (one iteration, real QEMU round and an 8 MB log included; figures not checked)"
run_suite bench-smoke bash -c 'BENCH_SMOKE=1 bench/run.sh && test -s build/bench-smoke/RESULTS.md \
    && test -s build/bench-smoke/record-cost.png && grep -q "library / reference" build/bench-smoke/RESULTS.md \
    && grep -q "devstate report --format json (every run)" build/bench-smoke/RESULTS.md \
    && echo "bench-smoke: 1 passed, 0 failed"'
fi

echo "== Library checks"
run_suite library-checks scripts/check-library.sh "$STAGE"

if full; then
echo "== Hardening: fuzzing, valgrind, C ThreadSanitizer, RSS, ABI gate (docs/hardening.md)"
run_suite hardening env STAGE="$STAGE" scripts/hardening/run.sh
fi

echo
echo "== wall time per suite"
printf '%s\n' "${timings[@]}"
echo "all suites: $SECONDS s"
if [ ${#broken[@]} -gt 0 ]; then echo "failing suites: ${broken[*]}"; fi
echo "total: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
