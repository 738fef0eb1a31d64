# SPDX-License-Identifier: MIT
# Shared by scripts/hardening/abi-gate.sh and update-abi-baseline.sh (source it).
#
# Two ABI descriptions, both written by abidw (Debian abigail-tools):
#  abi/libdevstate.abi      the installed libdevstate.so itself: soname, DT_NEEDED, the
#                           exported symbols (the .so embeds the Swift runtime statically but
#                           exports only devstate_*; the Swift-implemented functions carry
#                           Swift DWARF, which libabigail does not read).
#  abi/libdevstate-api.abi  a stub library compiled with -g from the installed headers
#                           (abi-stub.py): every function's C signature and the layout of the
#                           public structs, as a C host sees them.
# Paths are left out (--no-corpus-path, --no-comp-dir-path, --short-locs) so the files do not
# depend on where the tree is checked out; --drop-undefined-syms and --drop-private-types keep
# the library's internals (the C shim's calls into libc) out, so only exported ABI is compared.

ABIDW_FLAGS=(--drop-private-types --drop-undefined-syms --no-corpus-path --no-comp-dir-path --short-locs)

# abi_dump_library STAGE OUT: abidw of STAGE/lib/libdevstate.so.
abi_dump_library() {
    local stage=$1 out=$2
    abidw --headers-dir "$stage/include/devstate" "${ABIDW_FLAGS[@]}" \
        "$stage/lib/libdevstate.so" >"$out"
}

# abi_dump_api STAGE WORKDIR OUT: builds the header stub in WORKDIR, abidw of it to OUT.
abi_dump_api() {
    local stage=$1 work=$2 out=$3 here soname
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    mkdir -p "$work"
    soname=$(readelf -d "$stage/lib/libdevstate.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    python3 "$here/abi-stub.py" "$stage/include/devstate/devstate.h" \
        "$stage/include/devstate/qemu-hooks.h" >"$work/abi-stub.c" || return 1
    gcc -std=c11 -g -O0 -fPIC -shared -I"$stage/include" -o "$work/libdevstate-api.so" \
        "$work/abi-stub.c" -Wl,-soname,"$soname" \
        -Wl,--version-script="$here/../../CShim/devstate.map" || return 1
    abidw --headers-dir "$stage/include/devstate" "${ABIDW_FLAGS[@]}" \
        "$work/libdevstate-api.so" >"$out"
}

# abi_symbols FILE: the defined function and variable symbols an abidw file holds, sorted.
abi_symbols() {
    sed -n "s/.*<elf-symbol name='\([^']*\)'.*is-defined='yes'.*/\1/p" "$1" | sort -u
}

# abi_exported STAGE: the dynamic symbols libdevstate.so defines, sorted.
abi_exported() {
    nm -D --defined-only "$1/lib/libdevstate.so" | awk '{print $3}' | sort -u
}
