// SPDX-License-Identifier: AGPL-3.0-or-later
// The one object users override (see docs/mixin.md): selectors, alert thresholds, runbook links, dashboard
// tags and uids, the rule groups' interval. Hidden (::) so that it never ends up in a rendered file.
{
  _config+:: {
    // Label matchers, without braces, that select boot-exporter's series in every alert, recording rule and
    // dashboard query (several: 'job="boot-exporter", namespace="db"').
    bootExporterSelector: 'job="boot-exporter"',

    // Every rule group is evaluated at this interval, whatever Prometheus' global one: BootBudgetAtRisk's
    // timing (two evaluations in a row) and its tests assume 15 s. In the alert backtest (scripts/alert-backtest,
    // BENCHMARKS.md; 240 s budgets, 5 s scrapes) 15 s cost 2 to 6 points of lead against 5 s, and
    // BootBudgetExhausted came 6 to 17 s after the budget ran out (3 to 9 s at 5 s).
    ruleGroupInterval: '15s',

    // BootBudgetAtRisk without an ETA: less than this fraction of a budget left, or half of it used and
    // less than budgetAtRiskFloorSeconds left (the floor lets 30 s and 60 s budgets warn at all).
    budgetAtRiskFraction: 0.1,
    budgetAtRiskFloorSeconds: 120,
    budgetAtRiskFor: '15s',
    // BootStalled: this long in a phase, and no progress in the last stalledWindow.
    stalledSeconds: 300,
    stalledWindowSeconds: 300,
    // BootSlow: past this fraction of the total budget, or past slowSeconds when that comes first.
    slowBudgetFraction: 0.5,
    slowSeconds: 1800,
    // BootCrashLooping: this many boots in a row failed or crashed before ready.
    crashLoopingFailures: 3,
    exporterDownForSeconds: 60,

    // printf pattern of every alert's runbook_url; %s is the alert's name in lower case (an anchor of
    // docs/runbooks.md, one section per alert).
    runbookURLPattern: 'https://github.com/bootfsm/bootfsm/blob/main/docs/runbooks.md#%s',

    // The boot-time histograms (boot_duration_seconds, boot_completed_phase_duration_seconds): quantiles and the
    // share within budget over this window, recorded per job at bootTimeRuleInterval (a day of buckets per
    // instance is read at each evaluation: at 1,000 instances, 1m costs far less than 15s).
    bootTimeWindow: '1d',
    bootTimeRuleInterval: self.ruleGroupInterval,
    // --boot.budget.total in whole seconds, as the fleet is configured: its `le` bucket is "within budget".
    // Instances with another total budget have other buckets; they are left out of the share.
    bootTotalBudgetSeconds: 3600,

    dashboardTags: ['bootfsm', 'boot-exporter'],
    // The dashboards' uids are this prefix and overview / fleet; the fleet's links follow it.
    dashboardUIDPrefix: 'bootfsm-',
    dashboardRefresh: { overview: '10s', fleet: '30s' },
    // How many instances the fleet's top-k tables list.
    fleetTopK: 10,
  },
}
