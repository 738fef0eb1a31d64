#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages as an operator gets them: builds them (make deb), runs lintian, installs
# them with apt-get, tests the installed files, removes them and checks that nothing is left.
#   - lintian: 0 errors and 0 warnings that debian/*.lintian-overrides does not explain;
#   - the CLI's end-to-end tests against /usr/bin/devstate: the golden outputs (its built-in
#     default read from /usr/share/devstate), stock QEMU 10.0 and 10.2 captures, and libvirt
#     (DEVSTATE_DEB_LIBVIRT=0 leaves that one out);
#   - a C host built through the installed `pkg-config devstate` (and devstate-static);
#   - one patched QEMU built through the installed pkg-config (scripts/qemu/build.sh installed,
#     cached by content like every QEMU build) and one real guest migrated with it, queried by
#     /usr/bin/devstate;
#   - man devstate renders; bash completion offers `report` for `devstate rep`;
#   - apt-get purge leaves no file of the packages behind in /usr or /etc.
# Runs as root (apt-get). Closes with "packages: N passed, N failed"; exits 1 on a failure.
# DEVSTATE_DEB_SKIP_BUILD=1 tests the packages already in build/deb.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/deb-e2e
rm -rf "$out" && mkdir -p "$out"
deb=$root/build/deb
packages=(libdevstate0 libdevstate-dev devstate)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(make -s --no-print-directory version)
passed=0
failed=0
n=0

# check LABEL COMMAND...: runs it with its output in a log of its own; shows the log's end on failure.
check() {
    local label=$1; shift
    n=$((n + 1))
    local log="$out/$(printf '%02d' $n)-$(tr -c 'A-Za-z0-9' '-' <<<"$label" | cut -c1-48).log"
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1)); echo "ok   $label"
    else
        failed=$((failed + 1)); echo "FAIL $label (log: $log)"; tail -n 25 "$log" | sed 's/^/     /'
    fi
}
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'; }
purge() { apt-get purge -y -q "${packages[@]}"; }
cleanup() { for p in "${packages[@]}"; do if installed "$p"; then purge >/dev/null 2>&1; break; fi; done; }
trap cleanup EXIT
finish() { echo "packages: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# What the tests need beside the packages (none of it is a dependency of the packages).
make --no-print-directory deps-deb >/dev/null &&
    make --no-print-directory deps APT_PACKAGES="bash-completion man-db" >/dev/null ||
    { echo "FAIL installing the tools of this test"; failed=$((failed + 1)); finish; }
# An earlier run that stopped half way left the packages installed: start from none.
cleanup

if [ "${DEVSTATE_DEB_SKIP_BUILD:-0}" != 1 ]; then
    check "make deb builds the packages with debhelper" make --no-print-directory deb
fi
debs=()
for p in "${packages[@]}"; do debs+=("$deb/${p}_${version}_$(dpkg --print-architecture).deb"); done
check "build/deb has libdevstate0, libdevstate-dev, devstate $version and their -dbgsym" \
    bash -c 'for f in "$@"; do test -s "$f" || { echo "missing: $f"; exit 1; }; done
             ls '"$deb"'/*-dbgsym_*.*deb' _ "${debs[@]}"
for f in "${debs[@]}"; do [ -s "$f" ] || finish; done

# The contents, for the record (the closing note of issue 24 shows them).
for f in "${debs[@]}"; do echo "== $(basename "$f")"; dpkg-deb -c "$f"; done >"$out/dpkg-c.txt"
check "every package has its copyright file" bash -c 'for f in "$@"; do
        p=$(dpkg-deb -f "$f" Package); dpkg-deb -c "$f" | grep -q "/usr/share/doc/$p/copyright$" || { echo "$p: no copyright"; exit 1; }
    done' _ "${debs[@]}"
so_bytes=$(dpkg-deb --fsys-tarfile "${debs[0]}" | tar -tv | awk '/^-/ && /libdevstate\.so\.0\.[0-9.]*$/ {print $3}')
echo "shipped libdevstate.so.$version: $so_bytes bytes"
check "the shipped libdevstate.so is stripped, its debug file in libdevstate0-dbgsym" bash -c '
    d=$(mktemp -d); trap "rm -rf $d" EXIT
    dpkg-deb -x "$1" "$d"; so=$(ls "$d"/usr/lib/*/libdevstate.so.0.*)
    file "$so" | tee /dev/stderr | grep -q ", stripped"
    id=$(readelf -n "$so" | sed -n "s/.*Build ID: //p"); echo "build id $id"
    dpkg-deb -c '"$deb"'/libdevstate0-dbgsym_*.*deb | grep -q "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug"' _ "${debs[0]}"
