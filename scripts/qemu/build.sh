#!/usr/bin/env bash
# Builds qemu-system-x86_64 of QEMU_RELEASE (10.0 or 10.2, see common.sh)
# from Debian's source with one variant:
#   patched        Patches/qemu-RELEASE, libdevstate found by pkg-config
#                  (-Ddevstate=enabled: a missing library fails the build)
#   nosteps        Patches/qemu-RELEASE up to 0007, linked like patched: the
#                  series without the steps of the downtime (0008-0010, run-state
#                  handlers and the work around the device states), the A/B
#                  baseline of their cost in bench/guest-downtime.py
#   installed      Patches/qemu-RELEASE built like patched, but against the
#                  library installed in the system (Debian's packages, make deb):
#                  the system's pkg-config alone, and the binary must load
#                  libdevstate.so.0 from that libdir
#   nolib          Patches/qemu-RELEASE with -Ddevstate=disabled: builds
#                  without the library; query-migrate has none of its members
#   reference      Patches/reference-RELEASE (in-tree reference design)
#   unpatched      Debian's source as it is (baseline, stock traces)
#   compat-0.1.0   10.0 only: release 0.1.0's series and headers
#   compat-0.2.0   (Tests/compat/0.1.0, Tests/compat/0.2.0), linked by soname
#                  to the library installed now, which it runs against
# Usage: [QEMU_RELEASE=10.2] build.sh VARIANT
#
# Each build lives in $DEVSTATE_QEMU_WORK/builds/RELEASE-VARIANT-HASH. HASH
# covers the Debian version, the series, these scripts, the configure flags
# and, for patched, the library's headers and pkg-config flags -- not the
# library binary: a QEMU links it by soname, so a new library of the same ABI
# reuses the build (the ABI policy in README.md). A finished build with the
# same hash is reused; anything else rebuilds, with ccache shared by all
# variants (most objects of two variants of one release are the same).
# A patch that does not apply stops the build with an error.
# Prints the path of the built qemu-system-x86_64 on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"

variant="${1:-}"
uses_lib=0
case "$variant" in
    patched)   series="$DEVSTATE_REPO/Patches/qemu-$QEMU_RELEASE"; uses_lib=1;;
    nosteps)   series="$DEVSTATE_REPO/Patches/qemu-$QEMU_RELEASE"; uses_lib=1; last_patch=0007;;
    installed) series="$DEVSTATE_REPO/Patches/qemu-$QEMU_RELEASE"; uses_lib=1
               export PKG_CONFIG_PATH="";;
    nolib)     series="$DEVSTATE_REPO/Patches/qemu-$QEMU_RELEASE";;
    reference) series="$DEVSTATE_REPO/Patches/reference-$QEMU_RELEASE";;
    unpatched) series="";;
    compat-0.1.0|compat-0.2.0)
        [ "$QEMU_RELEASE" = 10.0 ] || die "$variant is a QEMU 10.0 series"
        compat_dir="$DEVSTATE_REPO/Tests/compat/${variant#compat-}"
        series="$compat_dir/series"; uses_lib=1;;
    *) die "usage: [QEMU_RELEASE=10.0|10.2] $0 patched|nosteps|installed|nolib|reference|unpatched|compat-0.1.0|compat-0.2.0";;
esac
jobs="${DEVSTATE_QEMU_JOBS:-2}"
name="$QEMU_RELEASE-$variant"

patches=()
if [ -n "$series" ]; then
    [ -d "$series" ] || die "$name: no series at $series"
    shopt -s nullglob
    patches=("$series"/[0-9][0-9][0-9][0-9]-*.patch)
    shopt -u nullglob
    [ "${#patches[@]}" -gt 0 ] || die "no patches in $series"
    if [ -n "${last_patch:-}" ]; then
        kept=()
        for p in "${patches[@]}"; do
            n=$(basename "$p"); n=${n%%-*}
            [ "$((10#$n))" -le "$((10#$last_patch))" ] && kept+=("$p")
        done
        patches=("${kept[@]}")
    fi
fi

CONFIGURE_FLAGS=(
    --target-list=x86_64-softmmu --without-default-features
    --python=/usr/bin/python3
    --enable-tcg --enable-kvm --enable-pixman --enable-slirp
    --disable-docs --disable-werror --disable-download
    --enable-trace-backends=log --disable-install-blobs
)
# The series that carry the meson option (-Ddevstate) get it explicitly.
if [ -n "$series" ] && grep -qs "option('devstate'" "${patches[@]}"; then
    case "$variant" in
        patched|nosteps|installed|compat-*) CONFIGURE_FLAGS+=(--enable-devstate);;
        nolib)            CONFIGURE_FLAGS+=(--disable-devstate);;
    esac
elif [ "$variant" = nolib ]; then
    die "nolib: $series has no meson option 'devstate'"
fi

dir_for() { echo "$BUILD_ROOT/$name-$1"; }

# The pkg-config module a library-linking variant builds against.
devstate_pc() {
    case "$variant" in
        patched|nosteps|installed)
            pkg-config --exists devstate ||
                die "pkg-config module 'devstate' not found (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-}); install the library first"
            pkg-config --path devstate;;
        compat-*)
            # that release's headers with the library installed now
            [ -e "$LIB_PREFIX/lib/libdevstate.so" ] || die "no library in $LIB_PREFIX/lib: install it first"
            local pcdir="$1/compat/lib/pkgconfig"
            mkdir -p "$pcdir" "$1/compat/include"
            cp -a "$compat_dir/include/devstate" "$1/compat/include/"
            cat > "$pcdir/devstate.pc" <<PC
