#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Structural checks of the Grafana dashboards (no Grafana server needed).

    check_dashboards.py OVERVIEW.json FLEET.json
"""
import re
import sys

import dashboard_queries as dq
from check_report import CheckReport

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRAFANA_BUILTIN = {"type": "grafana", "uid": "-- Grafana --"}
PHASE_NAMES = ["uninitialized", "init", "migrate", "recover", "warmup", "ready", "readonly_recovery",
               "force_recovery", "shutting_down", "failed"]
OLDEST_SCHEMA = 36  # Grafana 9.3; current dashboards are 39 (Grafana 10.4 / 11)


def datasource_refs(node, path="$"):
    """(path, value) of every "datasource" key anywhere in the model."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield f"{path}.datasource", value
            yield from datasource_refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from datasource_refs(value, f"{path}[{i}]")


def phase_mapping_texts(mappings):
    texts = {}
    for mapping in mappings or []:
        if mapping.get("type") == "value":
            for value, result in mapping.get("options", {}).items():
                texts[value] = result.get("text")
    return texts


def check_dashboard(report, name, dashboard, other_uid=None):
    tag = name
    report.check(re.fullmatch(r"[a-z0-9][a-z0-9-]{2,39}", dashboard.get("uid") or ""),
                 f"{tag}: stable uid ({dashboard.get('uid')!r})")
    report.check(dashboard.get("title") and dashboard.get("tags") and dashboard.get("description"),
                 f"{tag}: title, tags and description")
    report.check(isinstance(dashboard.get("schemaVersion"), int) and dashboard["schemaVersion"] >= OLDEST_SCHEMA,
                 f"{tag}: current schemaVersion ({dashboard.get('schemaVersion')})")

    variables = {v.get("name"): v for v in dq.variables(dashboard)}
    ds = variables.get("datasource", {})
    report.check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
                 f"{tag}: variable datasource is a Prometheus data source variable")
    for var in ("job", "instance"):
        v = variables.get(var, {})
        query = v.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        report.check(v.get("type") == "query" and v.get("datasource") == DATASOURCE and query,
                     f"{tag}: variable {var} is a query on the datasource variable ({query})")

    # `up` exists for every scrape target of every job: a variable that selects it must not turn "All" into
    # `.*`, or the panel counts the targets of every job (Grafana's All without allValue is the list of the
    # variable's own values: the jobs that export boot metrics).
    widened = sorted({f"{p.get('title')}: ${var}" for p, t in dq.targets(dashboard)
                      for selector in re.findall(r"\bup\{([^}]*)\}", t["expr"])
                      for var in re.findall(r"\bjob\s*=~\s*\"\$\{?(\w+)", selector)
                      if variables.get(var, {}).get("allValue") in (".*", ".+")})
    report.check(not widened, f"{tag}: no `up` selector widened to every job by a variable's All value",
                 "; ".join(widened))

    bad = [(p, v) for p, v in datasource_refs(dashboard) if v not in (DATASOURCE, GRAFANA_BUILTIN)]
    report.check(not bad, f"{tag}: no hard-coded data source (every reference is ${{datasource}})",
                 "; ".join(f"{p} = {v}" for p, v in bad[:5]))

    panels = list(dq.panels(dashboard))
    ids = [p.get("id") for p in panels]
    dupes = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    report.check(all(isinstance(i, int) for i in ids) and not dupes, f"{tag}: {len(ids)} panels, unique ids",
                 f"duplicates: {dupes}")

    outside, cells, overlaps = [], {}, []
    for p in panels:
        g = p.get("gridPos") or {}
        x, y, w, h = (g.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)) or x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > 24:
            outside.append(f"{p.get('title')!r} {g}")
            continue
        for cx in range(x, x + w):
            for cy in range(y, y + h):
                if (cx, cy) in cells and cells[(cx, cy)] != p.get("id"):
                    overlaps.append(f"{p.get('title')!r} overlaps panel {cells[(cx, cy)]} at ({cx},{cy})")
                cells[(cx, cy)] = p.get("id")
    report.check(not outside, f"{tag}: every gridPos inside the 24 columns", "; ".join(outside))
    report.check(not overlaps, f"{tag}: no two panels overlap", "; ".join(sorted(set(overlaps))[:5]))

    problems = []
    units = set()
    for p in panels:
        if p.get("type") == "row":
            continue
        title = p.get("title") or f"panel {p.get('id')}"
        if not p.get("title"):
            problems.append(f"panel {p.get('id')}: no title")
        if not (p.get("description") or "").strip():
            problems.append(f"{title}: no description")
        if p.get("datasource") != DATASOURCE:
            problems.append(f"{title}: panel datasource {p.get('datasource')}")
        unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if not unit:
            problems.append(f"{title}: no unit")
        units.add(unit)
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{title}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            problems.append(f"{title}: duplicate refIds {refs}")
        for t in targets:
            if t.get("datasource") != DATASOURCE:
                problems.append(f"{title}/{t.get('refId')}: target datasource {t.get('datasource')}")
            if not (t.get("expr") or "").strip():
                problems.append(f"{title}/{t.get('refId')}: empty expr")
    report.check(not problems, f"{tag}: every panel has a title, description, unit and targets, all on ${{datasource}}",
                 "; ".join(problems[:8]))
    return panels, units


