#!/usr/bin/env bash
# The QEMU end-to-end run: builds (or reuses) every QEMU with build-all.sh --
# both releases' patched, nolib and reference builds and the 10.0 build of
# release 0.1.0 -- and runs Tests/e2e on them. Exits non-zero on any
# failure (a QEMU that cannot be built fails the run; nothing is skipped).
#
# Environment: DEVSTATE_QEMU_WORK (default /var/tmp/devstate-qemu) holds
# everything large; DEVSTATE_QEMU_JOBS (default 2) is ninja's -j;
# DEVSTATE_E2E_SKIP_DEPS=1 skips install-deps.sh and scripts/prometheus/install-deps.sh (for reruns);
# DEVSTATE_QEMU_RELEASES (default "10.0 10.2"); extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"
cd "$DEVSTATE_REPO"

. "$here/timing.sh"

# Prometheus and node_exporter, for Tests/e2e/test_prometheus.py
if [ "${DEVSTATE_E2E_SKIP_DEPS:-0}" != 1 ]; then
    timed "prometheus deps" "$DEVSTATE_REPO/scripts/prometheus/install-deps.sh" >&2
fi
timed "QEMU builds" "$here/build-all.sh" >&2
set -a
. "$DEVSTATE_QEMU_WORK/binaries.env"
set +a
export DEVSTATE_QEMU_RELEASES="${DEVSTATE_QEMU_RELEASES:-${QEMU_RELEASES[*]}}"
export DEVSTATE_QEMU_LIB="$LIB_PREFIX/lib/libdevstate.so.0"
grep -o '^[A-Z0-9_]*' "$DEVSTATE_QEMU_WORK/binaries.env" | while read -r v; do log "$v=${!v}"; done

# The devstate CLI, for the report-from-QMP test (Tests/e2e/test_report_from_qmp.py).
build_cli() {
    if [ -z "${DEVSTATE_BIN:-}" ]; then
        (cd "$DEVSTATE_REPO" && swift build --product devstate >&2)
        DEVSTATE_BIN="$(cd "$DEVSTATE_REPO" && swift build --show-bin-path)/devstate"
    fi
    [ -x "$DEVSTATE_BIN" ] || die "devstate CLI missing at $DEVSTATE_BIN"
    export DEVSTATE_BIN
}
timed "build devstate CLI" build_cli

PY="${PYTHON:-python3}"
if ! "$PY" -m pytest --version >/dev/null 2>&1; then
    log "pytest missing for $PY: installing it"
    "$PY" -m pip install -q pytest
fi

rc=0
pytest_log="$DEVSTATE_QEMU_WORK/e2e-pytest.log"
run_tests() {
    set +e
    "$PY" -m pytest -s -v -p no:cacheprovider \
        --basetemp="$DEVSTATE_QEMU_WORK/e2e-tmp" "$DEVSTATE_REPO/Tests/e2e" "$@" 2>&1 | tee "$pytest_log"
    rc=${PIPESTATUS[0]}
    set -e
}
timed "e2e tests" run_tests "$@"

print_timings
# pytest's summary ("3 failed, 9 passed, 1 error in 12.3s") as the runner's closing line
summary=$(grep -E '^=+ .* in [0-9.]+s' "$pytest_log" | tail -n 1)
count() { grep -Eo "[0-9]+ $1" <<<"$summary" | grep -Eo '[0-9]+' || echo 0; }
echo "qemu-e2e: $(count passed) passed, $(( $(count failed) + $(count error) )) failed, $(count skipped) skipped"
[ "$rc" = 0 ] || die "e2e tests failed (pytest exit $rc)"
log "e2e: all passed"
