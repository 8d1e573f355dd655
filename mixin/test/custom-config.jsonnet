// SPDX-License-Identifier: AGPL-3.0-or-later
// The mixin with every _config field changed, as a user would override it: scripts/ops/check_mixin.py renders
// it and checks that the rules parse, that the selector reaches every query and that each setting shows up.
(import '../mixin.libsonnet') + {
  _config+:: {
    bootExporterSelector: 'job="db-boot", cluster="eu-1"',
    ruleGroupInterval: '30s',
    budgetAtRiskFraction: 0.2,
    budgetAtRiskFloorSeconds: 90,
    budgetAtRiskFor: '45s',
    stalledSeconds: 600,
    stalledWindowSeconds: 420,
    slowBudgetFraction: 0.4,
    slowSeconds: 900,
    crashLoopingFailures: 5,
    exporterDownForSeconds: 150,
    runbookURLPattern: 'https://wiki.example.com/boot/%s',
    dashboardTags: ['db', 'boot'],
    dashboardUIDPrefix: 'db-',
    dashboardRefresh: { overview: '1m', fleet: '2m' },
    fleetTopK: 25,
    bootTimeWindow: '12h',
    bootTimeRuleInterval: '30s',
    bootTotalBudgetSeconds: 1800,
  },
}
