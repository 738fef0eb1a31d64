#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Starts or stops Debian's libvirt daemons standalone, as root, without systemd:
#   scripts/libvirt/daemons.sh start   # virtlogd -d, then libvirtd -d; waits (bounded) for qemu:///system
#   scripts/libvirt/daemons.sh stop    # stops the daemons this script started, by their pid files
#   scripts/libvirt/daemons.sh status
# Only unix sockets: libvirtd listens on TCP/TLS only with --listen, which is never given, and
# the sockets under /run/libvirt are local. Daemons that were already running when `start` came
# are used and left alone by `stop` (a marker under $STATE says which ones are ours).
set -euo pipefail

STATE=${DEVSTATE_LIBVIRT_STATE:-/run/devstate-libvirt}
WAIT=${DEVSTATE_LIBVIRT_WAIT:-30}   # seconds for each daemon to answer
URI=qemu:///system

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # what, seconds, command...
    local what=$1 limit=$2 t=0; shift 2
    until "$@" >/dev/null 2>&1; do
        t=$((t + 1))
        if [ "$t" -gt $((limit * 5)) ]; then echo "libvirt: $what did not come up within ${limit}s" >&2; return 1; fi
        sleep 0.2
    done
}

start() {
    [ "$(id -u)" = 0 ] || { echo "libvirt: the daemons run as root here" >&2; exit 1; }
    command -v libvirtd >/dev/null || { echo "libvirt: libvirtd missing (scripts/libvirt/install-deps.sh)" >&2; exit 1; }
    mkdir -p "$STATE" /run/libvirt /var/log/libvirt/qemu
    if alive /run/virtlogd.pid; then
        echo "libvirt: virtlogd already running (pid $(cat /run/virtlogd.pid)), used as it is" >&2
    else
        virtlogd -d
        touch "$STATE/virtlogd.ours"
        wait_for virtlogd "$WAIT" test -S /run/libvirt/virtlogd-sock
    fi
    if alive /run/libvirtd.pid; then
        echo "libvirt: libvirtd already running (pid $(cat /run/libvirtd.pid)), used as it is" >&2
    else
        libvirtd -d
        touch "$STATE/libvirtd.ours"
        wait_for libvirtd "$WAIT" virsh -c "$URI" version
    fi
    echo "libvirt: virtlogd $(cat /run/virtlogd.pid), libvirtd $(cat /run/libvirtd.pid), $URI answers" >&2
}

stop_one() { # name
    local name=$1 pidfile=/run/$1.pid pid t=0
    [ -e "$STATE/$name.ours" ] || return 0
    rm -f "$STATE/$name.ours"
    alive "$pidfile" || return 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        t=$((t + 1))
        if [ "$t" -gt 50 ]; then echo "libvirt: $name ($pid) ignored TERM for 10s: KILL" >&2; kill -KILL "$pid" 2>/dev/null || true; break; fi
        sleep 0.2
    done
    echo "libvirt: $name ($pid) stopped" >&2
}

case "${1:-}" in
    start) start ;;
    stop) stop_one libvirtd; stop_one virtlogd ;;
    status) for d in virtlogd libvirtd; do if alive /run/$d.pid; then echo "$d $(cat /run/$d.pid)"; else echo "$d not running"; fi; done ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 64 ;;
esac