check "libdevstate0 depends on a libc6 with every glibc version the library needs" bash -c '
    d=$(mktemp -d); trap "rm -rf $d" EXIT
    dpkg-deb -x "$1" "$d"
    refs=$(objdump -p "$d"/usr/lib/*/libdevstate.so.0.* | grep -o "GLIBC_[0-9A-Z_.]*" | sort -u)
    need=$(sed -n "s/^GLIBC_\([0-9.]*\)$/\1/p" <<<"$refs" | sort -V | tail -n 1)
    # DT_RELR is a version reference of its own, GLIBC_ABI_DT_RELR, first in glibc 2.36.
    if grep -qx GLIBC_ABI_DT_RELR <<<"$refs"; then need=$(printf "%s\n" "$need" 2.36 | sort -V | tail -n 1); fi
    dep=$(dpkg-deb -f "$1" Depends | grep -o "libc6 (>= [0-9.]*)" | sed "s/.*>= //; s/)//" | sort -V | tail -n 1)
    [ -n "$dep" ] || { echo "no versioned libc6 dependency"; exit 1; }
    echo "needs glibc $need, depends on libc6 >= $dep"
    [ "$(printf "%s\n" "$need" "$dep" | sort -V | tail -n 1)" = "$dep" ]' _ "${debs[0]}"
check "debian/libdevstate0.symbols is what scripts/deb/symbols.sh prints" \
    bash -c 'diff -u debian/libdevstate0.symbols <(scripts/deb/symbols.sh)'

# lintian: errors fail; every warning must be overridden, each override with its reason.
lintian --info --pedantic --display-experimental --show-overrides --fail-on none "$deb"/devstate_"${version}"_*.changes >"$out/lintian.txt" 2>&1
echo "lintian: $(grep -c '^E: ' "$out/lintian.txt") errors, $(grep -c '^W: ' "$out/lintian.txt") warnings, $(grep -c '^I: ' "$out/lintian.txt") info, $(grep -c '^O: ' "$out/lintian.txt") overridden ($out/lintian.txt)"
check "lintian: no error and no unexplained warning" bash -c '! grep -E "^(E|W): " "$1"' _ "$out/lintian.txt"

# Install. Everything the packages depend on is there already, so apt adds exactly these three.
before=$out/files-before.txt
snapshot() { find /usr /etc -xdev -not -path '*/__pycache__*' 2>/dev/null | sort; }
snapshot >"$before"
check "apt-get install ./…deb installs the three packages and nothing else" bash -c '
    apt-get install -y -q "$@" | tee /dev/stderr | grep -q "^0 upgraded, 3 newly installed"' _ "${debs[@]}"
for p in "${packages[@]}"; do installed "$p" || { echo "FAIL $p is not installed"; failed=$((failed + 1)); finish; }; done

check "/usr/bin/devstate --version is $version, with no Swift on its search path" \
    bash -c 'test "$(env -i /usr/bin/devstate --version)" = "$1" && ! ldd /usr/bin/devstate | grep -i swift' _ "$version"
# The binary would also find the logs in the source tree it was built from: hide that tree's
# Tests/Fixtures behind an empty tmpfs, in a mount namespace of this check's own.
check "devstate report with no log reads the built-in default from /usr/share/devstate" \
    unshare --mount --propagation private bash -c '
    mount -t tmpfs devstate-hidden "$1/Tests/Fixtures" && test -z "$(ls "$1/Tests/Fixtures")" &&
    cd / && env -u DEVSTATE_FIXTURES /usr/bin/devstate report --release 10.2 |
        tee /dev/stderr | grep -q "fixtures/qemu-10.2/pc-source.log run 1"' _ "$root"

echo "== the CLI's end-to-end tests against /usr/bin/devstate"
check "golden outputs of /usr/bin/devstate (Tests/Golden)" scripts/golden.sh check /usr/bin/devstate
check "stock QEMU 10.0 and 10.2 captures (scripts/fixtures/e2e-stock-qemu.sh)" \
    env DEVSTATE_BIN=/usr/bin/devstate bash scripts/fixtures/e2e-stock-qemu.sh
if [ "${DEVSTATE_DEB_LIBVIRT:-1}" = 1 ]; then
    check "libvirt: trace on --domain, save/restore, report --domain (scripts/libvirt/e2e.sh)" \
        env DEVSTATE_BIN=/usr/bin/devstate scripts/libvirt/e2e.sh
fi

echo "== a C host and a patched QEMU through the installed pkg-config"
check "pkg-config devstate is $version in /usr/lib/$multiarch, no RUNPATH" bash -c '
    unset PKG_CONFIG_PATH
    test "$(pkg-config --modversion devstate)" = "$1" &&
    test "$(pkg-config --variable=libdir devstate)" = "/usr/lib/$2" &&
    ! pkg-config --libs devstate | grep -q rpath' _ "$version" "$multiarch"
check "the demo host built with the installed headers and library replays a pc stop-and-copy" bash -c '
    unset PKG_CONFIG_PATH LD_LIBRARY_PATH
    gcc -std=c11 -Wall -Wextra -Werror -pedantic -o "$1/replay-pc" examples/replay-pc.c $(pkg-config --cflags --libs devstate) &&
    loaded=$(ldd "$1/replay-pc" | sed -n "s/.*libdevstate.so.0 => \([^ ]*\).*/\1/p") &&
    echo "loads $loaded" && [ "$(realpath "$loaded")" = "$(realpath "/usr/lib/$2/libdevstate.so.0")" ] &&
    "$1/replay-pc" | tee /dev/stderr | grep -q "\"save-time\""' _ "$out" "$multiarch"
check "the same host linked statically (pkg-config --static devstate-static)" bash -c '
    unset PKG_CONFIG_PATH
    gcc -std=c11 -o "$1/replay-pc-static" examples/replay-pc.c -x none $(pkg-config --static --cflags --libs devstate-static) &&
    ! ldd "$1/replay-pc-static" | grep -q libdevstate && "$1/replay-pc-static" | grep -q "\"save-time\""' _ "$out"
qemu=""
check "QEMU 10.2 with our series builds against the installed library (build.sh installed)" bash -c '
    scripts/qemu/install-deps.sh >/dev/null && QEMU_RELEASE=10.2 scripts/qemu/build.sh installed >"$1"' _ "$out/qemu-path"
qemu=$(cat "$out/qemu-path" 2>/dev/null)
check "one real guest migrated with it; /usr/bin/devstate query names its devices" bash -c '
    [ -x "$1" ] || exit 1
    env -u LD_LIBRARY_PATH scripts/guest/migrate-and-query.py "$1" /usr/bin/devstate --format json >"$2" || exit 1
    python3 - "$2" <<PY
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
for side in ("source", "destination"):
    r = run[side]
    assert r["from"] == "query-migrate", r["from"]
    assert r["devices"], side + ": no devices"
    print(side, len(r["devices"]), "devices,", r["downtime-us"], "us of downtime,", r["named"]["share"], "named")
times = run["source"]["device-state-times"]
assert times and all(t["save-time"] > 0 for t in times), times
print("device-state-times:", len(times), "entries")
PY' _ "$qemu" "$out/query.json"

echo "== the manual and the completions"
check "man devstate renders, and every subcommand has its page" bash -c '
    w=$(MANWIDTH=80 man --warnings devstate 2>&1 >/dev/null); [ -z "$w" ] || { echo "$w"; exit 1; }
    MANWIDTH=80 man devstate 2>/dev/null | tee /dev/stderr | grep -q "devstate report" &&
    for s in report query trace watch; do MANWIDTH=80 man devstate.$s 2>/dev/null | grep -q "^SYNOPSIS" || { echo "no page for $s"; exit 1; }; done'
check "bash completion offers report for devstate rep" bash -c '
    reply=$(bash --norc --noprofile -c "
        . /usr/share/bash-completion/bash_completion
        __load_completion devstate || exit 1
        f=\$(complete -p devstate | sed -E \"s/.* -F ([^ ]+) .*/\\1/\")
        COMP_WORDS=(devstate rep); COMP_CWORD=1; COMP_LINE=\"devstate rep\"; COMP_POINT=\${#COMP_LINE}
        \$f devstate rep devstate
        printf \"%s\n\" \"\${COMPREPLY[@]}\"")
    echo "COMPREPLY: $reply"; test "$reply" = report'
check "zsh and fish completions are where those shells look" \
    test -s /usr/share/zsh/vendor-completions/_devstate -a -s /usr/share/fish/vendor_completions.d/devstate.fish

echo "== removal"
check "apt-get purge removes the three packages" bash -c 'apt-get purge -y -q "$@"' _ "${packages[@]}"
snapshot >"$out/files-after.txt"
check "no file of the packages is left in /usr or /etc" bash -c '
    left=$(comm -13 "$1" "$2")
    [ -z "$left" ] || { echo "left behind:"; echo "$left"; exit 1; }
    ! dpkg-query -W -f="\${Status} \${Package}\n" "${@:3}" 2>/dev/null | grep -v "not-installed"' _ "$before" "$out/files-after.txt" "${packages[@]}"
finish