def main():
    overview_path, fleet_path = sys.argv[1:3]
    report = CheckReport()
    overview = dq.load(overview_path)
    fleet = dq.load(fleet_path)
    panels, units = check_dashboard(report, "overview", overview)
    report.check({"s", "bytes", "percentunit"} <= units, "overview: units s, bytes and percentunit used",
                 f"units: {sorted(u for u in units if u)}")

    timelines = [p for p in panels if p.get("type") == "state-timeline"
                 and any("boot_phase_code" in t.get("expr", "") for t in p.get("targets", []))]
    ok = False
    for p in timelines:
        texts = phase_mapping_texts(p["fieldConfig"]["defaults"].get("mappings"))
        colours = [m for m in p["fieldConfig"]["defaults"].get("mappings", []) if m.get("type") == "value"]
        ok = ok or (texts == {str(i): n for i, n in enumerate(PHASE_NAMES)}
                    and all(r.get("color") for m in colours for r in m["options"].values()))
    report.check(ok, "overview: state timeline of boot_phase_code maps 0-9 to the phase names, with colours")

    exprs = "\n".join(t["expr"] for _, t in dq.targets(overview))
    wanted = {
        "remaining vs configured budget": ["boot_phase_budget_remaining_seconds", "boot_phase_budget_seconds",
                                           "boot_total_budget_remaining_seconds", "boot_total_budget_seconds"],
        "progress and ETA": ["boot_progress_ratio", "boot_phase_eta_seconds"],
        "WAL replay rate": ["rate(boot_wal_records_replayed_total", "rate(boot_wal_bytes_processed_total"],
        "recovery counters": ["boot_txns_rolled_back_total", "boot_pages_recovered_total",
                              "boot_checkpoint_bytes_scanned_total", "boot_migration_steps_completed_total",
                              "boot_warmup_hit_ratio"],
        "phase durations, failure reason, readiness": ["boot_phase_duration_seconds", "boot_failure_info",
                                                       "boot_ready"],
    }
    for what, needles in wanted.items():
        missing = [n for n in needles if n not in exprs]
        report.check(not missing, f"overview: shows {what}", f"missing: {missing}")

    fleet_panels, _ = check_dashboard(report, "fleet", fleet)
    link = f"/d/{overview.get('uid')}/"
    tables = [p for p in fleet_panels if p.get("type") == "table"]
    unlinked = []
    for p in tables:
        text = str(p.get("fieldConfig"))
        if link not in text or "var-instance=${__data.fields.instance}" not in text:
            unlinked.append(p.get("title"))
    report.check(tables and not unlinked, f"fleet: every table row links to the overview ({len(tables)} tables)",
                 f"without a link: {unlinked}")
    fexprs = "\n".join(t["expr"] for _, t in dq.targets(fleet))
    for what, needle in [("instances per phase", "count by (phase) (instance:boot_phase:current{"), ("not ready", "boot_ready{"),
                         ("boots at risk", "instance:boot_budget_at_risk:bool{"), ("slowest boots", "instance:boot_time:seconds{"),
                         ("failures by reason", "count by (phase, reason) (boot_failure_info{")]:
        report.check(needle in fexprs, f"fleet: shows {what}")
    # At 1,000 instances a series or a row per instance is unreadable and slow: every query aggregates or is a top-k.
    per_instance = [f"{p.get('title')}/{t.get('refId')}" for p, t in dq.targets(fleet)
                    if not re.match(r"\s*(sum|count|topk|bottomk|sort_desc|sort)\b", t["expr"])]
    report.check(not per_instance, "fleet: every query aggregates or is a top-k (no series or row per instance)",
                 f"per instance: {per_instance}")
    report.exit()


if __name__ == "__main__":
    main()
