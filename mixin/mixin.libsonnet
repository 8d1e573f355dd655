// SPDX-License-Identifier: AGPL-3.0-or-later
// The BootFSM monitoring mixin: prometheusAlerts, prometheusRules and grafanaDashboards (file name to
// dashboard), all built from _config. Override it as docs/mixin.md shows:
//   (import 'mixin/mixin.libsonnet') + { _config+:: { bootExporterSelector: 'job="db-boot"' } }
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
