#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One-iteration smoke of the benchmark on a small log (8 MB by default): the scripts run end to
# end and print their figures. Not a performance test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/bench.sh" "${1:-8}" 1
