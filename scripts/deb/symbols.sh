#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints debian/libdevstate0.symbols: every symbol the library exports today (abi/libdevstate.abi)
# with the first release that exported it (abi/releases/*/libdevstate.abi), so that a package
# built against a symbol depends on a libdevstate0 that has it. Symbols new since the last
# release get the header's version.
#   scripts/deb/symbols.sh > debian/libdevstate0.symbols
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(make -s --no-print-directory version)
soname=$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" abi/libdevstate.abi | head -n 1)
symbols() { grep -o "elf-symbol name='devstate_[A-Za-z0-9_]*'" "$1" | sed "s/.*name='//; s/'$//" | sort -u; }

echo "$soname libdevstate0 #MINVER#"
releases=$(ls abi/releases | sort -V)
for s in $(symbols abi/libdevstate.abi); do
    first=$version
    for r in $releases; do
        if symbols "abi/releases/$r/libdevstate.abi" | grep -qx "$s"; then first=$r; break; fi
    done
    echo " $s@Base $first"
done
