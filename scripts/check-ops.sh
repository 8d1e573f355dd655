#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Checks the operations kit (mixin/ and what it renders: dashboards/, alerts/, deploy/kubernetes/; docker/,
# deploy/systemd/) against the real tools and a real boot: the committed files against mixin/'s render, a render
# with another _config, promtool and amtool on the configuration and rules, structural checks of the dashboards and of the
# compose, Grafana and Kubernetes files, then Debian's Prometheus scraping two running boot-exporters (one
# booting a throttled WAL, one failing its budget) to evaluate every dashboard query and watch the alerts fire.
#
# Run from anywhere after `swift build --build-tests`; the binary is $BOOT_EXPORTER, else
# .build/debug/boot-exporter. Installs what it needs (prometheus, prometheus-alertmanager, jsonnet, curl, systemd, PyYAML).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BOOT_EXPORTER:-$ROOT/.build/debug/boot-exporter}
source scripts/lib/deps.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-ops.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export OPS_RESULTS=$WORK/results PYTHONDONTWRITEBYTECODE=1
: >"$OPS_RESULTS"
START=$SECONDS

pass() { echo "  ok    $1"; echo "PASS $1" >>"$OPS_RESULTS"; }
fail() { echo "  FAIL  $1"; echo "FAIL $1" >>"$OPS_RESULTS"; }
section() { echo; echo "== $*"; }
# finish: prints the counts and exits, non-zero when a check failed.
finish() {
    local passed failed
    passed=$(grep -c '^PASS' "$OPS_RESULTS" || true)
    failed=$(grep -c '^FAIL' "$OPS_RESULTS" || true)
    echo
    echo "ops checks took $((SECONDS - START)) s"
    echo "ops: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}
# check NAME COMMAND...: runs the command, records NAME as passed or failed, shows its output on failure.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name"; sed 's/^/          /' <<<"$out"; fi
}
# run_python SCRIPT ARGS...: a checker of scripts/ops that records its own checks; a crash counts as a failure.
run_python() {
    local script=$1 before pid
    shift
    before=$(grep -c '^FAIL' "$OPS_RESULTS" || true)
    # In the background, so that a signal to this script ends it (and the trap kills it) at once.
    python3 "scripts/ops/$script" "$@" &
    pid=$!
    PIDS+=("$pid")
    local status=0
    wait "$pid" || status=$?
    unset 'PIDS[-1]'
    if [ "$status" -ne 0 ]; then
        [ "$(grep -c '^FAIL' "$OPS_RESULTS" || true)" -gt "$before" ] || fail "$script exited with an error ($status)"
    fi
}

