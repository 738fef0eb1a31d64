#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ABI gate: compares the staged libdevstate.so and its headers with the committed baselines
# (abi/libdevstate.abi, abi/libdevstate-api.abi). Fails when
#  - abidiff reports an incompatible change (exit status bit 8, ABIDIFF_ABI_INCOMPATIBLE_CHANGE)
#    for the library or for its header-level API, or abidiff itself errors (bits 1, 2);
#  - abidiff reports any change to an existing function or variable (bit 4 with "N Changed"
#    or "N Removed" > 0: libabigail leaves struct layout and parameter changes out of bit 8);
#  - the exported symbol list differs in any way from the one the baseline holds (an added
#    function is compatible for abidiff, but must be recorded in the baseline first:
#    scripts/hardening/update-abi-baseline.sh);
#  - the header stub does not export what the library exports (it would describe another ABI).
# Usage: abi-gate.sh STAGE [BASELINE_DIR]. Prints "abi-gate: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stage=${1:?usage: abi-gate.sh STAGE [BASELINE_DIR]}
baseline=${2:-$root/abi}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/abi-lib.sh"
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }

# abidiff's status is a bit field: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
# libabigail 2.2 sets bit 8 only when a function or variable symbol is removed (or its symbol
# changes incompatibly); a changed parameter type or struct layout of an existing function only
# sets bit 4. So besides bit 8, a change reported on an existing function or variable
# ("N Changed" in the summary, N > 0) fails too: only additions are compatible.
compare() { # what, baseline file, current file
    local what=$1 old=$2 new=$3 status changed
    abidiff --no-show-locs "$old" "$new" >"$work/$what.diff" 2>&1
    status=$?
    changed=$(grep -Eo '[0-9]+ Removed, [0-9]+ Changed' "$work/$what.diff" \
        | awk '{ n += $1 + $3 } END { print n + 0 }')
    if [ $((status & 3)) -ne 0 ]; then
        fail "$what: abidiff could not compare (status $status)"; sed 's/^/    /' "$work/$what.diff"
    elif [ $((status & 8)) -ne 0 ]; then
        fail "$what: incompatible ABI change (abidiff status $status, bit 8)"; sed 's/^/    /' "$work/$what.diff"
    elif [ $((status & 4)) -ne 0 ] && [ "$changed" -gt 0 ]; then
        fail "$what: $changed existing functions/variables changed or removed (abidiff status $status)"
        sed 's/^/    /' "$work/$what.diff"
    elif [ $((status & 4)) -ne 0 ]; then
        pass "$what: additions only (abidiff status $status)"; sed 's/^/    /' "$work/$what.diff"
    else
        pass "$what: no ABI change"
    fi
}

for f in libdevstate.abi libdevstate-api.abi; do
    [ -s "$baseline/$f" ] || fail "baseline $baseline/$f is missing"
done
if abi_dump_library "$stage" "$work/libdevstate.abi"; then
    [ -s "$baseline/libdevstate.abi" ] && compare library "$baseline/libdevstate.abi" "$work/libdevstate.abi"
else
    fail "abidw of $stage/lib/libdevstate.so failed"
fi
if abi_dump_api "$stage" "$work/stub" "$work/libdevstate-api.abi"; then
    [ -s "$baseline/libdevstate-api.abi" ] && compare api "$baseline/libdevstate-api.abi" "$work/libdevstate-api.abi"
else
    fail "the header stub did not build or abidw failed on it"
fi

exported=$(abi_exported "$stage")
if [ -s "$baseline/libdevstate.abi" ]; then
    recorded=$(abi_symbols "$baseline/libdevstate.abi")
    if [ "$exported" = "$recorded" ]; then
        pass "exported symbols equal the baseline's ($(wc -l <<<"$exported") symbols)"
    else
        fail "exported symbols differ from the baseline (< baseline, > library):"
        diff <(echo "$recorded") <(echo "$exported") | grep '^[<>]' | sed 's/^/    /'
    fi
fi
if [ -s "$work/stub/libdevstate-api.so" ]; then
    stub=$(nm -D --defined-only "$work/stub/libdevstate-api.so" | awk '{print $3}' | grep -v '^devstate_abi_stub_' | sort -u)
    if [ "$stub" = "$exported" ]; then
        pass "the header stub exports what the library exports"
    else
        fail "the headers declare other functions than the library exports (< headers, > library):"
        diff <(echo "$stub") <(echo "$exported") | grep '^[<>]' | sed 's/^/    /'
    fi
fi
# Every earlier release of this ABI (abi/releases/X.Y.Z, frozen when it shipped): the
# library may only have added to it, so a host built against it keeps linking and running.
for release in "$root"/abi/releases/*/; do
    [ -s "$release/libdevstate.abi" ] || continue
    name=$(basename "$release")
    [ -s "$work/libdevstate.abi" ] && compare "library-$name" "$release/libdevstate.abi" "$work/libdevstate.abi"
    [ -s "$work/libdevstate-api.abi" ] && compare "api-$name" "$release/libdevstate-api.abi" "$work/libdevstate-api.abi"
    missing=$(comm -23 <(abi_symbols "$release/libdevstate.abi") <(echo "$exported"))
    if [ -z "$missing" ]; then
        pass "every symbol of release $name is still exported"
    else
        fail "symbols of release $name no longer exported: $(echo $missing)"
    fi
done
soname=$(readelf -d "$stage/lib/libdevstate.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
abi=$(sed -n 's/^#define DEVSTATE_ABI_VERSION \([0-9]*\)$/\1/p' "$stage/include/devstate/devstate.h")
if [ -n "$abi" ] && [ "$soname" = "libdevstate.so.$abi" ]; then
    pass "soname $soname carries DEVSTATE_ABI_VERSION $abi"
else
    fail "soname '$soname' does not match DEVSTATE_ABI_VERSION '$abi'"
fi

echo "abi-gate: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
