#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Live checks against a real Prometheus scraping real boot-exporter processes (started by check-ops.sh):

- `healthy` boots a throttled WAL to ready; `failing` runs out of a tiny recover budget and fails.
- Every metric name the dashboards and the alert rules use exists in a real scrape or is recorded by a
  recording rule of the rules file; every boot_* metric of the scrape is shown on a dashboard (directly, or
  through a recording rule that a dashboard reads).
- While `healthy` is booting (phase 3) and again once it is ready, every PromQL expression of both dashboards
  (template variables substituted as Grafana would) returns data through /api/v1/query, evaluated at one
  instant at which the phase was confirmed. The overview is also evaluated for the failed instance.
- The dashboards' job and instance variables list the running instances.
- Prometheus fires BootFailed and BootBudgetExhausted for `failing` and nothing for `healthy`.

    check_live.py --prometheus URL --healthy HOST:PORT --failing HOST:PORT --overview F --fleet F --rules F
"""
import argparse
import json
import re
import time
import urllib.parse
import urllib.request

import yaml

import dashboard_queries as dq
from check_report import CheckReport

JOB = "boot-exporter"
PROMETHEUS_METRICS = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
# Queries that have data only when an instance has failed: evaluated against the failed instance instead.
NEEDS_A_FAILED_INSTANCE = {("fleet", "Failures by reason", "A"), ("fleet", "Failed boots, latest first", "A")}


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode("utf-8")


class Prometheus:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def api(self, path, **params):
        body = json.loads(http_get(f"{self.base}{path}?{urllib.parse.urlencode(params, doseq=True)}"))
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def query(self, expr, at):
        data = self.api("/api/v1/query", query=expr, time=f"{at:.3f}")
        return data["resultType"], data["result"]

    def scalar(self, expr, at):
        _, result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def wait_until(self, what, condition, timeout):
        """Polls condition(now) every 0.5 s; returns the instant at which it held, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = time.time()
            try:
                if condition(now):
                    return now
            except (OSError, RuntimeError, ValueError, TypeError):
                pass
            time.sleep(0.5)
        return None


