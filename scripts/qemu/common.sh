# Shared settings for the scripts/qemu/*.sh scripts. Source it, don't run it.
# Everything large (apt lists, QEMU sources, builds, ccache, library prefix)
# lives in DEVSTATE_QEMU_WORK, outside the git clone.
#
# QEMU_RELEASE picks the QEMU release: 10.0 (default) or 10.2.

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

QEMU_RELEASES=(10.0 10.2)
QEMU_RELEASE="${QEMU_RELEASE:-10.0}"
case "$QEMU_RELEASE" in
    10.0) QEMU_DEB_VERSION=1:10.0.13+ds-0+deb13u1;;   # trixie
    10.2) QEMU_DEB_VERSION=1:10.2.2+ds-1;;            # trixie-backports, later sid
    *) die "QEMU_RELEASE=$QEMU_RELEASE: known releases are ${QEMU_RELEASES[*]}";;
esac
QEMU_DEB_UPSTREAM="${QEMU_DEB_VERSION#*:}"              # 10.2.2+ds-1
QEMU_DEB_UPSTREAM="${QEMU_DEB_UPSTREAM%-*}"             # 10.2.2+ds
QEMU_UPSTREAM_VERSION="${QEMU_DEB_UPSTREAM%%+*}"        # 10.2.2 (the tree's VERSION)

export DEVSTATE_QEMU_WORK="${DEVSTATE_QEMU_WORK:-/var/tmp/devstate-qemu}"
DEVSTATE_REPO="${DEVSTATE_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

APT_PRIVATE_DIR="$DEVSTATE_QEMU_WORK/apt"
APT_SOURCES="$APT_PRIVATE_DIR/sources.list"
APT_LISTS="$APT_PRIVATE_DIR/lists"
SRC_CACHE="$DEVSTATE_QEMU_WORK/src/$QEMU_RELEASE"  # downloaded + unpacked Debian source
PRISTINE_TREE="$SRC_CACHE/qemu-$QEMU_DEB_UPSTREAM"
BUILD_ROOT="$DEVSTATE_QEMU_WORK/builds"        # one dir per (release, variant, hash)
LIB_PREFIX="$DEVSTATE_QEMU_WORK/prefix"        # where our library is installed
CCACHE_ROOT="$DEVSTATE_QEMU_WORK/ccache"       # shared by all builds of all variants

# apt-get with the private source list (the system's sources stay untouched).
apt_private() {
    apt-get -o Dir::Etc::SourceList="$APT_SOURCES" \
            -o Dir::Etc::SourceParts=/dev/null \
            -o Dir::State::Lists="$APT_LISTS" "$@"
}

# 10.2.2+ds-1 entered trixie-backports from sid; sid still carries it after
# trixie-backports moved on, so both are listed and apt takes the exact version.
write_private_sources() {
    mkdir -p "$APT_LISTS/partial"
    local k="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian"
    cat > "$APT_SOURCES.new" <<SRC
deb $k bookworm main
deb $k bookworm-updates main
deb $k bookworm-backports main
deb-src $k trixie main
deb-src $k trixie-backports main
deb-src $k sid main
SRC
    mv "$APT_SOURCES.new" "$APT_SOURCES"
}

# apt-get update of the private sources, once per content of the sources list.
update_private_lists() {
    local stamp
    stamp="$APT_LISTS/.updated-$(sha256sum < "$APT_SOURCES" | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        log "apt-get update (private sources)"
        apt_private update -q >&2
        touch "$stamp"
    fi
}
