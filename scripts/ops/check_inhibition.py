#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""docker/alertmanager.yml's inhibition, on a real Alertmanager (started by check-ops.sh): alerts are posted
through its API and read back with their status.

- A critical alert about an instance's boot (BootFailed) silences that instance's warnings (BootSlow,
  BootBudgetAtRisk), and only that instance's.
- BootCrashLooping does not: it stays firing through the next boot, whose warnings are then the news.

    check_inhibition.py --alertmanager URL
"""
import argparse
import json
import time
import urllib.request

from check_report import CheckReport


def alert(name, severity, instance):
    return {"labels": {"alertname": name, "severity": severity, "job": "boot-exporter", "instance": instance},
            "annotations": {"summary": f"{name} on {instance}"}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alertmanager", required=True)
    args = parser.parse_args()
    report = CheckReport()
    base = args.alertmanager.rstrip("/")

    # BootCrashLooping first: the inhibitor takes alerts in the order they came, so by the time it has
    # BootFailed, which makes the picture look whole, it has seen the alert whose silence is being checked.
    alerts = [
        alert("BootCrashLooping", "critical", "db-1:9851"),
        alert("BootBudgetAtRisk", "warning", "db-1:9851"),
        alert("BootFailed", "critical", "db-0:9851"),
        alert("BootSlow", "warning", "db-0:9851"),
        alert("BootBudgetAtRisk", "warning", "db-0:9851"),
        alert("BootSlow", "warning", "db-2:9851"),
    ]
    expected = {  # (alertname, instance) -> inhibited by another alert
        ("BootFailed", "db-0:9851"): False,
        ("BootSlow", "db-0:9851"): True,
        ("BootBudgetAtRisk", "db-0:9851"): True,
        ("BootCrashLooping", "db-1:9851"): False,
        ("BootBudgetAtRisk", "db-1:9851"): False,
        ("BootSlow", "db-2:9851"): False,
    }
    request = urllib.request.Request(base + "/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).read()

    # The inhibitor sees new alerts shortly after they arrive: read until two reads 0.5 s apart agree and
    # the first silence (db-0's) is in place (10 s at most).
    def read():
        with urllib.request.urlopen(base + "/api/v2/alerts", timeout=10) as response:
            listed = json.load(response)
        return {(a["labels"]["alertname"], a["labels"]["instance"]): bool(a["status"]["inhibitedBy"]) for a in listed}

    seen = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        first = read()
        time.sleep(0.5)
        seen = read()
        if seen == first and seen.get(("BootSlow", "db-0:9851")) and len(seen) == len(expected):
            break
    for key, inhibited in expected.items():
        name, instance = key
        what = "inhibited" if inhibited else "not inhibited"
        report.check(seen.get(key) == inhibited, f"alertmanager: {name} on {instance} {what}",
                     f"got {seen.get(key, 'no such alert')}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