def regex_value(text):
    """A value for a regex-matched (multi-value) variable: Grafana escapes regex metacharacters, and
    the backslashes are doubled inside the PromQL string."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\\\1", text)


def evaluate(report, prom, name, dashboard, values, at, stage, skip=(), only=None):
    """Evaluates every target of a dashboard at `at`; each must return at least one sample."""
    results = {}
    for panel, target in dq.targets(dashboard):
        key = (name, panel.get("title"), target.get("refId"))
        if only is not None and key not in only:
            continue
        label = f"{stage}: {name} / {panel.get('title')} / {target.get('refId')}"
        if key in skip:
            report.note(f"{label}: data only with a failed instance, checked against one below")
            continue
        try:
            expr = dq.substitute(target["expr"], values)
            kind, result = prom.query(expr, at)
        except (KeyError, RuntimeError, OSError) as error:
            report.fail(label, f"{type(error).__name__}: {error}")
            continue
        results[key] = result
        report.check(len(result) > 0, f"{label}: {len(result)} {kind} series", f"no data for {expr}")
    return results


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--prometheus", "--healthy", "--failing", "--overview", "--fleet", "--rules"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--boot-timeout", type=float, default=90)
    args = parser.parse_args()
    report = CheckReport()
    prom = Prometheus(args.prometheus)
    overview, fleet = dq.load(args.overview), dq.load(args.fleet)
    healthy, failing = args.healthy, args.failing
    sel = lambda instance: f'{{job="{JOB}",instance="{instance}"}}'
    with open(args.rules, encoding="utf-8") as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    recorded = [r["record"] for r in rules if "record" in r]

    ready = prom.wait_until("Prometheus ready", lambda now: http_get(f"{args.prometheus}/-/ready", 2), 30)
    if not report.check(ready, "Prometheus is up"):
        report.exit()

    # ---- booting -------------------------------------------------------------------------------------
    # The recording rules' group runs every 15 s: the dashboards read their series once it has run. Rules
    # above the instance level (job:…, the fleet's boot time) have no instance label: their job's series.
    job_sel = f'{{job="{JOB}"}}'
    def booting(now):
        return (prom.scalar(f"boot_phase_code{sel(healthy)}", now) == 3
                and prom.scalar(f"count_over_time(boot_phase_code{sel(healthy)}[1m])", now) >= 3
                and prom.scalar(f"boot_phase_code{sel(failing)}", now) == 9
                and all(prom.scalar(f"count({name}{sel(healthy) if name.startswith('instance:') else job_sel})", now)
                        for name in recorded))
    at = prom.wait_until("booting", booting, 60)
    phase_now = prom.scalar(f"boot_phase_code{sel(healthy)}", time.time())
    if not report.check(at, f"{healthy} is recovering (boot_phase_code 3, 3 scrapes, recorded by every recording rule) "
                        f"and {failing} has failed (9)",
                        f"boot_phase_code of {healthy} is {phase_now}"):
        report.exit()

    scrapes = {instance: http_get(f"http://{instance}/metrics") for instance in (healthy, failing)}
    exposed = set().union(*(dq.exposition_names(text) for text in scrapes.values()))
    exposed_or_recorded = exposed | set(recorded)
    for name, dashboard in (("overview", overview), ("fleet", fleet)):
        used = set().union(*(dq.metric_names(t["expr"]) for _, t in dq.targets(dashboard)))
        unknown = sorted(used - exposed_or_recorded - PROMETHEUS_METRICS)
        report.check(not unknown, f"{name}: all {len(used)} metric names it queries exist in a real scrape "
                     "or are recorded by a rule",
                     f"not exposed: {unknown}")
    used = set()
    for rule in rules:
        used |= dq.metric_names(rule["expr"])
        for template in re.findall(r'printf "([^"]*)"', json.dumps(rule.get("annotations", {})).replace('\\"', '"')):
            used |= dq.metric_names(template.replace("%q", '""'))
    unknown = sorted(used - exposed_or_recorded - PROMETHEUS_METRICS)
    report.check(not unknown, f"alert and recording rules: all {len(used)} metric names (expressions and annotation queries) "
                 "exist in a real scrape or are recorded by a rule", f"not exposed: {unknown}")
    shown = set().union(*(dq.metric_names(t["expr"]) for d in (overview, fleet) for _, t in dq.targets(d)))
    # A metric shown through a recording rule that a dashboard reads is shown too.
    shown |= set().union(set(), *(dq.metric_names(r["expr"]) for r in rules if r.get("record") in shown))
    unshown = sorted(n for n in exposed if n.startswith("boot_") and n not in shown)
    report.check(not unshown, "every boot_* metric of the exporter is on a dashboard", f"not shown: {unshown}")

    for name, dashboard, variable, values in (
            ("overview", overview, "job", None), ("overview", overview, "instance", {"job": JOB}),
            ("fleet", fleet, "job", None), ("fleet", fleet, "instance", {"job": ".*"})):
        definition = next(v for v in dq.variables(dashboard) if v["name"] == variable)["definition"]
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", dq.substitute(definition, values or {}))
        listed = set(prom.api(f"/api/v1/label/{m.group(2)}/values", **{"match[]": m.group(1)}))
        wanted = {JOB} if variable == "job" else {healthy, failing}
        report.check(wanted <= listed, f"{name}: variable {variable} ({definition}) lists {sorted(wanted)}",
                     f"got {sorted(listed)}")

    over_healthy = {"job": JOB, "instance": healthy, "datasource": "prometheus"}
    fleet_healthy = {"job": JOB, "instance": regex_value(healthy), "datasource": "prometheus"}
    fleet_failing = {"job": JOB, "instance": regex_value(failing), "datasource": "prometheus"}
    stage = "booting"
    results = evaluate(report, prom, "overview", overview, over_healthy, at, stage)
    evaluate(report, prom, "fleet", fleet, fleet_healthy, at, stage, skip=NEEDS_A_FAILED_INSTANCE)
    phase = next(v for (d, title, _), v in results.items() if title == "Phase")
    report.check(phase and phase[0]["value"][1] == "3", f"{stage}: overview / Phase reads 3 (recover)")
    reason = next(v for (d, title, _), v in results.items() if title == "Failure reason")
    report.check(reason and reason[0]["metric"].get("reason", "").startswith("none"),
                 f"{stage}: overview / Failure reason reads none for {healthy}", str(reason))

    # ---- the failed instance ------------------------------------------------------------------------
    stage = "failed"
    at = time.time()
    results = evaluate(report, prom, "overview", overview, {**over_healthy, "instance": failing}, at, stage)
    evaluate(report, prom, "fleet", fleet, fleet_failing, at, stage, only=NEEDS_A_FAILED_INSTANCE)
    reason = next(v for (d, title, _), v in results.items() if title == "Failure reason")
    report.check(reason and "budget" in reason[0]["metric"].get("reason", ""),
                 f"{stage}: overview / Failure reason names the budget", str(reason))

    def alerts(now):
        firing = [a for a in prom.api("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
        return {(a["labels"]["alertname"], a["labels"].get("instance")) for a in firing}

    wanted = {("BootFailed", failing), ("BootBudgetExhausted", failing)}
    fired = prom.wait_until("alerts", lambda now: wanted <= alerts(now), 30)
    seen = alerts(time.time())
    report.check(fired, f"Prometheus fires BootFailed and BootBudgetExhausted for {failing}", f"firing: {sorted(seen)}")
    report.check(not [a for a in seen if a[1] == healthy], f"no alert fires for {healthy} while it boots",
                 f"firing: {sorted(seen)}")

    # ---- ready ----------------------------------------------------------------------------------------
    stage = "ready"
    at = prom.wait_until("ready", lambda now: prom.scalar(f"boot_ready{sel(healthy)}", now) == 1, args.boot_timeout)
    if not report.check(at, f"{healthy} becomes ready (boot_ready 1)"):
        report.exit()
    results = evaluate(report, prom, "overview", overview, over_healthy, at, stage)
    evaluate(report, prom, "fleet", fleet, fleet_healthy, at, stage, skip=NEEDS_A_FAILED_INSTANCE)
    evaluate(report, prom, "fleet", fleet, {**fleet_healthy, "instance": ".*"}, at, stage + " (all instances)",
             only=NEEDS_A_FAILED_INSTANCE)
    phase = next(v for (d, title, _), v in results.items() if title == "Phase")
    report.check(phase and phase[0]["value"][1] == "5", f"{stage}: overview / Phase reads 5 (ready)")
    seen = alerts(time.time())
    report.check(not [a for a in seen if a[1] == healthy], f"no alert fires for {healthy} once ready",
                 f"firing: {sorted(seen)}")
    report.exit()


if __name__ == "__main__":
    main()
