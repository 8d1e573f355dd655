// SPDX-License-Identifier: AGPL-3.0-or-later
// Recording rules: what the fleet dashboard would otherwise compute from ten boot_phase series per instance at
// every step of every refresh (BENCHMARKS.md, fleet at 1,000 instances), evaluated once per group interval into
// one series per instance, each with the instance's current phase as a label. Names follow level:metric:operation.
{
  prometheusRules+:: {
    local config = $._config,
    groups+: [
      {
        name: 'boot-exporter.rules',
        interval: config.ruleGroupInterval,
        rules: [
          {
            // 1, with the phase the instance is in now: the fleet counts instances per phase from it.
            record: 'instance:boot_phase:current',
            expr: 'boot_phase{%(bootExporterSelector)s} == 1' % config,
          },
          {
            // How long the boot has taken: the time since it started while booting, else the sum of its
            // completed phases' durations (a ready or failed boot); the fleet's slowest boots rank it.
            record: 'instance:boot_time:seconds',
            expr: |||
              (
                  (boot_elapsed_seconds{%(bootExporterSelector)s} and on (job, instance) (boot_booting{%(bootExporterSelector)s} == 1))
                or on (job, instance)
                  sum by (job, instance) (boot_phase_duration_seconds{%(bootExporterSelector)s})
              )
              * on (job, instance) group_left (phase) (boot_phase{%(bootExporterSelector)s} == 1)
            ||| % config,
          },
          {
            // 1 for a boot at risk of overrunning a budget, 0 for any other instance (ready, failed, or booting
            // within its budgets): BootBudgetAtRisk's conditions without its `for`, as one number per instance,
            // so that the fleet counts and ranks at-risk boots without repeating them; with the current phase.
            record: 'instance:boot_budget_at_risk:bool',
            expr: |||
              clamp_max(
                  (boot_phase_eta_seconds{%(bootExporterSelector)s} > bool boot_phase_budget_remaining_seconds{%(bootExporterSelector)s})
                + (boot_phase_eta_seconds{%(bootExporterSelector)s} > bool boot_total_budget_remaining_seconds{%(bootExporterSelector)s})
                + (boot_phase_eta_seconds{%(bootExporterSelector)s} != bool boot_phase_eta_seconds{%(bootExporterSelector)s})
                  * clamp_max(
                        (boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}
                          < bool %(budgetAtRiskFraction)g * (boot_phase_elapsed_seconds{%(bootExporterSelector)s} + boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}))
                      + (boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}
                          < bool 0.5 * (boot_phase_elapsed_seconds{%(bootExporterSelector)s} + boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}))
                        * (boot_phase_budget_remaining_seconds{%(bootExporterSelector)s} < bool %(budgetAtRiskFloorSeconds)g),
                      1
                    )
                + clamp_max(
                      (boot_total_budget_remaining_seconds{%(bootExporterSelector)s} < bool %(budgetAtRiskFraction)g * boot_total_budget_seconds{%(bootExporterSelector)s})
                    + (boot_total_budget_remaining_seconds{%(bootExporterSelector)s} < bool 0.5 * boot_total_budget_seconds{%(bootExporterSelector)s})
                      * (boot_total_budget_remaining_seconds{%(bootExporterSelector)s} < bool %(budgetAtRiskFloorSeconds)g),
                    1
                  ),
                1
              )
              * on (job, instance) boot_booting{%(bootExporterSelector)s}
              * on (job, instance) (1 - boot_budget_exceeded{%(bootExporterSelector)s})
              * on (job, instance) group_left (phase) (boot_phase{%(bootExporterSelector)s} == 1)
            ||| % config,
          },
        ],
      },
    ],
  },
}
