#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Checks deploy/kubernetes/: the manifests parse and fit together; the StatefulSet's probes are exactly what
`boot-exporter probes --startup-probe-seconds N` prints for the N of its --boot.startup-probe-seconds flag, and
agree with BootBudgets.forKubernetes recomputed here; the PrometheusRule carries exactly alerts/boot-alerts.yml.

    check_kubernetes.py REPO_ROOT [PROBES_OUTPUT_FILE]
"""
import math
import os
import re
import sys

import yaml

from check_report import CheckReport

PROBE_KEYS = ("startupProbe", "readinessProbe", "livenessProbe")


def load_all(report, path):
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
    except (OSError, yaml.YAMLError) as error:
        report.fail(f"{os.path.basename(path)} parses", str(error))
        return []
    report.check(docs and all(d.get("apiVersion") and d.get("kind") for d in docs),
                 f"{os.path.basename(path)} parses ({', '.join(d.get('kind', '?') for d in docs)})")
    return docs


def budgets_comment(n):
    """The first line `boot-exporter probes` prints: BootBudgets.forKubernetes(n), whole seconds."""
    def duration(seconds):
        if seconds and seconds % 3600 == 0:
            return f"{seconds // 3600}h"
        if seconds and seconds % 60 == 0:
            return f"{seconds // 60}m"
        return f"{seconds}s"
    return (f"init {duration(n // 20)}, migrate {duration(n // 5)}, recover {duration(n * 3 // 5)}, "
            f"warmup {duration(n // 10)}, total {duration(n)}")


def duration_seconds(text):
    """Seconds of a Prometheus duration such as 15s, 1m or 1m30s."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return int(sum(int(n) * units[u] for n, u in parts))


def main():
    repo_root = os.path.abspath(sys.argv[1])
    probes_file = sys.argv[2] if len(sys.argv) > 2 else None
    kdir = os.path.join(repo_root, "deploy", "kubernetes")
    report = CheckReport()
    objects = {}
    for name in ("statefulset.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml"):
        for doc in load_all(report, os.path.join(kdir, name)):
            objects[doc["kind"]] = doc
    sts, svc, sm, rule = (objects.get(k) for k in ("StatefulSet", "Service", "ServiceMonitor", "PrometheusRule"))
    if not all((sts, svc, sm, rule)):
        report.fail("StatefulSet, Service, ServiceMonitor and PrometheusRule present", f"found {sorted(objects)}")
        report.exit()

    pod = sts["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = container.get("args", [])
    flag = [a for a in args if a.startswith("--boot.startup-probe-seconds")]
    match = re.fullmatch(r"--boot\.startup-probe-seconds=(\d+)", flag[0]) if flag else None
    report.check(match, f"StatefulSet: args carry --boot.startup-probe-seconds=N ({flag})")
    n = int(match.group(1)) if match else 600

    startup = container.get("startupProbe", {})
    period, threshold = startup.get("periodSeconds", 10), startup.get("failureThreshold", 3)
    # Liveness waits for the startup probe, which fails while the boot is failed: only the process exiting
    # restarts a boot that failed early. Long enough for a scrape or two, well inside the startup window.
    exit_flag = [a for a in args if a.startswith("--boot.exit-after-failure")]
    exit_match = re.fullmatch(r"--boot\.exit-after-failure=(\d+)s", exit_flag[0]) if exit_flag else None
    # At least a scrape and an evaluation of the rules: BootFailed sees the failure before the exit.
    evaluation = duration_seconds(str(rule["spec"]["groups"][0].get("interval", "30s")))
    scrape = duration_seconds(str(sm["spec"]["endpoints"][0].get("interval", "30s")))
    report.check(exit_match and scrape + evaluation <= int(exit_match.group(1)) < period * threshold,
                 f"StatefulSet: args carry --boot.exit-after-failure=Ns, at least a scrape and a rule evaluation "
                 f"({scrape} + {evaluation} s) and within the startup window ({exit_flag})")
    report.check(threshold == math.ceil(n / period) and period * threshold >= n,
                 f"StatefulSet: startup probe allows {period} s × {threshold} = {period * threshold} s for N = {n}")
    paths = {k: container.get(k, {}).get("httpGet", {}).get("path") for k in PROBE_KEYS}
    report.check(paths == {"startupProbe": "/startupz", "readinessProbe": "/readyz", "livenessProbe": "/livez"},
                 f"StatefulSet: probes on /startupz, /readyz, /livez ({paths})")
    ports = {p.get("containerPort") for p in container.get("ports", [])}
    probe_ports = {container.get(k, {}).get("httpGet", {}).get("port") for k in PROBE_KEYS}
    report.check(probe_ports <= ports, f"StatefulSet: probes use the container's port ({probe_ports} in {ports})")

    if probes_file:
        with open(probes_file, encoding="utf-8") as f:
            text = f.read()
        printed = yaml.safe_load(text)
        ours = {k: container.get(k) for k in PROBE_KEYS}
        report.check(printed == ours, f"StatefulSet: probes equal `boot-exporter probes --startup-probe-seconds {n}`",
                     f"printed {printed}\n          manifest {ours}")
        report.check(budgets_comment(n) in text,
                     f"boot-exporter probes states the forKubernetes({n}) budgets ({budgets_comment(n)})",
                     text.splitlines()[0] if text else "")
    else:
        report.skip("StatefulSet probes vs `boot-exporter probes`: the binary has no probes subcommand yet")

    labels = pod["metadata"]["labels"]
    report.check(sts["spec"]["selector"]["matchLabels"].items() <= labels.items(),
                 "StatefulSet: selector matches its pod labels")
    report.check(sts["spec"].get("serviceName") == svc["metadata"]["name"],
                 "StatefulSet: serviceName is the Service")
    report.check(svc["spec"]["selector"].items() <= labels.items(), "Service: selector matches the pods")
    port_names = {p.get("name") for p in container.get("ports", [])}
    report.check(all(p.get("targetPort") in port_names | ports for p in svc["spec"]["ports"]),
                 "Service: targetPort is a container port")
    report.check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
                 "ServiceMonitor: selects the Service")
    report.check(all(e.get("port") in {p.get("name") for p in svc["spec"]["ports"]} for e in sm["spec"]["endpoints"]),
                 "ServiceMonitor: scrapes a named Service port")
    report.check(svc["metadata"]["name"] == "boot-exporter",
                 'Service: named boot-exporter, the job label BootExporterDown and the dashboards expect')

    with open(os.path.join(repo_root, "alerts", "boot-alerts.yml"), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    same = rule.get("spec", {}).get("groups") == groups
    count = sum(len(g["rules"]) for g in groups)
    report.check(same, f"PrometheusRule: exactly the {count} rules of alerts/boot-alerts.yml",
                 "both are rendered from mixin/: run make mixin")
    report.exit()


if __name__ == "__main__":
    main()