section "Tools"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v jsonnet >/dev/null 2>&1 || missing+=(jsonnet)
if [ ${#missing[@]} -gt 0 ]; then install_packages $(printf '%s\n' "${missing[@]}" | sort -u); fi
if ! python3 -c 'import yaml' 2>/dev/null; then
    install_packages python3-yaml || true
    python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
fi
echo "  $(promtool --version 2>&1 | head -1)"
echo "  $(amtool --version 2>&1 | head -1)"
echo "  $(jsonnet --version 2>&1 | head -1)"
echo "  $(python3 --version 2>&1), PyYAML $(python3 -c 'import yaml; print(yaml.__version__)')"
if [ -x "$BIN" ]; then
    echo "  boot-exporter $("$BIN" --version 2>&1 | head -1): $BIN"
else
    echo "  boot-exporter: none at $BIN (run 'swift build --build-tests' first, or set BOOT_EXPORTER)"
fi

section "Monitoring mixin (mixin/ renders the dashboards, the rules and the PrometheusRule)"
check "the committed dashboards/, alerts/boot-alerts.yml and PrometheusRule equal what mixin/ renders" \
    scripts/render-mixin.sh --check
run_python check_mixin.py "$ROOT"

section "Prometheus configuration, alert rules and Alertmanager configuration"
# docker/prometheus.yml loads rules/boot-alerts.yml relative to itself, as the compose mounts lay it out.
mkdir -p "$WORK/etc-prometheus/rules"
cp docker/prometheus.yml "$WORK/etc-prometheus/prometheus.yml"
cp alerts/boot-alerts.yml "$WORK/etc-prometheus/rules/"
check "promtool check config docker/prometheus.yml (with the compose layout)" \
    promtool check config "$WORK/etc-prometheus/prometheus.yml"
check "promtool check rules alerts/boot-alerts.yml" promtool check rules alerts/boot-alerts.yml
check "promtool test rules alerts/boot-alerts.test.yml alerts/boot-alerts-kubernetes.test.yml alerts/boot-rules.test.yml alerts/boot-time.test.yml alerts/boot-alerts-backtest.test.yml" \
    promtool test rules alerts/boot-alerts.test.yml alerts/boot-alerts-kubernetes.test.yml alerts/boot-rules.test.yml \
        alerts/boot-time.test.yml alerts/boot-alerts-backtest.test.yml
check "amtool check-config docker/alertmanager.yml" amtool check-config docker/alertmanager.yml
AM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus-alertmanager --config.file=docker/alertmanager.yml --storage.path="$WORK/alertmanager" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= --log.level=warn 2>"$WORK/alertmanager.log" &
AM_PID=$!
PIDS+=("$AM_PID")
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready" && break; sleep 0.1; done
run_python check_inhibition.py --alertmanager "http://127.0.0.1:$AM_PORT"
kill "$AM_PID" 2>/dev/null || true; wait "$AM_PID" 2>/dev/null || true; unset 'PIDS[-1]'
check "promtool check rules on the PrometheusRule's rules" \
    bash -c "python3 -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))[\"spec\"], sys.stdout)' \
        deploy/kubernetes/prometheusrule.yaml >'$WORK/prometheusrule-spec.yml' && promtool check rules '$WORK/prometheusrule-spec.yml'"
run_python check_alert_rules.py alerts/boot-alerts.yml alerts/boot-alerts.test.yml docs/runbooks.md

section "Dashboards (structure)"
run_python check_dashboards.py dashboards/boot-overview.json dashboards/boot-fleet.json

section "Compose, Grafana provisioning, Dockerfile"
run_python check_stack_files.py "$ROOT"

section "Kubernetes"
PROBES=()
if "$BIN" probes --startup-probe-seconds 600 >"$WORK/probes.yaml" 2>/dev/null && grep -q '^startupProbe:' "$WORK/probes.yaml"; then
    PROBES=("$WORK/probes.yaml")
fi  # else check_kubernetes.py says it skips the comparison

run_python check_kubernetes.py "$ROOT" "${PROBES[@]}"

section "systemd"
run_python check_systemd.py "$ROOT" "$BIN"

section "Live: Debian's Prometheus scraping boot-exporter"
if [ ! -x "$BIN" ]; then
    fail "boot-exporter binary at $BIN (run 'swift build --build-tests' first, or set BOOT_EXPORTER)"
    finish
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start_exporter NAME ARGS...: starts boot-exporter on an ephemeral port (its log line names it); sets PORT_<NAME>.
start_exporter() {
    local name=$1
    shift
    # The log exists before the loop reads it: the background shell may not have opened it yet.
    : >"$WORK/$name.log"
    "$BIN" run --web.listen-address 127.0.0.1:0 --data-dir "$WORK/data-$name" "$@" 2>>"$WORK/$name.log" &
    PIDS+=($!)
    local port="" i
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "boot-exporter ($name) starts"
        sed 's/^/          /' "$WORK/$name.log"
        finish
    fi
    printf -v "PORT_${name}" '%s' "$port"
    echo "  started boot-exporter ($name) on 127.0.0.1:$port: $*"
}
# healthy: 100,000 records at 4,000 records/s, about 25 s of recovery, then ready.
start_exporter healthy --generate.records 100000 --recover.max-records-per-second 4000
# failing: its 3 s recover budget runs out long before its 20 s of replay: failed, BootFailed fires.
# It is that data directory's second boot: a first one failed the same way, so the boot journal's metrics
# (previous boot's duration and phases, the latest failure, failures in a row) have data too.
"$BIN" run --web.listen-address 127.0.0.1:0 --data-dir "$WORK/data-failing" --generate.records 20000 \
    --recover.max-records-per-second 1000 --boot.budget.recover 1s 2>"$WORK/failing-first.log" &
first_boot=$!
for _ in $(seq 1 100); do grep -q 'to=failed' "$WORK/failing-first.log" && break; sleep 0.1; done
kill -TERM "$first_boot" 2>/dev/null || true
wait "$first_boot" 2>/dev/null || true
start_exporter failing --generate.records 20000 --recover.max-records-per-second 1000 --boot.budget.recover 3s

PROM_PORT=$(free_port)
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/alerts/boot-alerts.yml
scrape_configs:
  - job_name: boot-exporter
    static_configs:
      - targets: ["127.0.0.1:$PORT_healthy", "127.0.0.1:$PORT_failing"]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$WORK/prometheus.log" &
PIDS+=($!)
echo "  started Prometheus on 127.0.0.1:$PROM_PORT, scraping both every 1 s with the rules loaded"
run_python check_live.py --prometheus "http://127.0.0.1:$PROM_PORT" \
    --healthy "127.0.0.1:$PORT_healthy" --failing "127.0.0.1:$PORT_failing" \
    --overview dashboards/boot-overview.json --fleet dashboards/boot-fleet.json --rules alerts/boot-alerts.yml
if grep -q '^FAIL' "$OPS_RESULTS"; then
    echo "  logs: healthy / failing boot-exporter, Prometheus (last lines)"
    tail -n 5 "$WORK/healthy.log" "$WORK/failing.log" "$WORK/prometheus.log" | sed 's/^/          /'
fi

finish
