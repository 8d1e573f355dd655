#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Backtest of the boot alert rules against a real Prometheus.

Drives real `boot-exporter follow` processes through boot profiles whose outcome is known (on time or late),
side by side, on a real timeline: a thread per profile writes the `follow` events to the exporter's standard
input. One Prometheus (Debian's, on 127.0.0.1) scrapes them all and evaluates the rules file. Afterwards the
raw ALERTS samples say when each alert fired, and the set is scored:

  false page  BootBudgetAtRisk or BootBudgetExhausted on a boot that finishes within its budgets
  miss        a boot that exhausts a budget with no BootBudgetAtRisk before it
  lead        exhaustion minus BootBudgetAtRisk's first firing, as a fraction of the phase budget
  delay       BootBudgetExhausted's first firing minus the exhaustion, in seconds

    backtest.py [RULES] [--set full|short] [--budget 240] [--scrape-interval 5] [--eval-interval 15]
                [--binary .build/debug/boot-exporter] [--markdown FILE] [--json FILE] [--check [--min-lead 0.2]]

--eval-interval writes a copy of the rules with that group interval (only to measure what the interval costs).
--check exits 1 on a false page, a miss, or a BootBudgetExhausted missing or later than a scrape interval plus
an evaluation interval plus 1 s after the exhaustion; with --min-lead, also when the smallest lead of a late boot
reporting progress is below that fraction of the budget. Needs `prometheus`.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ITEMS = 1_000_000
PHASE_FLAG = {"migrate": "--boot.budget.migrate", "recover": "--boot.budget.recover", "warmup": "--boot.budget.warmup"}


def steady(duration):
    """Progress at one pace, done after `duration` (fractions of the budget)."""
    return lambda t: t / duration


def piecewise(*points):
    """Progress through (time, fraction) points, linear between them; both in fractions of the budget."""
    points = [(0.0, 0.0)] + list(points)

    def fraction(t):
        for (t0, f0), (t1, f1) in zip(points, points[1:]):
            if t <= t1:
                return f0 + (f1 - f0) * (t - t0) / (t1 - t0) if t1 > t0 else f1
        return 1.0 if points[-1][1] >= 1 else points[-1][1]
    return fraction


class Profile:
    """A boot whose phase under test takes `done` budgets (None: it is not done before the budget runs out)."""

    def __init__(self, name, shape, done, phase="recover", every=2.0, progress=True, probe=False):
        self.name, self.shape, self.done, self.phase = name, shape, done, phase
        self.every, self.progress, self.probe = every, progress, probe

    @property
    def late(self):
        return self.done > 1


# Times and fractions are in units of the phase budget. `done` is when the phase ends (> 1: late).
PROFILES = [
    Profile("steady-ontime", steady(0.6), 0.6),
    Profile("steady-tight", steady(0.9), 0.9),
    Profile("steady-late", steady(1.3), 1.3),
    Profile("slowdown-ontime", piecewise((0.2, 0.5), (0.85, 1.0)), 0.85),
    Profile("slowdown-late", piecewise((0.25, 0.5), (1.25, 1.0)), 1.25),
    # On time because its first, slower pace already fits the budget (a start too slow for that pages, as it should).
    Profile("speedup-ontime", piecewise((0.4, 0.45), (0.6, 1.0)), 0.6),
    Profile("speedup-late", piecewise((0.6, 0.2), (1.2, 1.0)), 1.2),
    Profile("bursty-ontime", steady(0.8), 0.8, every=30.0),
    Profile("bursty-late", steady(1.3), 1.3, every=30.0),
    # Stalls for 15% of the budget while well ahead of it.
    Profile("stall-ontime", piecewise((0.25, 0.5), (0.4, 0.5), (0.7, 1.0)), 0.7),
    Profile("stall-late", piecewise((0.3, 0.45), (1.0, 0.45), (1.35, 1.0)), 1.35),
    Profile("noprogress-ontime", None, 0.4, progress=False),
    Profile("noprogress-late", None, 1.3, progress=False),
    Profile("migrate-late", steady(1.3), 1.3, phase="migrate"),
    Profile("warmup-late", steady(1.3), 1.3, phase="warmup"),
    Profile("probe-ontime", steady(0.8), 0.8, probe=True),
    Profile("probe-late", piecewise((0.3, 0.5), (1.3, 1.0)), 1.3, probe=True),
]
SHORT = ["steady-tight", "slowdown-late", "bursty-ontime", "stall-late", "speedup-ontime", "noprogress-late"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_until(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"backtest: {what} did not happen within {seconds} s")


class Boot:
    """One boot-exporter follow process and the thread that drives its boot."""

    def __init__(self, profile, binary, budget, work):
        self.profile, self.budget = profile, budget
        self.port = free_port()
        self.exhausted = None  # when the phase budget ran out (time.time()), for a late boot
        self.finished = None
        args = [binary, "follow", "--web.listen-address", f"127.0.0.1:{self.port}", "--log.level", "warning"]
        if profile.probe:
            # forKubernetes: recover is 3/5 of the probe's window.
            args += ["--boot.startup-probe-seconds", str(round(budget * 5 / 3))]
        else:
            args += [PHASE_FLAG[profile.phase], f"{budget}s"]
        self.log = open(os.path.join(work, profile.name + ".log"), "w")
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=self.log, stderr=self.log, text=True)

    def emit(self, event, **fields):
        try:
            self.process.stdin.write(json.dumps({"event": event, **fields}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def drive(self, start_at, stop_at):
        """Boots: quick phases before and after the phase under test, which follows its profile."""
        p, budget = self.profile, self.budget
        time.sleep(max(0, start_at - time.time()))
        self.emit("start")
        order = ["migrate", "recover", "warmup"]
        for phase in order:
            self.emit("transition", phase=phase)
            if phase != p.phase:
                time.sleep(0.5)
                self.emit("progress", percent=100)
                continue
            began = time.time()
            if p.late:
                self.exhausted = began + budget
            end = began + p.done * budget
            if p.progress:
                self.emit("progress", items_processed=0, items_total=ITEMS)
            tick = began
            while True:
                now = time.time()
                if now >= min(end, stop_at):
                    break
                tick = min(tick + p.every, end, stop_at)
                time.sleep(max(0, tick - time.time()))
                if p.progress and tick < end:
                    fraction = min(p.shape((tick - began) / budget), 1.0)
                    self.emit("progress", items_processed=int(fraction * ITEMS), items_total=ITEMS)
            if time.time() >= stop_at and not time.time() >= end:
                return
            if p.progress:
                self.emit("progress", items_processed=ITEMS, items_total=ITEMS)
        self.emit("transition", phase="ready")
        self.finished = time.time()

    def stop(self):
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def rules_copy(rules, eval_interval, work):
    """The rules as given, or a copy whose groups are evaluated every `eval_interval` seconds."""
    if eval_interval is None:
        return os.path.abspath(rules)
    with open(rules) as f:
        text = f.read()
    # A group's `interval: 15s` or, rendered from the mixin, `- interval: "15s"`.
    text, n = re.subn(r"(?m)^(\s+(?:- )?)interval: *\S+", rf"\g<1>interval: {eval_interval}s", text)
    if n == 0:
        raise SystemExit(f"backtest: {rules} sets no group interval to replace")
    path = os.path.join(work, "rules.yml")
    with open(path, "w") as f:
        f.write(text)
    return path


def group_interval(rules_path):
    with open(rules_path) as f:
        match = re.search(r"(?m)^\s+(?:- )?interval: *\"?(\d+)s\"?$", f.read())
    return int(match.group(1)) if match else None


def run(args):
    profiles = [p for p in PROFILES if args.set == "full" or p.name in SHORT]
    if args.only:
        profiles = [p for p in profiles if p.name in args.only.split(",")]
    work = tempfile.mkdtemp(prefix="alert-backtest.")
    boots, prometheus = [], None
    try:
        rules = rules_copy(args.rules, args.eval_interval, work)
        evaluation = group_interval(rules) or args.eval_interval or 15
        boots = [Boot(p, args.binary, args.budget, work) for p in profiles]
        for boot in boots:
            wait_until(lambda b=boot: urllib.request.urlopen(f"http://127.0.0.1:{b.port}/metrics", timeout=2).status == 200,
                       30, f"{boot.profile.name}'s exporter answering")
        prom_port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"global:\n  scrape_interval: {args.scrape_interval}s\n  evaluation_interval: {evaluation}s\n"
                    f"rule_files:\n  - {json.dumps(rules)}\nscrape_configs:\n  - job_name: boot-exporter\n"
                    "    static_configs:\n")
            for boot in boots:
                f.write(f"      - targets: ['127.0.0.1:{boot.port}']\n")
        prom_log = open(os.path.join(work, "prometheus.log"), "w")
        prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1d"],
            stdout=prom_log, stderr=prom_log)
        api = f"http://127.0.0.1:{prom_port}/api/v1"
        wait_until(lambda: get_json(f"{api}/rules")["data"]["groups"], 60, "Prometheus loading the rules")
        wait_until(lambda: len([t for t in get_json(f"{api}/targets")["data"]["activeTargets"] if t["health"] == "up"])
                   == len(boots), 60, "Prometheus scraping every exporter")
        start_at = time.time() + 1
        # Late boots run on to see BootBudgetExhausted; on-time ones until they are ready, then a little.
        length = max((min(p.done, 1.0) * args.budget + 2 + (args.scrape_interval + evaluation + 10 if p.late else 0))
                     for p in profiles) + 2
        stop_at = start_at + length
        threads = [threading.Thread(target=b.drive, args=(start_at, stop_at), daemon=True) for b in boots]
        for t in threads:
            t.start()
        print(f"backtest: {len(boots)} boots, phase budget {args.budget} s, scrapes every {args.scrape_interval} s, "
              f"rules evaluated every {evaluation} s; about {int(length + 5)} s", file=sys.stderr, flush=True)
        for t in threads:
            t.join()
        time.sleep(max(0, stop_at - time.time()) + args.scrape_interval + evaluation + 1)
        query = urllib.parse.quote(f'ALERTS{{alertstate="firing"}}[{int(time.time() - start_at) + 60}s]')
        series = get_json(f"{api}/query?query={query}")["data"]["result"]
        fired = {}
        names = {f"127.0.0.1:{b.port}": b.profile.name for b in boots}
        for s in series:
            key = (names[s["metric"]["instance"]], s["metric"]["alertname"])
            fired[key] = min(float(v[0]) for v in s["values"])
        return score(boots, fired, args, evaluation)
    finally:
        for boot in boots:
            boot.stop()
        if prometheus:
            prometheus.terminate()
            prometheus.wait(30)
        if args.keep:
            print(f"backtest: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def score(boots, fired, args, evaluation):
    rows = []
    for boot in boots:
        p = boot.profile
        risk = fired.get((p.name, "BootBudgetAtRisk"))
        exhausted = fired.get((p.name, "BootBudgetExhausted"))
        row = {"profile": p.name, "phase": p.phase, "late": p.late, "progress": p.progress, "done": p.done}
        if p.late:
            row["at_risk_lead"] = (boot.exhausted - risk) / args.budget if risk is not None else None
            row["miss"] = risk is None or risk >= boot.exhausted
            row["exhausted_delay"] = exhausted - boot.exhausted if exhausted is not None else None
            row["false_page"] = False
        else:
            row["miss"] = False
            row["false_page"] = risk is not None or exhausted is not None
            row["at_risk_lead"] = None
            row["exhausted_delay"] = None
        row["other_alerts"] = sorted(a for (name, a) in fired if name == p.name
                                     and a not in ("BootBudgetAtRisk", "BootBudgetExhausted"))
        rows.append(row)
    leads = [r["at_risk_lead"] for r in rows if r["late"] and not r["miss"]]
    progress_leads = [r["at_risk_lead"] for r in rows if r["late"] and r["progress"] and not r["miss"]]
    delays = [r["exhausted_delay"] for r in rows if r["exhausted_delay"] is not None]
    summary = {
        "budget": args.budget, "scrape_interval": args.scrape_interval, "eval_interval": evaluation,
        "boots": len(rows), "false_pages": sum(r["false_page"] for r in rows), "misses": sum(r["miss"] for r in rows),
        "median_lead": statistics.median(leads) if leads else None,
        "min_progress_lead": min(progress_leads) if progress_leads else None,
        "max_exhausted_delay": max(delays) if delays else None,
        # BootBudgetExhausted missing, or later than a scrape and an evaluation (and 1 s) after the exhaustion.
        "exhausted_late": sum(1 for r in rows if r["late"] and (r["exhausted_delay"] is None or r["exhausted_delay"]
                                                                  > args.scrape_interval + evaluation + 1)),
    }
    return {"summary": summary, "rows": rows}


def pct(x):
    return "-" if x is None else f"{x * 100:.0f}%"


def secs(x):
    return "-" if x is None else f"{x:.1f} s"


def markdown(result, title):
    s = result["summary"]
    lines = [f"{title}: phase budget {s['budget']} s, scrapes every {s['scrape_interval']} s, rules evaluated every "
             f"{s['eval_interval']} s. **{s['false_pages']} false pages, {s['misses']} misses, median lead "
             f"{pct(s['median_lead'])}, smallest lead of a late boot reporting progress {pct(s['min_progress_lead'])}, "
             f"BootBudgetExhausted at most {secs(s['max_exhausted_delay'])} after the exhaustion** "
             f"(target: {s['scrape_interval'] + s['eval_interval'] + 1} s).", "",
             "| profile | phase | ends at (budget) | BootBudgetAtRisk lead (budget) | BootBudgetExhausted after | verdict |",
             "|---|---|---:|---:|---:|---|"]
    for r in result["rows"]:
        verdict = "FALSE PAGE" if r["false_page"] else "MISS" if r["miss"] else "ok"
        ends = f"{r['done']:.2f}" + (" (late)" if r["late"] else "")
        lines.append(f"| {r['profile']} | {r['phase']} | {ends} | {pct(r['at_risk_lead']) if r['late'] else '-'} | "
                     f"{secs(r['exhausted_delay']) if r['late'] else '-'} | {verdict} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules", nargs="?", default=os.path.join(ROOT, "alerts", "boot-alerts.yml"))
    parser.add_argument("--binary", default=os.environ.get("BOOT_EXPORTER", os.path.join(ROOT, ".build", "debug", "boot-exporter")))
    parser.add_argument("--set", choices=["full", "short"], default="full")
    parser.add_argument("--only", help="comma-separated profile names")
    parser.add_argument("--budget", type=int, default=240, help="the phase budget under test, in seconds")
    parser.add_argument("--scrape-interval", type=int, default=5)
    parser.add_argument("--eval-interval", type=int, help="override the rule groups' interval (seconds)")
    parser.add_argument("--title", default="Alert backtest")
    parser.add_argument("--markdown")
    parser.add_argument("--json")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 on a false page, a miss, or a BootBudgetExhausted missing or late")
    parser.add_argument("--min-lead", type=float,
                        help="with --check: exit 1 too when a late boot reporting progress is warned less than this fraction of its budget ahead")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, TSDB)")
    args = parser.parse_args()
    if not shutil.which("prometheus"):
        raise SystemExit("backtest: needs Debian's prometheus (apt-get install prometheus)")
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"backtest: no boot-exporter at {args.binary} (swift build, or --binary)")
    # A SIGTERM (make bench's cleanup) unwinds through run()'s finally, which stops the exporters and Prometheus.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    text = markdown(result, args.title)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    summary = result["summary"]
    short_lead = args.min_lead is not None and (summary["min_progress_lead"] is None
                                                 or summary["min_progress_lead"] < args.min_lead)
    if args.check and (summary["false_pages"] or summary["misses"] or summary["exhausted_late"] or short_lead):
        print(f"backtest: FAIL ({summary['false_pages']} false pages, {summary['misses']} misses, "
              f"{summary['exhausted_late']} BootBudgetExhausted missing or late, smallest lead of a late boot "
              f"reporting progress {summary['min_progress_lead']} against at least {args.min_lead})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
