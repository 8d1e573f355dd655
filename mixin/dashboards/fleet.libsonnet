// SPDX-License-Identifier: AGPL-3.0-or-later
// The fleet: many instances (measured at 1,000, BENCHMARKS.md) through aggregates and top-k tables only, never
// a series or a row per instance; each table's instance links to its boot overview. Every query selects
// _config.bootExporterSelector and the chosen jobs and instances.
local p = import 'panels.libsonnet';

{
  grafanaDashboards+:: {
    'boot-fleet.json':
      local config = $._config;
      local s = config { sel: config.bootExporterSelector + ', job=~"$job", instance=~"$instance"', k: config.fleetTopK };
      local count(id, title, description, x, w, expr, color='green', alarm=null) =
        p.panel(id, 'stat', title, description, p.grid(x, 1, w, 4), [p.target('A', expr % s, title)]) + {
          fieldConfig: {
            defaults: {
              unit: 'short',
              decimals: 0,
              thresholds: p.thresholds(color) + (if alarm == null then {} else { steps+: [{ color: alarm, value: 1 }] }),
            },
            overrides: [],
          },
          options: p.statOptions + (if alarm == null then {} else { colorMode: 'background' }),
        };
      local timeseries(id, title, description, gridPos, unit, targets) =
        p.panel(id, 'timeseries', title, description, gridPos, targets) + {
          fieldConfig: { defaults: { unit: unit, min: 0, thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        };
      // A top-k table: instant queries whose labels are columns; `value` names the value column.
      local table(id, title, description, gridPos, unit, expr, value, columns) =
        p.panel(id, 'table', title, description, gridPos, [p.tableTarget('A', expr % s)]) + {
          fieldConfig: { defaults: { unit: unit, thresholds: p.thresholds(), custom: p.tableCustom }, overrides: [p.instanceLinkOverride(config)] },
          options: p.tableOptions { sortBy: [{ displayName: value, desc: true }] },
          transformations: [{
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true },
              indexByName: { [columns[i]]: i for i in std.range(0, std.length(columns) - 1) } + { Value: std.length(columns) },
              renameByName: { Value: value },
            },
          }],
        };
      // The boot-time histograms (boot_duration_seconds: whole boots that reached ready;
      // boot_completed_phase_duration_seconds: each completed phase), over bootTimeWindow. The quantiles and the
      // share within budget are recording rules per job: they follow the job filter, not the instance one.
      local perJob = config { sel: config.bootExporterSelector + ', job=~"$job"' };
      local bootDurationHistogramPanels = [
        p.row(19, 'Boot time across the fleet (histograms, over %(bootTimeWindow)s)' % config, 39),
        timeseries(20, 'Boot time p50 / p95 / p99',
                   'How long boots took to reach ready across the fleet, over the last %(bootTimeWindow)s: quantiles of boot_duration_seconds summed over every instance of the job (the recording rule job:boot_duration_seconds:quantile%(bootTimeWindow)s). The counts persist across restarts, so every boot counts. Empty until a boot reaches ready in the window.' % config,
                   p.grid(0, 40, 12, 8), 's',
                   [p.target('A', 'sum by (job, quantile) (job:boot_duration_seconds:quantile%(bootTimeWindow)s{%(sel)s})' % perJob, 'p{{quantile}} {{job}}')]),
        timeseries(21, 'Boots within budget',
                   'The share of the boots that reached ready in the last %(bootTimeWindow)s that did so within the total budget of %(bootTotalBudgetSeconds)d s (the bucket le="%(bootTotalBudgetSeconds)d" of boot_duration_seconds; the recording rule job:boot_duration_seconds_within_budget:ratio%(bootTimeWindow)s). Under fail-fast a boot past its budget fails and is not counted here: see Failed.' % config,
                   p.grid(12, 40, 12, 8), 'percentunit',
                   [p.target('A', 'sum by (job) (job:boot_duration_seconds_within_budget:ratio%(bootTimeWindow)s{%(sel)s})' % perJob, '{{job}}')])
        + { fieldConfig+: { defaults+: { max: 1 } } },
        timeseries(22, 'Mean boot and phase time',
                   'The mean time of the boots that reached ready (boot_duration_seconds_sum / _count) and of each completed phase (boot_completed_phase_duration_seconds), over the last %(bootTimeWindow)s, per job (the recording rules job:boot_duration_seconds:mean%(bootTimeWindow)s and job_phase:boot_completed_phase_duration_seconds:mean%(bootTimeWindow)s).' % config,
                   p.grid(0, 48, 24, 8), 's', [
          p.target('A', 'sum by (job) (job:boot_duration_seconds:mean%(bootTimeWindow)s{%(sel)s})' % perJob, 'whole boot {{job}}'),
          p.target('B', 'sum by (job, phase) (job_phase:boot_completed_phase_duration_seconds:mean%(bootTimeWindow)s{%(sel)s})' % perJob, '{{phase}} {{job}}'),
        ]),
      ];

      p.dashboard(config, 'fleet', 'BootFSM / Fleet',
                  'Many boot-exporter instances: how many are in each phase, ready, at risk or failed; the boots at risk, the slowest boots and the failures by reason, top %d each; every instance in a table links to its boot overview.' % config.fleetTopK,
                  config.dashboardRefresh.fleet, [
        p.row(1, 'Fleet now', 0),
        count(2, 'Instances', 'boot-exporter instances reporting (count of boot_phase_code).', 0, 4,
              'count(boot_phase_code{%(sel)s}) or vector(0)', 'blue'),
        count(3, 'Ready', 'Instances taking traffic (boot_ready == 1).', 4, 4,
              'count(boot_ready{%(sel)s} == 1) or vector(0)'),
        count(4, 'Booting', 'Instances in a boot phase (boot_booting == 1).', 8, 4,
              'count(boot_booting{%(sel)s} == 1) or vector(0)', 'purple'),
        count(5, 'Not ready', 'Instances not taking traffic (boot_ready == 0): booting, failed or shutting down.', 12, 3,
              'count(boot_ready{%(sel)s} == 0) or vector(0)', 'green', 'orange'),
        count(6, 'Boots at risk',
              'Booting instances at risk of running out of a budget (the recording rule instance:boot_budget_at_risk:bool: BootBudgetAtRisk without its wait).',
              15, 3, 'sum(instance:boot_budget_at_risk:bool{%(sel)s}) or vector(0)', 'green', 'red'),
        count(7, 'Failed', 'Instances whose boot failed (boot_phase_code 9).', 18, 3,
              'count(boot_phase_code{%(sel)s} == 9) or vector(0)', 'green', 'red'),
        count(8, 'Exporters down', 'Scrape targets of the selected jobs that Prometheus cannot reach (up == 0).', 21, 3,
              'count(up{%(sel)s} == 0) or vector(0)', 'green', 'red'),

        timeseries(9, 'Instances per phase',
                   'How many instances are in each phase over time (count by phase of the recording rule instance:boot_phase:current).',
                   p.grid(0, 5, 12, 9), 'short', [p.target('A', 'count by (phase) (instance:boot_phase:current{%(sel)s})' % s, '{{phase}}')]) + {
          fieldConfig+: { defaults+: { decimals: 0, custom+: { fillOpacity: 60, stacking: { mode: 'normal', group: 'A' } } } },
          options+: { legend+: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull'] } },
        },
        timeseries(10, 'Not ready, at risk, failed, crash-looping',
                   'Instances not ready, boots at risk, failed boots, and instances with %(crashLoopingFailures)d or more boots in a row failed (boot_consecutive_failures, the BootCrashLooping alert), over time.' % config,
                   p.grid(12, 5, 12, 9), 'short', [
          p.target('A', 'count(boot_ready{%(sel)s} == 0) or vector(0)' % s, 'not ready'),
          p.target('B', 'sum(instance:boot_budget_at_risk:bool{%(sel)s}) or vector(0)' % s, 'at risk'),
          p.target('C', 'count(boot_phase_code{%(sel)s} == 9) or vector(0)' % s, 'failed'),
          p.target('D', 'count(boot_consecutive_failures{%(sel)s} >= %(crashLoopingFailures)d) or vector(0)' % s, 'crash-looping'),
        ]) + { fieldConfig+: { defaults+: { decimals: 0 } } },

        p.row(11, 'Top %d' % config.fleetTopK, 14),
        table(12, 'Boots at risk',
              'The instances whose boot is at risk of running out of a budget (1), with their phase; when fewer than %(k)d are, other instances (0) fill the table. Click an instance for its boot overview.' % s,
              p.grid(0, 15, 12, 8), 'none',
              'topk(%(k)d, instance:boot_budget_at_risk:bool{%(sel)s})',
              'At risk', ['instance', 'job', 'phase']) + {
          fieldConfig+: { defaults+: { mappings: [{ type: 'value', options: {
            '0': { text: 'no', color: 'green', index: 0 },
            '1': { text: 'at risk', color: 'red', index: 1 },
          } }] } },
        },
        table(13, 'Slowest boots now',
              'The %(k)d slowest boots (the recording rule instance:boot_time:seconds): a booting instance by the time since its boot started, a finished one by how long its phases took; the phase is the current one. Click an instance for its boot overview.' % s,
              p.grid(12, 15, 12, 8), 's',
              'topk(%(k)d, instance:boot_time:seconds{%(sel)s})',
              'Boot time', ['instance', 'job', 'phase']),

        p.panel(14, 'bargauge', 'Failures by reason',
                'Failed instances grouped by the phase and reason of the failure (boot_failure_info, which exists only while an instance is failed: empty means no failure).',
                p.grid(0, 23, 12, 8),
                [p.target('A', 'sort_desc(count by (phase, reason) (boot_failure_info{%(sel)s}))' % s, '{{phase}}: {{reason}}')]) + {
          fieldConfig: { defaults: { unit: 'short', decimals: 0, thresholds: p.thresholds('red') }, overrides: [] },
          options: p.barGaugeOptions { displayMode: 'basic' },
        },
        table(15, 'Failed boots, latest first',
              'The %(k)d failed instances whose boot started last, with the phase and reason of the failure (boot_failure_info). Click an instance for its boot overview.' % s,
              p.grid(12, 23, 12, 8), 'dateTimeAsIso',
              'topk(%(k)d, 1000 * boot_start_time_seconds{%(sel)s} * on (job, instance) group_left (phase, reason) boot_failure_info{%(sel)s})',
              'Boot started', ['instance', 'job', 'phase', 'reason']),

        p.row(16, 'Fleet over time', 31),
        timeseries(17, 'WAL replay rate, whole fleet',
                   'WAL records replayed per second by all selected instances together (sum of the rate of boot_wal_records_replayed_total).',
                   p.grid(0, 32, 12, 7), 'suffix: records/s',
                   [p.target('A', 'sum(rate(boot_wal_records_replayed_total{%(sel)s}[$__rate_interval]))' % s, 'records/s')]),
        timeseries(18, 'Boots started',
                   'Instances whose current boot started in each interval (changes of boot_start_time_seconds): a wave of restarts shows as a spike.',
                   p.grid(12, 32, 12, 7), 'short',
                   [p.target('A', 'sum(changes(boot_start_time_seconds{%(sel)s}[$__rate_interval])) or vector(0)' % s, 'boots started')])
        + { fieldConfig+: { defaults+: { decimals: 0 } } },
      ] + bootDurationHistogramPanels, instanceMulti=true),
  },
}
