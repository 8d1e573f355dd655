# SPDX-License-Identifier: AGPL-3.0-or-later
"""Reads the Grafana dashboards of dashboards/: their panels, PromQL targets and template variables;
substitutes the variables as Grafana would; names the metrics a PromQL expression reads."""
import json
import re

# Grafana's built-in interval variables, replaced by fixed values a 1 s scrape has data for.
BUILTIN_VARIABLES = {
    "__rate_interval": "15s",
    "__interval": "5s",
    "__interval_ms": "5000",
    "__range": "5m",
    "__range_s": "300",
    "__range_ms": "300000",
}

PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "atan2", "nan", "inf", "start", "end",
    # aggregation operators, which may be followed by "by (...)" rather than "("
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def panels(dashboard):
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        for nested in panel.get("panels", []) or []:
            yield nested


def targets(dashboard):
    """(panel, target) for every PromQL target of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []) or []:
            if target.get("expr"):
                yield panel, target


def variables(dashboard):
    return dashboard.get("templating", {}).get("list", [])


def substitute(expr, values):
    """Replaces $name, ${name}, ${name:format} and [[name]] by values[name] (user variables) or the
    built-in interval variables. Raises KeyError for a variable it does not know."""
    table = dict(BUILTIN_VARIABLES)
    table.update(values)

    def replace(match):
        name = match.group(1) or match.group(2) or match.group(3)
        return table[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", replace, expr)


def _strip_parenthesised_after(expr, keywords):
    """Removes the label lists after by/without/on/ignoring/group_left/group_right."""
    pattern = re.compile(r"\b(" + "|".join(keywords) + r")\s*\([^)]*\)")
    return pattern.sub(r"\1", expr)


def metric_names(expr):
    """The metric names an expression selects (the identifiers that are neither functions, keywords,
    label names nor strings)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"#[^\n]*", "", text)  # comments
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = _strip_parenthesised_after(text, ["by", "without", "on", "ignoring", "group_left", "group_right"])
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in PROMQL_KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def exposition_names(text):
    """The metric names in a Prometheus text-format scrape."""
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names
