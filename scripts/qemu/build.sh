#!/usr/bin/env bash
# Builds qemu-system-x86_64 from the Debian source with one patch series:
#   build.sh patched     Patches/qemu-10.0 (links libdevstate via pkg-config)
#   build.sh reference   Patches/reference-10.0 (in-tree reference design)
#   build.sh unpatched   Debian's source as it is (the benchmark's baseline)
# Each build lives in $DEVSTATE_QEMU_WORK/builds/VARIANT-HASH, HASH covering
# the series, these scripts, the configure flags and (patched) the installed
# library. A finished build with the same hash is reused; anything else
# rebuilds. A patch that does not apply stops the build with an error.
# Prints the path of the built qemu-system-x86_64 on stdout.
set -euo pipefail
. "$(dirname "$0")/common.sh"

variant="${1:-}"
case "$variant" in
    patched)   series="$DEVSTATE_REPO/Patches/qemu-10.0";;
    reference) series="$DEVSTATE_REPO/Patches/reference-10.0";;
    unpatched) series="";;
    *) die "usage: $0 patched|reference|unpatched";;
esac
jobs="${DEVSTATE_QEMU_JOBS:-2}"

patches=()
if [ -n "$series" ]; then
    shopt -s nullglob
    patches=("$series"/[0-9][0-9][0-9][0-9]-*.patch)
    shopt -u nullglob
    [ "${#patches[@]}" -gt 0 ] || die "no patches in $series"
fi

CONFIGURE_FLAGS=(
    --target-list=x86_64-softmmu --without-default-features
    --python=/usr/bin/python3
    --enable-tcg --enable-kvm --enable-pixman --enable-slirp
    --disable-docs --disable-werror --disable-download
    --enable-trace-backends=log --disable-install-blobs
)

hash_input() {
    echo "variant=$variant qemu=$QEMU_DEB_VERSION flags=${CONFIGURE_FLAGS[*]}"
    sha256sum "$0" "$(dirname "$0")/common.sh" ${patches[@]+"${patches[@]}"} | sed "s#  .*/#  #"
    if [ "$variant" = patched ]; then
        pkg-config --exists devstate ||
            die "pkg-config module 'devstate' not found (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-}); install the library first"
        local libdir includedir pcfile
        libdir="$(pkg-config --variable=libdir devstate)"
        includedir="$(pkg-config --variable=includedir devstate)"
        pcfile="$(pkg-config --path devstate)"
        echo "devstate $(pkg-config --modversion devstate) $(pkg-config --cflags --libs devstate)"
        sha256sum "$pcfile" "$includedir"/devstate/*.h "$libdir"/libdevstate.so* | sed "s#  .*/#  #"
    fi
}
key="$(hash_input | sha256sum | cut -c1-16)"
dir="$BUILD_ROOT/$variant-$key"
binary="$dir/build/qemu-system-x86_64"

if [ -f "$dir/.complete" ] && [ -x "$binary" ]; then
    log "$variant: cache hit ($dir)"
    ln -sfn "$dir" "$BUILD_ROOT/$variant"
    echo "$binary"
    exit 0
fi

pristine="$("$(dirname "$0")/fetch-source.sh")"
log "$variant: fresh build in $dir"
rm -rf "$dir"
mkdir -p "$dir"
cp -a "$pristine" "$dir/src"

for p in ${patches[@]+"${patches[@]}"}; do
    log "$variant: applying $(basename "$p")"
    if ! git -C "$dir/src" apply --verbose "$p" >&2; then
        die "$variant: patch $(basename "$p") does not apply to $QEMU_DEB_VERSION"
    fi
done

extra_ldflags=()
if [ "$variant" = patched ]; then
    # the library is installed in a private prefix: let the binary find it
    extra_ldflags=(--extra-ldflags="-Wl,-rpath,$(pkg-config --variable=libdir devstate)")
fi

mkdir -p "$dir/build"
cd "$dir/build"
log "$variant: configure"
../src/configure "${CONFIGURE_FLAGS[@]}" "${extra_ldflags[@]}" > configure.log 2>&1 ||
    { tail -40 configure.log >&2; die "$variant: configure failed (log: $dir/build/configure.log)"; }
log "$variant: ninja -j$jobs qemu-system-x86_64"
ninja -j"$jobs" qemu-system-x86_64 > ninja.log 2>&1 ||
    { grep -B2 -A20 -m3 'error' ninja.log >&2 || tail -40 ninja.log >&2
      die "$variant: build failed (log: $dir/build/ninja.log)"; }
[ -x "$binary" ] || die "$variant: $binary missing after build"
# ldd's output is matched in bash, not piped into grep -q: under pipefail a
# grep that exits at the first match can kill ldd with SIGPIPE on a busy
# host, and ldd then fails the check of a binary that is fine
deps="$(ldd "$binary")" || die "$variant: ldd $binary failed"
case "$variant:$deps" in
    patched:*libdevstate.so*) ;;
    patched:*) die "patched binary does not link libdevstate";;
    *libdevstate*) die "$variant binary links libdevstate";;
esac
touch "$dir/.complete"
ln -sfn "$dir" "$BUILD_ROOT/$variant"
# keep one build per variant: drop stale ones
for old in "$BUILD_ROOT/$variant"-*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
done
log "$variant: built $binary"
echo "$binary"
