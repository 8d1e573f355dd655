#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The fleet dashboard at 1,000 instances (make bench; several minutes, so not in ./scripts/test.sh).

1. Runs a real boot-exporter and keeps its exposition while recovering (a first boot), once ready (the second
   boot of that data directory: with the boot journal's metrics of the first) and once failed (the second boot
   of another, failing its recover budget).
2. Series per instance: the samples of each exposition.
3. Memory: Debian's Prometheus, with the rules loaded, scrapes 1,000 targets every 15 s for 100 s, each serving
   one of those expositions relabelled with its own instance (a small HTTP server here): Prometheus' resident
   memory and head series, against the same Prometheus scraping only itself.
4. Query time: the same 1,000 instances over 65 minutes at 15 s (an hour of staggered boots: most reach
   ready, 5% fail, some are still booting at the end), written as OpenMetrics and backfilled with
   `promtool tsdb create-blocks-from openmetrics`; the recording rules are backfilled from it with
   `promtool tsdb create-blocks-from rules`. Every query of dashboards/boot-fleet.json, variables set to All,
   through /api/v1/query_range over the last hour at a 15 s step: the median of 5 runs each.

Writes a Markdown section to --report.

    bench_fleet.py --binary PATH --report FILE [--instances 1000]
"""
import argparse
import http.server
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import dashboard_queries as dq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEP = 15
SPAN = 65 * 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode("utf-8")


def wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"bench_fleet: timed out waiting for {what}")


def start_exporter(binary, work, name, *args):
    log = open(os.path.join(work, name + ".log"), "w+")
    if "--data-dir" not in args:
        args = ("--data-dir", os.path.join(work, "data-" + name), *args)
    proc = subprocess.Popen([binary, "run", "--web.listen-address", "127.0.0.1:0", *args],
                            stderr=log, stdout=subprocess.DEVNULL)
    port = []

    def listening():
        log.seek(0)
        m = re.search(r"msg=listening address=127\.0\.0\.1:(\d+)", log.read())
        if m:
            port.append(m.group(1))
        return bool(m)
    wait(listening, 30, f"boot-exporter {name}")
    return proc, f"http://127.0.0.1:{port[0]}/metrics"


def samples(text):
    """[(name, labels text without braces, value)] of a text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        out.append((m.group(1), m.group(3) or "", m.group(4)))
    return out


def expositions(binary, work):
    """Real scrapes of boot-exporter: recovering (a first boot), ready (the second boot of that data directory,
    so with the boot journal's metrics of the first), failed (the second failing boot of another)."""
    data = ("--data-dir", os.path.join(work, "data-healthy"))
    first, url = start_exporter(binary, work, "healthy-first", *data, "--generate.records", "60000",
                                "--recover.max-records-per-second", "4000")
    wait(lambda: re.search(r"^boot_phase_code 3", get(url), re.M), 30, "recover")
    time.sleep(2)
    recovering = get(url)
    wait(lambda: re.search(r"^boot_ready 1", get(url), re.M), 60, "ready")
    first.terminate()
    first.wait()
    second, url = start_exporter(binary, work, "healthy", *data)
    wait(lambda: re.search(r"^boot_ready 1", get(url), re.M), 60, "ready")
    ready = get(url)
    second.terminate()
    second.wait()
    data = ("--data-dir", os.path.join(work, "data-failing"))
    for name in ("failing-first", "failing"):
        failing, url = start_exporter(binary, work, name, *data, "--generate.records", "20000",
                                      "--recover.max-records-per-second", "1000", "--boot.budget.recover", "1s")
        wait(lambda: re.search(r"^boot_phase_code 9", get(url), re.M), 30, "failed")
        failed = get(url)
        failing.terminate()
        failing.wait()
    return {"recovering": samples(recovering), "ready": samples(ready), "failed": samples(failed)}


def instance_name(i):
    return f"db-{i:04d}:9851"


def relabel(sample_list, instance, job="boot-exporter"):
    lines = []
    for name, labels, value in sample_list:
        extra = f',{labels}' if labels else ""
        lines.append(f'{name}{{job="{job}",instance="{instance}"{extra}}} {value}')
    return lines


class Targets(http.server.BaseHTTPRequestHandler):
    """/metrics?i=N: the exposition of instance N (no job or instance labels: Prometheus adds them)."""
    bodies = {}

    def do_GET(self):
        i = int(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("i", ["0"])[0])
        body = self.bodies[i % len(self.bodies)]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def prometheus(work, name, config, extra=()):
    port = free_port()
    path = os.path.join(work, name + ".yml")
    with open(path, "w") as f:
        f.write(config)
    data = os.path.join(work, name + "-data")
    os.makedirs(data, exist_ok=True)
    proc = subprocess.Popen(["prometheus", f"--config.file={path}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn", *extra],
                            stderr=open(os.path.join(work, name + ".log"), "w"))
    base = f"http://127.0.0.1:{port}"
    wait(lambda: get(base + "/-/ready", 2), 60, "Prometheus")
    return proc, base, data


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


