#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real-guest part of `make bench`: builds (or reuses) QEMU 10.0.13 with our whole series and
# with the series without the steps of the downtime (scripts/qemu/build.sh patched, nosteps),
# builds the Linux guest from Debian's packages (scripts/guest/build-guest.sh) and runs
# bench/guest-downtime.py on them.
#   bench/guest-downtime.sh ROUNDS OUT.md
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
out=${2:-bench/guest-downtime.md}
. scripts/qemu/common.sh

scripts/qemu/install-deps.sh >&2
scripts/qemu/fetch-source.sh >/dev/null
make --no-print-directory install-lib PREFIX="$LIB_PREFIX" >/dev/null
export PKG_CONFIG_PATH="$LIB_PREFIX/lib/pkgconfig"
steps=$(scripts/qemu/build.sh patched)
nosteps=$(scripts/qemu/build.sh nosteps)
python3 bench/guest-downtime.py "$rounds" "$out" steps="$steps" nosteps="$nosteps"
