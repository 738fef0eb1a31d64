#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs Debian 12's libvirt (daemon, virsh, the C client library's headers) for
# `devstate trace --domain` (which links libvirt and libvirt-qemu) and for the libvirt test
# suite (scripts/libvirt/e2e.sh), which starts the daemons itself, standalone, on local unix
# sockets (scripts/libvirt/daemons.sh). Only missing packages are installed: reruns do nothing.
#
# No service starts: the packages' postinst would start libvirtd, virtlogd and the default
# network through invoke-rc.d, which asks /usr/sbin/policy-rc.d first (exit 101: "action not
# allowed"). An existing policy-rc.d is the host's and is left alone; otherwise ours is there
# for this install only. --no-install-recommends keeps out dnsmasq, the firewall backends and
# the other hypervisors' drivers, which the tests do not use.
set -euo pipefail

PKGS=(libvirt-dev libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu pkg-config)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
        || missing+=("$p")
done
if [ "${#missing[@]}" = 0 ]; then
    echo "libvirt deps: already installed (${PKGS[*]})" >&2
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "libvirt deps: run as root to install ${missing[*]}" >&2; exit 1; }

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# temporary, from scripts/libvirt/install-deps.sh: no service starts\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi

echo "libvirt deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
