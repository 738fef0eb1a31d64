#!/usr/bin/env bash
# Downloads and unpacks Debian's qemu source package of QEMU_RELEASE (see
# common.sh) into $DEVSTATE_QEMU_WORK/src/RELEASE (outside the clone), with a
# private apt configuration. apt-get source unpacks with dpkg-source -x, so
# Debian's own patches are applied. A complete earlier download is reused.
# Prints the path of the pristine tree on stdout.
set -euo pipefail
. "$(dirname "$0")/common.sh"

stamp="$SRC_CACHE/.complete-$QEMU_DEB_VERSION"
if [ -f "$stamp" ] && [ -f "$PRISTINE_TREE/VERSION" ]; then
    log "source cache hit: $PRISTINE_TREE"
    echo "$PRISTINE_TREE"
    exit 0
fi

command -v dpkg-source >/dev/null || die "dpkg-source missing: run scripts/qemu/install-deps.sh"
write_private_sources
update_private_lists

rm -rf "$SRC_CACHE"
mkdir -p "$SRC_CACHE"
cd "$SRC_CACHE"
log "apt-get source qemu=$QEMU_DEB_VERSION into $SRC_CACHE"
# apt-get source may drop root privileges to the _apt user for downloading
chown _apt "$SRC_CACHE" 2>/dev/null || true
apt_private source -q "qemu=$QEMU_DEB_VERSION" >&2
[ -f "$PRISTINE_TREE/VERSION" ] || die "unpacked tree not found at $PRISTINE_TREE"
got="$(cat "$PRISTINE_TREE/VERSION")"
[ "$got" = "$QEMU_UPSTREAM_VERSION" ] || die "VERSION is $got, expected $QEMU_UPSTREAM_VERSION"
# the downloaded .dsc and tarballs are not needed once unpacked
rm -f "$SRC_CACHE"/qemu_*
touch "$stamp"
log "source ready: $PRISTINE_TREE (VERSION $got)"
echo "$PRISTINE_TREE"
