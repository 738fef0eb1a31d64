# Shared settings for the scripts/qemu/*.sh scripts. Source it, don't run it.
# Everything large (apt lists, QEMU source, builds, library prefix) lives in
# DEVSTATE_QEMU_WORK, outside the git clone.

QEMU_DEB_VERSION="${QEMU_DEB_VERSION:-1:10.0.13+ds-0+deb13u1}"
QEMU_DEB_UPSTREAM="${QEMU_DEB_VERSION#*:}"              # 10.0.13+ds-0+deb13u1
QEMU_DEB_UPSTREAM="${QEMU_DEB_UPSTREAM%-*}"             # 10.0.13+ds
QEMU_UPSTREAM_VERSION="${QEMU_DEB_UPSTREAM%%+*}"        # 10.0.13 (the tree's VERSION)

export DEVSTATE_QEMU_WORK="${DEVSTATE_QEMU_WORK:-/var/tmp/devstate-qemu}"
DEVSTATE_REPO="${DEVSTATE_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

APT_PRIVATE_DIR="$DEVSTATE_QEMU_WORK/apt"
APT_SOURCES="$APT_PRIVATE_DIR/sources.list"
APT_LISTS="$APT_PRIVATE_DIR/lists"
SRC_CACHE="$DEVSTATE_QEMU_WORK/src"            # downloaded + unpacked Debian source
PRISTINE_TREE="$SRC_CACHE/qemu-$QEMU_DEB_UPSTREAM"
BUILD_ROOT="$DEVSTATE_QEMU_WORK/builds"        # one dir per (variant, hash)
LIB_PREFIX="$DEVSTATE_QEMU_WORK/prefix"        # where our library is installed

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# apt-get with the private source list (the system's sources stay untouched).
apt_private() {
    apt-get -o Dir::Etc::SourceList="$APT_SOURCES" \
            -o Dir::Etc::SourceParts=/dev/null \
            -o Dir::State::Lists="$APT_LISTS" "$@"
}

write_private_sources() {
    mkdir -p "$APT_LISTS/partial"
    cat > "$APT_SOURCES" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
}
