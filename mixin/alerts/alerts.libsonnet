// SPDX-License-Identifier: AGPL-3.0-or-later
// The alert rules, one object per alert. Each expression is one readable string: %(bootExporterSelector)s
// and the thresholds come from _config (config.libsonnet). Annotation templates are concatenated, not
// %-formatted, because their printf patterns hold %q. The metric contract is docs/metrics.md; the runbooks,
// one section per alert, are docs/runbooks.md.
local runbook(config, alert) = config.runbookURLPattern % std.asciiLower(alert);
// 'a minute', '5 minutes', for texts that read as today's for the default thresholds.
local minutesText(seconds) =
  if seconds == 60 then 'a minute' else if seconds % 60 == 0 then '%d minutes' % (seconds / 60) else '%d seconds' % seconds;
local promDuration(seconds) = if seconds % 60 == 0 then '%dm' % (seconds / 60) else '%ds' % seconds;
local fractionText(f) = if f == 0.5 then 'half' else '%g%% of' % (100 * f);
local text(lines) = std.join(' ', lines);
// An annotation that asks Prometheus for another series of the same instance.
local lookup(series, found) =
  '{{ with printf "' + series + '" $labels.job $labels.instance | query }}' + found + '{{ else }}unknown{{ end }}';
local phaseNow = lookup('boot_phase{job=%q,instance=%q} == 1', '{{ . | first | label "phase" }}');
local totalLeft = lookup('boot_total_budget_remaining_seconds{job=%q,instance=%q}', '{{ . | first | value | humanizeDuration }}');

