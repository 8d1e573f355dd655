#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Static checks of docker/ (no Docker engine or Grafana server needed): the compose file and the Grafana
provisioning files parse, every file they mount or build from exists in the repository, the provisioned paths
and service names line up, and the Dockerfile has the shape the operations kit promises.

    check_stack_files.py REPO_ROOT
"""
import glob
import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlparse

import yaml

from check_report import CheckReport

REQUIRED_SERVICES = {"boot-exporter", "prometheus", "alertmanager", "grafana"}


def load_yaml(report, path, what):
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as error:
        report.fail(f"{what} parses", str(error))
        return None
    report.check(isinstance(data, dict), f"{what} parses ({os.path.relpath(path)})")
    return data if isinstance(data, dict) else None


def bind_mounts(service):
    """(host path, container path) of a service's bind mounts, in short or long syntax."""
    for volume in service.get("volumes", []) or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
                yield parts[0], parts[1]
        elif isinstance(volume, dict) and volume.get("type") == "bind":
            yield volume.get("source"), volume.get("target")


def container_to_host(mounts, container_path):
    """The host path a container path reaches through the bind mounts, or None."""
    best = None
    for host, target in mounts:
        target = target.rstrip("/")
        if container_path == target or container_path.startswith(target + "/"):
            if best is None or len(target) > len(best[1]):
                best = (host, target)
    if best is None:
        return None
    return best[0] + container_path[len(best[1]):]


def check_compose(report, docker_dir):
    compose = load_yaml(report, os.path.join(docker_dir, "docker-compose.yml"), "docker-compose.yml")
    if compose is None:
        return None
    services = compose.get("services") or {}
    report.check(REQUIRED_SERVICES <= set(services), "compose: services boot-exporter, prometheus, alertmanager, grafana",
                 f"services: {sorted(services)}")

    missing, mounts = [], {}
    for name, service in services.items():
        service_mounts = []
        for host, target in bind_mounts(service):
            path = os.path.normpath(os.path.join(docker_dir, host))
            service_mounts.append((path, target))
            if not os.path.exists(path):
                missing.append(f"{name}: {host}")
        mounts[name] = service_mounts
        build = service.get("build")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            context = os.path.normpath(os.path.join(docker_dir, context))
            dockerfile = os.path.join(context, "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
            for path in (context, dockerfile):
                if not os.path.exists(path):
                    missing.append(f"{name}: build {path}")
    report.check(not missing, "compose: every bind mount and build file exists in the repository",
                 "; ".join(missing))

    command = " ".join(services.get("boot-exporter", {}).get("command") or [])
    report.check("--recover.max-records-per-second=" in command,
                 "compose: boot-exporter replays a throttled WAL", command)
    return {"compose": compose, "mounts": mounts}


def check_prometheus_config(report, docker_dir, stack, alerts_file):
    config = load_yaml(report, os.path.join(docker_dir, "prometheus.yml"), "prometheus.yml")
    if config is None or stack is None:
        return
    mounts = stack["mounts"].get("prometheus", [])
    config_host = container_to_host(mounts, "/etc/prometheus/prometheus.yml")
    report.check(config_host and os.path.samefile(config_host, os.path.join(docker_dir, "prometheus.yml")),
                 "compose: prometheus.yml is mounted as /etc/prometheus/prometheus.yml")
    rules = []
    for rule_file in config.get("rule_files", []):
        container = rule_file if rule_file.startswith("/") else "/etc/prometheus/" + rule_file
        host = container_to_host(mounts, container)
        rules.extend(glob.glob(host) if host else [])
    report.check(any(os.path.samefile(r, alerts_file) for r in rules),
                 "compose: Prometheus loads alerts/boot-alerts.yml through its mounts",
                 f"rule_files {config.get('rule_files')} reach {rules}")
    services = set(stack["compose"]["services"])
    hosts = set()
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            hosts.update(t.rsplit(":", 1)[0] for t in static.get("targets", []))
    for am in (config.get("alerting") or {}).get("alertmanagers", []):
        for static in am.get("static_configs", []):
            hosts.update(t.rsplit(":", 1)[0] for t in static.get("targets", []))
    unknown = sorted(h for h in hosts if h not in services and h != "localhost")
    report.check(not unknown, "prometheus.yml: every target is a compose service", f"unknown: {unknown}")
    jobs = {j.get("job_name"): j for j in config.get("scrape_configs", [])}
    report.check("boot-exporter" in jobs, 'prometheus.yml: scrape job "boot-exporter" (BootExporterDown watches it)')


def check_grafana(report, docker_dir, repo_root, stack):
    if stack is None:
        return
    mounts = stack["mounts"].get("grafana", [])
    provisioning = container_to_host(mounts, "/etc/grafana/provisioning")
    report.check(provisioning and os.path.isdir(provisioning),
                 "compose: Grafana provisioning directory mounted at /etc/grafana/provisioning")
    if not provisioning:
        return
    services = set(stack["compose"]["services"])
    sources = sorted(glob.glob(os.path.join(provisioning, "datasources", "*.y*ml")))
    report.check(sources, "grafana: datasource provisioning files present")
    prometheus_sources = []
    for path in sources:
        data = load_yaml(report, path, f"grafana datasources/{os.path.basename(path)}")
        for source in (data or {}).get("datasources", []):
            host = urlparse(source.get("url", "")).hostname
            report.check(host in services, f"grafana: datasource {source.get('name')} points at compose service {host}")
            if source.get("type") == "prometheus":
                prometheus_sources.append(source)
    report.check(len(prometheus_sources) >= 1 and any(s.get("isDefault") for s in prometheus_sources),
                 "grafana: a default Prometheus datasource (the dashboards' ${datasource} picks it)")

    providers_files = sorted(glob.glob(os.path.join(provisioning, "dashboards", "*.y*ml")))
    report.check(providers_files, "grafana: dashboard provisioning files present")
    wanted = {os.path.realpath(p) for p in glob.glob(os.path.join(repo_root, "dashboards", "*.json"))}
    provisioned = set()
    for path in providers_files:
        data = load_yaml(report, path, f"grafana dashboards/{os.path.basename(path)}")
        for provider in (data or {}).get("providers", []):
            container = (provider.get("options") or {}).get("path", "")
            host = container_to_host(mounts, container)
            report.check(provider.get("type") == "file" and host and os.path.isdir(host),
                         f"grafana: provider {provider.get('name')} reads {container}, a mounted directory")
            if host:
                provisioned.update(os.path.realpath(p) for p in glob.glob(os.path.join(host, "*.json")))
    report.check(wanted and wanted <= provisioned, "grafana: both dashboards are provisioned",
                 f"missing: {sorted(wanted - provisioned)}")
    env = stack["compose"]["services"]["grafana"].get("environment") or {}
    home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH") if isinstance(env, dict) else None
    if home:
        host = container_to_host(mounts, home)
        report.check(host and os.path.isfile(host), f"grafana: home dashboard {home} is mounted")


def dockerfile_instructions(path):
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"\\\n", " ", f.read())
    args = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args.setdefault(key.strip(), value.strip())
        yield word, re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest.strip())


