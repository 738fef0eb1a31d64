#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs Prometheus and node_exporter (Debian 12 packages) for scripts/prometheus/check.sh
# and the e2e test Tests/e2e/test_prometheus.py, which run them themselves on 127.0.0.1.
# Only missing packages are installed, so reruns do nothing.
#
# Why the policy-rc.d: the packages' postinst would start the system services
# (prometheus on 0.0.0.0:9090, node_exporter on :9100 with every collector).
# The tests need neither, and a service left running would listen on all
# interfaces. invoke-rc.d asks /usr/sbin/policy-rc.d first; exit 101 means
# "action not allowed". An existing policy-rc.d is the host's: it is left alone.
set -euo pipefail

PKGS=(prometheus prometheus-node-exporter)

# scripts/prometheus/check.sh reads the rule files with PyYAML, in whichever python3 runs it.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
        || missing+=("$p")
done
if [ "${#missing[@]}" = 0 ]; then
    echo "prometheus deps: already installed (${PKGS[*]})" >&2
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "prometheus deps: run as root to install ${missing[*]}" >&2; exit 1; }

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    # Ours only for this install: removed on every exit path.
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# temporary, from scripts/prometheus/install-deps.sh: no service starts\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi

echo "prometheus deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
