#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real-QEMU part of `make bench`: builds (or reuses) the unpatched, reference-patched and
# library-patched QEMU 10.0.13 with scripts/qemu/ and runs bench/qemu-downtime.py on them.
#   bench/qemu-downtime.sh ROUNDS OUT.md
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
rounds=${1:-20}
out=${2:-bench/qemu-downtime.md}
. scripts/qemu/common.sh

scripts/qemu/install-deps.sh >&2
scripts/qemu/fetch-source.sh >/dev/null
make --no-print-directory install-lib PREFIX="$LIB_PREFIX" >/dev/null
export PKG_CONFIG_PATH="$LIB_PREFIX/lib/pkgconfig"
unpatched=$(scripts/qemu/build.sh unpatched)
reference=$(scripts/qemu/build.sh reference)
library=$(scripts/qemu/build.sh patched)
python3 bench/qemu-downtime.py "$rounds" "$ROOT/$out" \
    unpatched="$unpatched" reference="$reference" library="$library"
