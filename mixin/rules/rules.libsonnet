// SPDX-License-Identifier: AGPL-3.0-or-later
// Recording rules: the expressions a dashboard would otherwise repeat, evaluated once per group interval.
// Names follow level:metric:operation.
{
  prometheusRules+:: {
    local config = $._config,
    groups+: [
      {
        name: 'boot-exporter.rules',
        interval: config.ruleGroupInterval,
        rules: [
          {
            // 1 for a boot at risk of overrunning a budget, 0 for any other instance (ready, failed, or booting
            // within its budgets): BootBudgetAtRisk's conditions without its `for`, as one number per instance,
            // so that the fleet counts and ranks at-risk boots without repeating them.
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
            ||| % config,
          },
        ],
      },
    ],
  },
}
