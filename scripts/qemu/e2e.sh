#!/usr/bin/env bash
# The one entry point of issue 3: installs the build dependencies, fetches
# Debian's QEMU 10.0 source, installs our library into a private prefix,
# builds the patched and the reference QEMU and runs the end-to-end tests
# in Tests/e2e. Exits non-zero on any failure (a QEMU that cannot be built
# fails the run; nothing is skipped).
#
# Environment: DEVSTATE_QEMU_WORK (default /var/tmp/devstate-qemu) holds
# everything large; DEVSTATE_QEMU_JOBS (default 2) is ninja's -j;
# DEVSTATE_E2E_SKIP_DEPS=1 skips install-deps.sh (for reruns).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"
cd "$DEVSTATE_REPO"

t_all=$SECONDS
timing=()
phase() { # phase NAME CMD...: runs CMD, records its wall time
    local name="$1" t=$SECONDS
    shift
    log "=== $name"
    "$@"
    timing+=("$(printf '%-22s %5ss' "$name" $((SECONDS - t)))")
}

if [ "${DEVSTATE_E2E_SKIP_DEPS:-0}" != 1 ]; then
    phase "install deps" "$here/install-deps.sh"
fi
phase "fetch source" "$here/fetch-source.sh" >/dev/null

install_library() {
    rm -rf "$LIB_PREFIX"
    make -C "$DEVSTATE_REPO" install PREFIX="$LIB_PREFIX"
    [ -f "$LIB_PREFIX/lib/pkgconfig/devstate.pc" ] || die "library install left no devstate.pc"
}
phase "library install" install_library
export PKG_CONFIG_PATH="$LIB_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
log "devstate $(pkg-config --modversion devstate): $(pkg-config --cflags --libs devstate)"

build_variant() {
    local v="$1" out
    out="$("$here/build.sh" "$v")"
    printf '%s\n' "$out" > "$DEVSTATE_QEMU_WORK/$v.path"
}
phase "build reference" build_variant reference
phase "build patched" build_variant patched

export DEVSTATE_QEMU_REFERENCE="$(cat "$DEVSTATE_QEMU_WORK/reference.path")"
export DEVSTATE_QEMU_PATCHED="$(cat "$DEVSTATE_QEMU_WORK/patched.path")"
export DEVSTATE_QEMU_SRC="$PRISTINE_TREE"
log "patched:   $DEVSTATE_QEMU_PATCHED"
log "reference: $DEVSTATE_QEMU_REFERENCE"

# The devstate CLI, for the report-from-QMP test (Tests/e2e/test_report_from_qmp.py).
build_cli() {
    if [ -z "${DEVSTATE_BIN:-}" ]; then
        (cd "$DEVSTATE_REPO" && swift build --product devstate >&2)
        DEVSTATE_BIN="$(cd "$DEVSTATE_REPO" && swift build --show-bin-path)/devstate"
    fi
    [ -x "$DEVSTATE_BIN" ] || die "devstate CLI missing at $DEVSTATE_BIN"
    export DEVSTATE_BIN
}
phase "build devstate CLI" build_cli

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
        --basetemp="$DEVSTATE_QEMU_WORK/e2e-tmp" "$DEVSTATE_REPO/Tests/e2e" 2>&1 | tee "$pytest_log"
    rc=${PIPESTATUS[0]}
    set -e
}
phase "e2e tests" run_tests

log "=== wall times"
for t in "${timing[@]}"; do log "  $t"; done
log "  total                  $((SECONDS - t_all))s"
# pytest's summary ("3 failed, 9 passed, 1 error in 12.3s") as the runner's closing line
summary=$(grep -E '^=+ .* in [0-9.]+s' "$pytest_log" | tail -n 1)
count() { grep -Eo "[0-9]+ $1" <<<"$summary" | grep -Eo '[0-9]+' || echo 0; }
echo "qemu-e2e: $(count passed) passed, $(( $(count failed) + $(count error) )) failed"
[ "$rc" = 0 ] || die "e2e tests failed (pytest exit $rc)"
log "e2e: all passed"
