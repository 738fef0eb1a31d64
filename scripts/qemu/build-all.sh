#!/usr/bin/env bash
# Every QEMU the tests run, built once (or taken from the cache): installs
# the build dependencies, fetches both releases' Debian sources, installs our
# library into $DEVSTATE_QEMU_WORK/prefix and builds, per release,
#   10.0: unpatched reference nolib compat-0.1.0 compat-0.2.0 patched
#   10.2: unpatched reference nolib patched
# The variants without the library come first: they share ccache's objects,
# so only the first of them compiles all of QEMU (see build.sh).
# Writes $DEVSTATE_QEMU_WORK/binaries.env (DEVSTATE_QEMU_<VARIANT>_<RELEASE>=path)
# and prints each step's wall time. Closes with "qemu-builds: N passed, N failed".
#
# Environment: DEVSTATE_E2E_SKIP_DEPS=1 skips install-deps.sh;
# DEVSTATE_QEMU_RELEASES (default "10.0 10.2") limits the releases.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"
cd "$DEVSTATE_REPO"

releases=(${DEVSTATE_QEMU_RELEASES:-${QEMU_RELEASES[*]}})
. "$here/timing.sh"

if [ "${DEVSTATE_E2E_SKIP_DEPS:-0}" != 1 ]; then
    timed "install deps" "$here/install-deps.sh"
fi
for r in "${releases[@]}"; do
    timed "fetch source $r" env QEMU_RELEASE="$r" "$here/fetch-source.sh" >/dev/null
done

install_library() {
    rm -rf "$LIB_PREFIX"
    make -C "$DEVSTATE_REPO" --no-print-directory install-lib PREFIX="$LIB_PREFIX" >/dev/null
    [ -f "$LIB_PREFIX/lib/pkgconfig/devstate.pc" ] || die "library install left no devstate.pc"
}
timed "library install" install_library
export PKG_CONFIG_PATH="$LIB_PREFIX/lib/pkgconfig"
log "devstate $(pkg-config --modversion devstate): $(pkg-config --cflags --libs devstate)"

envfile="$DEVSTATE_QEMU_WORK/binaries.env"
: > "$envfile.new"
built=0 failed=0
build() { # build RELEASE VARIANT
    local out var
    var="DEVSTATE_QEMU_$(tr 'a-z.-' 'A-Z__' <<<"$2")_$(tr . _ <<<"$1")"
    if out="$(QEMU_RELEASE="$1" "$here/build.sh" "$2")"; then
        printf '%s=%q\n' "$var" "$out" >> "$envfile.new"
        built=$((built + 1))
    else
        failed=$((failed + 1))
    fi
}
for r in "${releases[@]}"; do
    variants=(unpatched reference nolib)
    [ "$r" = 10.0 ] && variants+=(compat-0.1.0 compat-0.2.0)
    variants+=(patched)
    for v in "${variants[@]}"; do
        timed "build $r $v" build "$r" "$v"
    done
    printf 'DEVSTATE_QEMU_SRC_%s=%q\n' "$(tr . _ <<<"$r")" \
        "$(QEMU_RELEASE="$r" "$here/fetch-source.sh" 2>/dev/null)" >> "$envfile.new"
done
mv "$envfile.new" "$envfile"

print_timings
echo "qemu-builds: $built passed, $failed failed"
[ "$failed" = 0 ]
