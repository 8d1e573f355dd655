// SPDX-License-Identifier: AGPL-3.0-or-later
// The boot overview: one instance, chosen by the job and instance variables. Every query selects
// _config.bootExporterSelector and the chosen job and instance.
local p = import 'panels.libsonnet';

{
  grafanaDashboards+:: {
    'boot-overview.json':
      local config = $._config;
      local s = { sel: config.bootExporterSelector + ', job="$job", instance="$instance"' };
      // The boot-time histograms of this instance: every boot counted, across restarts (the boot journal).
      local bootDurationHistogramPanels = [
        p.row(47, 'Boot times across restarts (histograms)', 81),
        p.panel(48, 'bargauge', 'Boots by boot time',
                'How many of the boots that reached ready took up to each bound (boot_duration_seconds, per bucket: the bounds are fractions of the total budget, the budget itself one of them), every boot of the data directory counted.',
                p.grid(0, 82, 12, 8),
                [p.target('A', 'sum by (le) (boot_duration_seconds_bucket{%(sel)s})' % s, '{{le}}') { format: 'heatmap', instant: true, range: false }]) + {
          fieldConfig: { defaults: { unit: 'none', decimals: 0, thresholds: p.thresholds('blue') }, overrides: [] },
          options: p.barGaugeOptions { displayMode: 'basic' },
        },
        p.panel(49, 'bargauge', 'Phase time p95, all boots',
                'The 95th percentile of each completed phase over every boot of the data directory (boot_completed_phase_duration_seconds); a phase appears once one completed.',
                p.grid(12, 82, 12, 8),
                [p.target('A', 'histogram_quantile(0.95, sum by (phase, le) (boot_completed_phase_duration_seconds_bucket{%(sel)s}))' % s, '{{phase}}') { instant: true, range: false }]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds('blue') }, overrides: [] },
          options: p.barGaugeOptions { displayMode: 'basic' },
        },
      ];
      p.dashboard(config, 'overview', 'BootFSM / Boot overview', 'One boot-exporter instance: the phase and its timeline, budgets, progress and ETA, WAL replay and recovery counters, failure reason, readiness.', config.dashboardRefresh.overview, [
        p.row(1, 'Boot now', 0),
        p.panel(2,
                'stat',
                'Phase',
                'The boot phase the instance is in now (boot_phase_code).',
                p.grid(0, 1, 4, 4),
                [
                  p.target('A', 'boot_phase_code{%(sel)s}' % s, 'phase'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', mappings: p.phaseMappings, thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { colorMode: 'background', graphMode: 'none' },
        },
        p.panel(3,
                'stat',
                'Ready',
                'Whether the instance takes traffic: /readyz answers 200 (boot_ready).',
                p.grid(4, 1, 3, 4),
                [
                  p.target('A', 'boot_ready{%(sel)s}' % s, 'ready'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', mappings: [{ type: 'value', options: { '0': { text: 'not ready', color: 'red', index: 0 }, '1': { text: 'ready', color: 'green', index: 1 } } }], thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { colorMode: 'background', graphMode: 'none' },
        },
        p.panel(4,
                'stat',
                'Boot elapsed',
                'Time since the boot started (boot_elapsed_seconds); it keeps counting once the boot is over.',
                p.grid(7, 1, 3, 4),
                [
                  p.target('A', 'boot_elapsed_seconds{%(sel)s}' % s, 'elapsed'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { graphMode: 'none' },
        },
        p.panel(5,
                'gauge',
                'Phase progress',
                'Progress of the current phase, 0–100% (boot_progress_ratio; 100% once ready).',
                p.grid(10, 1, 4, 4),
                [
                  p.target('A', 'boot_progress_ratio{%(sel)s}' % s, 'progress'),
                ]) + {
          fieldConfig: { defaults: { unit: 'percentunit', thresholds: p.thresholds('blue'), min: 0, max: 1 }, overrides: [] },
          options: p.gaugeOptions,
        },
        p.panel(6,
                'stat',
                'Phase ETA',
                'Estimated time left in the current phase at the observed rate of progress (boot_phase_eta_seconds); unknown until progress has moved, and outside booting phases.',
                p.grid(14, 1, 3, 4),
                [
                  p.target('A', 'boot_phase_eta_seconds{%(sel)s}' % s, 'ETA'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', mappings: [{ type: 'special', options: { match: 'nan', result: { text: 'unknown', index: 10 } } }], thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { graphMode: 'none' },
        },
        p.panel(7,
                'stat',
                'Recovery mode',
                'The recovery mode of this boot: normal, readonly or force (boot_recovery_mode).',
                p.grid(17, 1, 3, 4),
                [
                  p.target('A', 'boot_recovery_mode{%(sel)s} == 1' % s, '{{mode}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { textMode: 'name', graphMode: 'none' },
        },
        p.panel(8,
                'stat',
                'Budget',
                "Whether the current phase's or the total time budget has run out (boot_budget_exceeded; after a failure: whether it had when the boot failed).",
                p.grid(20, 1, 4, 4),
                [
                  p.target('A', 'boot_budget_exceeded{%(sel)s}' % s, 'exceeded'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', mappings: [{ type: 'value', options: { '0': { text: 'within budget', color: 'green', index: 0 }, '1': { text: 'exceeded', color: 'red', index: 1 } } }], thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { colorMode: 'background', graphMode: 'none' },
        },
        p.panel(9,
                'stat',
                'Failure reason',
                'Why the boot failed (the reason label of boot_failure_info, which exists only once failed); "none" while the boot has not failed.',
                p.grid(0, 5, 16, 3),
                [
                  p.target('A', |||
                    max by (phase, reason) (boot_failure_info{%(sel)s})
                    or on ()
                    label_replace(0 * boot_alive{%(sel)s}, "reason", "none (the boot has not failed)", "", "")
                  ||| % s, '{{reason}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] } }, overrides: [] },
          options: p.statOptions { textMode: 'name', colorMode: 'background', graphMode: 'none' },
        },
        p.panel(10,
                'stat',
                'Boot started',
                'When the current boot started (boot_start_time_seconds).',
                p.grid(16, 5, 4, 3),
                [
                  p.target('A', 'boot_start_time_seconds{%(sel)s} * 1000' % s, 'started'),
                ]) + {
          fieldConfig: { defaults: { unit: 'dateTimeFromNow', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { graphMode: 'none' },
        },
        p.panel(11,
                'stat',
                'boot-exporter version',
                'Version of the boot-exporter binary (boot_exporter_build_info).',
                p.grid(20, 5, 4, 3),
                [
                  p.target('A', 'boot_exporter_build_info{%(sel)s}' % s, '{{version}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { textMode: 'name', graphMode: 'none' },
        },
        p.panel(12,
                'state-timeline',
                'Phase timeline',
                'The boot phase over time (boot_phase_code): init → migrate → recover → warmup → ready, or read-only / force recovery, shutting down, failed.',
                p.grid(0, 8, 24, 5),
                [
                  p.target('A', 'boot_phase_code{%(sel)s}' % s, 'phase'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', mappings: p.phaseMappings, thresholds: p.thresholds(), color: { mode: 'fixed', fixedColor: '#8f8f8f' }, custom: p.stateTimelineCustom }, overrides: [] },
          options: p.stateTimelineOptions,
        },
        p.panel(13,
                'state-timeline',
                'Readiness',
                'Ready (/readyz 200), alive (/livez 200) and booting over time (boot_ready, boot_alive, boot_booting).',
                p.grid(0, 13, 24, 4),
                [
                  p.target('A', 'boot_ready{%(sel)s}' % s, 'ready'),
                  p.target('B', 'boot_alive{%(sel)s}' % s, 'alive'),
                  p.target('C', 'boot_booting{%(sel)s}' % s, 'booting'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', mappings: [{ type: 'value', options: { '0': { text: 'no', color: '#5c5c5c', index: 0 }, '1': { text: 'yes', color: 'green', index: 1 } } }], thresholds: p.thresholds(), custom: p.stateTimelineCustom }, overrides: [] },
          options: p.stateTimelineOptions,
        },
        p.row(14, 'Budgets', 17),
        p.panel(15,
                'timeseries',
                'Current phase: budget, remaining and ETA',
                "The configured budget of the current phase, what is left of it (boot_phase_budget_remaining_seconds) and the phase's ETA (boot_phase_eta_seconds). An ETA above the remaining budget means the phase will overrun: the BootBudgetAtRisk alert. Outside booting phases the budget and remaining read 0.",
                p.grid(0, 18, 12, 8),
                [
                  p.target('A', |||
                    max by (job, instance) (
                      boot_phase_budget_seconds{%(sel)s}
                      * on (job, instance, phase)
                      label_replace(boot_phase{%(sel)s} == 1, "phase", "recover", "phase", "readonly_recovery|force_recovery")
                    )
                    or on () (0 * boot_phase_budget_remaining_seconds{%(sel)s})
                  ||| % s, 'phase budget'),
                  p.target('B', 'boot_phase_budget_remaining_seconds{%(sel)s}' % s, 'remaining'),
                  p.target('C', 'boot_phase_eta_seconds{%(sel)s}' % s, 'ETA'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [{ matcher: { id: 'byName', options: 'phase budget' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] }] },
          options: p.timeSeriesOptions,
        },
        p.panel(16,
                'timeseries',
                'Total budget: remaining vs configured',
                'The configured total boot budget (boot_total_budget_seconds) and what is left of it (boot_total_budget_remaining_seconds; frozen once the boot is over).',
                p.grid(12, 18, 6, 8),
                [
                  p.target('A', 'boot_total_budget_seconds{%(sel)s}' % s, 'total budget'),
                  p.target('B', 'boot_total_budget_remaining_seconds{%(sel)s}' % s, 'remaining'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [{ matcher: { id: 'byName', options: 'total budget' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] }] },
          options: p.timeSeriesOptions,
        },
        p.panel(17,
                'gauge',
                'Total budget used',
                'Share of the total boot budget spent: 1 − remaining / configured.',
                p.grid(18, 18, 6, 8),
                [
                  p.target('A', '1 - boot_total_budget_remaining_seconds{%(sel)s} / boot_total_budget_seconds{%(sel)s}' % s, 'used'),
                ]) + {
          fieldConfig: { defaults: { unit: 'percentunit', thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 0.75 }, { color: 'red', value: 0.9 }] }, min: 0, max: 1 }, overrides: [] },
          options: p.gaugeOptions,
        },
        p.panel(18,
                'bargauge',
                'Configured budgets',
                'The configured budget of each phase (boot_phase_budget_seconds; the recover budget also covers read-only and force recovery) and of the whole boot (boot_total_budget_seconds).',
                p.grid(0, 26, 12, 7),
                [
                  p.target('A', 'boot_phase_budget_seconds{%(sel)s}' % s, '{{phase}}'),
                  p.target('B', 'boot_total_budget_seconds{%(sel)s}' % s, 'total'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds('blue') }, overrides: [] },
          options: p.barGaugeOptions,
        },
        p.panel(19,
                'bargauge',
                'Phase durations of this boot',
                'How long each completed phase of the current boot took (boot_phase_duration_seconds); compare with the configured budgets beside.',
                p.grid(12, 26, 12, 7),
                [
                  p.target('A', 'boot_phase_duration_seconds{%(sel)s}' % s, '{{phase}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds('purple') }, overrides: [] },
          options: p.barGaugeOptions,
        },
        p.row(20, 'Progress', 33),
        p.panel(21,
                'timeseries',
                'Phase progress',
                'Progress of the current phase (boot_progress_ratio); it restarts at 0 with each phase and reads 100% once ready.',
                p.grid(0, 34, 8, 8),
                [
                  p.target('A', 'boot_progress_ratio{%(sel)s}' % s, 'progress'),
                ]) + {
          fieldConfig: { defaults: { unit: 'percentunit', thresholds: p.thresholds(), custom: p.timeSeriesCustom { fillOpacity: 20 }, min: 0, max: 1 }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(22,
                'timeseries',
                'Items: processed vs expected',
                'Items (WAL records during recovery) processed and to process in the current phase (boot_progress_processed_items, boot_progress_expected_items; 0 when unknown).',
                p.grid(8, 34, 8, 8),
                [
                  p.target('A', 'boot_progress_processed_items{%(sel)s}' % s, 'processed'),
                  p.target('B', 'boot_progress_expected_items{%(sel)s}' % s, 'expected'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(23,
                'timeseries',
                'Bytes: processed vs expected',
                'Bytes processed and to process in the current phase (boot_progress_processed_bytes, boot_progress_expected_bytes; 0 when unknown).',
                p.grid(16, 34, 8, 8),
                [
                  p.target('A', 'boot_progress_processed_bytes{%(sel)s}' % s, 'processed'),
                  p.target('B', 'boot_progress_expected_bytes{%(sel)s}' % s, 'expected'),
                ]) + {
          fieldConfig: { defaults: { unit: 'bytes', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.row(24, 'WAL replay and recovery', 42),
        p.panel(25,
                'timeseries',
                'WAL replay rate: records',
                'WAL records replayed per second (rate of boot_wal_records_replayed_total) and corrupt records skipped by a force recovery.',
                p.grid(0, 43, 12, 8),
                [
                  p.target('A', 'rate(boot_wal_records_replayed_total{%(sel)s}[$__rate_interval])' % s, 'replayed'),
                  p.target('B', 'rate(boot_wal_records_skipped_total{%(sel)s}[$__rate_interval])' % s, 'skipped'),
                ]) + {
          fieldConfig: { defaults: { unit: 'suffix: records/s', thresholds: p.thresholds(), custom: p.timeSeriesCustom { fillOpacity: 10 } }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(26,
                'timeseries',
                'WAL replay rate: bytes',
                'WAL bytes replayed per second (rate of boot_wal_bytes_processed_total).',
                p.grid(12, 43, 12, 8),
                [
                  p.target('A', 'rate(boot_wal_bytes_processed_total{%(sel)s}[$__rate_interval])' % s, 'replayed'),
                ]) + {
          fieldConfig: { defaults: { unit: 'Bps', thresholds: p.thresholds(), custom: p.timeSeriesCustom { fillOpacity: 10 } }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(27,
                'stat',
                'WAL records replayed',
                'WAL records replayed by this boot. (boot_wal_records_replayed_total)',
                p.grid(0, 51, 4, 4),
                [
                  p.target('A', 'boot_wal_records_replayed_total{%(sel)s}' % s, 'WAL records replayed'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(28,
                'stat',
                'WAL bytes replayed',
                'WAL bytes replayed by this boot. (boot_wal_bytes_processed_total)',
                p.grid(4, 51, 4, 4),
                [
                  p.target('A', 'boot_wal_bytes_processed_total{%(sel)s}' % s, 'WAL bytes replayed'),
                ]) + {
          fieldConfig: { defaults: { unit: 'bytes', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(29,
                'stat',
                'Transactions rolled back',
                'Transactions after the checkpoint that never committed (aborted or unfinished) and were rolled back. (boot_txns_rolled_back_total)',
                p.grid(8, 51, 4, 4),
                [
                  p.target('A', 'boot_txns_rolled_back_total{%(sel)s}' % s, 'Transactions rolled back'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(30,
                'stat',
                'Pages recovered',
                'Pages that redo changed. (boot_pages_recovered_total)',
                p.grid(12, 51, 3, 4),
                [
                  p.target('A', 'boot_pages_recovered_total{%(sel)s}' % s, 'Pages recovered'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(31,
                'stat',
                'Checkpoint bytes',
                'Checkpoint bytes scanned at the start of recovery. (boot_checkpoint_bytes_scanned_total)',
                p.grid(15, 51, 3, 4),
                [
                  p.target('A', 'boot_checkpoint_bytes_scanned_total{%(sel)s}' % s, 'Checkpoint bytes'),
                ]) + {
          fieldConfig: { defaults: { unit: 'bytes', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(32,
                'stat',
                'Migration steps',
                'On-disk format migration steps completed in the migrate phase. (boot_migration_steps_completed_total)',
                p.grid(18, 51, 3, 4),
                [
                  p.target('A', 'boot_migration_steps_completed_total{%(sel)s}' % s, 'Migration steps'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(33,
                'stat',
                'Records skipped',
                'Corrupt WAL records skipped by a force recovery (0 in the other modes). (boot_wal_records_skipped_total)',
                p.grid(21, 51, 3, 4),
                [
                  p.target('A', 'boot_wal_records_skipped_total{%(sel)s}' % s, 'Records skipped'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions,
        },
        p.panel(34,
                'timeseries',
                'Recovery counters',
                'Transactions rolled back, pages recovered and migration steps over the boot (boot_txns_rolled_back_total, boot_pages_recovered_total, boot_migration_steps_completed_total).',
                p.grid(0, 55, 12, 7),
                [
                  p.target('A', 'boot_txns_rolled_back_total{%(sel)s}' % s, 'transactions rolled back'),
                  p.target('B', 'boot_pages_recovered_total{%(sel)s}' % s, 'pages recovered'),
                  p.target('C', 'boot_migration_steps_completed_total{%(sel)s}' % s, 'migration steps'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(35,
                'gauge',
                'Warmup hit ratio',
                'Share of the pages preloaded by warmup that were already in memory (boot_warmup_hit_ratio); 0 until warmup runs.',
                p.grid(12, 55, 12, 7),
                [
                  p.target('A', 'boot_warmup_hit_ratio{%(sel)s}' % s, 'hit ratio'),
                ]) + {
          fieldConfig: { defaults: { unit: 'percentunit', thresholds: { mode: 'absolute', steps: [{ color: 'orange', value: null }, { color: 'green', value: 0.5 }] }, min: 0, max: 1 }, overrides: [] },
          options: p.gaugeOptions,
        },
        p.row(36, 'Process and exporter', 62),
        p.panel(37,
                'timeseries',
                'CPU',
                'CPU time used per second, user and system (rate of process_cpu_seconds_total); 100% is one core.',
                p.grid(0, 63, 6, 7),
                [
                  p.target('A', 'rate(process_cpu_seconds_total{%(sel)s}[$__rate_interval])' % s, 'CPU'),
                ]) + {
          fieldConfig: { defaults: { unit: 'percentunit', thresholds: p.thresholds(), custom: p.timeSeriesCustom { fillOpacity: 10 } }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(38,
                'timeseries',
                'Memory',
                'Resident and virtual memory of the process (process_resident_memory_bytes, process_virtual_memory_bytes).',
                p.grid(6, 63, 6, 7),
                [
                  p.target('A', 'process_resident_memory_bytes{%(sel)s}' % s, 'resident'),
                  p.target('B', 'process_virtual_memory_bytes{%(sel)s}' % s, 'virtual'),
                ]) + {
          fieldConfig: { defaults: { unit: 'bytes', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(39,
                'timeseries',
                'File descriptors',
                'Open file descriptors and their limit (process_open_fds, process_max_fds).',
                p.grid(12, 63, 6, 7),
                [
                  p.target('A', 'process_open_fds{%(sel)s}' % s, 'open'),
                  p.target('B', 'process_max_fds{%(sel)s}' % s, 'limit'),
                ]) + {
          fieldConfig: { defaults: { unit: 'short', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.panel(40,
                'timeseries',
                'HTTP requests',
                "Requests answered per second by handler and status code (rate of boot_exporter_http_requests_total); Prometheus' scrapes and the Kubernetes probes show here.",
                p.grid(18, 63, 6, 7),
                [
                  p.target('A', 'sum by (handler, code) (rate(boot_exporter_http_requests_total{%(sel)s}[$__rate_interval]))' % s, '{{handler}} {{code}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 'reqps', thresholds: p.thresholds(), custom: p.timeSeriesCustom }, overrides: [] },
          options: p.timeSeriesOptions,
        },
        p.row(41, 'Previous boots (boot journal)', 70),
        p.panel(42,
                'stat',
                'Boot attempts',
                'Boots started in this data directory across restarts (boot_attempts_total, from the boot journal).',
                p.grid(0, 71, 4, 4),
                [
                  p.target('A', 'boot_attempts_total{%(sel)s}' % s, 'attempts'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { graphMode: 'none' },
        },
        p.panel(43,
                'stat',
                'Failures in a row',
                'Boots in a row that failed or crashed before ready (boot_consecutive_failures); 3 or more fires BootCrashLooping.',
                p.grid(4, 71, 4, 4),
                [
                  p.target('A', 'boot_consecutive_failures{%(sel)s}' % s, 'in a row'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }, { color: 'red', value: 3 }] } }, overrides: [] },
          options: p.statOptions { graphMode: 'none' },
        },
        p.panel(44,
                'stat',
                'Previous boot took',
                'How long the previous boot took (boot_last_duration_seconds); 0 when there was none.',
                p.grid(8, 71, 4, 4),
                [
                  p.target('A', |||
                    boot_last_duration_seconds{%(sel)s}
                    or on ()
                    0 * boot_attempts_total{%(sel)s}
                  ||| % s, 'previous boot'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { graphMode: 'none' },
        },
        p.panel(45,
                'stat',
                'Latest failure',
                'The phase and reason of the latest boot that failed or crashed (labels of boot_last_failure_info); "none" when no boot has failed.',
                p.grid(12, 71, 12, 4),
                [
                  p.target('A', |||
                    max by (phase, reason) (boot_last_failure_info{%(sel)s})
                    or on ()
                    label_replace(0 * boot_attempts_total{%(sel)s}, "reason", "none", "", "")
                  ||| % s, '{{phase}}: {{reason}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 'none', thresholds: p.thresholds() }, overrides: [] },
          options: p.statOptions { textMode: 'name', graphMode: 'none' },
        },
        p.panel(46,
                'bargauge',
                'Phases of the previous boot',
                'How long each phase of the previous boot took (boot_previous_phase_duration_seconds); empty before a second boot.',
                p.grid(0, 75, 24, 6),
                [
                  p.target('A', |||
                    boot_previous_phase_duration_seconds{%(sel)s}
                    or on ()
                    label_replace(0 * boot_attempts_total{%(sel)s}, "phase", "(no previous boot)", "", "")
                  ||| % s, '{{phase}}'),
                ]) + {
          fieldConfig: { defaults: { unit: 's', thresholds: p.thresholds('blue') }, overrides: [] },
          options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true },
        },
      ] + bootDurationHistogramPanels),
  },
}