{
  prometheusAlerts+:: {
    local config = $._config,
    local alert(rule) = rule { annotations+: { runbook_url: runbook(config, rule.alert) } },
    groups+: [
      {
        name: 'boot-exporter',
        interval: config.ruleGroupInterval,
        rules: [
          alert({
            alert: 'BootBudgetExhausted',
            // Value: seconds since the boot started. boot_budget_exceeded stays 1 after a fail-fast failure.
            // The alert backtest measured it firing 6 to 17 s after the budget ran out (a scrape plus an evaluation).
            expr: 'boot_elapsed_seconds{%(bootExporterSelector)s} and on (job, instance) (boot_budget_exceeded{%(bootExporterSelector)s} == 1)' % config,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Boot time budget exhausted on {{ $labels.instance }}',
              description: text([
                '{{ $labels.instance }} (job {{ $labels.job }}) has run out of a boot time budget. Its boot started',
                '{{ $value | humanizeDuration }} ago; it is now in phase',
                phaseNow,
                'with ' + totalLeft,
                'of the total budget left. Under --boot.budget-policy fail-fast the boot has failed; under report-only',
                'it goes on late.',
              ]),
            },
          }),

          alert({
            alert: 'BootBudgetAtRisk',
            // Value: seconds left in the current phase's budget. Predictive, for a boot still within its budgets:
            // - the phase's ETA is beyond what is left of the phase's budget or of the total budget; or
            // - the phase has no ETA (NaN: no progress reported yet) and less than budgetAtRiskFraction of its
            //   budget is left, or at least half of it is used and less than budgetAtRiskFloorSeconds are left
            //   (elapsed + remaining is the phase's budget while it is not exceeded); or
            // - less than budgetAtRiskFraction of the total budget is left, or at least half of it is used and
            //   less than budgetAtRiskFloorSeconds are left.
            // The floor (2 minutes) is what makes short budgets (Kubernetes' 30 s init, 60 s warmup) warn at
            // all: a 10% margin of those is shorter than a scrape and an evaluation. NaN != NaN is how PromQL
            // tests NaN. The alert backtest (17 boots on 240 s budgets, 5 s scrapes) measured no false page and
            // no miss; late boots that report progress warned about 45% to 90% of the budget ahead (median 78%;
            // 16% for one that slows down while the ETA averaged the whole phase), one that reports none 40% (2%
            // without the floor).
            expr: |||
              (
                  boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}
                * on (job, instance) group_left (phase) (boot_phase{%(bootExporterSelector)s} == 1)
              )
              and on (job, instance) (boot_booting{%(bootExporterSelector)s} == 1)
              and on (job, instance) (boot_budget_exceeded{%(bootExporterSelector)s} == 0)
              and on (job, instance) (
                    boot_phase_eta_seconds{%(bootExporterSelector)s} > boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}
                  or
                    boot_phase_eta_seconds{%(bootExporterSelector)s} > boot_total_budget_remaining_seconds{%(bootExporterSelector)s}
                  or
                    (
                        boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}
                      < %(budgetAtRiskFraction)g * (boot_phase_elapsed_seconds{%(bootExporterSelector)s} + boot_phase_budget_remaining_seconds{%(bootExporterSelector)s})
                      or
                        (
                            boot_phase_budget_remaining_seconds{%(bootExporterSelector)s}
                          < 0.5 * (boot_phase_elapsed_seconds{%(bootExporterSelector)s} + boot_phase_budget_remaining_seconds{%(bootExporterSelector)s})
                        )
                        and
                        boot_phase_budget_remaining_seconds{%(bootExporterSelector)s} < %(budgetAtRiskFloorSeconds)g
                    )
                    and on (job, instance) (boot_phase_eta_seconds{%(bootExporterSelector)s} != boot_phase_eta_seconds{%(bootExporterSelector)s})
                  or
                    boot_total_budget_remaining_seconds{%(bootExporterSelector)s} < %(budgetAtRiskFraction)g * boot_total_budget_seconds{%(bootExporterSelector)s}
                  or
                    (boot_total_budget_remaining_seconds{%(bootExporterSelector)s} < 0.5 * boot_total_budget_seconds{%(bootExporterSelector)s})
                    and
                    boot_total_budget_remaining_seconds{%(bootExporterSelector)s} < %(budgetAtRiskFloorSeconds)g
              )
            ||| % config,
            // Two evaluations in a row, so a momentary ETA (the first batch of a phase) does not page anyone;
            // short enough to leave time before a budget of a few minutes runs out. for: 0s gained 2 to 11 points
            // of lead in the backtest, paging no on-time boot there either.
            'for': config.budgetAtRiskFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Boot of {{ $labels.instance }} is at risk of exceeding its {{ $labels.phase }} budget',
              description: text([
                '{{ $labels.instance }} (job {{ $labels.job }}) is in phase {{ $labels.phase }} with',
                "{{ $value | humanizeDuration }} of the phase budget left, while the phase's estimated time to finish is",
                lookup('boot_phase_eta_seconds{job=%q,instance=%q}', '{{ . | first | value | humanizeDuration }}'),
                'and ' + totalLeft,
                'of the total budget is left.',
              ]),
            },
          }),

          alert({
            alert: 'BootFailed',
            expr: 'boot_failure_info{%(bootExporterSelector)s} == 1' % config,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Boot of {{ $labels.instance }} failed in phase {{ $labels.phase }}',
              description: text([
                '{{ $labels.instance }} (job {{ $labels.job }}) failed its boot in phase {{ $labels.phase }}:',
                '{{ $labels.reason }}. It keeps serving phase failed (/livez answers 503) until it is restarted.',
              ]),
            },
          }),

          alert({
            alert: 'BootStalled',
            // Value: seconds in the current phase. In the phase for at least stalledSeconds, and neither the
            // phase's items nor its bytes nor the WAL record counter moved in the last stalledWindowSeconds.
            expr: |||
              (
                  boot_phase_elapsed_seconds{%(bootExporterSelector)s}
                * on (job, instance) group_left (phase) (boot_phase{%(bootExporterSelector)s} == 1)
              ) >= %(stalledSeconds)g
              and on (job, instance) (boot_booting{%(bootExporterSelector)s} == 1)
              unless on (job, instance) (
                    changes(boot_progress_processed_items{%(bootExporterSelector)s}[%(window)s]) > 0
                  or
                    changes(boot_progress_processed_bytes{%(bootExporterSelector)s}[%(window)s]) > 0
                  or
                    changes(boot_wal_records_replayed_total{%(bootExporterSelector)s}[%(window)s]) > 0
              )
            ||| % (config { window: promDuration(config.stalledWindowSeconds) }),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Boot of {{ $labels.instance }} made no progress in phase {{ $labels.phase }} for %s'
                       % minutesText(config.stalledWindowSeconds),
              description: text([
                '{{ $labels.instance }} (job {{ $labels.job }}) has been in phase {{ $labels.phase }} for',
                '{{ $value | humanizeDuration }} and reported no progress (items, bytes or WAL records) in the last',
                '%s; the phase is at' % minutesText(config.stalledWindowSeconds),
                lookup('boot_progress_ratio{job=%q,instance=%q}', '{{ . | first | value | humanizePercentage }}') + '.',
              ]),
            },
          }),

          alert({
            alert: 'BootSlow',
            // Value: seconds since the boot started. Slow means past slowBudgetFraction of the total budget,
            // or past slowSeconds when that comes first (a total budget of an hour or more, the default's),
            // while still booting. Under BootBudgets.forKubernetes(600) that is 5 minutes in: a fixed 30
            // minutes could never be reached there, the fail-fast total budget ending every boot at 10. An
            // exporter without boot_total_budget_seconds gets slowSeconds.
            expr: |||
              boot_elapsed_seconds{%(bootExporterSelector)s}
                > on (job, instance) (
                    clamp_max(%(slowBudgetFraction)g * boot_total_budget_seconds{%(bootExporterSelector)s}, %(slowSeconds)g)
                  or on (job, instance)
                    0 * boot_elapsed_seconds{%(bootExporterSelector)s} + %(slowSeconds)g
                )
              and on (job, instance) (boot_booting{%(bootExporterSelector)s} == 1)
            ||| % config,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Boot of {{ $labels.instance }} is slow: {{ $value | humanizeDuration }} and still booting',
              description: text([
                '{{ $labels.instance }} (job {{ $labels.job }}) has been booting for {{ $value | humanizeDuration }}',
                '(slow: past %s the total budget of' % fractionText(config.slowBudgetFraction),
                lookup('boot_total_budget_seconds{job=%q,instance=%q}', '{{ . | first | value | humanizeDuration }}') + ',',
                'or past %s) and is in phase' % promDuration(config.slowSeconds),
                phaseNow,
                'with ' + totalLeft,
                'of the total budget left.',
              ]),
            },
          }),

          alert({
            alert: 'BootCrashLooping',
            // Value: boots in a row that failed or crashed before ready (the boot journal, across restarts).
            expr: 'boot_consecutive_failures{%(bootExporterSelector)s} >= %(crashLoopingFailures)d' % config,
            labels: { severity: 'critical' },
            annotations: {
              summary: '{{ $labels.instance }} is crash-looping: {{ $value }} boots in a row failed',
              description: text([
                '{{ $labels.instance }} (job {{ $labels.job }}) has failed or crashed {{ $value }} boots in a row',
                '(attempt ' + lookup('boot_attempts_total{job=%q,instance=%q}', '{{ . | first | value }}'),
                'so far). The latest failure:',
                lookup('boot_last_failure_info{job=%q,instance=%q}',
                       '{{ . | first | label "reason" }} in phase {{ . | first | label "phase" }}') + '.',
              ]),
            },
          }),

          alert({
            alert: 'BootExporterDown',
            expr: 'up{%(bootExporterSelector)s} == 0' % config,
            'for': promDuration(config.exporterDownForSeconds),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'boot-exporter on {{ $labels.instance }} is down',
              description: text([
                'Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for more than %s:'
                % minutesText(config.exporterDownForSeconds),
                'the database process is down, restarting or unreachable, and its boot cannot be watched.',
              ]),
            },
          }),
        ],
      },
    ],
  },
}
