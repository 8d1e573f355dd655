#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Checks the monitoring mixin rendered with a configuration other than the default (mixin/test/custom-config.jsonnet):
every rule and every dashboard query parses (promtool), every series selector of every expression carries the
configured selector, and every other setting (thresholds, durations, runbook URLs, tags, uids, links) reaches
the rendered files. Runs the selector check on the committed, default render too.

    check_mixin.py REPO_ROOT
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

import dashboard_queries as dq
from check_report import CheckReport

CUSTOM = "mixin/test/custom-config.jsonnet"
DEFAULT_SELECTOR = 'job="boot-exporter"'
KEYWORDS = dq.PROMQL_KEYWORDS | {"inf", "nan"}
TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\{[^}]*\})?(\s*\()?')


def series_selectors(expr):
    """(metric name, its matchers or None) for every series selector of a PromQL expression."""
    text = re.sub(r"#[^\n]*", "", expr)
    text = dq._strip_parenthesised_after(text, ["by", "without", "on", "ignoring", "group_left", "group_right"])
    for m in TOKENS.finditer(text):
        name, matchers, call = m.group(1), m.group(2), m.group(3)
        if not name or call or name.lower() in KEYWORDS:
            continue
        yield name, (matchers.strip()[1:-1] if matchers else None)


def unselected(expr, selector):
    """The series selectors of expr that do not start with the configured selector."""
    return [f"{name}{{{matchers or ''}}}" for name, matchers in series_selectors(expr)
            if not (matchers or "").strip().startswith(selector)]


def rendered(root, out, custom):
    for sub in ("alerts", "dashboards", "deploy/kubernetes"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    command = ["jsonnet", "-S", "-m", out, os.path.join(root, "mixin", "render.jsonnet")]
    if custom:
        command[1:1] = ["--tla-code-file", "mixin=" + os.path.join(root, CUSTOM)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return out


def expressions(out):
    """(where, expr, is a dashboard query) of every rule and every dashboard target and variable."""
    with open(os.path.join(out, "alerts", "boot-alerts.yml"), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule.get("record"), rule["expr"], False
    for path in sorted(glob.glob(os.path.join(out, "dashboards", "*.json"))):
        dashboard = dq.load(path)
        name = os.path.basename(path)
        for panel, target in dq.targets(dashboard):
            yield f"{name} / {panel.get('title')} / {target['refId']}", target["expr"], True
        for variable in dq.variables(dashboard):
            if variable.get("type") == "query":
                inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["definition"])
                yield f"{name} / variable {variable['name']}", inner.group(1) if inner else variable["definition"], True


def check_selectors(report, out, selector, tag):
    exprs = list(expressions(out))
    missing = [f"{where}: {', '.join(bad)}" for where, expr, _ in exprs for bad in [unselected(expr, selector)] if bad]
    count = sum(1 for _, expr, _ in exprs for _ in series_selectors(expr))
    report.check(count and not missing, f"{tag}: all {count} series selectors of {len(exprs)} expressions start with {selector}",
                 "; ".join(missing[:6]))
    return exprs


def check_parses(report, out, exprs, work):
    report.check(subprocess.run(["promtool", "check", "rules", os.path.join(out, "alerts", "boot-alerts.yml")],
                                capture_output=True).returncode == 0, "custom: promtool check rules on the rendered rules")
    spec = os.path.join(work, "prometheusrule-spec.yml")
    with open(os.path.join(out, "deploy", "kubernetes", "prometheusrule.yaml"), encoding="utf-8") as f, \
            open(spec, "w", encoding="utf-8") as g:
        yaml.safe_dump(yaml.safe_load(f)["spec"], g)
    report.check(subprocess.run(["promtool", "check", "rules", spec], capture_output=True).returncode == 0,
                 "custom: promtool check rules on the rendered PrometheusRule")
    # Each dashboard query, its variables replaced as Grafana would, as a recording rule: promtool parses it.
    values = {"job": "db-boot", "instance": "db-0:9851", "datasource": "prometheus"}
    queries = [dq.substitute(expr, values) for _, expr, dashboard in exprs if dashboard]
    path = os.path.join(work, "dashboard-queries.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": [
            {"record": f"dashboard:query_{i}:check", "expr": q} for i, q in enumerate(queries)]}]}, f)
    result = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    report.check(result.returncode == 0, f"custom: all {len(queries)} dashboard queries parse (promtool)",
                 (result.stdout + result.stderr)[-800:])