includedir=$1/compat/include
libdir=$LIB_PREFIX/lib

Name: devstate
Description: release ${variant#compat-}'s headers, linked to the installed libdevstate by soname
Version: ${variant#compat-}
Requires.private: json-c
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -ldevstate
PC
            echo "$pcdir/devstate.pc";;
    esac
}

hash_input() {
    echo "variant=$variant qemu=$QEMU_DEB_VERSION flags=${CONFIGURE_FLAGS[*]}"
    sha256sum "$0" "$here/common.sh" ${patches[@]+"${patches[@]}"} | sed "s#  .*/#  #"
    case "$variant" in
        patched|nosteps|installed)
            local includedir
            includedir="$(pkg-config --variable=includedir devstate)"
            echo "devstate $(pkg-config --modversion devstate) $(pkg-config --cflags --libs devstate)"
            sha256sum "$includedir"/devstate/*.h | sed "s#  .*/#  #";;
        compat-*)
            sha256sum "$compat_dir"/include/devstate/*.h | sed "s#  .*/#  #";;
    esac
}
case "$variant" in patched|nosteps|installed) devstate_pc "" >/dev/null;; esac
key="$(hash_input | sha256sum | cut -c1-16)"
dir="$(dir_for "$key")"
binary="$dir/build/qemu-system-x86_64"

# installed: the binary loads the system's library, whether just built or cached.
check_installed_link() { # ldd output
    [ "$variant" = installed ] || return 0
    local libdir loaded
    libdir="$(pkg-config --variable=libdir devstate)"
    # ldd may name it by another path to the same file (/lib is /usr/lib on Debian 12).
    loaded="$(sed -n 's/.*libdevstate\.so\.0 => \([^ ]*\).*/\1/p' <<<"$1")"
    [ -n "$loaded" ] && [ "$(realpath "$loaded")" = "$(realpath "$libdir/libdevstate.so.0")" ] ||
        die "$name binary does not load libdevstate.so.0 from $libdir: $1"
}

if [ -f "$dir/.complete" ] && [ -x "$binary" ]; then
    log "$name: cache hit ($dir)"
    check_installed_link "$(ldd "$binary")"
    ln -sfn "$dir" "$BUILD_ROOT/$name"
    echo "$binary"
    exit 0
fi

pristine="$("$here/fetch-source.sh")"
log "$name: fresh build in $dir"
rm -rf "$dir"
mkdir -p "$dir"
cp -a "$pristine" "$dir/src"

for p in ${patches[@]+"${patches[@]}"}; do
    log "$name: applying $(basename "$p")"
    if ! git -C "$dir/src" apply --verbose "$p" >&2; then
        die "$name: patch $(basename "$p") does not apply to $QEMU_DEB_VERSION"
    fi
done

if [ "$uses_lib" = 1 ]; then
    pc="$(devstate_pc "$dir")"
    export PKG_CONFIG_PATH="$(dirname "$pc")"
    log "$name: devstate $(pkg-config --modversion devstate) from $pc"
else
    # nothing of the library may leak into a build that must not use it
    export PKG_CONFIG_PATH=""
fi

# ccache: paths relative to the build's own dir, so that another variant's
# identical objects are hits. Not part of the hash (it changes no output).
cc_flags=()
if command -v ccache >/dev/null; then
    export CCACHE_DIR="$CCACHE_ROOT" CCACHE_BASEDIR="$dir" CCACHE_NOHASHDIR=true \
           CCACHE_SLOPPINESS=include_file_ctime,include_file_mtime,time_macros \
           CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
    cc_flags=(--cc="ccache gcc" --cxx="ccache g++")
    ccache -z >/dev/null
fi

mkdir -p "$dir/build"
cd "$dir/build"
log "$name: configure"
../src/configure "${CONFIGURE_FLAGS[@]}" ${cc_flags[@]+"${cc_flags[@]}"} > configure.log 2>&1 ||
    { tail -40 configure.log >&2; die "$name: configure failed (log: $dir/build/configure.log)"; }
log "$name: ninja -j$jobs qemu-system-x86_64"
ninja -j"$jobs" qemu-system-x86_64 > ninja.log 2>&1 ||
    { grep -B2 -A20 -m3 'error' ninja.log >&2 || tail -40 ninja.log >&2
      die "$name: build failed (log: $dir/build/ninja.log)"; }
[ -x "$binary" ] || die "$name: $binary missing after build"
if [ ${#cc_flags[@]} -gt 0 ]; then
    log "$name: ccache $(ccache --print-stats | awk -F'\t' '/^(direct_cache_hit|preprocessed_cache_hit|cache_miss)\t/{printf "%s=%s ", $1, $2}')"
fi
# ldd's output is matched in bash, not piped into grep -q: under pipefail a
# grep that exits at the first match can kill ldd with SIGPIPE on a busy
# host, and ldd then fails the check of a binary that is fine
deps="$(ldd "$binary")" || die "$name: ldd $binary failed"
check_installed_link "$deps"
case "$uses_lib:$deps" in
    1:*libdevstate.so.0*) ;;
    1:*) die "$name binary does not link libdevstate";;
    *libdevstate*) die "$name binary links libdevstate";;
esac
touch "$dir/.complete"
ln -sfn "$dir" "$BUILD_ROOT/$name"
# keep one build per release and variant: drop stale ones
for old in "$BUILD_ROOT/$name"-*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
done
log "$name: built $binary"
echo "$binary"
