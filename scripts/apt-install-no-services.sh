#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages given that are missing, without starting any service they bring:
#   scripts/apt-install-no-services.sh LABEL PACKAGE...
# LABEL starts the messages ("prometheus deps: ..."). Installed packages are left alone, so a
# rerun does nothing; installing needs root. Used by scripts/prometheus/ and scripts/libvirt/.
#
# A package's postinst starts its services through invoke-rc.d, which asks
# /usr/sbin/policy-rc.d first; exit 101 there means "action not allowed". An existing
# policy-rc.d is the host's and is left alone; otherwise ours is there for this install only.
# --no-install-recommends keeps out what the tests do not use.
set -euo pipefail
label=$1
shift

missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
        || missing+=("$p")
done
if [ "${#missing[@]}" = 0 ]; then
    echo "$label: already installed ($*)" >&2
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "$label: run as root to install ${missing[*]}" >&2; exit 1; }

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    # Ours only for this install: removed on every exit path.
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# temporary, from scripts/apt-install-no-services.sh: no service starts\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi

echo "$label: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
