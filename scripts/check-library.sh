#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the installed shared library: exports exactly the functions the public headers
# declare, links no Foundation or Swift runtime, needs no LD_LIBRARY_PATH.
set -uo pipefail
STAGE=${1:?usage: check-library.sh PREFIX}
lib="$STAGE/lib/libdevstate.so"
passed=0 failed=0
check() { # description, command...
    local what=$1; shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $what"; fi
}

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
declared=$(grep -ohE '\bdevstate_[a-z0-9_]+\(' "$STAGE"/include/devstate/*.h | tr -d '(' | sort -u)
echo "exported:"; sed 's/^/  /' <<<"$exported"
check "every export is devstate_*" bash -c "! grep -qv '^devstate_' <<<'$exported'"
check "exports equal the header's declarations" test "$exported" = "$declared"
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "NEEDED: $(echo $needed)"
check "no Foundation" bash -c "! grep -qi foundation <<<'$needed'"
check "no Swift runtime library" bash -c "! grep -qi swift <<<'$needed'"
check "json-c linked" grep -q libjson-c <<<"$needed"
abi=$(sed -n 's/^#define DEVSTATE_ABI_VERSION \([0-9]*\)$/\1/p' "$STAGE/include/devstate/devstate.h")
check "soname carries the header's ABI version ($abi)" bash -c "readelf -d '$lib' | grep -q 'SONAME.*\[libdevstate\.so\.$abi\]'"
check "loads without LD_LIBRARY_PATH" bash -c "env -u LD_LIBRARY_PATH ldd '$lib' | grep -vq 'not found'"
echo "sizes: $(stat -L -c '%n %s' "$STAGE/lib/libdevstate.so" "$STAGE/lib/libdevstate.a" | tr '\n' ' ')"
echo "library-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
