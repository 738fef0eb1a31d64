#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Golden outputs of `devstate report`: every input (built-in fixtures, every fixture log pair,
# saved query-migrate replies, libvirt logs, odd names, malformed and truncated logs, missing
# and empty files) in every format (table at widths 40/100/200, --all, JSON, CSV, OpenMetrics,
# --summary). Each case's standard output, standard error and exit status go to one file in
# Tests/Golden/out/, compared byte for byte.
#
# usage: scripts/golden.sh check|update [DEVSTATE]
#   check   runs every case and compares; prints "golden: N passed, N failed" (exit 1 on a difference)
#   update  rewrites Tests/Golden/out/ (a deliberate change of output: commit it with the change)
# DEVSTATE defaults to the release build (swift build -c release --product devstate).
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
case "$MODE" in check|update) ;; *) sed -n '2,13p' "$0" >&2; exit 2;; esac
BIN=${2:-}
if [ -z "$BIN" ]; then
    swift build -c release --product devstate >/dev/null || exit 2
    BIN="$(swift build -c release --show-bin-path)/devstate"
fi
[ -x "$BIN" ] || { echo "golden: $BIN is not executable" >&2; exit 2; }

GOLDEN=Tests/Golden/out
IN=Tests/Golden/inputs
F=Tests/Fixtures
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# name|arguments of `devstate report` (paths relative to the repository: they appear in outputs)
INPUTS=(
    "builtin|"
    "builtin-10.2-all|--release 10.2 --fixture all"
    "builtin-pc-notimestamp|--fixture pc-notimestamp"
    "qemu-10.0-pc|$F/qemu-10.0/pc-source.log $F/qemu-10.0/pc-destination.log"
    "qemu-10.0-q35|$F/qemu-10.0/q35-source.log $F/qemu-10.0/q35-destination.log"
    "qemu-10.0-virtio-mem|$F/qemu-10.0/virtio-mem-source.log $F/qemu-10.0/virtio-mem-destination.log"
    "qemu-10.0-pc-notimestamp|$F/qemu-10.0/pc-notimestamp-source.log $F/qemu-10.0/pc-notimestamp-destination.log"
    "qemu-10.2-pc|$F/qemu-10.2/pc-source.log $F/qemu-10.2/pc-destination.log"
    "qemu-10.2-q35|$F/qemu-10.2/q35-source.log $F/qemu-10.2/q35-destination.log"
    "qemu-10.2-pc-notimestamp|$F/qemu-10.2/pc-notimestamp-source.log $F/qemu-10.2/pc-notimestamp-destination.log"
    "series-10.0-guest|$F/series-10.0/guest-source.log $F/series-10.0/guest-destination.log"
    "series-10.2-guest|$F/series-10.2/guest-source.log $F/series-10.2/guest-destination.log"
    "source-only|$F/qemu-10.0/q35-source.log"
    "qmp-q35|--qmp $F/qmp/q35-source.json $F/qmp/q35-destination.json"
    "qmp-q35-v010|--qmp $F/qmp/q35-source-v010.json $F/qmp/q35-destination.json"
    "qmp-series-10.0-guest|--qmp $F/series-10.0/guest-source-reply.json $F/series-10.0/guest-destination-reply.json"
    "qmp-series-10.2-guest|--qmp $F/series-10.2/guest-source-reply.json $F/series-10.2/guest-destination-reply.json"
    "libvirt-managedsave|--domain managedsave --libvirt-log-dir $F/libvirt"
    "libvirt-save-restore|--domain save-restore --libvirt-log-dir $F/libvirt"
    "odd-names|$IN/odd-names-source.log $IN/odd-names-destination.log"
    "malformed|$IN/malformed-source.log $IN/truncated-destination.log"
    "missing-file|$IN/no-such-file.log"
    "empty-file|$IN/empty.log"
)
FORMATS=(
    "table-w40|--width 40"
    "table-w100|--width 100"
    "table-w200|--width 200"
    "table-all|--all --width 100"
    "json|--format json"
    "csv|--format csv"
    "openmetrics|--format openmetrics"
    "summary|--summary --width 100"
)

[ "$MODE" = update ] && { rm -rf "$GOLDEN"; mkdir -p "$GOLDEN"; }
passed=0 failed=0
for input in "${INPUTS[@]}"; do
    name=${input%%|*} args=${input#*|}
    for format in "${FORMATS[@]}"; do
        fname=${format%%|*} fargs=${format#*|}
        out="$WORK/$name.$fname"
        # shellcheck disable=SC2086 # the arguments are words by design
        env -u COLUMNS "$BIN" report $args $fargs >"$out.stdout" 2>"$out.stderr" </dev/null
        status=$?
        {
            cat "$out.stdout"
            printf '\n---- stderr\n'
            cat "$out.stderr"
            printf -- '---- exit %d\n' "$status"
        } >"$out"
        if [ "$MODE" = update ]; then
            cp "$out" "$GOLDEN/$name.$fname"
        elif cmp -s "$out" "$GOLDEN/$name.$fname"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "golden: $name.$fname differs from $GOLDEN/$name.$fname:"
            diff "$GOLDEN/$name.$fname" "$out" 2>&1 | head -n 20
        fi
    done
done
if [ "$MODE" = update ]; then
    echo "golden: wrote $(ls "$GOLDEN" | wc -l) files to $GOLDEN ($(du -sh "$GOLDEN" | cut -f1))"
    exit 0
fi
echo "golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
