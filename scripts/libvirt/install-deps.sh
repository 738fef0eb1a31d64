#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs Debian 12's libvirt (daemon, virsh, the C client library's headers) for
# `devstate trace --domain` (which links libvirt and libvirt-qemu) and for the libvirt test
# suite (scripts/libvirt/e2e.sh), which starts the daemons itself, standalone, on local unix
# sockets (scripts/libvirt/daemons.sh). Only missing packages are installed: reruns do nothing.
#
# No service starts (scripts/apt-install-no-services.sh): the packages' postinst would start
# libvirtd, virtlogd and the default network. --no-install-recommends keeps out dnsmasq, the
# firewall backends and the other hypervisors' drivers, which the tests do not use.
set -euo pipefail

PKGS=(libvirt-dev libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu pkg-config)

exec "$(dirname "$0")/../apt-install-no-services.sh" "libvirt deps" "${PKGS[@]}"
