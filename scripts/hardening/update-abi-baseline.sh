#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates the ABI baselines abi/libdevstate.abi and abi/libdevstate-api.abi from a staged
# install (default build/stage; run `make stage` first), then shows what changed against the
# previous baseline. Commit the new files together with the change that needed them, and
# follow the versioning policy in docs/hardening.md (an incompatible change bumps
# DEVSTATE_ABI_VERSION and with it the soname).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stage=${1:-$root/build/stage}
. "$here/abi-lib.sh"
for tool in abidw abidiff; do
    command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install abigail-tools" >&2; exit 1; }
done
[ -e "$stage/lib/libdevstate.so" ] || { echo "no $stage/lib/libdevstate.so: run make stage" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$root/abi"
abi_dump_library "$stage" "$work/libdevstate.abi"
abi_dump_api "$stage" "$work/stub" "$work/libdevstate-api.abi"
for f in libdevstate.abi libdevstate-api.abi; do
    if [ -e "$root/abi/$f" ]; then
        echo "== abidiff abi/$f (old) against the new dump:"
        abidiff --no-show-locs "$root/abi/$f" "$work/$f" || echo "(abidiff status $?)"
    fi
    cp "$work/$f" "$root/abi/$f"
done
echo "written: abi/libdevstate.abi ($(abi_symbols "$root/abi/libdevstate.abi" | wc -l) exported symbols), abi/libdevstate-api.abi"
