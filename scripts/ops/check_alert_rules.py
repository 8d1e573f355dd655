#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Checks what promtool does not: every alert rule has a severity, a summary, a description naming the instance,
and a runbook_url to its own section of docs/runbooks.md, which exists; the promtool test file covers every rule
both firing and not firing.

    check_alert_rules.py RULES TESTS RUNBOOKS
"""
import re
import sys

import yaml

from check_report import CheckReport

RUNBOOK_BASE = "https://github.com/bootfsm/bootfsm/blob/main/docs/runbooks.md#"
SEVERITIES = {"critical", "warning", "info"}


def github_anchor(heading):
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def main():
    rules_path, tests_path, runbooks_path = sys.argv[1:4]
    report = CheckReport()
    with open(rules_path, encoding="utf-8") as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]
    with open(tests_path, encoding="utf-8") as f:
        tests = yaml.safe_load(f)["tests"]
    with open(runbooks_path, encoding="utf-8") as f:
        runbooks = f.read()
    anchors = {github_anchor(h) for h in re.findall(r"^## (.+)$", runbooks, re.M)}

    cases = {}
    for test in tests:
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(case.get("exp_alerts") or [])

    for rule in rules:
        name = rule["alert"]
        labels, notes = rule.get("labels", {}), rule.get("annotations", {})
        report.check(labels.get("severity") in SEVERITIES, f"{name}: severity label ({labels.get('severity')})")
        report.check(notes.get("summary") and "{{ $labels.instance }}" in notes.get("description", ""),
                     f"{name}: summary, and a description naming {{{{ $labels.instance }}}}")
        url = notes.get("runbook_url", "")
        anchor = name.lower()
        report.check(url == RUNBOOK_BASE + anchor, f"{name}: runbook_url {url}")
        report.check(anchor in anchors, f'{name}: docs/runbooks.md has "## {name}"',
                     f"add a section \"## {name}\" to docs/runbooks.md")
        expected = cases.get(name, [])
        report.check(any(expected) and any(not e for e in expected),
                     f"{name}: promtool test cases firing ({sum(1 for e in expected if e)}) "
                     f"and not firing ({sum(1 for e in expected if not e)})")
        for alerts in expected:
            for alert in alerts:
                got = alert.get("exp_annotations", {})
                if got.get("runbook_url") != RUNBOOK_BASE + anchor or alert.get("exp_labels", {}).get("severity") != labels.get("severity"):
                    report.fail(f"{name}: a test expects another severity or runbook_url", str(alert))
    report.exit()


if __name__ == "__main__":
    main()
