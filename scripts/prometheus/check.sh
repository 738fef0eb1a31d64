#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the Prometheus side of devstate (docs/prometheus.md): the rule file and its unit
# tests, the example Grafana dashboard, and `devstate report --format openmetrics` on every
# built-in fixture and saved query-migrate reply (exit status, `# EOF`, the metric families
# the input has, `promtool check metrics` without a lint message, node_exporter's textfile
# collector reading it).
#
#   scripts/prometheus/check.sh
#
# Prints `ok NAME`, `FAIL NAME` (then what went wrong, indented) or `skip NAME: reason` per
# check and closes with `prometheus-checks: N passed, N failed, N skipped`; exits 1 if any
# check failed. A check that needs a missing tool (promtool, prometheus-node-exporter) is
# skipped, never passed. Environment: DEVSTATE_BIN (the devstate binary; default: built with
# `swift build --product devstate`, scratch path SWIFT_SCRATCH if set), PROMTOOL,
# NODE_EXPORTER (default: on PATH, then Debian's prometheus-node-exporter).
set -uo pipefail
cd "$(dirname "$0")/../.."
DOCS=docs/prometheus
FIX=Tests/Fixtures
passed=0 failed=0 skipped=0
ok()   { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; if [ -n "${2:-}" ]; then sed 's/^/    /' <<<"$2" | head -n 40; fi; failed=$((failed + 1)); }
skip() { echo "skip $1: $2"; skipped=$((skipped + 1)); }

work=$(mktemp -d /tmp/devstate-prometheus.XXXXXX)
ne_pid=
cleanup() {
    if [ -n "$ne_pid" ]; then kill "$ne_pid" 2>/dev/null; wait "$ne_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
NODE_EXPORTER=${NODE_EXPORTER:-$(command -v node_exporter || command -v prometheus-node-exporter || true)}
[ -n "$PROMTOOL" ] && [ -x "$PROMTOOL" ] || PROMTOOL=
[ -n "$NODE_EXPORTER" ] && [ -x "$NODE_EXPORTER" ] || NODE_EXPORTER=
no_promtool="promtool not found (Debian: apt-get install prometheus)"

# --- the metric names docs/prometheus.md documents -------------------------------------
# Its metrics table (rows starting with | `qemu_...`) is what the PromQL checks below accept;
# it must list exactly the families devstate writes (content.py's LABELS, below).
families="qemu_migration_devices qemu_migration_devstate_info qemu_migration_device_time_seconds
qemu_migration_downtime_phase_seconds qemu_migration_downtime_seconds qemu_migration_duration_seconds
qemu_migration_last_completed_timestamp_seconds qemu_migration_setup_seconds
qemu_migration_downtime_named_ratio qemu_migration_downtime_step_seconds"
grep -oE '^\| `qemu_[a-z_]+`' docs/prometheus.md | tr -d '|` ' | sort -u > "$work/metrics.txt"
if out=$(diff <(tr ' ' '\n' <<<"$families" | sed '/^$/d' | sort) "$work/metrics.txt"); then
    ok docs-metric-table
else
    fail docs-metric-table "docs/prometheus.md's metrics table (>) against devstate's families (<):
$out"
fi

# PromQL checker shared by the page, the dashboard and the rule checks. Modes:
#   names METRICS FILE...   every expression names only metrics from METRICS (rule files:
#                           also the file's own recording rules)
#   doc OUT METRICS RULES PAGE   the same for the page's ```promql blocks; OUT: them as rules
#   rules OUT FILE          writes the dashboard's expressions (variables replaced) as rules
#   dashboard FILE          the dashboard's structure
cat > "$work/promql.py" <<'PY'
import json, re, sys

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan",
            # aggregation operators, which may stand before their by/without clause
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile"}

def exprs_of(path):
    """(where, expression) pairs of a Grafana dashboard or a Prometheus rule file."""
    if path.endswith(".json"):
        out = []
        def walk(node, where):
            if isinstance(node, dict):
                title = node.get("title") or node.get("name") or where
                for key, value in node.items():
                    if key in ("expr", "definition") and isinstance(value, str):
                        out.append((f"{title}.{key}", value))
                    else:
                        walk(value, title)
            elif isinstance(node, list):
                for item in node:
                    walk(item, where)
        walk(json.load(open(path)), "dashboard")
        return out
    import yaml  # rule files only
    doc = yaml.safe_load(open(path))
    return [(r.get("record") or r.get("alert"), r["expr"])
            for g in doc["groups"] for r in g["rules"]]

def recorded(path):
    if path.endswith(".json"):
        return set()
    import yaml
    doc = yaml.safe_load(open(path))
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}

