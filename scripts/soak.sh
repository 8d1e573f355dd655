#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Soak: 1,000,000 keep-alive requests to /metrics (wrk, 2 threads, 16 connections) against the
# release binary. Passes when resident memory grew by less than 1 MiB over the run (measured after
# a warm-up) and the open descriptors are back to their idle count once the clients are gone.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null 2>&1 || { source scripts/lib/deps.sh; install_packages wrk; }
swift build -c release --product boot-exporter >&2
binary=.build/release/boot-exporter

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$binary" --data-dir "$work/data" --generate.records 1000 --web.listen-address 127.0.0.1:0 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q 'msg=listening' "$work/log" && break; sleep 0.1; done
port=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log" | head -1)
url="http://127.0.0.1:$port/metrics"
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }       # KiB
fds() { ls "/proc/$pid/fd" | wc -l; }
settle() { for _ in $(seq 50); do [ "$(fds)" -le "$1" ] && return; sleep 0.2; done; }

# Warm up (pools, caches, malloc arenas, the descriptors kept open on /proc), let the clients go,
# then take the idle figures.
wrk -t2 -c16 -d3s "$url" >/dev/null
sleep 1
idle_fds=$(fds)
before=$(rss)
total=0
while [ "$total" -lt 1000000 ]; do
    done_now=$(wrk -t2 -c16 -d5s "$url" | awk '/requests in/ {print $1}')
    total=$((total + done_now))
done
settle "$idle_fds"
after=$(rss)
after_fds=$(fds)
growth=$((after - before))
echo "soak: $total requests; resident memory ${before} KiB -> ${after} KiB (growth ${growth} KiB); descriptors idle ${idle_fds}, after ${after_fds}"
passed=0; failed=0
if [ "$growth" -lt 1024 ]; then passed=$((passed + 1)); else echo "FAIL: resident memory grew by ${growth} KiB (limit 1024)"; failed=$((failed + 1)); fi
if [ "$after_fds" -le "$idle_fds" ]; then passed=$((passed + 1)); else echo "FAIL: ${after_fds} descriptors open, ${idle_fds} when idle"; failed=$((failed + 1)); fi
echo "soak: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
