#!/usr/bin/env bash
# Installs what fetching, building and testing QEMU needs (Debian 12, root).
# meson >= 1.5 comes from bookworm-backports through a private apt
# configuration; the system's apt sources are not changed.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "run as root (apt-get install)"
export DEBIAN_FRONTEND=noninteractive

write_private_sources
log "apt-get update (system sources)"
apt-get -o DPkg::Lock::Timeout=900 update -q
log "apt-get update (private sources: bookworm, bookworm-backports; deb-src trixie, trixie-backports, sid)"
apt_private update -q

PKGS=(
    dpkg-dev build-essential ninja-build ccache pkg-config flex bison
    libglib2.0-dev libpixman-1-dev libslirp-dev zlib1g-dev
    python3 python3-venv
    qemu-utils seabios ipxe-qemu qemu-system-data
    libjson-c-dev
)
log "installing: ${PKGS[*]}"
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${PKGS[@]}"

log "installing meson from bookworm-backports"
apt_private -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends -t bookworm-backports meson

mv="$(meson --version)"
case "$mv" in
    0.*|1.[0-4].*) die "meson $mv is too old (need >= 1.5)";;
esac
log "meson $mv, ninja $(ninja --version)"