def check_dockerfile(report, docker_dir, repo_root):
    path = os.path.join(docker_dir, "Dockerfile")
    steps = list(dockerfile_instructions(path))
    froms = [rest for word, rest in steps if word == "FROM"]
    report.check(len(froms) >= 2, f"Dockerfile: multi-stage ({len(froms)} stages)")
    report.check(froms and re.match(r"swift:\S+", froms[0]), f"Dockerfile: builds in the official Swift image ({froms[0] if froms else None})")
    report.check(froms and froms[-1].startswith("debian:") and "slim" in froms[-1],
                 f"Dockerfile: runs on slim Debian ({froms[-1] if froms else None})")
    runs = [rest for word, rest in steps if word == "RUN"]
    # The build may go through scripts/build-release.sh (what the benchmarks build too): look there as well.
    build_script = os.path.join(repo_root, "scripts", "build-release.sh")
    via_script = any("build-release.sh" in r for r in runs) and os.path.exists(build_script) \
        and "--static-swift-stdlib" in open(build_script, encoding="utf-8").read()
    report.check(any("--static-swift-stdlib" in r for r in runs) or via_script,
                 "Dockerfile: links the Swift standard library statically")
    last_stage = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM"):]
    runtime_install = " ".join(r for w, r in last_stage if w == "RUN")
    packages = re.findall(r"install\s+(?:-\S+\s+)*([^&;|]+)", runtime_install)
    packages = [p for chunk in packages for p in chunk.split() if not p.startswith("-")]
    report.check("libmicrohttpd12" in packages and "curl" in packages,
                 f"Dockerfile: runtime installs libmicrohttpd12 and curl ({' '.join(packages)})")
    if shutil.which("apt-cache"):
        unknown = [p for p in packages
                   if subprocess.run(["apt-cache", "show", p], capture_output=True).returncode != 0]
        report.check(not unknown, "Dockerfile: runtime packages exist in this Debian's archive", f"unknown: {unknown}")
    users = [r for w, r in last_stage if w == "USER"]
    report.check(users and users[-1].split(":")[0] not in ("root", "0"), f"Dockerfile: runs as a non-root user ({users})")
    report.check(any(w == "EXPOSE" and "9851" in r.split() for w, r in last_stage), "Dockerfile: EXPOSE 9851")
    report.check(any(w == "HEALTHCHECK" and "/livez" in r for w, r in last_stage), "Dockerfile: HEALTHCHECK on /livez")
    missing = []
    for word, rest in steps:
        if word in ("COPY", "ADD") and "--from=" not in rest:
            sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
            for source in sources:
                if not glob.glob(os.path.join(repo_root, source)) and not source.endswith("*"):
                    missing.append(source)
    report.check(not missing, "Dockerfile: every COPY source exists in the repository", f"missing: {missing}")
    ignore = os.path.join(docker_dir, "Dockerfile.dockerignore")
    with open(ignore, encoding="utf-8") as f:
        ignored = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    report.check(".build" in ignored, "Dockerfile.dockerignore keeps .build out of the build context")


def main():
    repo_root = os.path.abspath(sys.argv[1])
    docker_dir = os.path.join(repo_root, "docker")
    report = CheckReport()
    stack = check_compose(report, docker_dir)
    check_prometheus_config(report, docker_dir, stack, os.path.join(repo_root, "alerts", "boot-alerts.yml"))
    check_grafana(report, docker_dir, repo_root, stack)
    check_dockerfile(report, docker_dir, repo_root)
    report.exit()


if __name__ == "__main__":
    main()
