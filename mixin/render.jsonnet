// SPDX-License-Identifier: AGPL-3.0-or-later
// What scripts/render-mixin.sh writes: a map of repository path to file text, for `jsonnet -S -m DIR`.
// `mixin` is the mixin to render; the default is this directory's, a test passes one with another _config.
function(mixin=(import 'mixin.libsonnet'))
  local header(lines) = std.join('\n', ['# SPDX-License-Identifier: AGPL-3.0-or-later'] + ['# ' + l for l in lines]) + '\n';
  local yaml(value) = std.manifestYamlDoc(value, indent_array_in_object=true, quote_keys=false) + '\n';
  // Recording rules first: the alerts and dashboards may read them.
  local groups = { groups: mixin.prometheusRules.groups + mixin.prometheusAlerts.groups };
  {
    'alerts/boot-alerts.yml':
      header([
        'GENERATED from mixin/ by scripts/render-mixin.sh: edit the jsonnet, not this file (docs/mixin.md).',
        "boot-exporter's recording and alert rules. The metric contract is docs/metrics.md; each alert's runbook is",
        'a section of docs/runbooks.md. deploy/kubernetes/prometheusrule.yaml carries the same rules.',
      ]) + yaml(groups),
    'deploy/kubernetes/prometheusrule.yaml':
      header([
        'GENERATED from mixin/ by scripts/render-mixin.sh: edit the jsonnet, not this file (docs/mixin.md).',
        'Prometheus Operator: the rules of alerts/boot-alerts.yml (their runbooks are in docs/runbooks.md).',
        "Your Prometheus resource's ruleSelector must select this object (often a `release: <name>` label).",
      ]) + yaml({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: {
          name: 'boot-exporter',
          labels: { 'app.kubernetes.io/name': 'boot-exporter', 'app.kubernetes.io/part-of': 'bootfsm' },
        },
        spec: groups,
      }),
  } + {
    ['dashboards/' + name]: std.manifestJsonEx(mixin.grafanaDashboards[name], '  ') + '\n'
    for name in std.objectFields(mixin.grafanaDashboards)
  }
