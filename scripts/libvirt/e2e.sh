#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The libvirt suite: installs Debian's libvirt when missing (install-deps.sh), starts virtlogd and
# libvirtd standalone on local unix sockets (daemons.sh), runs scripts/libvirt/e2e.py against
# DEVSTATE_BIN (default: swift build's devstate), and stops the daemons it started, whatever
# happened. Closes with "libvirt: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/../.."
# QEMU first: libvirt recommends a qemu-system, and bookworm's own is 7.2.
scripts/fixtures/install-qemu.sh >&2   # stock QEMU 10.0 (bookworm-backports), when missing
scripts/libvirt/install-deps.sh
if [ -z "${DEVSTATE_BIN:-}" ]; then
    swift build --scratch-path "${SWIFT_SCRATCH:-.build}" --product devstate >/dev/null
    DEVSTATE_BIN="$(swift build --scratch-path "${SWIFT_SCRATCH:-.build}" --show-bin-path)/devstate"
fi
export DEVSTATE_BIN
trap 'scripts/libvirt/daemons.sh stop' EXIT
scripts/libvirt/daemons.sh start
timeout 900 python3 scripts/libvirt/e2e.py
