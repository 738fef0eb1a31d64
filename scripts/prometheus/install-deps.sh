#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs Prometheus and node_exporter (Debian 12 packages) for scripts/prometheus/check.sh
# and the e2e test Tests/e2e/test_prometheus.py, which run them themselves on 127.0.0.1.
# Only missing packages are installed, so reruns do nothing.
#
# No service starts (scripts/apt-install-no-services.sh): the packages' postinst would start
# prometheus on 0.0.0.0:9090 and node_exporter on :9100 with every collector. The tests need
# neither, and a service left running would listen on all interfaces.
set -euo pipefail

PKGS=(prometheus prometheus-node-exporter)

# scripts/prometheus/check.sh reads the rule files with PyYAML, in whichever python3 runs it.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml

exec "$(dirname "$0")/../apt-install-no-services.sh" "prometheus deps" "${PKGS[@]}"
