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
      {
        // The fleet's boot time from the boot-time histograms, per job (and the selector's labels), over
        // bootTimeWindow: the buckets summed across instances (the counts persist across restarts, so
        // increase() sees every boot), p50/p95/p99, and the share of boots within the total budget.
        local c = config {
          by: std.join(', ', std.set(['job'] + [
            std.stripChars(std.split(std.split(std.split(m, '=')[0], '!')[0], '~')[0], ' ')
            for m in std.split(config.bootExporterSelector, ',')
          ])),
          le: std.toString(config.bootTotalBudgetSeconds),
        },
        name: 'boot-exporter.boot-time',
        interval: config.bootTimeRuleInterval,
        rules: [
          {
            record: 'job_le:boot_duration_seconds_bucket:increase%(bootTimeWindow)s' % c,
            expr: 'sum by (%(by)s, le) (increase(boot_duration_seconds_bucket{%(bootExporterSelector)s}[%(bootTimeWindow)s]))' % c,
          },
        ] + [
          {
            record: 'job:boot_duration_seconds:quantile%(bootTimeWindow)s' % c,
            labels: { quantile: q },
            expr: 'histogram_quantile(%s, job_le:boot_duration_seconds_bucket:increase%s{%s})' % [q, c.bootTimeWindow, c.bootExporterSelector],
          }
          for q in ['0.5', '0.95', '0.99']
        ] + [
          {
            // Prometheus 3 writes a whole `le` as "3600.0", earlier versions as the exporter does ("3600").
            record: 'job:boot_duration_seconds_within_budget:ratio%(bootTimeWindow)s' % c,
            expr: |||
              sum by (%(by)s) (increase(boot_duration_seconds_bucket{%(bootExporterSelector)s, le=~"%(le)s(\\.0)?"}[%(bootTimeWindow)s]))
                /
              sum by (%(by)s) (
                  increase(boot_duration_seconds_count{%(bootExporterSelector)s}[%(bootTimeWindow)s])
                and on (job, instance)
                  increase(boot_duration_seconds_bucket{%(bootExporterSelector)s, le=~"%(le)s(\\.0)?"}[%(bootTimeWindow)s])
              )
            ||| % c,
          },
          {
            // The mean boot and phase times: the panels read these, where an increase() over the window at every
            // step of a graph took 450 ms at 1,000 instances.
            record: 'job:boot_duration_seconds:mean%(bootTimeWindow)s' % c,
            expr: |||
              sum by (%(by)s) (increase(boot_duration_seconds_sum{%(bootExporterSelector)s}[%(bootTimeWindow)s]))
                /
              sum by (%(by)s) (increase(boot_duration_seconds_count{%(bootExporterSelector)s}[%(bootTimeWindow)s]))
            ||| % c,
          },
          {
            record: 'job_phase:boot_completed_phase_duration_seconds:mean%(bootTimeWindow)s' % c,
            expr: |||
              sum by (%(by)s, phase) (increase(boot_completed_phase_duration_seconds_sum{%(bootExporterSelector)s}[%(bootTimeWindow)s]))
                /
              sum by (%(by)s, phase) (increase(boot_completed_phase_duration_seconds_count{%(bootExporterSelector)s}[%(bootTimeWindow)s]))
            ||| % c,
          },
        ],
      },
    ],
  },
}