def names(expr):
    """Metric names an expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)              # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                              # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\[[^\]]*\]", "", e)                             # range selectors
    e = re.sub(r"\$\{?\w+\}?", "1", e)                           # dashboard variables
    e = re.sub(r"\blabel_values\s*\(\s*([A-Za-z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", e)
    e = re.sub(r"\blabel_values\s*\(\s*\w+\s*\)", "", e)
    found = []
    for m in re.finditer(r"(?<![\w:.])[A-Za-z_:][\w:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue                                             # function, keyword
        found.append(word)
    return found

mode = sys.argv[1]
if mode == "names":
    known = set(open(sys.argv[2]).read().split())
    bad = []
    count = 0
    for path in sys.argv[3:]:
        allowed = known | recorded(path)
        for where, expr in exprs_of(path):
            count += 1
            used = names(expr)
            if not used:
                bad.append(f"{path}: {where}: names no metric: {expr!r}")
            for word in used:
                if word not in allowed:
                    bad.append(f"{path}: {where}: {word} is not a documented metric")
    print("\n".join(bad) if bad else f"{count} expressions")
    sys.exit(1 if bad or count == 0 else 0)
elif mode == "rules":
    subst = {"vm": ".*", "top": "10", "__range": "1h", "__interval": "1m", "__rate_interval": "1m"}
    rules = []
    for i, (where, expr) in enumerate(exprs_of(sys.argv[3])):
        if where.endswith(".definition"):
            continue                                             # label_values() is Grafana's
        e = re.sub(r"\$\{?(\w+)\}?", lambda m: subst.get(m.group(1), "1"), expr)
        rules.append({"record": f"dashboard:expr{i}", "expr": e})
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
    print(f"{len(rules)} expressions")
elif mode == "doc":
    # doc OUT METRICS RULEFILE PAGE: the page's ```promql blocks (expressions separated by blank
    # lines) name only documented metrics and the rule file's recordings; OUT gets them as rules.
    out, known = sys.argv[2], set(open(sys.argv[3]).read().split())
    try:
        known |= recorded(sys.argv[4])
    except ImportError:
        pass
    text = open(sys.argv[5]).read()
    bad, rules = [], []
    for block in re.findall(r"```promql\n(.*?)```", text, re.S):
        for expr in re.split(r"\n\s*\n", block.strip()):
            rules.append({"record": f"doc:expr{len(rules)}", "expr": expr})
            used = names(expr)
            if not used:
                bad.append(f"names no metric: {expr!r}")
            bad += [f"{w} is not a documented metric: {expr!r}" for w in used if w not in known]
    json.dump({"groups": [{"name": "doc", "rules": rules}]}, open(out, "w"))
    print("\n".join(bad) if bad else f"{len(rules)} expressions")
    sys.exit(1 if bad or not rules else 0)
elif mode == "dashboard":
    d = json.load(open(sys.argv[2]))
    problems = []
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
        problems.append("no datasource variable DS_PROMETHEUS")
    vm = variables.get("vm", {})
    q = vm.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    if q != "label_values(qemu_migration_downtime_seconds, vm)":
        problems.append(f"vm variable query is {q!r}")
    ids = [p.get("id") for p in d.get("panels", [])]
    if len(ids) != len(set(ids)):
        problems.append("panel ids repeat")
    for p in d.get("panels", []):
        for obj in [p] + p.get("targets", []):
            if obj.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                problems.append(f"{p.get('title')}: datasource is not ${{DS_PROMETHEUS}}")
        if not p.get("targets"):
            problems.append(f"{p.get('title')}: no query")
    print("\n".join(problems) if problems else f"{len(ids)} panels")
    sys.exit(1 if problems else 0)
PY

# --- rules ------------------------------------------------------------------------------
if [ -n "$PROMTOOL" ]; then
    if out=$("$PROMTOOL" check rules "$DOCS/alerts.yml" 2>&1); then ok rules-check; else fail rules-check "$out"; fi
    if out=$(cd "$DOCS" && "$PROMTOOL" test rules alerts.test.yml 2>&1); then ok rules-test; else fail rules-test "$out"; fi
else
    skip rules-check "$no_promtool"
    skip rules-test "$no_promtool"
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
    skip rules-metric-names "python3 has no yaml module (Debian: python3-yaml)"
elif out=$(python3 "$work/promql.py" names "$work/metrics.txt" "$DOCS/alerts.yml" 2>&1); then
    ok rules-metric-names
else
    fail rules-metric-names "$out"
fi

# --- the page's PromQL examples -------------------------------------------------------------
if ! out=$(python3 "$work/promql.py" doc "$work/doc-rules.json" "$work/metrics.txt" "$DOCS/alerts.yml" docs/prometheus.md 2>&1); then
    fail docs-promql "$out"
elif [ -z "$PROMTOOL" ]; then
    skip docs-promql "$no_promtool"
elif out=$("$PROMTOOL" check rules "$work/doc-rules.json" 2>&1); then
    ok docs-promql
else
    fail docs-promql "$out"
fi

# --- dashboard --------------------------------------------------------------------------
if out=$(python3 -m json.tool "$DOCS/dashboard.json" 2>&1 >/dev/null) &&
   out=$(python3 "$work/promql.py" dashboard "$DOCS/dashboard.json" 2>&1); then
    ok dashboard-json
else
    fail dashboard-json "$out"
fi
if out=$(python3 "$work/promql.py" names "$work/metrics.txt" "$DOCS/dashboard.json" 2>&1); then
    ok dashboard-metric-names
else
    fail dashboard-metric-names "$out"
fi
if [ -z "$PROMTOOL" ]; then
    skip dashboard-promql "$no_promtool"
elif out=$(python3 "$work/promql.py" rules "$work/dashboard-rules.json" "$DOCS/dashboard.json" 2>&1) &&
     out=$("$PROMTOOL" check rules "$work/dashboard-rules.json" 2>&1); then
    ok dashboard-promql
else
    fail dashboard-promql "$out"
fi

# --- devstate's OpenMetrics output -----------------------------------------------------------
BIN=${DEVSTATE_BIN:-}
if [ -z "$BIN" ] && ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then
    PATH=/opt/swift/usr/bin:$PATH
fi
if [ -z "$BIN" ]; then
    scratch=()
    [ -n "${SWIFT_SCRATCH:-}" ] && scratch=(--scratch-path "$SWIFT_SCRATCH")
    if out=$(swift build "${scratch[@]}" --product devstate 2>&1) &&
       dir=$(swift build "${scratch[@]}" --show-bin-path 2>/dev/null); then
        BIN="$dir/devstate"
    else
        fail devstate-build "$(tail -n 20 <<<"$out")"
    fi
fi
if [ -n "$BIN" ] && ! [ -x "$BIN" ]; then
    fail devstate-binary "$BIN is not an executable"
    BIN=
fi

# Content checker: FILE VM_FAMILIES... where each requirement is one of
#   +FAMILY[{label="value",...}]   a sample of qemu_migration_FAMILY with these labels exists
#   -FAMILY[{...}]                 none does
#   max-devices=N                  at most N devices per side keep their own series
#   same-sums=FILE                 the device time per vm/side/op/section equals FILE's
# and, always: `# EOF` last, one block per family (its HELP/TYPE/UNIT, then its samples), no
# duplicate series, HELP/TYPE gauge (UNIT seconds for *_seconds) for every family,
# the labels the docs give each family, no 0 µs device, source phases adding up to the
# downtime, info = 1.
cat > "$work/content.py" <<'PY'
import re, sys

LABELS = {
    "qemu_migration_downtime_seconds": {"vm"},
    "qemu_migration_downtime_phase_seconds": {"vm", "side", "phase"},
    "qemu_migration_device_time_seconds": {"vm", "side", "op", "section", "device", "instance_id"},
    "qemu_migration_devices": {"vm", "side"},
    "qemu_migration_setup_seconds": {"vm"},
    "qemu_migration_duration_seconds": {"vm"},
    "qemu_migration_last_completed_timestamp_seconds": {"vm", "side"},
    "qemu_migration_devstate_info": {"vm", "side", "input", "series", "qemu_version"},
    "qemu_migration_downtime_named_ratio": {"vm", "side", "steps"},
    "qemu_migration_downtime_step_seconds": {"vm", "side", "phase", "kind", "handler", "device"},
}
LINE = re.compile(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$')
PAIR = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?')

def parse(path):
    text = open(path, encoding="utf-8").read()
    problems, samples, meta = [], [], {}
    if not text.endswith("# EOF\n"):
        problems.append("does not end with '# EOF' and a newline")
    lines = text.splitlines()
    if "# EOF" in lines[:-1]:
        problems.append("'# EOF' before the end")
    family, done, seen = None, set(), set()
    for n, line in enumerate(lines, 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE", "UNIT"):
                if parts[2] != family:                           # a new family starts
                    if parts[2] in done:
                        problems.append(f"line {n}: {parts[2]} again, after other families")
                    if family:
                        done.add(family)
                    family = parts[2]
                if parts[1] in meta.get(family, {}):
                    problems.append(f"line {n}: second # {parts[1]} for {family}")
                meta.setdefault(family, {})[parts[1]] = parts[3] if len(parts) > 3 else ""
            elif line != "# EOF":
                problems.append(f"line {n}: unexpected comment {line!r}")
            continue
        m = LINE.match(line)
        if not m:
            problems.append(f"line {n}: cannot read {line!r}")
            continue
        if m.group(1) != family:
            problems.append(f"line {n}: {m.group(1)} outside its family's block")
        labels = dict(PAIR.findall(m.group(2) or ""))
        key = (m.group(1), tuple(sorted(labels.items())))
        if key in seen:
            problems.append(f"line {n}: duplicate series {line!r}")
        seen.add(key)
        samples.append((m.group(1), labels, float(m.group(3))))
    return problems, samples, meta

def matches(spec, samples):
    m = re.fullmatch(r'(\w+)(?:\{(.*)\})?', spec)
    name = "qemu_migration_" + m.group(1)
    want = dict(PAIR.findall(m.group(2) or ""))
    return [s for s in samples if s[0] == name and all(s[1].get(k) == v for k, v in want.items())]

def sums(samples):
    out = {}
    for name, l, v in samples:
        if name == "qemu_migration_device_time_seconds":
            key = (l["vm"], l["side"], l["op"], l["section"])
            out[key] = out.get(key, 0.0) + v
    return out

path, reqs = sys.argv[1], sys.argv[2:]
problems, samples, meta = parse(path)
for name in sorted({s[0] for s in samples}):
    if name not in LABELS:
        problems.append(f"{name}: not a documented metric")
        continue
    info = meta.get(name, {})
    if info.get("TYPE") != "gauge":
        problems.append(f"{name}: TYPE is {info.get('TYPE')!r}, not gauge")
    if not info.get("HELP"):
        problems.append(f"{name}: no HELP")
    if name.endswith("_seconds") and info.get("UNIT") != "seconds":
        problems.append(f"{name}: UNIT is {info.get('UNIT')!r}, not seconds")
for name, l, v in samples:
    want = LABELS.get(name)
    if want is None:
        continue
    if name == "qemu_migration_device_time_seconds" and l.get("device") == "other":
        want = want - {"instance_id"}
    if set(l) != want:
        problems.append(f"{name}{l}: labels {sorted(l)}, expected {sorted(want)}")
    if name == "qemu_migration_device_time_seconds":
        if v <= 0:
            problems.append(f"{name}{l}: {v} (0 µs devices are left out)")
        if (l.get("side"), l.get("op")) not in (("source", "save"), ("destination", "load")):
            problems.append(f"{name}{l}: op does not match side")
        if l.get("section") not in ("iterable", "non-iterable"):
            problems.append(f"{name}{l}: section {l.get('section')!r}")
        if l.get("device") != "other" and not l.get("instance_id", "").isdigit():
            problems.append(f"{name}{l}: instance_id is not decimal")
    if name == "qemu_migration_devstate_info" and v != 1:
        problems.append(f"{name}{l}: {v}, not 1")
    if "side" in l and l["side"] not in ("source", "destination"):
        problems.append(f"{name}{l}: side {l['side']!r}")
    if name.endswith("_seconds") and v < 0:
        problems.append(f"{name}{l}: negative")
for name, l, v in samples:
    if name != "qemu_migration_downtime_seconds":
        continue
    phases = [s for s in samples if s[0] == "qemu_migration_downtime_phase_seconds"
              and s[1]["vm"] == l["vm"] and s[1]["side"] == "source"]
    if {p[1]["phase"] for p in phases} >= {"stop", "iterable", "non-iterable", "end"}:
        total = sum(p[2] for p in phases)
        if abs(total - v) > 1e-6 * len(phases) + 1e-9:
            problems.append(f"vm {l['vm']}: source phases add up to {total:.6f} s, downtime is {v:.6f} s")
for req in reqs:
    if req.startswith("+") and not matches(req[1:], samples):
        problems.append(f"missing: qemu_migration_{req[1:]}")
    elif req.startswith("-") and matches(req[1:], samples):
        problems.append(f"unexpected: qemu_migration_{req[1:]}")
    elif req.startswith("max-devices="):
        limit = int(req.split("=", 1)[1])
        per = {}
        for name, l, v in samples:
            if name == "qemu_migration_device_time_seconds" and l["device"] != "other":
                per.setdefault((l["vm"], l["side"]), []).append(l["device"])
        for key, devs in per.items():
            if len(devs) > limit:
                problems.append(f"{key}: {len(devs)} devices with their own series, limit {limit}")
        for name, l, v in samples:
            if name == "qemu_migration_devices":
                own = len(per.get((l["vm"], l["side"]), []))
                if v > own and not matches('device_time_seconds{vm="%s",side="%s",device="other"}'
                                           % (l["vm"], l["side"]), samples):
                    problems.append(f"{l}: {int(v)} devices, {own} series and no device=\"other\"")
    elif req.startswith("same-sums="):
        _, base, _ = parse(req.split("=", 1)[1])
        a, b = sums(samples), sums(base)
        if set(a) != set(b):
            problems.append(f"device sums cover {sorted(a)}, without folding {sorted(b)}")
        for key in a.keys() & b.keys():
            count = sum(1 for s in base if s[0] == "qemu_migration_device_time_seconds")
            if abs(a[key] - b[key]) > 1e-6 * count + 1e-9:
                problems.append(f"{key}: devices add up to {a[key]:.6f} s, without folding {b[key]:.6f} s")
if not samples:
    problems.append("no samples")
print("\n".join(problems) if problems else f"{len(samples)} samples")
sys.exit(1 if problems else 0)
PY

# node_exporter's textfile collector, started once; each output is put in its directory
# alone and read back through /metrics.
ne_url=
textdir="$work/textfile"
if [ -n "$BIN" ] && [ -n "$NODE_EXPORTER" ]; then
    mkdir -p "$textdir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$NODE_EXPORTER" --collector.disable-defaults --collector.textfile \
        --collector.textfile.directory="$textdir" --web.listen-address="127.0.0.1:$port" \
        >"$work/node-exporter.log" 2>&1 &
    ne_pid=$!
    for _ in $(seq 50); do
        if curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null 2>&1; then ne_url="http://127.0.0.1:$port/metrics"; break; fi
        sleep 0.1
    done
    [ -n "$ne_url" ] || fail node-exporter-start "$(tail -n 5 "$work/node-exporter.log")"
fi

n=0
# om NAME EXPECTED_STATUS "ARGS" REQUIREMENTS...
om() {
    local name=$1 want=$2 args=$3; shift 3
    n=$((n + 1))
    local out="$work/$n.prom" err="$work/$n.err" status msg
    if [ -z "$BIN" ]; then
        for part in status content lint textfile; do skip "$name/$part" "no devstate binary"; done
        return
    fi
    # shellcheck disable=SC2086  # ARGS is a word list without spaces in any word
    "$BIN" report $args --format openmetrics >"$out" 2>"$err"
    status=$?
    if [ "$status" -eq "$want" ]; then
        ok "$name/status"
    else
        fail "$name/status" "devstate report $args --format openmetrics: exit $status, expected $want
$(head -n 5 "$err")"
    fi
    if msg=$(python3 "$work/content.py" "$out" "$@" 2>&1); then ok "$name/content"; else fail "$name/content" "$msg"; fi
    if [ -z "$PROMTOOL" ]; then
        skip "$name/lint" "$no_promtool"
    else
        msg=$("$PROMTOOL" check metrics <"$out" 2>&1)
        status=$?
        if [ "$status" -eq 0 ] && [ -z "$msg" ]; then ok "$name/lint"; else fail "$name/lint" "promtool check metrics: exit $status
$msg"; fi
    fi
    if [ -z "$NODE_EXPORTER" ]; then
        skip "$name/textfile" "prometheus-node-exporter not found (Debian: apt-get install prometheus-node-exporter)"
    elif [ -z "$ne_url" ]; then
        skip "$name/textfile" "node_exporter did not start"
    else
        rm -f "$textdir"/*.prom
        cp "$out" "$textdir/.devstate.tmp" && mv "$textdir/.devstate.tmp" "$textdir/devstate-check.prom"
        local logged
        logged=$(wc -l < "$work/node-exporter.log")
        msg=$(curl -fsS "$ne_url" 2>&1)
        # node_exporter reports some problems (e.g. duplicate series) only in its log.
        local errors
        errors=$(tail -n +"$((logged + 1))" "$work/node-exporter.log" | grep -E 'level=(error|warn)')
        if grep -qx 'node_textfile_scrape_error 0' <<<"$msg" && grep -q '^qemu_migration_devstate_info{' <<<"$msg" &&
           [ -z "$errors" ]; then
            ok "$name/textfile"
        else
            fail "$name/textfile" "$(grep -E 'textfile_scrape_error|^qemu_migration_devstate_info' <<<"$msg" | head -n 5)
$(cut -c1-400 <<<"$errors" | head -n 3)"
        fi
    fi
}

# What each input has (docs/prometheus.md, "What comes from where").
both_trace=(+downtime_seconds '+downtime_phase_seconds{side="source"}' '+downtime_phase_seconds{side="destination"}'
            '+device_time_seconds{op="save"}' '+device_time_seconds{op="load"}'
            '+devices{side="source"}' '+devices{side="destination"}'
            '+last_completed_timestamp_seconds{side="source"}' '+last_completed_timestamp_seconds{side="destination"}'
            '+devstate_info{side="source",input="trace",series="trace"}' '+devstate_info{side="destination",input="trace"}'
            -setup_seconds -duration_seconds)
no_stamp=(-downtime_seconds -downtime_phase_seconds -last_completed_timestamp_seconds
          '+device_time_seconds{op="save"}' '+device_time_seconds{op="load"}' +devices +devstate_info
          -setup_seconds -duration_seconds)
source_trace=(+downtime_seconds '+downtime_phase_seconds{side="source"}' '-downtime_phase_seconds{side="destination"}'
              '+device_time_seconds{op="save"}' '-device_time_seconds{op="load"}' '+devices{side="source"}'
              '-devices{side="destination"}' '+last_completed_timestamp_seconds{side="source"}'
              '+devstate_info{side="source"}' '-devstate_info{side="destination"}')
dest_trace=(-downtime_seconds '-downtime_phase_seconds{side="source"}' '+downtime_phase_seconds{side="destination"}'
            '-device_time_seconds{op="save"}' '+device_time_seconds{op="load"}' '-devices{side="source"}'
            '+devices{side="destination"}' '+last_completed_timestamp_seconds{side="destination"}'
            '+devstate_info{side="destination"}' '-devstate_info{side="source"}')

for rel in 10.0 10.2; do
    om "om-$rel-pc" 0 "--release $rel --fixture pc" "${both_trace[@]}" '+devstate_info{vm="pc"}'
    om "om-$rel-q35" 0 "--release $rel --fixture q35" "${both_trace[@]}" '+devstate_info{vm="q35"}' \
        '+device_time_seconds{vm="q35",op="save",section="iterable",device="ram"}'
    om "om-$rel-pc-notimestamp" 0 "--release $rel --fixture pc-notimestamp" "${no_stamp[@]}"
    om "om-$rel-all" 0 "--release $rel --fixture all" "${both_trace[@]}" \
        '+downtime_seconds{vm="pc"}' '+downtime_seconds{vm="q35"}' '-devstate_info{vm="pc-notimestamp"}'
    cp "$work/$n.prom" "$work/all-$rel.prom" 2>/dev/null
    for fx in pc q35; do
        om "om-$rel-$fx-source" 0 "--source $FIX/qemu-$rel/$fx-source.log" "${source_trace[@]}" \
            "+devstate_info{vm=\"$fx\"}"
        om "om-$rel-$fx-destination" 0 "--destination $FIX/qemu-$rel/$fx-destination.log" "${dest_trace[@]}"
    done
    om "om-$rel-pc-notimestamp-source" 0 "--source $FIX/qemu-$rel/pc-notimestamp-source.log" \
        -downtime_seconds '-device_time_seconds{op="load"}' '+device_time_seconds{op="save"}' -last_completed_timestamp_seconds
    om "om-$rel-pc-notimestamp-destination" 0 "--destination $FIX/qemu-$rel/pc-notimestamp-destination.log" \
        -downtime_seconds '-device_time_seconds{op="save"}' '+device_time_seconds{op="load"}' -last_completed_timestamp_seconds
    # Folding into device="other": same totals as without it.
    for max in 1 5; do
        om "om-$rel-all-max-devices-$max" 0 "--release $rel --fixture all --max-devices $max" "${both_trace[@]}" \
            "max-devices=$max" '+device_time_seconds{side="source",device="other"}' \
            '+device_time_seconds{side="destination",device="other"}' "same-sums=$work/all-$rel.prom"
    done
    # pc's source log holds two migrations; run 1 is the first (no destination beside it).
    om "om-$rel-pc-run-1" 0 "--release $rel --fixture pc --run 1" "${source_trace[@]}"
done

# Saved query-migrate replies of our series (Tests/Fixtures/qmp/).
Q=$FIX/qmp
om om-qmp-both 0 "--qmp $Q/q35-source.json $Q/q35-destination.json" \
    +downtime_seconds '+downtime_phase_seconds{side="source"}' '+downtime_phase_seconds{side="destination"}' \
    '+device_time_seconds{op="save",section="iterable"}' '+device_time_seconds{op="save",section="non-iterable"}' \
    '+device_time_seconds{op="load"}' '+devices{side="source"}' '+devices{side="destination"}' \
    '+devstate_info{side="source",input="query-migrate",series="0.2.0"}' \
    '+devstate_info{side="destination",input="query-migrate",series="0.2.0"}' -setup_seconds -duration_seconds
om om-qmp-source 0 "--qmp $Q/q35-source.json" \
    +downtime_seconds '+downtime_phase_seconds{side="source"}' '+device_time_seconds{op="save"}' \
    '-device_time_seconds{op="load"}' '+devstate_info{side="source",series="0.2.0"}'
om om-qmp-destination 0 "--qmp --destination $Q/q35-destination.json" \
    -downtime_seconds '+downtime_phase_seconds{side="destination"}' '+device_time_seconds{op="load"}' \
    '-device_time_seconds{op="save"}' '+devstate_info{side="destination",series="0.2.0"}'
om om-qmp-v010 6 "--qmp $Q/q35-source-v010.json" \
    +downtime_seconds -downtime_phase_seconds '+device_time_seconds{op="save",section="non-iterable"}' \
    '-device_time_seconds{section="iterable"}' '+devstate_info{side="source",series="0.1.0"}'
om om-qmp-v010-both 6 "--qmp $Q/q35-source-v010.json $Q/q35-destination.json" \
    +downtime_seconds '+device_time_seconds{op="save",section="non-iterable"}' '+device_time_seconds{op="load"}' \
    '+devstate_info{side="source",series="0.1.0"}' '+devstate_info{side="destination",series="0.2.0"}'

# Our series with the steps of the downtime (Tests/Fixtures/series-RELEASE/, a real guest):
# the handlers and steps, and the share of each side they and the devices name, from the
# traces and from the replies; --max-devices 1 keeps one step per side and sums the rest.
for rel in 10.0 10.2; do
    S=$FIX/series-$rel
    for input in "trace:--source $S/guest-source.log --destination $S/guest-destination.log" \
                 "qmp:--qmp $S/guest-source-reply.json $S/guest-destination-reply.json"; do
        om "om-series-$rel-${input%%:*}" 0 "${input#*:}" \
            '+downtime_named_ratio{side="source",steps="true"}' '+downtime_named_ratio{side="destination",steps="true"}' \
            '+downtime_step_seconds{side="source",phase="stop",kind="main"}' \
            '+downtime_step_seconds{side="destination",phase="vm-start",kind="work",handler="block-activate"}'
    done
    om "om-series-$rel-max-1" 0 "--source $S/guest-source.log --destination $S/guest-destination.log --max-devices 1" \
        '+downtime_step_seconds{side="source",handler="other"}' '+downtime_step_seconds{side="destination",handler="other"}'
done
om om-stock-named 0 "--release 10.0 --fixture q35" '+downtime_named_ratio{side="source",steps="false"}' \
    -downtime_step_seconds

# --budget: exit 7 over it (the metrics still written), 0 under it.
if [ -n "$BIN" ]; then
    "$BIN" report --fixture q35 --format openmetrics --budget 1us >"$work/budget.prom" 2>"$work/budget.err"
    status=$?
    if [ "$status" -eq 7 ] && grep -q '^devstate: over budget (' "$work/budget.err" &&
       tail -n 1 "$work/budget.prom" | grep -qx '# EOF'; then
        ok budget-over
    else
        fail budget-over "exit $status (expected 7); stderr: $(head -n 3 "$work/budget.err")"
    fi
    "$BIN" report --fixture q35 --format openmetrics --budget 100s >/dev/null 2>"$work/budget.err"
    status=$?
    if [ "$status" -eq 0 ]; then ok budget-under; else fail budget-under "exit $status (expected 0): $(head -n 3 "$work/budget.err")"; fi
    # 7 wins over 6 (a PARTIAL report that is also over budget).
    "$BIN" report --qmp "$Q/q35-source-v010.json" --format openmetrics --budget 1ms >/dev/null 2>"$work/budget.err"
    status=$?
    if [ "$status" -eq 7 ]; then ok budget-over-partial; else fail budget-over-partial "exit $status (expected 7): $(head -n 3 "$work/budget.err")"; fi
else
    for c in budget-over budget-under budget-over-partial; do skip "$c" "no devstate binary"; done
fi

echo "prometheus-checks: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