def instant(base, expr):
    body = json.loads(get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def memory(work, instances, phases, seconds):
    """Prometheus' RSS and head series scraping nothing, then `instances` targets."""
    Targets.bodies = {i: ("\n".join(f"{n}{{{l}}} {v}" if l else f"{n} {v}" for n, l, v in phases[i]) + "\n").encode()
                      for i in range(instances)}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Targets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    results = {}
    for label, count in (("idle", 0), ("fleet", instances)):
        targets = json.dumps([f"i{i}" for i in range(count)])
        config = f"""global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 15s
rule_files: ["{os.path.join(ROOT, 'alerts', 'boot-alerts.yml')}"]
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:PROMPORT"]}}]
  - job_name: boot-exporter
    static_configs: [{{targets: {targets}}}]
    relabel_configs:
      - {{source_labels: [__address__], regex: "i(.*)", target_label: __param_i}}
      - {{source_labels: [__param_i], regex: "(.*)", replacement: "db-$1:9851", target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{port}"}}
"""
        pport = free_port()
        config = config.replace("PROMPORT", str(pport))
        path = os.path.join(work, f"mem-{label}.yml")
        with open(path, "w") as f:
            f.write(config)
        data = os.path.join(work, f"mem-{label}-data")
        proc = subprocess.Popen(["prometheus", f"--config.file={path}", f"--storage.tsdb.path={data}",
                                 f"--web.listen-address=127.0.0.1:{pport}", "--log.level=warn"],
                                stderr=open(os.path.join(work, f"mem-{label}.log"), "w"))
        base = f"http://127.0.0.1:{pport}"
        wait(lambda: get(base + "/-/ready", 2), 60, "Prometheus")
        time.sleep(seconds)
        results[label] = {
            "rss": rss_bytes(proc.pid),
            "heap": instant(base, 'go_memstats_heap_inuse_bytes{job="prometheus"}'),
            "series": instant(base, "prometheus_tsdb_head_series"),
            "up": instant(base, 'count(up{job="boot-exporter"} == 1)') or 0,
        }
        proc.terminate()
        proc.wait()
    server.shutdown()
    return results


def write_openmetrics(path, instances, phases_at, end):
    """Every series of every instance over SPAN seconds ending at `end`, one sample per STEP, grouped by metric
    name as OpenMetrics wants. phases_at(i, t) returns the instance's exposition at t."""
    times = list(range(end - SPAN, end + 1, STEP))
    series = {}  # name -> {labels: [(t, value)]}
    for i in range(instances):
        instance = instance_name(i)
        for t in times:
            for name, labels, value in phases_at(i, t):
                key = f'job="boot-exporter",instance="{instance}"' + (f",{labels}" if labels else "")
                series.setdefault(name, {}).setdefault(key, []).append((t, value))
    count = 0
    with open(path, "w") as f:
        for name in sorted(series):
            f.write(f"# TYPE {name} gauge\n")
            for labels, points in series[name].items():
                f.write("".join(f"{name}{{{labels}}} {v} {t}\n" for t, v in points))
                count += len(points)
        f.write("# EOF\n")
    return count


def timed(url, runs):
    """Median and maximum milliseconds of `runs` GETs of a query URL, and the number of series answered."""
    timings, body = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        body = json.loads(get(url, 60))
        timings.append((time.perf_counter() - t0) * 1000)
    return statistics.median(timings), max(timings), len(body["data"]["result"])


def time_queries(base, end, runs):
    """Every target of the fleet dashboard, variables at All: over the last hour through query_range; the
    tables' instant queries (what Grafana sends for them) at `end` too."""
    fleet = dq.load(os.path.join(ROOT, "dashboards", "boot-fleet.json"))
    values = {"job": ".*", "instance": ".*", "datasource": "prometheus", "__rate_interval": "1m"}
    rows = []
    for panel, target in dq.targets(fleet):
        expr = dq.substitute(target["expr"], values)
        query = {"query": expr, "start": end - 3600, "end": end, "step": STEP}
        ranged = timed(base + "/api/v1/query_range?" + urllib.parse.urlencode(query), runs)
        single = None
        if target.get("instant"):
            single = timed(base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": end}), runs)
        rows.append((panel["title"], target["refId"], ranged, single))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--memory-seconds", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep-blocks", help="copy the backfilled raw blocks there (for trying queries)")
    args = parser.parse_args()
    n = args.instances
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-fleet.") as work:
        exp = expositions(args.binary, work)
        per_instance = {k: len(v) for k, v in exp.items()}
        print(f"bench_fleet: series per instance {per_instance}", file=sys.stderr)

        # An hour of staggered boots: instance i starts booting at a random time in the first 50 minutes and
        # recovers for 2-15 minutes; 5% fail instead; the rest are ready.
        rng = random.Random(25)
        end = int(time.time()) // STEP * STEP - 10 * 60
        plan = []
        for i in range(n):
            start = end - SPAN + rng.randint(0, 50 * 60)
            plan.append((start, start + rng.randint(120, 900), rng.random() < 0.05))

        def at(i, t):
            start, done, fails = plan[i]
            phase = "recovering" if t < done else ("failed" if fails else "ready")
            out = []
            for name, labels, value in exp[phase]:
                if name == "boot_start_time_seconds":
                    value = str(start)
                elif name == "boot_elapsed_seconds":
                    value = str(max(0, t - start))
                out.append((name, labels, value))
            return out

        mem = memory(work, n, {i: at(i, end) for i in range(n)}, args.memory_seconds)
        print(f"bench_fleet: memory {mem}", file=sys.stderr)

        om = os.path.join(work, "fleet.om")
        samples_written = write_openmetrics(om, n, at, end)
        blocks = os.path.join(work, "tsdb")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, blocks],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(om)
        if args.keep_blocks:
            shutil.copytree(blocks, args.keep_blocks, dirs_exist_ok=True)
            with open(os.path.join(args.keep_blocks, "end"), "w") as f:
                f.write(str(end))
        print(f"bench_fleet: backfilled {samples_written} samples", file=sys.stderr)

        # Prometheus on the backfilled blocks; the recording rules backfilled from it, then loaded beside.
        config = "global:\n  scrape_interval: 15s\n"
        proc, base, data = prometheus(work, "query", config, ["--storage.tsdb.retention.time=30d"])
        proc.terminate()
        proc.wait()
        for block in os.listdir(blocks):
            os.rename(os.path.join(blocks, block), os.path.join(data, block))
        proc, base, data = prometheus(work, "query", config, ["--storage.tsdb.retention.time=30d"])
        rules_out = os.path.join(work, "rules-blocks")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "rules", "--start", str(end - SPAN),
                        "--end", str(end), "--url", base, "--output-dir", rules_out,
                        os.path.join(ROOT, "alerts", "boot-alerts.yml")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.terminate()
        proc.wait()
        for block in os.listdir(rules_out):
            os.rename(os.path.join(rules_out, block), os.path.join(data, block))
        proc, base, data = prometheus(work, "query", config, ["--storage.tsdb.retention.time=30d"])

        rows = time_queries(base, end, args.runs)
        rss = rss_bytes(proc.pid)
        proc.terminate()
        proc.wait()

    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown CPU")
    mib = lambda b: f"{b / 2**20:.0f} MiB"
    version = subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout.split()[2]
    fleet_series = mem["fleet"]["series"] - mem["idle"]["series"]
    lines = [
        f"## Fleet dashboard at {n:,} instances",
        "",
        f"`scripts/ops/bench_fleet.py` (make bench), {time.strftime('%Y-%m-%d', time.gmtime())}, {cpu}, "
        f"{os.cpu_count()} cores shared, Prometheus {version}.",
        "",
        "Series one instance adds (samples of a real boot-exporter scrape): "
        + ", ".join(f"{v} {k}" for k, v in per_instance.items()) + ".",
        "",
        f"Prometheus scraping {n:,} targets every 15 s (each serving a real exposition relabelled with its own "
        f"instance), with the rules loaded, after {args.memory_seconds} s: {mem['fleet']['series']:,.0f} head series "
        f"({fleet_series / n:.0f} per instance: its own, the 5 Prometheus adds per target, the recording rules'), "
        f"resident memory "
        f"{mib(mem['fleet']['rss'])} (Go heap in use {mib(mem['fleet']['heap'])}); the same Prometheus scraping only "
        f"itself: {mem['idle']['series']:.0f} series, {mib(mem['idle']['rss'])} ({mib(mem['idle']['heap'])}). "
        f"That is about {(mem['fleet']['rss'] - mem['idle']['rss']) / n / 1024:.0f} KiB per instance.",
        "",
        f"Query time: {samples_written:,} samples backfilled ({n:,} instances, {SPAN // 60} minutes at {STEP} s, "
        "staggered boots, 5% failed), recording rules backfilled; every query of `dashboards/boot-fleet.json` "
        f"(job and instance set to All) through `/api/v1/query_range` over the last hour at a {STEP} s step, "
        f"median of {args.runs} (target: under 200 ms). Prometheus' resident memory after: {mib(rss)}.",
        "",
        "| Panel | Query | query_range 1 h: median ms | max ms | series | instant (tables): median ms | max ms | series |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for title, ref, ranged, single in rows:
        cells = [f"{ranged[0]:.1f}", f"{ranged[1]:.1f}", str(ranged[2])]
        cells += [f"{single[0]:.1f}", f"{single[1]:.1f}", str(single[2])] if single else ["", "", ""]
        lines.append(f"| {title} | {ref} | " + " | ".join(cells) + " |")
    slowest = max(r[2][0] for r in rows)
    lines += ["", f"Slowest query_range median: {slowest:.1f} ms ({'under' if slowest < 200 else 'OVER'} the 200 ms "
              f"target). Took {time.time() - started:.0f} s.", ""]
    with open(args.report, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