def check_settings(report, out):
    with open(os.path.join(out, "alerts", "boot-alerts.yml"), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    rules = {r.get("alert") or r.get("record"): r for g in groups for r in g["rules"]}
    report.check(all(g.get("interval") == "30s" for g in groups), "custom: every rule group's interval is 30s")
    expect = {
        "BootBudgetAtRisk": ["< 0.2 * (", "< 0.2 * boot_total_budget_seconds", "< 90"],
        "instance:boot_budget_at_risk:bool": ["< bool 0.2 *", "< bool 90"],
        "BootStalled": [">= 600", "[7m]"],
        "BootSlow": ["clamp_max(0.4 * boot_total_budget_seconds", ", 900)", "+ 900"],
        "BootCrashLooping": [">= 5"],
    }
    for name, needles in expect.items():
        missing = [n for n in needles if n not in rules[name]["expr"]]
        report.check(not missing, f"custom: {name} uses the configured thresholds", f"missing {missing}")
    within = rules.get("job:boot_duration_seconds_within_budget:ratio12h", {}).get("expr", "")
    report.check('le=~"1800(\\\\.0)?"' in within and "[12h]" in within and "job:boot_duration_seconds:quantile12h" in rules,
                 "custom: the boot-time rules use bootTimeWindow and bootTotalBudgetSeconds", within)
    report.check(rules["BootBudgetAtRisk"].get("for") == "45s" and rules["BootExporterDown"].get("for") == "150s",
                 "custom: the configured `for` durations (BootBudgetAtRisk 45s, BootExporterDown 150s)")
    texts = json.dumps([r.get("annotations", {}) for r in rules.values()])
    report.check("for 7 minutes" in texts and "past 15m" in texts and "past 40% of the total budget" in texts
                 and "for more than 150 seconds" in texts,
                 "custom: the annotations name the configured window, slow time and fraction")
    urls = {name: r["annotations"]["runbook_url"] for name, r in rules.items() if "alert" in r}
    report.check(all(url == f"https://wiki.example.com/boot/{name.lower()}" for name, url in urls.items()),
                 f"custom: every runbook_url follows runbookURLPattern ({len(urls)} alerts)", str(urls))
    overview = dq.load(os.path.join(out, "dashboards", "boot-overview.json"))
    fleet = dq.load(os.path.join(out, "dashboards", "boot-fleet.json"))
    report.check(overview["uid"] == "db-overview" and fleet["uid"] == "db-fleet",
                 "custom: dashboard uids carry dashboardUIDPrefix", f"{overview['uid']}, {fleet['uid']}")
    report.check(overview["tags"] == fleet["tags"] == ["db", "boot"] and overview["links"][0]["tags"] == ["db"],
                 "custom: dashboard tags (and the dashboards link) are dashboardTags")
    report.check("/d/db-overview/" in json.dumps(fleet) and "/d/bootfsm-overview/" not in json.dumps(fleet),
                 "custom: the fleet's links lead to the overview's configured uid")
    report.check("topk(25," in json.dumps(fleet) and overview["refresh"] == "1m" and fleet["refresh"] == "2m",
                 "custom: fleetTopK and the dashboards' refresh")


def main():
    root = os.path.abspath(sys.argv[1])
    report = CheckReport()
    with tempfile.TemporaryDirectory() as work:
        check_selectors(report, rendered(root, os.path.join(work, "default"), False), DEFAULT_SELECTOR, "default")
        out = rendered(root, os.path.join(work, "custom"), True)
        exprs = check_selectors(report, out, 'job="db-boot", cluster="eu-1"', "custom")
        check_parses(report, out, exprs, work)
        check_settings(report, out)
    report.exit()


if __name__ == "__main__":
    main()
